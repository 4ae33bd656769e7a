import type {Logger} from '../log.js'
import type {AccountState} from '../state/account-state.js'
import type {EchoTracker} from './echoes.js'
import {randomUUID} from 'node:crypto'
import {chunkTextCapped} from './chunker.js'
import {ChatRateLimiter} from './rate-limit.js'
import {
  attemptIdFor,
  childAnswered,
  isAttemptIdTaken,
  isStillInFlight,
  SendReconciler,
  type HistoryRow,
  type ReconcileTimings,
  type SendStatusResult,
} from './reconcile.js'

/** `send` params as imsg takes them (protocol §4.5): exactly one of chat_id / to. */
export interface SendParams {
  chat_id?: number
  to?: string
  /** '' with `file` for a file-only send. */
  text: string
  /** A file to send (a path where imsg runs: prepared by `prepareFile`). */
  file?: string
  service?: 'imessage' | 'sms' | 'auto'
  region?: string
  /** Answer in the thread of this message GUID (bridge only; presence passes it only where usable). */
  reply_to?: string
  /** Send with `send.tracked` under this caller-owned attempt_id (chat_id targets only). */
  attemptId?: string
}

export interface SendResult {
  id?: number
  guid?: string
}

/**
 * Sends through the current imsg child. A failure should carry `generation` (the child that held
 * the request), so an unknown outcome is read back only once that child is gone.
 */
export type SendFn = (params: SendParams) => Promise<SendResult>

/** Delivery state of the last send to a chat (health file, `channels status`). */
export interface ChatDeliveryState {
  state: 'pending' | 'sent' | 'delivered' | 'failed' | 'unknown'
  /** When this state was reached (ISO). */
  at: string
  /** When the peer read it, where the peer sends read receipts (tracked sends' message.send_status). */
  readAt?: string
  /** The message guid (or the attempt_id of a tracked send), when known. */
  guid?: string
}

export interface ReplyRequest {
  /** guid of the inbound message this answers ('' for notices). Keys the send journal. */
  inboundGuid: string
  /** imsg chat_id; 0 when unknown (then `to` is used). */
  chatId: number
  to?: string
  /** Reply text before the prefix. */
  text: string
  /** Resolved responsePrefix (group override, account, channel, messages). */
  prefix?: string
  /** Files to send after the text (agent output "json"). Not journaled: a crash mid-file does not resend it. */
  files?: string[]
  /** Thread the first text chunk under this message GUID (presence; not journaled: a resend after a restart is plain). */
  replyTo?: string
  /** For logs: "DM from +1555..." / "group chat 42". */
  label: string
}

/**
 * interrupted: the imsg child died with the send in flight. The journal entry is kept, and the
 * runner checks the chat's history after the restart and sends only what is missing.
 */
export type DeliveryStatus = 'sent' | 'failed' | 'unknown' | 'empty' | 'interrupted'

export interface DeliveryOutcome {
  status: DeliveryStatus
  chunks: number
  sentChunks: number
  error?: string
  /** When imsg acknowledged the last chunk (ms). */
  ackedAt?: number
}

export interface DeliveryOptions {
  /** The current child's send (the supervisor swaps children; a stopped child throws a retry-safe error). */
  send: SendFn
  log: Logger
  now: () => number
  state?: AccountState
  echoes?: EchoTracker
  perMinute: () => number
  /** maxChunks: maxReplyChunks (default unlimited); key: its config path, for the log line when a reply is cut. */
  chunking: () => {limit: number; mode: 'length' | 'newline'; maxChunks?: number; key?: string}
  service?: () => SendParams['service']
  /** Called after every delivery with its outcome (health file). */
  onOutcome?: (outcome: DeliveryOutcome, at: number) => void
  /** Called when imsg says its mutation lane is blocked (-32004): the child must restart. */
  onLaneBlocked?: () => void
  /** Checks a file and stages it where imsg runs (attachments/outbound.ts prepareOutboundFile). */
  prepareFile?: (localPath: string) => Promise<{path: string; cleanup: () => Promise<void>}>
  /** Retry backoff base in ms (tests shorten it). */
  retryBaseMs?: number
  maxAttempts?: number
  sleep?: (ms: number) => Promise<void>
  /**
   * Reading a chat back (`messages.history`) through the current child. When given, unknown
   * outcomes of journaled replies are reconciled instead of given up (reconcile.ts).
   */
  readHistory?: (chatId: number, limit: number, end?: string) => Promise<HistoryRow[]>
  /** Generation of the imsg child running now (undefined while none runs). */
  childGeneration?: () => number | undefined
  /** Ends the current child (it holds a send whose outcome must be settled). */
  restartChild?: (reason: string) => void
  /** True when this imsg offers send.tracked and message.send_status (capabilities). */
  trackedSend?: () => boolean
  /** `message.send_status {guid}` through the current child. */
  sendStatus?: (guid: string) => Promise<SendStatusResult>
  reconcileTimings?: Partial<ReconcileTimings>
  /** Delivery state of the last send per chat. */
  onChatState?: (chat: string, state: ChatDeliveryState) => void
  /** True when message.send_status can be asked (then delivered/read of each chat's last send is looked up). */
  statusAvailable?: () => boolean
  /** When the last send of a chat is checked again for delivered/read (ms after it was sent). */
  followUpDelaysMs?: number[]
  /** Journal entry ids (tests make them predictable). */
  newEntryId?: () => string
}

type AttemptResult =
  | {ok: true; result: SendResult}
  | {ok: false; unknown: boolean; interrupted?: boolean; error: string; err?: unknown}

/** imsg's "outcome unknown": the message may have gone out. Never retried (protocol §3.5). */
export const OUTCOME_UNKNOWN = -32001
export const LANE_BLOCKED = -32004

/**
 * True only when a retry cannot duplicate the message: imsg said so (retry_safe), the request
 * was refused before it ran (-32000 busy), or it never reached a child. Timeouts, -32001 and
 * AppleScript failures are not retried.
 */
export function isRetrySafe(err: unknown): boolean {
  const e = err as {code?: unknown; rpcCode?: unknown; data?: unknown; retrySafe?: unknown; notSent?: unknown}
  if (rpcCodeOf(err) === OUTCOME_UNKNOWN) return false
  if (typeof e?.retrySafe === 'boolean') return e.retrySafe
  if (e?.notSent === true) return true
  const data = e?.data as {retry_safe?: unknown; disposition?: unknown} | undefined
  if (data && typeof data === 'object') return data.retry_safe === true || data.disposition === 'not_started'
  return rpcCodeOf(err) === -32000
}

/** The JSON-RPC error code: ImsgError.rpcCode, or a plain {code: number}. */
export function rpcCodeOf(err: unknown): number | undefined {
  const e = err as {code?: unknown; rpcCode?: unknown}
  if (typeof e?.rpcCode === 'number') return e.rpcCode
  if (typeof e?.code === 'number') return e.code
  return undefined
}

function errText(err: unknown): string {
  const e = err as {message?: string}
  return e?.message ?? String(err)
}

/** The note that ends a reply cut at maxReplyChunks (the sender sees it; no paths or key names). */
export function cutNote(cutChars: number): string {
  return `[reply cut: ${cutChars.toLocaleString('en-US')} more characters were not sent]`
}

/**
 * Sends replies: prefix, chunk, per-chat FIFO, per-chat rate limit (excess waits in the queue),
 * journal of started sends (crash recovery), echo registration and safe retries.
 */
export class Delivery {
  private readonly tails = new Map<string, Promise<unknown>>()
  private readonly limiter: ChatRateLimiter
  private readonly waitingLogged = new Set<string>()
  private inFlight = 0
  private readonly sleep: (ms: number) => Promise<void>
  private aborted = false
  private readonly wakers = new Set<() => void>()
  /** inboundGuids whose journaled send is running now (not to be reconciled). */
  readonly active = new Set<string>()
  private readonly reconciler: SendReconciler | undefined

  constructor(private readonly o: DeliveryOptions) {
    this.limiter = new ChatRateLimiter(o.now, o.perMinute)
    this.reconciler = o.readHistory
      ? new SendReconciler({
          log: o.log,
          now: o.now,
          sleep: (ms) => this.sleep(ms),
          aborted: () => this.aborted,
          childGeneration: o.childGeneration ?? (() => undefined),
          restartChild: o.restartChild,
          readHistory: o.readHistory,
          sendStatus: o.sendStatus,
          timings: o.reconcileTimings,
        })
      : undefined
    // Waits end early on abort() (timers cleared), so a stopping gateway is not held by a rate-limit pause.
    this.sleep = (ms) =>
      new Promise<void>((resolve) => {
        if (this.aborted) return resolve()
        if (o.sleep) {
          this.wakers.add(resolve)
          void o.sleep(ms).then(() => {
            this.wakers.delete(resolve)
            resolve()
          })
          return
        }
        const timer = setTimeout(() => {
          this.wakers.delete(wake)
          resolve()
        }, ms)
        const wake = () => {
          clearTimeout(timer)
          resolve()
        }
        this.wakers.add(wake)
      })
  }

  /** Journal keys (sent or pending) starting with `prefix`; [] without a journal. */
  journalKeys(prefix: string): string[] {
    return this.o.state?.keysWithPrefix(prefix) ?? []
  }

  /** Number of replies queued or being sent. */
  get pendingCount(): number {
    return this.inFlight
  }

  static chatKey(req: {chatId: number; to?: string}): string {
    return req.chatId > 0 ? `chat_id:${req.chatId}` : (req.to ?? '')
  }

  /**
   * Builds the chunks for a reply (prefix + chunker). A reply longer than maxChunks chunks is cut:
   * the first maxChunks go out, then a short note (cutChars: how much was left out).
   */
  chunksFor(text: string, prefix?: string): string[] {
    return this.plan(text, prefix).chunks
  }

  private plan(text: string, prefix?: string): {chunks: string[]; cutChars: number} {
    const body = text.trim()
    if (body === '') return {chunks: [], cutChars: 0}
    const full = prefix ? `${prefix}${/\s$/.test(prefix) ? '' : ' '}${body}` : body
    const {limit, mode, maxChunks} = this.o.chunking()
    const r = chunkTextCapped(full, {limit, mode, maxChunks: maxChunks ?? Number.POSITIVE_INFINITY})
    if (r.cutChars > 0) {
      const note = cutNote(r.cutChars)
      r.chunks.push(note.length <= limit ? note : '…')
    }
    return r
  }

  /** Queues a reply behind earlier ones to the same chat; resolves with its outcome. */
  deliver(req: ReplyRequest): Promise<DeliveryOutcome> {
    const key = Delivery.chatKey(req)
    const {chunks, cutChars} = this.plan(req.text, req.prefix)
    if (cutChars > 0) {
      const {maxChunks, key: configKey = 'maxReplyChunks'} = this.o.chunking()
      this.o.log.warn(
        `reply to ${req.label} is longer than ${maxChunks} messages: sending the first ${maxChunks} and a note that ${cutChars} characters were cut; raise ${configKey} to send more`,
      )
    }
    if (chunks.length === 0 && (req.files ?? []).length === 0) return Promise.resolve({status: 'empty', chunks: 0, sentChunks: 0})
    this.inFlight++
    // Journaled when queued, not when its turn in the chat's queue comes: a send waiting behind
    // earlier ones (rate limit, a slow imsg) then survives a kill -9 and is settled after the next
    // start. Active at once, so a child restart's replay does not resume it while it waits.
    const begun = this.beginJournal(req, chunks)
    begun.catch(() => {}) // observed below, once the queue reaches it
    if (req.inboundGuid) this.active.add(req.inboundGuid)
    const prev = this.tails.get(key) ?? Promise.resolve()
    const run = prev.then(() => begun).then(() => this.sendChunks(req, key, chunks, 0))
    const tail = run.catch(() => {}).finally(() => {
      this.inFlight--
      if (req.inboundGuid) this.active.delete(req.inboundGuid)
      if (this.tails.get(key) === tail) this.tails.delete(key)
    })
    this.tails.set(key, tail)
    return run
  }

  private beginJournal(req: ReplyRequest, chunks: string[]): Promise<void> {
    const o = this.o
    if (!o.state || !req.inboundGuid) return Promise.resolve()
    const tracked = req.chatId > 0 && (o.trackedSend?.() ?? false)
    return o.state.beginSend({
      inboundGuid: req.inboundGuid,
      chatId: req.chatId,
      to: req.to,
      texts: chunks,
      sent: 0,
      startedAt: o.now(),
      id: (o.newEntryId ?? randomUUID)(),
      ...(tracked ? {tracked: true} : {}),
    })
  }

  /** Resends the unconfirmed chunks of a journaled send (crash recovery). */
  resume(req: ReplyRequest, chunks: string[], from: number): Promise<DeliveryOutcome> {
    const key = Delivery.chatKey(req)
    // Active while it waits behind this chat's queue too: a restart in that time must not resume it twice.
    if (req.inboundGuid) this.active.add(req.inboundGuid)
    this.inFlight++
    const prev = this.tails.get(key) ?? Promise.resolve()
    const run = prev.then(() => this.sendChunks(req, key, chunks, from))
    const tail = run.catch(() => {}).finally(() => {
      this.inFlight--
      if (this.tails.get(key) === tail) this.tails.delete(key)
    })
    this.tails.set(key, tail)
    return run
  }

  /**
   * Shutdown: replies still waiting (rate limit, retry backoff) stop without sending and keep
   * their journal entry, so the next start checks the chat and sends what is missing.
   */
  abort(): void {
    this.aborted = true
    for (const w of this.wakers) w()
    this.wakers.clear()
  }

  /** Resolves when every queued reply has been sent or has failed. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()])
  }

  private async sendChunks(req: ReplyRequest, key: string, chunks: string[], from: number): Promise<DeliveryOutcome> {
    const o = this.o
    const log = o.log
    if (req.inboundGuid) this.active.add(req.inboundGuid)
    try {
      return await this.sendChunksJournaled(req, key, chunks, from)
    } finally {
      if (req.inboundGuid) this.active.delete(req.inboundGuid)
    }
  }

  private async sendChunksJournaled(req: ReplyRequest, key: string, chunks: string[], from: number): Promise<DeliveryOutcome> {
    const o = this.o
    const log = o.log
    let sent = from
    let ackedAt: number | undefined
    let outcome: DeliveryOutcome | undefined
    for (let i = from; i < chunks.length; i++) {
      const wait = this.limiter.delayFor(key)
      if (wait > 0) {
        if (!this.waitingLogged.has(key)) {
          this.waitingLogged.add(key)
          log.info(
            `${req.label}: outbound rate limit of ${o.perMinute()}/min reached; reply queued, next send in ${Math.ceil(wait / 1000)}s`,
            {chat: key, waitMs: wait, admit: 'raise outboundPerMinute for this account (queued replies are sent, not dropped)'},
          )
        }
        await this.sleep(wait)
        if (this.aborted) {
          // Without a journal entry (no inbound guid) nothing resends it: say so instead of looping on a woken wait.
          outcome =
            o.state && req.inboundGuid
              ? {status: 'interrupted', chunks: chunks.length, sentChunks: sent, error: 'the gateway stopped while the reply waited for the rate limit'}
              : {status: 'failed', chunks: chunks.length, sentChunks: sent, error: 'the gateway stopped while the reply waited for the rate limit; it was not sent'}
          break
        }
        i--
        continue
      }
      this.waitingLogged.delete(key)
      const text = chunks[i]!
      const params: SendParams = req.chatId > 0 ? {chat_id: req.chatId, text} : {to: req.to ?? '', text}
      const service = o.service?.()
      if (params.to !== undefined && service) params.service = service
      if (i === 0 && sent === 0 && req.replyTo) params.reply_to = req.replyTo
      const r = await this.sendChunk(params, req, key, i, chunks.length)
      if (r.ok) {
        this.limiter.record(key)
        o.echoes?.recordSend(key, text, r.result, req.to)
        sent = i + 1
        ackedAt = o.now()
        if (o.state && req.inboundGuid && chunks.length > 1) await o.state.chunkSent(req.inboundGuid, sent)
        continue
      }
      outcome = {status: r.interrupted ? 'interrupted' : r.unknown ? 'unknown' : 'failed', chunks: chunks.length, sentChunks: sent, error: r.error}
      break
    }
    if (!outcome && req.files && req.files.length > 0) ackedAt = (await this.sendFiles(req, key)) ?? ackedAt
    outcome ??= {status: 'sent', chunks: chunks.length, sentChunks: sent, ackedAt}
    if (o.state && req.inboundGuid && outcome.status !== 'interrupted') await o.state.settleSend(req.inboundGuid)
    if (outcome.status !== 'sent' && outcome.status !== 'empty' && outcome.status !== 'interrupted') {
      o.onChatState?.(key, {state: outcome.status === 'unknown' ? 'unknown' : 'failed', at: new Date(o.now()).toISOString()})
    }
    const fields = {chat: key, chunks: chunks.length, sentChunks: sent, outcome: outcome.status, error: outcome.error}
    if (outcome.status === 'sent') log.info(`${req.label}: reply sent`, fields)
    else if (outcome.status === 'interrupted') {
      log.warn(`${req.label}: reply not sent yet (${outcome.error}); when imsg runs again the chat's history is checked and only what is missing is sent`, fields)
    } else if (outcome.status === 'unknown') {
      log.warn(`${req.label}: delivery outcome unknown; not retried so the chat does not get it twice`, fields)
    } else log.warn(`${req.label}: reply not sent`, fields)
    o.onOutcome?.(outcome, o.now())
    return outcome
  }

  /** Sends each file after the text, in order; a file that cannot be sent is logged and skipped. */
  private async sendFiles(req: ReplyRequest, key: string): Promise<number | undefined> {
    const o = this.o
    let ackedAt: number | undefined
    for (const local of req.files ?? []) {
      if (!o.prepareFile) {
        o.log.warn(`${req.label}: the agent's file ${local} was not sent: file sending is not available here`)
        continue
      }
      let prepared: {path: string; cleanup: () => Promise<void>}
      try {
        prepared = await o.prepareFile(local)
      } catch (error) {
        o.log.warn(`${req.label}: file not sent: ${errText(error)}`, {file: local, fix: (error as {fix?: string}).fix})
        continue
      }
      try {
        const wait = this.limiter.delayFor(key)
        if (wait > 0) await this.sleep(wait)
        const params: SendParams = req.chatId > 0 ? {chat_id: req.chatId, text: '', file: prepared.path} : {to: req.to ?? '', text: '', file: prepared.path}
        const r = await this.sendWithRetry(params, req)
        if (r.ok) {
          this.limiter.record(key)
          ackedAt = o.now()
          o.log.info(`${req.label}: file sent`, {file: local})
        } else {
          o.log.warn(`${req.label}: file ${r.unknown ? 'outcome unknown (not retried)' : 'not sent'}: ${r.error}`, {file: local})
        }
      } finally {
        await prepared.cleanup()
      }
    }
    return ackedAt
  }

  /**
   * One text chunk, exactly once: tracked (send.tracked + message.send_status) where imsg offers it,
   * else plain send; an unknown outcome is reconciled (reconcile.ts) and a chunk proven missing is
   * sent once more, each step logged. Without a reconciler an unknown outcome is reported as before.
   */
  private async sendChunk(base: SendParams, req: ReplyRequest, key: string, index: number, total: number): Promise<AttemptResult> {
    const o = this.o
    const entry = o.state && req.inboundGuid ? o.state.pendingSend(req.inboundGuid) : undefined
    const rec = this.reconciler && entry ? this.reconciler : undefined
    const label = total > 1 ? `${req.label} (chunk ${index + 1}/${total})` : req.label
    let tracked = Boolean(entry?.tracked && entry.id && base.chat_id !== undefined)
    let attempt = entry?.attempts?.[String(index)] ?? 0
    let resends = 0
    const maxResends = rec?.t.maxResends ?? 0
    const at = () => new Date(o.now()).toISOString()
    for (;;) {
      const startedAt = o.now()
      const attemptId = tracked ? attemptIdFor(entry!.id!, index, attempt) : undefined
      const params: SendParams = attemptId ? {...base, attemptId} : base
      o.onChatState?.(key, {state: 'pending', at: at(), guid: attemptId})
      const r = await this.sendWithRetry(params, req, Boolean(rec))
      if (r.ok) {
        const guid = attemptId ?? r.result.guid
        o.onChatState?.(key, {state: 'sent', at: at(), guid})
        rec?.claim(r.result.id)
        if (guid) this.followUp(key, guid)
        return r
      }
      if (r.interrupted) return r
      if (this.aborted && entry) return {...r, unknown: true, interrupted: true}
      if (tracked && !r.unknown && !isAttemptIdTaken(r.err)) {
        // Refused before dispatch (bridge down, method missing): nothing was sent, a plain send is safe.
        o.log.info(`${label}: send.tracked was refused before dispatch (${r.error}); sending this chunk with plain send`)
        tracked = false
        continue
      }
      if (!rec || (!r.unknown && !isAttemptIdTaken(r.err))) return r
      const generation = (r.err as {generation?: unknown})?.generation
      const u = {
        chatId: base.chat_id ?? 0,
        text: base.text,
        startedAt,
        generation: typeof generation === 'number' ? generation : undefined,
        answered: childAnswered(r.err),
        label,
      }
      if (isStillInFlight(r.err)) o.restartChild?.('imsg says a send is still in flight; its mutation lane stays blocked until the child restarts')
      if (tracked && attemptId) {
        o.log.warn(`${label}: delivery outcome unknown (${r.error}); asking imsg for attempt ${attemptId} (message.send_status), never resending blind`, {chat: key, attemptId})
        const v = await rec.trackedStatus({...u, attemptId})
        if ('aborted' in v) return {ok: false, unknown: true, interrupted: true, error: r.error}
        if (v.kind === 'sent' || v.kind === 'delivered') {
          o.onChatState?.(key, {state: v.kind, at: at(), guid: attemptId, ...(v.readAt ? {readAt: v.readAt} : {})})
          return {ok: true, result: {guid: attemptId}}
        }
        if (v.kind === 'unknown') return {ok: false, unknown: true, error: `delivery outcome still unknown: ${v.why}; not resent`}
        if (resends >= maxResends) return {ok: false, unknown: v.kind === 'missing', error: `${v.kind === 'failed' ? 'Messages reports the send failed' : 'not sent'} after ${resends + 1} attempt(s)`}
        if (v.kind === 'failed') {
          if (!v.safe) return {ok: false, unknown: false, error: `Messages reports the send failed${v.error ? ` (error ${v.error})` : ''}; it may have partly gone out, so it is not retried`}
          attempt = await o.state!.nextAttempt(req.inboundGuid, index)
          o.log.info(`${label}: the failed attempt never left this Mac; retrying with a new attempt id`, {attempt})
        }
        resends++
        continue
      }
      if (u.chatId <= 0) return {...r, error: `${r.error} (no chat id to read back)`}
      o.log.warn(`${label}: delivery outcome unknown (${r.error}); the chat is read back once the imsg child that held the send is gone, never resent blind`, {chat: key})
      const v = await rec.readBack(u)
      if ('aborted' in v) return {ok: false, unknown: true, interrupted: true, error: r.error}
      if (v.found) {
        o.onChatState?.(key, {state: 'sent', at: at()})
        return {ok: true, result: {id: v.rowId}}
      }
      if (resends >= maxResends) return {ok: false, unknown: true, error: `still not in the chat after ${resends} resend(s); not sent again`}
      resends++
    }
  }

  private readonly lastGuid = new Map<string, string>()

  /**
   * Delivered and read time of a chat's last send: nothing pushes them (addendum §2), so the last
   * send per chat is looked up a few times with message.send_status (timers never hold the process).
   */
  private followUp(key: string, guid: string): void {
    const o = this.o
    if (!o.sendStatus || !(o.statusAvailable?.() ?? false)) return
    this.lastGuid.delete(key)
    this.lastGuid.set(key, guid)
    if (this.lastGuid.size > 100) this.lastGuid.delete(this.lastGuid.keys().next().value!)
    for (const ms of o.followUpDelaysMs ?? [5_000, 60_000]) {
      const timer = setTimeout(() => {
        if (this.aborted || this.lastGuid.get(key) !== guid) return
        o.sendStatus!(guid).then(
          (st) => {
            if (this.lastGuid.get(key) !== guid) return
            const f = st.status_fields
            const readAt = typeof f?.date_read === 'string' ? f.date_read : undefined
            if (st.send_state === 'delivered' || st.send_state === 'failed') {
              o.onChatState?.(key, {state: st.send_state, at: st.delivered_at ?? st.checked_at ?? new Date(o.now()).toISOString(), guid, ...(readAt ? {readAt} : {})})
            }
          },
          () => {},
        )
      }, ms)
      timer.unref()
    }
  }

  private async sendWithRetry(params: SendParams, req: ReplyRequest, reconciled = false): Promise<AttemptResult> {
    const max = this.o.maxAttempts ?? 4
    const base = this.o.retryBaseMs ?? 500
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.o.send(params)
        return {ok: true, result: result ?? {}}
      } catch (error) {
        if (rpcCodeOf(error) === LANE_BLOCKED) this.o.onLaneBlocked?.()
        const safe = isRetrySafe(error)
        const text = errText(error)
        if (!safe && isChildGone(error) && this.o.state && req.inboundGuid && !reconciled) {
          return {ok: false, unknown: true, interrupted: true, error: text}
        }
        // A taken attempt_id is "not_started" yet says a message may exist: find out, never a new id.
        if (!safe || attempt >= max || isAttemptIdTaken(error) || (params.attemptId && isNotStarted(error))) {
          // Anything not provably "not sent" (timeouts, -32001, a child that died mid-request) is unknown.
          const unknown = !safe && !isDefiniteFailure(error)
          return {ok: false, unknown, error: text, err: error}
        }
        const delay = Math.min(base * 2 ** (attempt - 1), 10_000)
        this.o.log.info(`${req.label}: send failed (${text}); retrying in ${delay}ms (safe: it was not sent)`, {attempt})
        await this.sleep(delay)
        if (this.aborted) return {ok: false, unknown: false, interrupted: Boolean(this.o.state && req.inboundGuid), error: text}
      }
    }
  }
}

/** The child died (or was killed) with the request in flight: no JSON-RPC answer at all. */
function isChildGone(err: unknown): boolean {
  const e = err as {restartRequired?: unknown; name?: unknown}
  return rpcCodeOf(err) === undefined && (e?.restartRequired === true || e?.name === 'ImsgExitedError')
}

/** imsg refused the call before dispatching it (-32603 not_started): nothing was sent. */
function isNotStarted(err: unknown): boolean {
  const d = (err as {data?: unknown})?.data as {disposition?: unknown} | undefined
  return Boolean(d && typeof d === 'object' && d.disposition === 'not_started')
}

/** Errors that prove nothing was sent: validation (-32602) and AppleScript/permission failures. */
function isDefiniteFailure(err: unknown): boolean {
  const e = err as {data?: unknown}
  const code = rpcCodeOf(err)
  if (code === -32602 || code === -32601) return true
  if (code === -32603 && typeof e.data === 'string' && /AppleScript failed|Full Disk Access|Permission Error/i.test(e.data)) return true
  const d = e?.data as {disposition?: unknown} | undefined
  return Boolean(d && typeof d === 'object' && d.disposition === 'not_started')
}
