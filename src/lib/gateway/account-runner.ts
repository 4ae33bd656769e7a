import type {ResolvedAgents} from '../agents/resolve.js'
import type {ResolvedAccount} from '../config/accounts.js'
import type {Context} from '../context.js'
import {errorMessage} from '../errors.js'
import type {Logger} from '../log.js'
import {prepareOutboundFile} from '../attachments/outbound.js'
import {Delivery} from '../outbound/delivery.js'
import {EchoTracker} from '../outbound/echoes.js'
import {AccountState} from '../state/account-state.js'
import type {HealthRecorder} from './health.js'
import {ImsgSupervisor} from './imsg-supervisor.js'
import {InboundPipeline} from './inbound-pipeline.js'
import type {RunAgent} from './ports.js'
import {DEFAULT_TIMINGS, type ChatCommandHandler, type RunnerEvent, type RunnerTimings} from './runner-types.js'
import type {TurnObserver} from './turn.js'

export {DEFAULT_TIMINGS, type ChatCommandHandler, type RunnerEvent, type RunnerTimings} from './runner-types.js'

export interface RunnerDeps {
  ctx: Context
  log: Logger
  health: HealthRecorder
  runAgent: RunAgent
  agents: () => ResolvedAgents
  chatCommand?: ChatCommandHandler
  /** Features hooked into each turn (presence, sessions, agent tools): see turn.ts. */
  observers?: TurnObserver[]
  timings?: Partial<RunnerTimings>
  /** Observes pipeline events (bench latency, demo transcript, tests). */
  onEvent?: (e: RunnerEvent) => void
}

/**
 * One iMessage account: its imsg child (ImsgSupervisor), the inbound pipeline (InboundPipeline,
 * which runs each accepted message as a Turn), reply delivery with its journal (Delivery) and
 * the durable cursor (AccountState), wired together.
 */
export class AccountRunner {
  account: ResolvedAccount
  readonly log: Logger
  private readonly t: RunnerTimings
  private readonly echoes: EchoTracker
  private state!: AccountState
  private delivery!: Delivery
  private supervisor!: ImsgSupervisor
  private pipeline!: InboundPipeline
  private stopping = false

  constructor(
    account: ResolvedAccount,
    private readonly d: RunnerDeps,
  ) {
    this.account = account
    this.log = d.log.child(`imessage:${account.id}`)
    this.t = {...DEFAULT_TIMINGS, ...d.timings}
    this.echoes = new EchoTracker(d.ctx.now)
  }

  /** The imsg child supervisor (presence calls typing/read/tapback through it). Set by start(). */
  get imsg(): ImsgSupervisor {
    return this.supervisor
  }

  /** Opens state, then supervises the child until stop(). Resolves once the first start was attempted. */
  async start(): Promise<void> {
    const {ctx, health} = this.d
    this.state = await AccountState.open(ctx.stateDir, this.account.id)
    for (const w of this.state.warnings) this.log.warn(w)
    const account = () => this.account
    this.supervisor = new ImsgSupervisor({
      ctx,
      log: this.log,
      health,
      timings: this.t,
      account,
      state: this.state,
      onMessage: (m) => this.pipeline.handle(m),
      delivery: () => this.delivery,
      hold: (g) => this.pipeline.hold(g),
      release: (g) => this.pipeline.release(g),
    })
    this.delivery = new Delivery({
      send: (p) => this.supervisor.send(p),
      prepareFile: (local) => prepareOutboundFile(ctx, this.account, local),
      log: this.log,
      now: ctx.now,
      state: this.state,
      echoes: this.echoes,
      perMinute: () => this.account.outboundPerMinute,
      chunking: () => ({limit: this.account.textChunkLimit, mode: this.account.chunkMode}),
      service: () => this.account.service,
      // Successful sends are written with the heartbeat; a failure is written at once.
      onOutcome: (o, at) =>
        health.update(
          this.account.id,
          {
            lastSendAt: health.iso(at),
            lastSendOutcome: o.status === 'empty' ? 'sent' : o.status === 'interrupted' ? 'unknown' : o.status,
            ...(o.error ? {lastError: o.error, lastErrorAt: health.iso(at)} : {}),
          },
          {quiet: o.status === 'sent' || o.status === 'empty'},
        ),
      onLaneBlocked: () => this.restartChild('imsg reported its send lane blocked (-32004)'),
    })
    this.pipeline = new InboundPipeline({
      ctx,
      log: this.log,
      health,
      timings: this.t,
      account,
      state: this.state,
      delivery: this.delivery,
      echoes: this.echoes,
      runAgent: this.d.runAgent,
      agents: this.d.agents,
      chatCommand: this.d.chatCommand,
      observers: this.d.observers ?? [],
      onEvent: this.d.onEvent,
    })
    await this.pipeline.init()
    this.supervisor.onChild((e) => {
      if (e.type === 'started') {
        this.pipeline.childStarted()
        this.d.onEvent?.({type: 'child-started', pid: e.pid})
      } else this.d.onEvent?.({type: 'child-ended', reason: e.reason})
    })
    health.update(this.account.id, {state: 'starting', running: false, cursor: this.state.cursor})
    this.supervisor.start()
  }

  /** Applies a reloaded config. A changed cliPath/dbPath restarts the child. */
  updateAccount(next: ResolvedAccount): void {
    const prev = this.account
    this.account = next
    if (prev.cliPath !== next.cliPath || prev.dbPath !== next.dbPath || prev.rpcTimeoutMs !== next.rpcTimeoutMs) {
      this.restartChild('cliPath, dbPath or rpcTimeoutMs changed in the config')
    }
  }

  /** Ends the current child; the supervisor restarts it from the persisted cursor. */
  restartChild(reason: string): void {
    this.supervisor?.restartChild(reason)
  }

  /**
   * Graceful stop: no new messages, running turns finish (up to drainTimeoutMs; unstarted ones
   * are handed back below the cursor), queued replies are sent, the child is closed.
   */
  async stop(): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    this.pipeline.flushBacklog()
    await this.supervisor.stopIntake()
    await this.pipeline.drain(this.t.drainTimeoutMs)
    let timer: NodeJS.Timeout | undefined
    // Replies that are still only waiting (rate limit) stay journaled for the next start.
    this.delivery.abort()
    // The supervisor starts no child now: replies waiting for one end at once (journaled, sent
    // after the next start) instead of holding the stop for drainTimeoutMs.
    this.supervisor.releaseWaiters(true)
    const gaveUp = await Promise.race([
      this.delivery.idle().then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), this.t.drainTimeoutMs))),
    ])
    clearTimeout(timer)
    if (gaveUp) this.log.warn(`stopping with ${this.delivery.pendingCount} repl(ies) unsent; they are re-answered after the next start`)
    await this.supervisor.close()
    await this.state.close().catch((error) => this.log.error(`could not save state: ${errorMessage(error)}`))
  }
}
