import {execa} from 'execa'
import {decideInbound, describeDecision, describePairing, historyLimitFor, pairingApproveCommand} from '../access/decide.js'
import {GroupHistory, historyEntryFrom, historyKey} from '../access/history.js'
import type {ResolvedAgent, ResolvedAgents} from '../agents/resolve.js'
import type {ResolvedAccount} from '../config/accounts.js'
import type {Context} from '../context.js'
import {errorMessage} from '../errors.js'
import {ImsgClient, type WatchStream} from '../imsg/client.js'
import {ImsgMethodNotFoundError, ImsgWatchEndedError} from '../imsg/errors.js'
import {normalizeHandle} from '../imsg/handles.js'
import type {ImsgMessage} from '../imsg/types.js'
import type {Logger} from '../log.js'
import {Delivery, type ChatDeliveryState, type SendParams} from '../outbound/delivery.js'
import type {ReconcileTimings, SendStatusResult} from '../outbound/reconcile.js'
import {LoopBreaker, LOOP_BREAKER_DEFAULTS, type LoopBreakerOptions} from '../outbound/rate-limit.js'
import {pairingReplyText} from '../pairing/messages.js'
import {ApprovedSenders, requestPairing} from '../pairing/store.js'
import {sessionKeyFor} from '../sessions/keys.js'
import {routeAgent} from '../sessions/routing.js'
import {QueueRejectedError, SessionQueue} from '../sessions/queue.js'
import {AccountState} from '../state/account-state.js'
import {prepareOutboundFile} from '../attachments/outbound.js'
import {resolveInboundAttachments} from './attachments-seam.js'
import {BacklogSummary, checkDrop, EchoTracker, logDrop} from './drops.js'
import type {Envelope} from './envelope.js'
import type {HealthRecorder} from './health.js'
import {chatLabel, normalizeMessage} from './normalize.js'
import type {RunAgent} from './ports.js'

/** Tunables; the defaults suit a real Mac, tests shorten them. */
export interface RunnerTimings {
  /** watch.subscribe debounce_ms (imsg's default is 500; replies should feel immediate). */
  debounceMs: number
  /** First restart delay; doubles per consecutive failure up to maxBackoffMs. */
  backoffBaseMs: number
  maxBackoffMs: number
  /** After this many consecutive failures the gateway says why and keeps retrying at maxBackoffMs. */
  failuresBeforeSlow: number
  /** Liveness probe (chats.list) and stall check interval; 0 disables. */
  probeIntervalMs: number
  /** How long shutdown waits for running agent turns. */
  drainTimeoutMs: number
  loopBreaker: LoopBreakerOptions
  /** Bounds of unknown-outcome reconciliation (outbound/reconcile.ts defaults). */
  reconcile?: Partial<ReconcileTimings>
  /** When a chat's last send is looked up again for delivered/read (default 5 s and 60 s after it). */
  deliveryCheckMs?: number[]
}

export const DEFAULT_TIMINGS: RunnerTimings = {
  debounceMs: 50,
  backoffBaseMs: 500,
  maxBackoffMs: 30_000,
  failuresBeforeSlow: 5,
  probeIntervalMs: 30_000,
  drainTimeoutMs: 30_000,
  loopBreaker: LOOP_BREAKER_DEFAULTS,
}

export interface ChatCommandHandler {
  /** Returns the reply text when `env` was a chat command it handled, else undefined. */
  (env: Envelope, account: ResolvedAccount, approved: {isApproved(handle: string): boolean}): Promise<string | undefined>
}

export interface RunnerDeps {
  ctx: Context
  log: Logger
  health: HealthRecorder
  runAgent: RunAgent
  agents: () => ResolvedAgents
  chatCommand?: ChatCommandHandler
  timings?: Partial<RunnerTimings>
  /** Observes pipeline events (bench latency, demo transcript, tests). */
  onEvent?: (e: RunnerEvent) => void
}

export type RunnerEvent =
  | {type: 'inbound'; env: Envelope; at: number}
  | {type: 'replied'; env: Envelope; at: number; receivedAt: number; status: string}
  | {type: 'dropped'; env: Envelope; reason: string}
  | {type: 'child-started'; pid?: number}
  | {type: 'child-ended'; reason: string}

class StopSignal extends Error {}

/**
 * One iMessage account: supervises its `imsg rpc` child and runs the inbound pipeline
 * (normalise -> drop rules -> access decision -> session queue -> agent -> delivery).
 */
export class AccountRunner {
  account: ResolvedAccount
  readonly log: Logger
  private readonly t: RunnerTimings
  private client: ImsgClient | undefined
  private stream: WatchStream | undefined
  private state!: AccountState
  private readonly echoes: EchoTracker
  private readonly breaker: LoopBreaker
  private readonly backlog: BacklogSummary
  private readonly approved: ApprovedSenders
  private readonly history = new GroupHistory()
  private readonly queue = new SessionQueue()
  private delivery!: Delivery
  private stopping = false
  private loop: Promise<void> | undefined
  private wake: (() => void) | undefined
  private readyWaiters: Array<() => void> = []
  private consecutiveFailures = 0
  private restarts = 0
  private probeTimer: NodeJS.Timeout | undefined
  private probeFailures = 0
  /** Newest chat activity (chat.db clock) the last probe saw ahead of the stream; 0 = none. */
  private stallSuspect = 0
  /** The stall for this activity time already caused a restart (a reaction row is never streamed). */
  private stallRestartedFor = 0
  private lastStreamEventAt = 0
  /** Newest created_at delivered by the stream (chat.db clock, so a remote Mac's clock skew does not matter). */
  private newestStreamed = 0
  /** Cursor positions received and not yet handled (low-water mark = persisted cursor). */
  private readonly inflight = new Set<number>()
  /**
   * guids being handled now. A child restart replays everything above the persisted cursor,
   * including messages whose turn or reply is still running from before the restart: those are
   * skipped here, not answered a second time.
   */
  private readonly inflightGuids = new Set<string>()
  private maxReceived = 0
  private restartReason: string | undefined
  private everStarted = false
  /** Counts imsg children: a send whose outcome is unknown is read back once its child's generation is gone. */
  private generation = 0
  /** `methods` from initialize (0.14+): until capabilities.ts lands, tracked sends need send.tracked + message.send_status there. */
  private methods: string[] = []
  /** Delivery state of the last send per chat (health file), most recent last, bounded. */
  private readonly chatStates = new Map<string, ChatDeliveryState>()

  constructor(
    account: ResolvedAccount,
    private readonly d: RunnerDeps,
  ) {
    this.account = account
    this.log = d.log.child(`imessage:${account.id}`)
    this.t = {...DEFAULT_TIMINGS, ...d.timings}
    const now = d.ctx.now
    this.echoes = new EchoTracker(now)
    this.breaker = new LoopBreaker(now, this.t.loopBreaker)
    this.backlog = new BacklogSummary(this.log)
    this.approved = new ApprovedSenders(d.ctx, account.id)
  }

  private get now(): number {
    return this.d.ctx.now()
  }

  /** Opens state, then supervises the child until stop(). Resolves once the first start was attempted. */
  async start(): Promise<void> {
    this.state = await AccountState.open(this.d.ctx.stateDir, this.account.id)
    await this.approved.refresh()
    this.delivery = new Delivery({
      send: (p) => this.sendViaChild(p),
      prepareFile: (local) => prepareOutboundFile(this.d.ctx, this.account, local),
      log: this.log,
      now: this.d.ctx.now,
      state: this.state,
      echoes: this.echoes,
      perMinute: () => this.account.outboundPerMinute,
      chunking: () => ({limit: this.account.textChunkLimit, mode: this.account.chunkMode}),
      service: () => this.account.service,
      // Successful sends are written with the heartbeat; a failure is written at once.
      onOutcome: (o, at) =>
        this.d.health.update(
          this.account.id,
          {
            lastSendAt: this.d.health.iso(at),
            lastSendOutcome: o.status === 'empty' ? 'sent' : o.status === 'interrupted' ? 'unknown' : o.status,
            ...(o.error ? {lastError: o.error, lastErrorAt: this.d.health.iso(at)} : {}),
          },
          {quiet: o.status === 'sent' || o.status === 'empty'},
        ),
      onLaneBlocked: () => this.restartChild('imsg reported its send lane blocked (-32004)'),
      readHistory: (chatId, limit) => this.readHistory(chatId, limit),
      childGeneration: () => (this.client && !this.client.hasExited ? this.generation : undefined),
      restartChild: (reason) => this.restartChild(reason),
      trackedSend: () => this.methods.includes('send.tracked') && this.methods.includes('message.send_status'),
      sendStatus: (guid) => this.sendStatus(guid),
      statusAvailable: () => this.methods.includes('message.send_status'),
      followUpDelaysMs: this.t.deliveryCheckMs,
      reconcileTimings: this.t.reconcile,
      onChatState: (chat, st) => this.recordChatState(chat, st),
    })
    this.d.health.update(this.account.id, {state: 'starting', running: false, cursor: this.state.cursor})
    this.loop = this.supervise()
  }

  /** Applies a reloaded config. A changed cliPath/dbPath restarts the child. */
  updateAccount(next: ResolvedAccount): void {
    const prev = this.account
    this.account = next
    if (prev.cliPath !== next.cliPath || prev.dbPath !== next.dbPath || prev.rpcTimeoutMs !== next.rpcTimeoutMs) {
      this.restartChild('cliPath, dbPath or rpcTimeoutMs changed in the config')
    }
  }

  // ---------------------------------------------------------------- supervision

  private backoffMs(): number {
    const n = Math.max(0, this.consecutiveFailures - 1)
    return Math.min(this.t.backoffBaseMs * 2 ** n, this.t.maxBackoffMs)
  }

  private async sleep(ms: number): Promise<void> {
    // stop() wakes a sleep already running; one that starts after stop() (the supervisor was
    // still closing the failed child) must not wait out the backoff.
    if (this.stopping) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined
        resolve()
      }, ms)
      this.wake = () => {
        clearTimeout(timer)
        this.wake = undefined
        resolve()
      }
    })
  }

  private async supervise(): Promise<void> {
    while (!this.stopping) {
      let why: string
      let fix: string | undefined
      try {
        why = await this.runChildOnce()
      } catch (error) {
        why = error instanceof StopSignal ? 'stopping' : errorMessage(error)
        if (!(error instanceof StopSignal) && !this.stopping) {
          fix = (error as {fix?: string}).fix
          this.d.health.update(this.account.id, {lastError: why, lastErrorAt: this.d.health.iso()})
        }
      }
      this.stopProbe()
      // On a graceful stop the child stays up: stop() closes it after queued replies are sent.
      if (this.stopping) break
      const c = this.client
      this.client = undefined
      this.stream = undefined
      if (c) await c.close({graceMs: 1000}).catch(() => {})
      this.consecutiveFailures++
      this.restarts++
      const delay = this.backoffMs()
      this.d.health.update(this.account.id, {
        running: false,
        state: 'restarting',
        childPid: undefined,
        restarts: this.restarts,
        consecutiveFailures: this.consecutiveFailures,
      })
      this.d.onEvent?.({type: 'child-ended', reason: why})
      if (this.consecutiveFailures === this.t.failuresBeforeSlow) {
        this.log.error(
          `imsg failed ${this.consecutiveFailures} times in a row; last: ${why}. Still retrying every ${this.t.maxBackoffMs >= 1000 ? `${Math.round(this.t.maxBackoffMs / 1000)}s` : `${this.t.maxBackoffMs}ms`}. ${fix ? `Fix: ${fix}` : 'Check: remoteclaw channels status --probe'}`,
        )
      } else if (this.consecutiveFailures < this.t.failuresBeforeSlow) {
        this.log.warn(`imsg stopped (${why}); restarting in ${delay}ms from cursor ${this.state.cursor}`)
        if (fix && this.consecutiveFailures === 1) this.log.warn(`fix: ${fix}`)
      } else {
        this.log.debug(`imsg stopped (${why}); retrying in ${delay}ms`)
      }
      await this.sleep(this.consecutiveFailures >= this.t.failuresBeforeSlow ? this.t.maxBackoffMs : delay)
    }
  }

  /** Starts one child, streams until it ends; returns why it ended. */
  private async runChildOnce(): Promise<string> {
    const a = this.account
    this.restartReason = undefined
    this.d.health.update(a.id, {state: this.everStarted ? 'restarting' : 'starting'})
    const client = ImsgClient.spawn({
      cliPath: a.cliPath,
      dbPath: a.dbPath,
      requestTimeoutMs: a.rpcTimeoutMs,
      log: this.log,
      remoteHost: a.remoteHost,
    })
    this.client = client
    this.generation++
    this.methods = []
    const version = await this.detectVersion(client)
    if (this.stopping) throw new StopSignal()
    // A cursor counts rows of one chat.db: after cliPath or dbPath changes (the bot moved to another
    // Mac or user) it means nothing, and a higher old cursor would silently skip the new rows.
    const source = JSON.stringify([a.cliPath, a.dbPath ?? ''])
    if (this.state.source !== undefined && this.state.source !== source && this.state.cursor !== 0) {
      this.log.warn(
        `imsg source changed (cliPath/dbPath was ${this.state.source}, now ${source}): the saved cursor (row ${this.state.cursor}) belongs to the other database; starting from the newest message in this one`,
      )
      this.state.cursor = 0
    }
    if (this.state.source !== source) {
      this.state.source = source
      if (this.state.cursor !== 0) await this.state.compact()
    }
    if (this.state.cursor === 0) await this.initCursor(client)
    if (this.state.pending().length > 0) await this.reconcilePending(client)
    if (this.stopping) throw new StopSignal()
    // What chat.db holds now counts as delivered for the stall check (the cursor covers it).
    const {chats: newestChat} = await client.chatsList({limit: 1})
    const baseline = newestChat[0]?.last_message_at ? Date.parse(newestChat[0].last_message_at) : 0
    if (baseline > this.newestStreamed) this.newestStreamed = baseline
    const stream = await client.subscribe({since_rowid: this.state.cursor, debounce_ms: this.t.debounceMs, attachments: true})
    this.stream = stream
    this.everStarted = true
    this.maxReceived = this.state.cursor
    this.lastStreamEventAt = this.now
    this.d.health.update(a.id, {
      running: true,
      state: 'running',
      childPid: client.pid,
      imsgVersion: version,
      startedAt: this.d.health.iso(),
      lastProbeOk: true,
      stalled: false,
    })
    this.log.info(`imsg rpc running (pid ${client.pid}, imsg ${version ?? 'version unknown'}); watching from cursor ${this.state.cursor}`)
    this.d.onEvent?.({type: 'child-started', pid: client.pid})
    for (const w of this.readyWaiters.splice(0)) w()
    this.startProbe(client)
    const healthySince = this.now
    try {
      for await (const m of stream) {
        if (this.stopping) break
        await this.onWire(m)
        if (this.consecutiveFailures > 0 && this.now - healthySince > 5_000) this.consecutiveFailures = 0
      }
    } catch (error) {
      if (error instanceof ImsgWatchEndedError) {
        const cause = error.reason === 'overflow' ? `watch.overflow (resume after ${error.resumeAfterRowid})` : errorMessage(error)
        if (this.now - healthySince > 30_000) this.consecutiveFailures = 0
        return this.restartReason ?? `watch stream ended: ${cause}`
      }
      throw error
    }
    if (this.now - healthySince > 30_000) this.consecutiveFailures = 0
    return this.restartReason ?? (this.stopping ? 'stopping' : 'watch stream ended')
  }

  private async detectVersion(client: ImsgClient): Promise<string | undefined> {
    // Strict imsg (0.14+) answers initialize with its version; lenient ones say -32601.
    try {
      const st = await client.initialize({timeoutMs: this.account.rpcTimeoutMs})
      if (Array.isArray(st.methods)) this.methods = st.methods.filter((m): m is string => typeof m === 'string')
      if (typeof st.version === 'string') return st.version
    } catch (error) {
      if (!(error instanceof ImsgMethodNotFoundError)) {
        // A lenient server may also answer with another error; the first real request decides.
        if (client.hasExited) throw error
      }
    }
    // Lenient: one cheap read proves the DB is readable (and surfaces FDA errors), then --version.
    await client.chatsList({limit: 1})
    try {
      const r = await execa(this.account.cliPath, ['--version'], {timeout: 5_000, reject: false})
      const v = String(r.stdout).trim().split('\n')[0]
      return r.exitCode === 0 && /^\d+\.\d+/.test(v ?? '') ? v : undefined
    } catch {
      return undefined
    }
  }

  /**
   * First run: start from the newest message now in the database (never answer old history),
   * or from the beginning (-1) when it is empty, so nothing sent while we were down is missed.
   */
  private async initCursor(client: ImsgClient): Promise<void> {
    const {chats} = await client.chatsList({limit: 1})
    let start = -1
    if (chats.length > 0) {
      const {messages} = await client.messagesHistory({chat_id: chats[0]!.id, limit: 1})
      if (messages[0]) start = messages[0].id
    }
    await this.state.setCursor(start)
    if (start === -1) this.state.cursor = -1
    await this.state.compact()
    this.log.info(start === -1 ? 'first start: the database is empty; answering from the first message' : `first start: answering messages after row ${start}`)
  }

  /**
   * Sends journaled as started but never settled (the gateway died mid-send): look for them in
   * the chat's history; confirmed chunks are not sent again, missing ones are sent now.
   */
  private async reconcilePending(client: ImsgClient): Promise<void> {
    for (const p of this.state.pending()) {
      if (this.delivery.active.has(p.inboundGuid)) continue // still being sent by this process
      let confirmed = p.sent
      if (p.tracked && p.id && p.chatId > 0 && p.sent < p.texts.length) {
        // Each chunk is sent again under the attempt_id it had: imsg refuses a second message with it,
        // and the refusal is settled with message.send_status (never a second copy).
        this.log.info(`reply to ${p.inboundGuid} (tracked) was interrupted by a restart; checking its ${p.texts.length - confirmed} unconfirmed chunk(s) by attempt id`)
        if (p.inboundGuid) this.inflightGuids.add(p.inboundGuid)
        void this.delivery
          .resume({inboundGuid: p.inboundGuid, chatId: p.chatId, to: p.to, text: '', label: `chat ${p.chatId}`}, p.texts, confirmed)
          .finally(() => this.inflightGuids.delete(p.inboundGuid))
          .catch((error) => this.log.error(`resending after restart failed: ${errorMessage(error)}`))
        continue
      }
      if (p.chatId > 0) {
        try {
          const {messages} = await client.messagesHistory({chat_id: p.chatId, limit: 50})
          const mine = messages.filter((m) => m.is_from_me && Date.parse(m.created_at) >= p.startedAt - 2_000)
          while (confirmed < p.texts.length && mine.some((m) => m.text === p.texts[confirmed])) confirmed++
        } catch (error) {
          this.log.warn(`could not check chat ${p.chatId} for a send interrupted by a restart: ${errorMessage(error)}; not resending`)
          confirmed = p.texts.length
        }
      } else {
        this.log.warn(`a send to ${p.to} was interrupted by a restart and cannot be checked (no chat id); not resending`)
        confirmed = p.texts.length
      }
      if (confirmed >= p.texts.length) {
        this.log.info(`reply to ${p.inboundGuid || 'a notice'} was sent before the restart; not sending it again`)
        await this.state.settleSend(p.inboundGuid)
        continue
      }
      this.log.info(`reply to ${p.inboundGuid} was interrupted by a restart; sending the ${p.texts.length - confirmed} missing chunk(s)`)
      const label = p.chatId > 0 ? `chat ${p.chatId}` : `DM ${p.to}`
      // The replay of its inbound message must not answer it a second time while this runs.
      if (p.inboundGuid) this.inflightGuids.add(p.inboundGuid)
      void this.delivery
        .resume({inboundGuid: p.inboundGuid, chatId: p.chatId, to: p.to, text: '', label}, p.texts, confirmed)
        .finally(() => this.inflightGuids.delete(p.inboundGuid))
        .catch((error) => this.log.error(`resending after restart failed: ${errorMessage(error)}`))
    }
  }

  private startProbe(client: ImsgClient): void {
    this.stopProbe()
    this.probeFailures = 0
    this.stallSuspect = 0
    if (this.t.probeIntervalMs <= 0) return
    this.probeTimer = setInterval(() => void this.probe(client), this.t.probeIntervalMs)
    this.probeTimer.unref()
  }

  private stopProbe(): void {
    if (this.probeTimer) clearInterval(this.probeTimer)
    this.probeTimer = undefined
  }

  /**
   * Liveness + stall check: the child must answer chats.list, and chat.db's newest activity must
   * not stay ahead of what the stream delivered across two probes (a watch that silently died,
   * e.g. after WAL rotation). Either failure twice in a row restarts the child.
   */
  private async probe(client: ImsgClient): Promise<void> {
    if (this.client !== client || this.stopping) return
    try {
      const {chats} = await client.chatsList({limit: 1}, {timeoutMs: Math.min(this.account.rpcTimeoutMs, 10_000)})
      this.probeFailures = 0
      const newest = chats[0]?.last_message_at ? Date.parse(chats[0].last_message_at) : 0
      // Stalled: chat.db had activity at `newest` at the previous probe too, and the stream still
      // has delivered nothing that recent (both times are chat.db's clock). Once per activity time.
      const behind = newest > 0 && newest > this.newestStreamed + 1_000 && newest !== this.stallRestartedFor
      const stalled = behind && this.stallSuspect === newest
      this.d.health.update(this.account.id, {lastProbeAt: this.d.health.iso(), lastProbeOk: true, stalled}, {quiet: !stalled})
      if (stalled) {
        this.stallRestartedFor = newest
        this.restartChild(`the watch stream stalled: chat.db has a message from ${chats[0]!.last_message_at} the stream never delivered`)
      }
      this.stallSuspect = behind ? newest : 0
    } catch (error) {
      this.probeFailures++
      this.d.health.update(this.account.id, {
        lastProbeAt: this.d.health.iso(),
        lastProbeOk: false,
        lastError: `liveness probe failed: ${errorMessage(error)}`,
        lastErrorAt: this.d.health.iso(),
      })
      if (this.probeFailures >= 2) this.restartChild(`imsg did not answer two liveness probes: ${errorMessage(error)}`)
    }
  }

  /** Ends the current child; the supervisor restarts it from the persisted cursor. */
  restartChild(reason: string): void {
    const c = this.client
    if (!c) return
    this.restartReason = reason
    this.log.warn(`restarting imsg: ${reason}`)
    c.kill('SIGKILL')
  }

  /** Waits until a child is subscribed (or the timeout passes). */
  private whenReady(timeoutMs: number): Promise<boolean> {
    if (this.client && this.stream && !this.client.hasExited) return Promise.resolve(true)
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        resolve(true)
      }
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== done)
        resolve(false)
      }, timeoutMs)
      this.readyWaiters.push(done)
    })
  }

  /**
   * Delivery's send: waits for a running child; "no child" is a retry-safe failure (nothing was written).
   * A failure carries the generation of the child that held the request (reconciliation waits for it to go).
   */
  private async sendViaChild(p: SendParams): Promise<{id?: number; guid?: string}> {
    if (!(await this.whenReady(60_000)) || !this.client || this.client.hasExited) {
      throw Object.assign(new Error('imsg is not running (restarting)'), {retrySafe: true, notSent: true})
    }
    const client = this.client
    const generation = this.generation
    const body = {...(p.text !== '' ? {text: p.text} : {}), ...(p.file ? {file: p.file} : {})}
    const params = p.chat_id !== undefined ? {chat_id: p.chat_id, ...body} : {to: p.to!, ...body, ...(p.service ? {service: p.service} : {})}
    try {
      const r =
        p.attemptId && p.chat_id !== undefined
          ? await client.request<{id?: unknown; guid?: unknown}>('send.tracked', {...params, attempt_id: p.attemptId})
          : await client.send(params)
      return {id: typeof r.id === 'number' ? r.id : undefined, guid: typeof r.guid === 'string' ? r.guid : undefined}
    } catch (error) {
      if (error && typeof error === 'object') Object.assign(error, {generation})
      throw error
    }
  }

  /** A running child (waiting up to rpcTimeoutMs for one), or an error the reconciler retries after. */
  private async readyClient(): Promise<ImsgClient> {
    if (!(await this.whenReady(this.account.rpcTimeoutMs)) || !this.client || this.client.hasExited) {
      throw new Error('imsg is not running (restarting)')
    }
    return this.client
  }

  private async readHistory(chatId: number, limit: number): Promise<Array<{id: number; is_from_me: boolean; text: string; created_at: string}>> {
    const {messages} = await (await this.readyClient()).messagesHistory({chat_id: chatId, limit})
    return messages
  }

  private async sendStatus(guid: string): Promise<SendStatusResult> {
    return (await this.readyClient()).request<SendStatusResult>('message.send_status', {guid})
  }

  private recordChatState(chat: string, st: ChatDeliveryState): void {
    this.chatStates.delete(chat)
    this.chatStates.set(chat, st)
    if (this.chatStates.size > 20) this.chatStates.delete(this.chatStates.keys().next().value!)
    // Progress (pending, sent) goes out with the next write; an end state that needs attention at once.
    const quiet = st.state === 'pending' || st.state === 'sent' || st.state === 'delivered'
    this.d.health.update(this.account.id, {lastDeliveries: Object.fromEntries(this.chatStates)}, {quiet})
  }

  // ---------------------------------------------------------------- pipeline

  private lowWater(): number {
    if (this.inflight.size === 0) return this.maxReceived
    let min = Number.POSITIVE_INFINITY
    for (const c of this.inflight) if (c < min) min = c
    return min - 1
  }

  /** Marks a message handled: the cursor moves now; persisting it does not hold up the stream. */
  private async complete(env: Envelope, markGuid = true): Promise<void> {
    this.inflight.delete(env.cursor)
    this.inflightGuids.delete(env.guid)
    const cursor = Math.max(this.lowWater(), this.state.cursor)
    this.d.health.account(this.account.id).cursor = cursor
    try {
      if (markGuid && env.guid) await this.state.markDone(env.guid, cursor)
      else await this.state.setCursor(cursor)
    } catch (error) {
      this.log.error(`could not persist the cursor: ${errorMessage(error)}`)
    }
  }

  /** One wire message. Awaited in stream order up to the session queue, so order per session holds. */
  private async onWire(m: ImsgMessage): Promise<void> {
    const receivedAt = this.now
    this.lastStreamEventAt = receivedAt
    const a = this.account
    const env = normalizeMessage(m, {accountId: a.id, groups: a.groups, normalizeHandle: (h) => normalizeHandle(h, a.region)})
    if (env.createdAt > this.newestStreamed) this.newestStreamed = env.createdAt
    if (env.guid && this.inflightGuids.has(env.guid)) {
      this.log.debug(`${chatLabel(env)}: replayed after a restart while still being handled; skipped`, {guid: env.guid})
      return
    }
    this.inflight.add(env.cursor)
    if (env.guid) this.inflightGuids.add(env.guid)
    if (env.cursor > this.maxReceived) this.maxReceived = env.cursor
    if (!env.isFromMe) this.d.health.account(a.id).lastInboundAt = this.d.health.iso(receivedAt)
    this.d.health.account(a.id).lastStreamEventAt = this.d.health.iso(receivedAt)
    this.d.onEvent?.({type: 'inbound', env, at: receivedAt})

    const drop = checkDrop(env, {
      now: receivedAt,
      maxInboundAgeMinutes: a.maxInboundAgeMinutes,
      keyPrefix: a.keyPrefix,
      seen: (g) => this.state.has(g),
      echoes: this.echoes,
    })
    if (drop) {
      if (drop.reason === 'backlog') this.backlog.add(env, drop, a.maxInboundAgeMinutes)
      // Our own replies coming back are expected (one per send): debug, not info.
      else if (drop.reason === 'own-send') this.log.debug(`${chatLabel(env)}: own reply (is_from_me) skipped`, {rowid: env.messageId})
      else logDrop(this.log, env, drop)
      this.d.onEvent?.({type: 'dropped', env, reason: drop.reason})
      void this.complete(env, drop.reason !== 'duplicate')
      return
    }
    this.backlog.flush()
    await this.route(env, receivedAt)
  }

  private agentFor(env: Envelope): ResolvedAgent {
    const route = routeAgent(this.d.agents(), this.account, env)
    if (route.unknownAgentId) {
      this.log.warn(`${route.unknownAgentId.key} is "${route.unknownAgentId.id}", which is not in agents.list; the default agent "${route.agent.id}" answers`)
    }
    return route.agent
  }

  private replyTarget(env: Envelope): {chatId: number; to?: string} {
    return env.chat.chatId > 0 ? {chatId: env.chat.chatId, to: env.sender.handle || undefined} : {chatId: 0, to: env.sender.handle || env.sender.raw}
  }

  private prefixFor(env: Envelope): string | undefined {
    if (env.isGroup) {
      const g = this.account.groups[String(env.chat.chatId)]?.responsePrefix ?? this.account.groups['*']?.responsePrefix
      if (g !== undefined) return g
    }
    return this.account.responsePrefix
  }

  private lastApprovedRefresh = 0

  private async refreshApproved(force: boolean): Promise<void> {
    const t = this.now
    if (!force && t - this.lastApprovedRefresh < 1_000) return
    await this.approved.refresh()
    this.lastApprovedRefresh = t
  }

  private async route(env: Envelope, receivedAt: number): Promise<void> {
    const a = this.account
    const agent = this.agentFor(env)
    let decision
    try {
      // One stat per second at most; an unknown sender always re-checks, so an approval made a
      // moment ago by `pairing approve` applies to the very next message.
      await this.refreshApproved(false)
      decision = decideInbound(env, a, this.approved, agent.mentionPatterns)
      if (decision.action === 'pair') {
        await this.refreshApproved(true)
        decision = decideInbound(env, a, this.approved, agent.mentionPatterns)
      }
    } catch (error) {
      // An unreadable allowlist must not turn approved senders into strangers: hold the message
      // (it stays in flight, so the cursor stays below it and it is handled after a restart).
      this.log.error(`${chatLabel(env)} not handled: ${errorMessage(error)}`, {fix: (error as {fix?: string}).fix})
      this.inflightGuids.delete(env.guid)
      return
    }
    if (decision.action === 'drop' || decision.action === 'history') {
      this.log.info(describeDecision(decision)!, {reason: decision.action === 'drop' ? 'access' : 'not-addressed', admit: decision.admit, chatId: env.chat.chatId})
      if (decision.action === 'history') this.history.add(historyKey(a.id, env.chat.chatId), historyEntryFrom(env), historyLimitFor(a, env.chat.chatId))
      this.d.onEvent?.({type: 'dropped', env, reason: decision.action})
      void this.complete(env)
      return
    }
    if (decision.action === 'pair') {
      await this.pair(env, receivedAt)
      return
    }
    // accept
    const chatKey = Delivery.chatKey(this.replyTarget(env))
    const verdict = this.breaker.check(chatKey)
    if (verdict.paused) {
      const until = new Date(verdict.until).toISOString()
      if (verdict.tripped) {
        this.log.warn(`${chatLabel(env)}: more than ${this.t.loopBreaker.maxTriggers} messages in ${this.t.loopBreaker.windowMs / 1000}s, faster than a person types; replies to this chat are paused until ${until} (loop breaker)`)
      }
      logDrop(this.log, env, {
        reason: 'loop-breaker',
        detail: `replies to this chat are paused until ${until}`,
        admit: 'send it again after the pause ends (the pause protects the Apple ID from a reply loop)',
      })
      this.d.onEvent?.({type: 'dropped', env, reason: 'loop-breaker'})
      void this.complete(env)
      return
    }
    const sessionKey = sessionKeyFor(agent.id, env)
    const task = async () => {
      const command = this.d.chatCommand ? await this.d.chatCommand(env, a, this.approved) : undefined
      let text: string | undefined
      let files: string[] | undefined
      if (command !== undefined) {
        return {text: command, isCommand: true, files: undefined as string[] | undefined}
      } else {
        const history = env.isGroup ? this.history.take(historyKey(a.id, env.chat.chatId)) : []
        const {attachments, notes} = await resolveInboundAttachments(this.d.ctx, env, a, sessionKey, this.log)
        // What was left out (too large, outside the roots, missing) is told to the agent with the text.
        const turnEnv = notes.length > 0 ? {...env, text: `${env.text}\n\n[${notes.join('; ')}]`} : env
        const r = await this.d.runAgent({agent, sessionKey, accountId: a.id, env: turnEnv, history, attachments})
        if (r.error) {
          this.log.warn(`${chatLabel(env)}: agent "${agent.id}" failed: ${r.error}${agent.errorReply ? '; sending errorReply' : '; nothing sent (set errorReply on the agent to tell the sender)'}`)
          text = agent.errorReply
        } else text = r.text
        files = r.files
      }
      return {text, isCommand: false, files}
    }
    const run = this.queue.enqueue(sessionKey, task)
    void run
      .then(async ({text, isCommand, files}) => {
        if ((!text || text.trim() === '') && !(files && files.length > 0)) {
          this.log.info(`${chatLabel(env)}: agent returned no reply; nothing sent`)
          this.d.onEvent?.({type: 'replied', env, at: this.now, receivedAt, status: 'empty'})
          void this.complete(env)
          return
        }
        const outcome = await this.delivery.deliver({
          inboundGuid: env.guid,
          ...this.replyTarget(env),
          text: text ?? '',
          files,
          prefix: isCommand ? undefined : this.prefixFor(env),
          label: chatLabel(env),
        })
        this.d.onEvent?.({type: 'replied', env, at: outcome.ackedAt ?? this.now, receivedAt, status: outcome.status})
        void this.complete(env)
      })
      .catch(async (error) => {
        if (error instanceof QueueRejectedError) {
          // Not started: leave it below the cursor so it is handled after a restart.
          // It stays in flight, so the persisted cursor stays below it.
          this.log.warn(`${chatLabel(env)}: not handled now (${error.message}); it will be answered after the gateway restarts`)
          this.inflightGuids.delete(env.guid)
          return
        }
        this.log.error(`${chatLabel(env)}: ${errorMessage(error)}`)
        void this.complete(env)
      })
  }

  private async pair(env: Envelope, receivedAt: number): Promise<void> {
    const a = this.account
    let result
    try {
      result = await requestPairing(this.d.ctx, a.id, {
        sender: env.sender.handle,
        senderName: env.sender.displayName,
        chat: {chatId: env.chat.chatId, guid: env.chat.guid || undefined, identifier: env.chat.identifier || undefined, name: env.chat.name || undefined},
      })
    } catch (error) {
      this.log.error(`${chatLabel(env)}: pairing request not recorded: ${errorMessage(error)}`, {fix: (error as {fix?: string}).fix})
      void this.complete(env)
      return
    }
    if (result.status === 'approved') {
      this.approved.add(env.sender.handle)
      await this.route(env, receivedAt)
      return
    }
    this.log.info(describePairing(env, a, result), {reason: 'pairing', sender: env.sender.handle})
    this.d.onEvent?.({type: 'dropped', env, reason: `pairing-${result.status}`})
    if (result.status === 'created' && a.pairingReply === 'code') {
      void this.delivery
        .deliver({inboundGuid: env.guid, ...this.replyTarget(env), text: pairingReplyText(result.code), label: chatLabel(env)})
        .then(
          (o) => {
            if (o.status !== 'sent') this.log.warn(`${chatLabel(env)}: the pairing code could not be sent (${o.error ?? o.status}); approve by handle instead: ${pairingApproveCommand(a, env.sender.handle)}`)
            this.d.onEvent?.({type: 'replied', env, at: this.now, receivedAt, status: o.status})
            return this.complete(env)
          },
          // e.g. the send journal cannot be written: an unhandled rejection here would end the gateway.
          (error) => {
            this.log.error(`${chatLabel(env)}: the pairing code could not be sent (${errorMessage(error)}); approve by handle instead: ${pairingApproveCommand(a, env.sender.handle)}`)
            return this.complete(env)
          },
        )
      return
    }
    void this.complete(env)
  }

  // ---------------------------------------------------------------- shutdown

  /**
   * Graceful stop: no new messages, running turns finish (up to drainTimeoutMs; unstarted ones
   * are handed back below the cursor), queued replies are sent, the child is closed.
   */
  async stop(): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    this.backlog.flush()
    this.stopProbe()
    this.wake?.()
    const stream = this.stream
    if (stream) await stream.unsubscribe().catch(() => {})
    const {drained, remaining} = await this.queue.drain({timeoutMs: this.t.drainTimeoutMs})
    if (!drained) {
      const n = this.queue.cancelPending()
      this.log.warn(`stopping with ${remaining} agent turn(s) unfinished; ${n} not started will be answered after the next start`)
    }
    let timer: NodeJS.Timeout | undefined
    // Replies that are still only waiting (rate limit) stay journaled for the next start.
    this.delivery.abort()
    // The supervisor starts no child now: replies waiting for one end at once (journaled, sent
    // after the next start) instead of holding the stop for drainTimeoutMs.
    if (!this.client || this.client.hasExited) for (const w of this.readyWaiters.splice(0)) w()
    const gaveUp = await Promise.race([
      this.delivery.idle().then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), this.t.drainTimeoutMs))),
    ])
    clearTimeout(timer)
    if (gaveUp) this.log.warn(`stopping with ${this.delivery.pendingCount} repl(ies) unsent; they are re-answered after the next start`)
    for (const w of this.readyWaiters.splice(0)) w()
    const c = this.client
    if (c) await c.close({graceMs: 1000}).catch(() => {})
    await this.loop?.catch(() => {})
    await this.state.close().catch((error) => this.log.error(`could not save state: ${errorMessage(error)}`))
  }
}
