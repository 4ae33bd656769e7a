import {UsageError} from '../errors.js'
import {parseTarget} from '../imsg/targets.js'

/** Channels the pairing commands know. One today; the argument keeps the documented command shape. */
export const PAIRING_CHANNELS = ['imessage'] as const

export function checkChannel(channel: string | undefined, example: string): void {
  if (channel === undefined || channel.toLowerCase() === 'imessage') return
  throw new UsageError(`unknown channel "${channel}"; pairing supports: ${PAIRING_CHANNELS.join(', ')}`, {
    fix: `Run: ${example}`,
  })
}

/**
 * A sender handle typed by the operator, normalised like inbound senders (E.164 with the
 * account's region, lower-case email), so "(555) 123-4567" revokes "+15551234567".
 */
export function parseSenderHandle(input: string, region: string): string {
  const t = parseTarget(input, {region})
  if (t.kind !== 'handle') {
    throw new UsageError(`"${input}" is a chat, not a sender`, {
      fix: 'Pass the sender\'s phone number (e.g. +15551234567) or email address. To admit a whole chat, add chat_id:<N> to allowFrom.',
    })
  }
  return t.handle
}
