import type {Logger} from '../log.js'
import type {AccountState} from '../state/account-state.js'
import type {EchoTracker} from './echoes.js'
import {chunkText} from './chunker.js'
import {ChatRateLimiter} from './rate-limit.js'

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
}

export interface SendResult {
  id?: number
  guid?: string
}

export type SendFn = (params: SendParams) => Promise<SendResult>

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
  chunking: () => {limit: number; mode: 'length' | 'newline'}
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
}

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

  constructor(private readonly o: DeliveryOptions) {
    this.limiter = new ChatRateLimiter(o.now, o.perMinute)
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

  /** Number of replies queued or being sent. */
  get pendingCount(): number {
    return this.inFlight
  }

  static chatKey(req: {chatId: number; to?: string}): string {
    return req.chatId > 0 ? `chat_id:${req.chatId}` : (req.to ?? '')
  }

  /** Builds the chunks for a reply (prefix + chunker). Exposed for tests and recovery. */
  chunksFor(text: string, prefix?: string): string[] {
    const body = text.trim()
    if (body === '') return []
    const full = prefix ? `${prefix}${/\s$/.test(prefix) ? '' : ' '}${body}` : body
    const {limit, mode} = this.o.chunking()
    return chunkText(full, {limit, mode}).filter((c) => c.trim() !== '')
  }

  /** Queues a reply behind earlier ones to the same chat; resolves with its outcome. */
  deliver(req: ReplyRequest): Promise<DeliveryOutcome> {
    const key = Delivery.chatKey(req)
    const chunks = this.chunksFor(req.text, req.prefix)
    if (chunks.length === 0 && (req.files ?? []).length === 0) return Promise.resolve({status: 'empty', chunks: 0, sentChunks: 0})
    this.inFlight++
    const prev = this.tails.get(key) ?? Promise.resolve()
    const run = prev.then(() => this.sendChunks(req, key, chunks, 0, true))
    const tail = run.catch(() => {}).finally(() => {
      this.inFlight--
      if (this.tails.get(key) === tail) this.tails.delete(key)
    })
    this.tails.set(key, tail)
    return run
  }

  /** Resends the unconfirmed chunks of a journaled send (crash recovery). */
  resume(req: ReplyRequest, chunks: string[], from: number): Promise<DeliveryOutcome> {
    const key = Delivery.chatKey(req)
    // Active while it waits behind this chat's queue too: a restart in that time must not resume it twice.
    if (req.inboundGuid) this.active.add(req.inboundGuid)
    this.inFlight++
    const prev = this.tails.get(key) ?? Promise.resolve()
    const run = prev.then(() => this.sendChunks(req, key, chunks, from, false))
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

  private async sendChunks(req: ReplyRequest, key: string, chunks: string[], from: number, journal: boolean): Promise<DeliveryOutcome> {
    const o = this.o
    const log = o.log
    if (req.inboundGuid) this.active.add(req.inboundGuid)
    try {
      return await this.sendChunksJournaled(req, key, chunks, from, journal)
    } finally {
      if (req.inboundGuid) this.active.delete(req.inboundGuid)
    }
  }

  private async sendChunksJournaled(req: ReplyRequest, key: string, chunks: string[], from: number, journal: boolean): Promise<DeliveryOutcome> {
    const o = this.o
    const log = o.log
    if (journal && o.state && req.inboundGuid) {
      await o.state.beginSend({inboundGuid: req.inboundGuid, chatId: req.chatId, to: req.to, texts: chunks, sent: 0, startedAt: o.now()})
    }
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
      const r = await this.sendWithRetry(params, req)
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

  private async sendWithRetry(
    params: SendParams,
    req: ReplyRequest,
  ): Promise<{ok: true; result: SendResult} | {ok: false; unknown: boolean; interrupted?: boolean; error: string}> {
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
        if (!safe && isChildGone(error) && this.o.state && req.inboundGuid) {
          return {ok: false, unknown: true, interrupted: true, error: text}
        }
        if (!safe || attempt >= max) {
          // Anything not provably "not sent" (timeouts, -32001, a child that died mid-request) is unknown.
          const unknown = !safe && !isDefiniteFailure(error)
          return {ok: false, unknown, error: text}
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

/** Errors that prove nothing was sent: validation (-32602) and AppleScript/permission failures. */
function isDefiniteFailure(err: unknown): boolean {
  const e = err as {data?: unknown}
  const code = rpcCodeOf(err)
  if (code === -32602 || code === -32601) return true
  if (code === -32603 && typeof e.data === 'string' && /AppleScript failed|Full Disk Access|Permission Error/i.test(e.data)) return true
  const d = e?.data as {disposition?: unknown} | undefined
  return Boolean(d && typeof d === 'object' && d.disposition === 'not_started')
}
