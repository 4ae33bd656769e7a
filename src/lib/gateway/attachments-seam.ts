import {includeAttachmentsKey, resolveInboundAttachments as fetchInbound} from '../attachments/inbound.js'
import type {ResolvedAccount} from '../config/accounts.js'
import type {Context} from '../context.js'
import type {Logger} from '../log.js'
import type {Envelope, EnvelopeAttachment} from '../core/envelope.js'

/**
 * Where inbound attachments become agent input. With includeAttachments off nothing is handed
 * over and the first message with attachments in each chat logs the key that turns it on; with
 * it on, the attachments area (attachments/inbound.ts) checks roots and size caps and fetches
 * remote files (SCP) into the session cache. Each item is passed as an EnvelopeAttachment whose
 * `originalPath` is the local, readable path.
 */
const toldChats = new Set<string>()

/** Forget which chats were told (tests). */
export function resetAttachmentNotices(): void {
  toldChats.clear()
}

export async function resolveInboundAttachments(
  ctx: Context,
  env: Envelope,
  account: ResolvedAccount,
  sessionKey: string,
  log: Logger,
): Promise<{attachments: EnvelopeAttachment[]; notes: string[]}> {
  if (env.attachments.length === 0) return {attachments: [], notes: []}
  if (!account.includeAttachments) {
    const key = `${env.accountId}:${env.chat.chatId}:${env.sender.handle}`
    if (!toldChats.has(key)) {
      if (toldChats.size > 10_000) toldChats.clear()
      toldChats.add(key)
      log.info(`${env.attachments.length} attachment(s) not passed to the agent: ${includeAttachmentsKey(account)} is off (logged once per chat)`, {
        chatId: env.chat.chatId,
        admit: `remoteclaw config set ${includeAttachmentsKey(account)} true`,
      })
    }
    // The agent is told how many were left out (docs/attachments-and-ssh.md: Inbound).
    return {attachments: [], notes: [`${env.attachments.length} attachment(s) left out`]}
  }
  const r = await fetchInbound(ctx, account, env.attachments, {sessionKey, chatId: env.chat.chatId, log})
  return {
    attachments: r.items.map((i) => ({originalPath: i.path, name: i.name, mimeType: i.mimeType, size: i.size, missing: false})),
    notes: r.notes,
  }
}
