import {agentToolNameSchema} from '../config/schema.js'
import type {ImsgMessage} from '../imsg/types.js'

/** How an agent CLI starts one MCP server (stdio): declared with the agent runtimes that consume it. */
export type {McpServerSpec} from '../agents/types.js'

export const TOOL_NAMES = agentToolNameSchema.options
export type ToolName = (typeof TOOL_NAMES)[number]

/** agents.list[].tools with defaults applied. */
export interface ResolvedToolsConfig {
  /** Give the agent the remoteclaw MCP server at all. */
  enabled: boolean
  /** The tools it gets (default: all). */
  allow: ToolName[]
  /** Targets send_message may name besides the current chat, as configured (parsed at call time). */
  sendTargets: string[]
}

/** The chat a turn (or a schedule) belongs to. */
export interface ChatScope {
  /** As `message send` takes it: chat_id:N, else chat_guid:..., else the handle. */
  target: string
  /** imsg chat_id; 0 when unknown (history needs it). */
  chatId: number
  isGroup: boolean
  /** For logs: "DM from +1555..." / "group chat 42". */
  label: string
}

/** Everything a token stands for: one turn of one session in one chat. */
export interface TurnScope {
  accountId: string
  sessionKey: string
  agentId: string
  chat: ChatScope
  /** guid of the message that started the turn: react's default target. */
  triggerGuid?: string
  tools: ResolvedToolsConfig
  /** The account's region, to read phone numbers in sendTargets and target. */
  region: string
}

export interface HostSendRequest {
  accountId: string
  sessionKey: string
  /** The current chat, or another target admitted by tools.sendTargets (canonical form). */
  target: string
  /** chat_id of the target when it is one (0 otherwise). */
  chatId: number
  text: string
  files?: string[]
  /** Stable per send: keys the delivery journal so a crash never sends it twice. */
  journalKey: string
  label: string
}

/**
 * sent: imsg took every part. interrupted: the gateway stopped first; the journal has it.
 * failed / unknown: as Delivery reports them. Resolves only when delivery has settled.
 */
export type HostSendStatus = 'sent' | 'failed' | 'unknown' | 'interrupted'

export interface HostSendResult {
  status: HostSendStatus
  detail?: string
}

/** What the gateway provides to the tools; each method is scoped by what the dispatcher passes. */
export interface ToolHost {
  /** Through the account's Delivery, like a reply: journal, chunking, rate limit, loop breaker. */
  send(req: HostSendRequest): Promise<HostSendResult>
  /** A tapback. Throws ToolRefusal('no_capability') where this account's imsg cannot react. */
  react(req: {accountId: string; chat: ChatScope; messageGuid: string; reaction: string}): Promise<void>
  /** messages.history of one chat, newest first (as imsg returns it). */
  history(req: {accountId: string; chat: ChatScope; limit: number; before?: Date}): Promise<ImsgMessage[]>
  /**
   * After a crash while a schedule was being sent: did it go out? 'sent' and 'not-sent' must be
   * known (journal or the chat's history); 'unknown' is never resent.
   */
  reconcileScheduled?(rec: {accountId: string; chat: ChatScope; text: string; firingAt: number; journalKey: string}): Promise<'sent' | 'not-sent' | 'unknown'>
}

export type RefusalCode = 'not_allowed' | 'no_capability' | 'invalid_arguments' | 'not_found' | 'limit' | 'unavailable' | 'failed'

/** A call the gateway refuses or cannot carry out: its message goes to the agent as the tool error. */
export class ToolRefusal extends Error {
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message)
    this.name = 'ToolRefusal'
  }
}
