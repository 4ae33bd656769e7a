import type {HistoryEntry} from '../access/history.js'
import type {Envelope, EnvelopeAttachment} from '../core/envelope.js'
import type {AgentReact, ReactionNote, ReplyContext} from './presence-context.js'

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
  /** The message this one answers ("reply to"), when it is a reply. */
  replyTo?: ReplyContext
  /** Reactions in this chat since the agent's last turn (never answered by themselves). */
  reactions?: ReactionNote[]
  /**
   * The conversation this turn continues (the session store's record). `id` is the agent's own
   * session id to resume: absent on a first turn (a preset then starts a new CLI session).
   */
  session?: AgentSession
}

export interface AgentSession {
  key: string
  id?: string
  /** 1 on the first turn of this session. */
  turn: number
  isNew: boolean
}

/**
 * One MCP server an agent run may use (stdio), as the tools area produces it. Each runtime
 * gets it its own way (see presets/*.ts); a `command` agent gets it as JSON in
 * REMOTECLAW_MCP_SERVER.
 */
export interface McpServerSpec {
  name: string
  command: string
  args: string[]
  env: Record<string, string>
}

/** Per-run extras that are not part of the agent's input document. */
export interface AgentRunOptions {
  mcp?: McpServerSpec
  /** Extra environment for this run's agent process (e.g. a per-turn token of the agent tools). */
  env?: Record<string, string>
  /** Each finished assistant text block, in order, as the CLI completes it (block streaming). */
  onBlock?: (text: string) => void
}

/** One inbound attachment as the agent gets it (docs/attachments-and-ssh.md: Inbound): a readable file on the gateway host. */
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
  /** output "json" only: a tapback to put on the triggering message (or messageGuid). */
  react?: AgentReact
  error?: string
  /** The agent's own session id as its output reported it (preset stream, or `sessionId` of output "json"). */
  sessionId?: string
  /** The CLI refused to resume `input.session.id` (unknown or expired): nothing ran; start fresh. */
  resumeRefused?: boolean
}

export interface AgentRunner {
  readonly id: string
  readonly runtime: string
  run(input: AgentInput, opts?: AgentRunOptions): Promise<AgentResult>
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
  opts: {attachments?: EnvelopeAttachment[]; reactions?: ReactionNote[]} = {},
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
    ...(env.replyTo ? {replyTo: {...env.replyTo}} : {}),
    ...(opts.reactions && opts.reactions.length > 0 ? {reactions: opts.reactions} : {}),
  }
}
