import {execa} from 'execa'
import type {ResolvedAccount} from '../config/accounts.js'
import type {Context} from '../context.js'
import {errorMessage} from '../errors.js'
import {ImsgClient, type WatchStream} from '../imsg/client.js'
import {ImsgMethodNotFoundError, ImsgWatchEndedError} from '../imsg/errors.js'
import type {ImsgMessage} from '../imsg/types.js'
import type {Logger} from '../log.js'
import type {Delivery, SendParams, SendResult} from '../outbound/delivery.js'
import type {HistoryRow, SendStatusResult} from '../outbound/reconcile.js'
import type {AccountState} from '../state/account-state.js'
import {checkCursorSource, checkDatabaseReplaced, initCursor} from './cursor-start.js'
import type {HealthRecorder} from './health.js'
import {replayPending} from './replay-pending.js'
import type {RunnerTimings} from './runner-types.js'

/** A child started (subscribed, about to stream) or ended. Per-child state (capabilities) resets on these. */
export type ChildEvent = {type: 'started'; client: ImsgClient; pid?: number; version?: string} | {type: 'ended'; reason: string}

export interface SupervisorDeps {
  ctx: Context
  log: Logger
  health: HealthRecorder
  timings: RunnerTimings
  /** The current account config (hot reload replaces it). */
  account: () => ResolvedAccount
  state: AccountState
  /** Each wire message, in stream order; the next one waits for it (order per session holds). */
  onMessage: (m: ImsgMessage) => Promise<void>
  /** Replay of journaled sends left unsettled by the last run: resent through this Delivery. */
  delivery: () => Delivery
  /**
   * Marks an inbound guid as being handled while its interrupted reply is replayed, so the stream's
   * replay of that message is not answered a second time; `release` ends it.
   */
  hold: (guid: string) => void
  release: (guid: string) => void
}

class StopSignal extends Error {}

/**
 * The `imsg rpc` child of one account: spawn, version detection, the cursor's source check and
 * first-start cursor, replay of interrupted replies, subscribe, liveness probe and stall check,
 * restart with backoff. Every wire message goes to `onMessage`; sends and other calls go through
 * send() / withClient() on whichever child is live.
 */
export class ImsgSupervisor {
  private client: ImsgClient | undefined
  private stream: WatchStream | undefined
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
  /** Newest created_at delivered by the stream (chat.db clock, so a remote Mac's clock skew does not matter). */
  private newestStreamed = 0
  private restartReason: string | undefined
  private everStarted = false
  /** Counts imsg children: a send whose outcome is unknown is read back once its child's generation is gone. */
  private generation = 0
  /** `methods` from initialize (0.14+): until capabilities.ts lands, tracked sends need send.tracked + message.send_status there. */
  private methods: string[] = []
  private readonly listeners = new Set<(e: ChildEvent) => void>()

  constructor(private readonly d: SupervisorDeps) {}

  private get now(): number {
    return this.d.ctx.now()
  }

  private get log(): Logger {
    return this.d.log
  }

  private get state(): AccountState {
    return this.d.state
  }

  /** Starts supervising; returns at once (the first child starts in the background). */
  start(): void {
    this.loop = this.supervise()
  }

  /** Listens for child starts/ends; returns the unsubscribe function. */
  onChild(listener: (e: ChildEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private emit(e: ChildEvent): void {
    for (const l of this.listeners) {
      try {
        l(e)
      } catch (error) {
        this.log.error(`child ${e.type} listener failed: ${errorMessage(error)}`)
      }
    }
  }

  /** The live, subscribed child, or undefined while (re)starting. */
  currentClient(): ImsgClient | undefined {
    return this.client && this.stream && !this.client.hasExited ? this.client : undefined
  }

  /** Runs `fn` on the live child; undefined (fn not called) when none is up. */
  async withClient<T>(fn: (client: ImsgClient) => Promise<T>): Promise<T | undefined> {
    const c = this.currentClient()
    return c ? fn(c) : undefined
  }

  // ---------------------------------------------------------------- supervision

  private backoffMs(): number {
    const n = Math.max(0, this.consecutiveFailures - 1)
    return Math.min(this.d.timings.backoffBaseMs * 2 ** n, this.d.timings.maxBackoffMs)
  }

  private async sleep(ms: number): Promise<void> {
    // stopIntake() wakes a sleep already running; one that starts after it (the supervisor was
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
    const t = this.d.timings
    while (!this.stopping) {
      let why: string
      let fix: string | undefined
      try {
        why = await this.runChildOnce()
      } catch (error) {
        why = error instanceof StopSignal ? 'stopping' : errorMessage(error)
        if (!(error instanceof StopSignal) && !this.stopping) {
          fix = (error as {fix?: string}).fix
          this.d.health.update(this.d.account().id, {lastError: why, lastErrorAt: this.d.health.iso()})
        }
      }
      this.stopProbe()
      // On a graceful stop the child stays up: close() ends it after queued replies are sent.
      if (this.stopping) break
      const c = this.client
      this.client = undefined
      this.stream = undefined
      if (c) await c.close({graceMs: 1000}).catch(() => {})
      this.consecutiveFailures++
      this.restarts++
      const delay = this.backoffMs()
      this.d.health.update(this.d.account().id, {
        running: false,
        state: 'restarting',
        childPid: undefined,
        restarts: this.restarts,
        consecutiveFailures: this.consecutiveFailures,
      })
      this.emit({type: 'ended', reason: why})
      if (this.consecutiveFailures === t.failuresBeforeSlow) {
        this.log.error(
          `imsg failed ${this.consecutiveFailures} times in a row; last: ${why}. Still retrying every ${t.maxBackoffMs >= 1000 ? `${Math.round(t.maxBackoffMs / 1000)}s` : `${t.maxBackoffMs}ms`}. ${fix ? `Fix: ${fix}` : 'Check: remoteclaw channels status --probe'}`,
        )
      } else if (this.consecutiveFailures < t.failuresBeforeSlow) {
        this.log.warn(`imsg stopped (${why}); restarting in ${delay}ms from cursor ${this.state.cursor}`)
        if (fix && this.consecutiveFailures === 1) this.log.warn(`fix: ${fix}`)
      } else {
        this.log.debug(`imsg stopped (${why}); retrying in ${delay}ms`)
      }
      await this.sleep(this.consecutiveFailures >= t.failuresBeforeSlow ? t.maxBackoffMs : delay)
    }
  }

  /** Starts one child, streams until it ends; returns why it ended. */
  private async runChildOnce(): Promise<string> {
    const a = this.d.account()
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
    await checkCursorSource(this.state, a, this.log)
    await checkDatabaseReplaced(client, this.state, this.log)
    if (this.state.cursor === 0) await initCursor(client, this.state, this.log)
    if (this.state.pending().length > 0) {
      await replayPending(client, {state: this.state, delivery: this.d.delivery(), log: this.log, hold: this.d.hold, release: this.d.release})
    }
    if (this.stopping) throw new StopSignal()
    // What chat.db holds now counts as delivered for the stall check (the cursor covers it).
    const {chats: newestChat} = await client.chatsList({limit: 1})
    const baseline = newestChat[0]?.last_message_at ? Date.parse(newestChat[0].last_message_at) : 0
    if (baseline > this.newestStreamed) this.newestStreamed = baseline
    // tapbacks come only with include_reactions; they reach the agent as context (presence)
    const stream = await client.subscribe({since_rowid: this.state.cursor, debounce_ms: this.d.timings.debounceMs, attachments: true,
      ...(a.reactionNotifications !== 'off' ? {include_reactions: true} : {})})
    this.stream = stream
    this.everStarted = true
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
    this.emit({type: 'started', client, pid: client.pid, version})
    for (const w of this.readyWaiters.splice(0)) w()
    this.startProbe(client)
    const healthySince = this.now
    try {
      for await (const m of stream) {
        if (this.stopping) break
        const created = typeof m.created_at === 'string' && m.created_at ? Date.parse(m.created_at) : Number.NaN
        if (Number.isFinite(created) && created > this.newestStreamed) this.newestStreamed = created
        await this.d.onMessage(m)
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
      const st = await client.initialize({timeoutMs: this.d.account().rpcTimeoutMs})
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
      const r = await execa(this.d.account().cliPath, ['--version'], {timeout: 5_000, reject: false})
      const v = String(r.stdout).trim().split('\n')[0]
      return r.exitCode === 0 && /^\d+\.\d+/.test(v ?? '') ? v : undefined
    } catch {
      return undefined
    }
  }

  private startProbe(client: ImsgClient): void {
    this.stopProbe()
    this.probeFailures = 0
    this.stallSuspect = 0
    if (this.d.timings.probeIntervalMs <= 0) return
    this.probeTimer = setInterval(() => void this.probe(client), this.d.timings.probeIntervalMs)
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
    const a = this.d.account()
    try {
      const {chats} = await client.chatsList({limit: 1}, {timeoutMs: Math.min(a.rpcTimeoutMs, 10_000)})
      this.probeFailures = 0
      const newest = chats[0]?.last_message_at ? Date.parse(chats[0].last_message_at) : 0
      // Stalled: chat.db had activity at `newest` at the previous probe too, and the stream still
      // has delivered nothing that recent (both times are chat.db's clock). Once per activity time.
      const behind = newest > 0 && newest > this.newestStreamed + 1_000 && newest !== this.stallRestartedFor
      const stalled = behind && this.stallSuspect === newest
      this.d.health.update(a.id, {lastProbeAt: this.d.health.iso(), lastProbeOk: true, stalled}, {quiet: !stalled})
      if (stalled) {
        this.stallRestartedFor = newest
        this.restartChild(`the watch stream stalled: chat.db has a message from ${chats[0]!.last_message_at} the stream never delivered`)
      }
      this.stallSuspect = behind ? newest : 0
    } catch (error) {
      this.probeFailures++
      this.d.health.update(a.id, {
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
  whenReady(timeoutMs: number): Promise<boolean> {
    if (this.currentClient()) return Promise.resolve(true)
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

  /** Generation of the child running now (undefined while none runs): "the child that held this request is gone". */
  childGeneration(): number | undefined {
    return this.client && !this.client.hasExited ? this.generation : undefined
  }

  /** This imsg lists `method` in initialize's methods (0.14+); message.send_status needs no bridge, so it is asked here. */
  hasMethod(method: string): boolean {
    return this.methods.includes(method)
  }

  /**
   * Delivery's send: waits for a running child; "no child" is a retry-safe failure (nothing was written).
   * `attemptId` sends with send.tracked. A failure carries the generation of the child that held the
   * request, so an unknown outcome is read back only once that child is gone.
   */
  async send(p: SendParams): Promise<SendResult> {
    if (!(await this.whenReady(60_000)) || !this.client || this.client.hasExited) {
      throw Object.assign(new Error('imsg is not running (restarting)'), {retrySafe: true, notSent: true})
    }
    const client = this.client
    const generation = this.generation
    const body = {...(p.text !== '' ? {text: p.text} : {}), ...(p.file ? {file: p.file} : {})}
    const thread = p.reply_to ? {reply_to: p.reply_to} : {}
    const params = p.chat_id !== undefined ? {chat_id: p.chat_id, ...body, ...thread} : {to: p.to!, ...body, ...(p.service ? {service: p.service} : {}), ...thread}
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
    if (!(await this.whenReady(this.d.account().rpcTimeoutMs)) || !this.client || this.client.hasExited) {
      throw new Error('imsg is not running (restarting)')
    }
    return this.client
  }

  /** Reading a chat back to settle an unknown send outcome (newest first). */
  async readHistory(chatId: number, limit: number, end?: string): Promise<HistoryRow[]> {
    const {messages} = await (await this.readyClient()).messagesHistory({chat_id: chatId, limit, ...(end ? {end} : {})})
    return messages
  }

  /** `message.send_status {guid}` (imsg 0.10+). */
  async sendStatus(guid: string): Promise<SendStatusResult> {
    return (await this.readyClient()).request<SendStatusResult>('message.send_status', {guid})
  }

  // ---------------------------------------------------------------- shutdown

  /** Stop step 1: no new messages (the child stays up so queued replies can still be sent). */
  async stopIntake(): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    this.stopProbe()
    this.wake?.()
    const stream = this.stream
    if (stream) await stream.unsubscribe().catch(() => {})
  }

  /**
   * Ends sends waiting for a child (they fail retry-safe and stay journaled for the next start).
   * With `onlyIfDown`, only when no child is running now.
   */
  releaseWaiters(onlyIfDown = false): void {
    if (onlyIfDown && this.client && !this.client.hasExited) return
    for (const w of this.readyWaiters.splice(0)) w()
  }

  /** Stop step 2: closes the child and waits for the supervisor loop to end. */
  async close(): Promise<void> {
    this.releaseWaiters()
    const c = this.client
    if (c) await c.close({graceMs: 1000}).catch(() => {})
    await this.loop?.catch(() => {})
  }
}
