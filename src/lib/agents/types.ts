import type {HistoryEntry} from '../access/history.js'
import type {Envelope, EnvelopeAttachment} from '../core/envelope.js'

/** What an agent gets for one turn (a `command` agent gets it as JSON on stdin). */
export interface AgentInput {
  sessionKey: string
  channel: 'imessage'
  accountId: string
  chat: {
    /** imsg chat_id; 0 when unknown */
    id: number
    guid: string
    identifier: string
    name: string
    isGroup: boolean
    participants: string[]
    /** Where the reply goes, as `message send` takes it: chat_id:N, else chat_guid:G, ... else the handle. */
    target: string
  }
  sender: {handle: string; name?: string}
  text: string
  /** Unaddressed group messages since the last answered one, oldest first. */
  history: HistoryEntry[]
  attachments: AgentAttachment[]
}

/** One inbound attachment as the agent gets it (README: Attachments): a readable file on the gateway host. */
export interface AgentAttachment {
  path: string
  mimeType: string
  name: string
  size: number
}

/**
 * One turn's outcome. No text and no files = no reply. `error` is for the log only (never
 * sent): on failure `text` is the agent's `errorReply` when configured, else absent.
 */
export interface AgentResult {
  text?: string
  files?: string[]
  error?: string
}

export interface AgentRunner {
  readonly id: string
  readonly runtime: string
  run(input: AgentInput): Promise<AgentResult>
}

export function chatTarget(env: Pick<Envelope, 'chat' | 'sender'>): string {
  if (env.chat.chatId > 0) return `chat_id:${env.chat.chatId}`
  if (env.chat.guid) return `chat_guid:${env.chat.guid}`
  if (env.chat.identifier) return `chat_identifier:${env.chat.identifier}`
  return env.sender.handle || env.sender.raw
}

/** Builds the agent input for an accepted envelope. */
export function buildAgentInput(
  env: Envelope,
  sessionKey: string,
  history: HistoryEntry[] = [],
  /** Attachments to hand over (the gateway passes them only with includeAttachments). */
  opts: {attachments?: EnvelopeAttachment[]} = {},
): AgentInput {
  return {
    sessionKey,
    channel: 'imessage',
    accountId: env.accountId,
    chat: {
      id: env.chat.chatId,
      guid: env.chat.guid,
      identifier: env.chat.identifier,
      name: env.chat.name,
      isGroup: env.isGroup,
      participants: [...env.chat.participants],
      target: chatTarget(env),
    },
    sender: {handle: env.sender.handle || env.sender.raw, ...(env.sender.displayName ? {name: env.sender.displayName} : {})},
    text: env.text,
    history,
    attachments: (opts.attachments ?? []).map((a) => ({path: a.originalPath, mimeType: a.mimeType, name: a.name, size: a.size})),
  }
}
