import type {ResolvedAgents} from '../agents/resolve.js'
import type {ResolvedAccount} from '../config/accounts.js'
import type {Context} from '../context.js'
import {errorMessage} from '../errors.js'
import type {Logger} from '../log.js'
import {prepareOutboundFile} from '../attachments/outbound.js'
import {Delivery, type ChatDeliveryState} from '../outbound/delivery.js'
import {EchoTracker} from '../outbound/echoes.js'
import {AccountState} from '../state/account-state.js'
import type {HealthRecorder} from './health.js'
import {accountToolPort} from './account-tool-port.js'
import {ImsgSupervisor} from './imsg-supervisor.js'
import {InboundPipeline} from './inbound-pipeline.js'
import type {AccountCapabilities} from '../imsg/capabilities.js'
import {PresenceObserver} from './presence-observer.js'
import {sendThreaded} from './presence.js'
import type {RunAgent} from './ports.js'
import type {AccountToolPort} from './tool-host.js'
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
  private presence!: PresenceObserver
  private stopping = false
  /** Delivery state of the last send per chat (health file), most recent last, bounded. */
  private readonly chatStates = new Map<string, ChatDeliveryState>()

  constructor(
    account: ResolvedAccount,
    private readonly d: RunnerDeps,
  ) {
    this.account = account
    this.log = d.log.child(`imessage:${account.id}`)
    this.t = {...DEFAULT_TIMINGS, ...d.timings}
    this.echoes = new EchoTracker(d.ctx.now)
  }

  /** What this account's imsg can do, detected at each child start (sends: `capabilities.trackedSend`). Set by start(). */
  get capabilities(): AccountCapabilities {
    return this.presence.capabilities
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
    this.presence = new PresenceObserver({
      ctx,
      log: this.log,
      account,
      client: () => this.supervisor.currentClient(),
      restartChild: (why) => this.restartChild(why),
      typingTimeoutMs: this.t.typingTimeoutMs,
      typingKeepAliveMs: this.t.typingKeepAliveMs,
    })
    this.delivery = new Delivery({
      send: (p) => sendThreaded(p, (q) => this.supervisor.send(q), this.presence.capabilities, this.log),
      prepareFile: (local) => prepareOutboundFile(ctx, this.account, local),
      log: this.log,
      now: ctx.now,
      state: this.state,
      echoes: this.echoes,
      perMinute: () => this.account.outboundPerMinute,
      chunking: () => ({limit: this.account.textChunkLimit, mode: this.account.chunkMode, maxChunks: this.account.maxReplyChunks, key: `${this.account.keyPrefix}.maxReplyChunks`}),
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
      // Unknown outcomes: read back once the holding child is gone, or message.send_status for tracked sends.
      readHistory: (chatId, limit, end) => this.supervisor.readHistory(chatId, limit, end),
      childGeneration: () => this.supervisor.childGeneration(),
      restartChild: (reason) => this.restartChild(reason),
      // Detected at each child start with the other capabilities (imsg/capabilities.ts).
      trackedSend: () => this.presence.capabilities.trackedSend(),
      sendStatus: (guid) => this.supervisor.sendStatus(guid),
      statusAvailable: () => this.supervisor.hasMethod('message.send_status'),
      reconcileTimings: this.t.reconcile,
      followUpDelaysMs: this.t.deliveryCheckMs,
      onChatState: (chat, st) => this.recordChatState(chat, st),
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
      // presence first: typing is on before other features start, and off after they ended
      observers: [this.presence, ...(this.d.observers ?? [])],
      onEvent: this.d.onEvent,
    })
    await this.pipeline.init()
    this.supervisor.onChild((e) => {
      if (e.type === 'started') {
        this.presence.childStarted(e.client)
        this.pipeline.childStarted()
        this.d.onEvent?.({type: 'child-started', pid: e.pid})
      } else this.d.onEvent?.({type: 'child-ended', reason: e.reason})
    })
    health.update(this.account.id, {state: 'starting', running: false, cursor: this.state.cursor})
    this.supervisor.start()
  }

  /** What the agent tools use of this account (its Delivery, imsg child and journal). Set by start(). */
  private port: AccountToolPort | undefined

  toolPort(): AccountToolPort | undefined {
    if (!this.pipeline || this.stopping) return undefined
    this.port ??= accountToolPort({
      account: () => this.account,
      delivery: () => this.delivery,
      client: async (ms) => ((await this.supervisor.whenReady(ms)) ? this.supervisor.currentClient() : undefined),
      state: () => this.state,
      pausedUntil: (key) => this.pipeline.pausedUntil(key),
      capabilities: () => this.capabilities,
    })
    return this.port
  }

  private recordChatState(chat: string, st: ChatDeliveryState): void {
    this.chatStates.delete(chat)
    this.chatStates.set(chat, st)
    if (this.chatStates.size > 20) this.chatStates.delete(this.chatStates.keys().next().value!)
    // Progress (pending, sent, delivered) goes out with the next write; an end state that needs attention at once.
    const quiet = st.state === 'pending' || st.state === 'sent' || st.state === 'delivered'
    this.d.health.update(this.account.id, {lastDeliveries: Object.fromEntries(this.chatStates)}, {quiet})
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
