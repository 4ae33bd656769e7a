import type {ReactionNote} from '../agents/presence-context.js'
import type {ResolvedAgent} from '../agents/resolve.js'
import {createAgentRunner} from '../agents/runner.js'
import {buildAgentInput, type AgentRunner, type McpServerSpec} from '../agents/types.js'
import type {Context} from '../context.js'
import type {Logger} from '../log.js'
import type {SessionTurns} from '../sessions/continuity.js'
import type {AgentReply, AgentTurn, RunAgent} from './ports.js'

/** Keys of TurnContext.values this runtime reads and writes. */
export const TURN_VALUE_MCP = 'mcp'
export const TURN_VALUE_SESSION = 'session'
/** Presence (presence-observer.ts PRESENCE_KEYS): reactions handed to this turn, and the agent's tapback. */
export const TURN_VALUE_REACTIONS = 'reactions'
export const TURN_VALUE_REACT = 'react'

/**
 * The gateway's agent runtime: one runner per resolved agent (rebuilt when the config changes),
 * every run inside its session (sessions/continuity.ts). From the turn's context it takes the
 * extra environment and an MCP server spec (values "mcp", put there by the agent tools); it puts
 * the session the turn ran in under values "session". Blocks are passed on only for agents with
 * streaming "block".
 */
export function createSessionRunAgent(ctx: Pick<Context, 'env' | 'spawn'>, log: Logger, turns: SessionTurns): RunAgent {
  const runners = new WeakMap<ResolvedAgent, AgentRunner>()
  return async (turn: AgentTurn): Promise<AgentReply> => {
    let runner = runners.get(turn.agent)
    if (!runner) {
      runner = createAgentRunner(turn.agent, {env: ctx.env, spawn: ctx.spawn, log})
      runners.set(turn.agent, runner)
    }
    // presence: reactions since the last turn in, the agent's `react` out (presence-observer.ts)
    const reactions = turn.context?.values.get(TURN_VALUE_REACTIONS) as ReactionNote[] | undefined
    const input = buildAgentInput(turn.env, turn.sessionKey, turn.history, {attachments: turn.attachments as never, reactions})
    const mcp = turn.context?.values.get(TURN_VALUE_MCP) as McpServerSpec | undefined
    const onBlock = turn.agent.streaming === 'block' && turn.onBlock ? turn.onBlock : undefined
    const res = await turns.run({
      agent: turn.agent,
      runner,
      sessionKey: turn.sessionKey,
      accountId: turn.accountId,
      input,
      opts: {
        ...(mcp ? {mcp} : {}),
        ...(turn.context && Object.keys(turn.context.env).length > 0 ? {env: {...turn.context.env}} : {}),
        ...(onBlock ? {onBlock: (text: string) => void onBlock(text)} : {}),
      },
    })
    turn.context?.values.set(TURN_VALUE_SESSION, res.session)
    if (res.react) turn.context?.values.set(TURN_VALUE_REACT, res.react)
    return {text: res.text, files: res.files, error: res.error}
  }
}
