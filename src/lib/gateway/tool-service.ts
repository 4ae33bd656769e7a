import type {ResolvedAgent} from '../agents/resolve.js'
import {chatTarget} from '../agents/types.js'
import type {RemoteclawConfig} from '../config/schema.js'
import type {Context} from '../context.js'
import type {Logger} from '../log.js'
import {resolveScheduleConfig, resolveToolsConfig} from '../tools/config.js'
import {ToolDispatcher} from '../tools/dispatch.js'
import {ToolEndpoint, type TurnTools} from '../tools/endpoint.js'
import {ScheduleRunner} from '../tools/schedule-runner.js'
import {ScheduleStore} from '../tools/schedule-store.js'
import type {ChatScope} from '../tools/types.js'
import {TURN_VALUE_MCP} from './agent-runtime.js'
import {chatLabel} from './normalize.js'
import {GatewayToolHost, type AccountToolPort} from './tool-host.js'
import type {Turn, TurnObserver} from './turn.js'

/** Where a turn's McpServerSpec goes in TurnContext.values: the session runtime hands it to the agent run. */
const TOOLS_CONTEXT_KEY = TURN_VALUE_MCP

export interface ToolServiceOptions {
  ctx: Context
  log: Logger
  config: () => RemoteclawConfig
  /** The running account's port, or undefined. */
  port: (accountId: string) => AccountToolPort | undefined
  /** Accounts this gateway runs (schedules of others are left for the gateway that runs them). */
  accounts: () => string[]
  /** Tests: how long send_message waits for delivery before answering "queued". */
  sendWaitMs?: number
}

export interface OpenTurnRequest {
  accountId: string
  sessionKey: string
  agent: ResolvedAgent
  chat: ChatScope
  triggerGuid?: string
  region: string
}

/**
 * The agent tools of one gateway (one state dir): the tool socket, the dispatcher, the
 * schedule store and runner. The gateway opens a turn per agent run and closes it after.
 */
export class ToolService {
  private readonly endpoint: ToolEndpoint
  private readonly runner: ScheduleRunner
  private readonly log: Logger

  constructor(private readonly o: ToolServiceOptions) {
    this.log = o.log.child('tools')
    const store = new ScheduleStore(o.ctx.stateDir, o.ctx.now)
    const host = new GatewayToolHost(o.port, this.log)
    const scheduleConfig = () => resolveScheduleConfig(o.config())
    this.runner = new ScheduleRunner({store, host, log: this.log.child('schedules'), now: o.ctx.now, config: scheduleConfig, accounts: o.accounts})
    const dispatcher = new ToolDispatcher({
      host,
      store,
      log: this.log,
      now: o.ctx.now,
      random: o.ctx.random,
      scheduleConfig,
      onSchedulesChanged: () => this.runner.kick(),
      ...(o.sendWaitMs !== undefined ? {sendWaitMs: o.sendWaitMs} : {}),
    })
    this.endpoint = new ToolEndpoint({stateDir: o.ctx.stateDir, dispatcher, log: this.log, random: o.ctx.random})
  }

  get socketPath(): string {
    return this.endpoint.socketPath
  }

  async start(): Promise<void> {
    await this.endpoint.start()
    // not awaited: reconciling a crash-left schedule may wait for imsg to come up
    void this.runner.start()
  }

  /**
   * The tools of one turn, or undefined for an agent without tools (echo, or tools.enabled
   * false). Close the result when the turn ends, whatever its outcome.
   */
  openTurn(req: OpenTurnRequest): TurnTools | undefined {
    if (req.agent.runtime === 'echo') return undefined
    const raw = this.o.config().agents?.list?.find((a) => a.id === req.agent.id)?.tools
    const tools = resolveToolsConfig(raw)
    if (!tools.enabled || tools.allow.length === 0) return undefined
    return this.endpoint.openTurn({
      accountId: req.accountId,
      sessionKey: req.sessionKey,
      agentId: req.agent.id,
      chat: req.chat,
      ...(req.triggerGuid ? {triggerGuid: req.triggerGuid} : {}),
      tools,
      region: req.region,
    })
  }

  /**
   * The turn seam: a token per agent turn (started), closed when the turn ends (ended), whatever
   * its outcome. The spec goes to the runAgent port through turn.context.values.
   */
  observer(): TurnObserver {
    const open = new WeakMap<Turn, () => void>()
    return {
      started: (turn) => {
        const env = turn.env
        const tools = this.openTurn({
          accountId: turn.account.id,
          sessionKey: turn.sessionKey,
          agent: turn.agent,
          chat: {target: chatTarget(env), chatId: env.chat.chatId, isGroup: env.isGroup, label: chatLabel(env)},
          ...(env.guid ? {triggerGuid: env.guid} : {}),
          region: turn.account.region,
        })
        if (!tools) return
        open.set(turn, tools.close)
        turn.context.values.set(TOOLS_CONTEXT_KEY, tools.spec)
      },
      ended: (turn) => {
        open.get(turn)?.()
        open.delete(turn)
        turn.context.values.delete(TOOLS_CONTEXT_KEY)
      },
    }
  }

  /** Stops the schedules (a send in flight stays "firing" and is reconciled at the next start). */
  stopSchedules(): void {
    this.runner.stop()
  }

  /** Closes the socket: call after the accounts have drained (their turns may still use tools). */
  async stop(): Promise<void> {
    this.runner.stop()
    await this.endpoint.stop()
  }
}
