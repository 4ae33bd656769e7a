import type {HistoryEntry} from '../access/history.js'
import type {ResolvedAgent} from '../agents/resolve.js'
import type {Envelope} from '../core/envelope.js'

/**
 * Per-turn values the features around an agent run hand to the runtime (see turn.ts). Observers
 * fill it in `started()`; the RunAgent implementation reads it; `ended()` cleans up.
 */
export interface TurnContext {
  /** Extra environment for the agent process of this turn (agent tools: an MCP endpoint token). */
  readonly env: Record<string, string>
  /**
   * Feature values keyed by feature name, e.g. 'session' (the session record to resume) or
   * 'tools' (an MCP config path). Each feature reads only its own key.
   */
  readonly values: Map<string, unknown>
}

/**
 * What the pipeline hands an agent for one turn, and what it gets back. The agent runtimes
 * (src/lib/agents) implement this; the gateway never knows which runtime runs.
 */
export interface AgentTurn {
  agent: ResolvedAgent
  sessionKey: string
  accountId: string
  env: Envelope
  /** Unaddressed group messages kept since the last answered one (oldest first). */
  history: HistoryEntry[]
  /** From the attachments seam (metadata, or fetched files when that lands). */
  attachments: unknown[]
  /** This turn's context (absent only in callers outside the gateway, e.g. tests). */
  context?: TurnContext
  /**
   * Block streaming: sends one finished assistant text block to the chat now, through the same
   * send journal as a reply (exactly once across a restart). Resolves when the block was handed
   * to delivery in order; a runtime that does not stream never calls it.
   */
  onBlock?: (text: string) => Promise<void>
}

export interface AgentReply {
  /** Reply text ('' or undefined: nothing is sent). */
  text?: string
  /** Files the agent asked to send (output "json"); outbound staging is the attachments area's seam. */
  files?: string[]
  /** Set when the run failed (logged by the gateway; the chat gets only errorReply, if any). */
  error?: string
}

export type RunAgent = (turn: AgentTurn) => Promise<AgentReply>
