import type {HistoryEntry} from '../access/history.js'
import type {ResolvedAgent} from '../agents/resolve.js'
import type {Envelope} from './envelope.js'

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
