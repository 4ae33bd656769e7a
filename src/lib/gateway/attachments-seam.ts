import type {ResolvedAccount} from '../config/accounts.js'
import type {Logger} from '../log.js'
import type {Envelope, EnvelopeAttachment} from './envelope.js'

/**
 * The seam where inbound attachments become agent input. For now it passes metadata only when
 * includeAttachments is on; the attachments area replaces `resolveInboundAttachments` with
 * fetching (SCP for remoteHost), root checks and size caps.
 */
export interface AgentAttachment {
  name: string
  mimeType: string
  size: number
  /** Path on the machine where imsg runs (remote when cliPath is an SSH wrapper). */
  originalPath: string
  missing: boolean
  /** Local path once fetched (not yet: metadata only). */
  localPath?: string
}

const toldChats = new Set<string>()

/** Forget which chats were told (tests). */
export function resetAttachmentNotices(): void {
  toldChats.clear()
}

export async function resolveInboundAttachments(
  env: Envelope,
  account: Pick<ResolvedAccount, 'includeAttachments' | 'keyPrefix'>,
  log: Logger,
): Promise<AgentAttachment[]> {
  if (env.attachments.length === 0) return []
  if (!account.includeAttachments) {
    const key = `${env.accountId}:${env.chat.chatId}:${env.sender.handle}`
    if (!toldChats.has(key)) {
      toldChats.add(key)
      log.info(`${env.attachments.length} attachment(s) not passed to the agent: ${account.keyPrefix}.includeAttachments is off (logged once per chat)`, {
        chatId: env.chat.chatId,
        admit: `remoteclaw config set ${account.keyPrefix}.includeAttachments true`,
      })
    }
    return []
  }
  return env.attachments.map((a: EnvelopeAttachment) => ({
    name: a.name,
    mimeType: a.mimeType,
    size: a.size,
    originalPath: a.originalPath,
    missing: a.missing,
  }))
}
