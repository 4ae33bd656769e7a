import {PAIRING_TTL_MS} from './store.js'

/** The one reply an unknown DM sender gets in pairing mode (pairingReply "code"). */
export function pairingReplyText(code: string): string {
  const minutes = Math.round(PAIRING_TTL_MS / 60_000)
  return `Hi! This is an automated assistant. To use it, ask its operator to approve your pairing code: ${code} (valid for ${minutes} minutes).`
}

/** Sent by `pairing approve --notify`. */
export const APPROVED_NOTICE_TEXT = 'You are approved: messages you send here now reach the assistant.'
