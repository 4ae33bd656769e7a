import {createHash} from 'node:crypto'
import type {Logger} from '../log.js'

/**
 * Settling sends whose outcome is unknown (a timeout, -32001, a child that died mid-request).
 * Never resend blind; always find out first:
 * - tracked sends (`send.tracked` with a caller-owned attempt_id): ask `message.send_status`;
 * - plain sends: once the child that held the request is gone and a short settle time has passed,
 *   read the chat back (`messages.history`): a row from us with that text created after the send
 *   began means it went out; none means it did not, and it is sent once more.
 * Everything here takes its I/O as functions, so the decisions are unit-tested without imsg.
 */

/** Bounds of the reconciliation (docs/gateway.md "Nothing lost, nothing answered twice"). */
export interface ReconcileTimings {
  /** After the child that held the request is gone: time for Messages to write a row it was handed. */
  settleMs: number
  /** A child that still holds an unanswered send this long after its timeout is restarted, so it cannot send later. */
  holdLimitMs: number
  /** Tracked sends: first `message.send_status` poll interval; doubles up to statusPollMaxMs. */
  statusPollBaseMs: number
  statusPollMaxMs: number
  /** Tracked sends: how long a `pending` status is polled before the send is reported as unknown. */
  statusPollLimitMs: number
  /** How often one chunk may be found missing and sent again (each resend is itself reconciled). */
  maxResends: number
  /** chat.db's clock may differ from the gateway's (a remote Mac): rows this much older than the start still count. */
  clockSkewMs: number
}

export const DEFAULT_RECONCILE_TIMINGS: ReconcileTimings = {
  settleMs: 5_000,
  holdLimitMs: 60_000,
  statusPollBaseMs: 1_000,
  statusPollMaxMs: 15_000,
  statusPollLimitMs: 120_000,
  maxResends: 3,
  clockSkewMs: 2_000,
}

/** A row as `messages.history` returns it (only what matching needs). */
export interface HistoryRow {
  id: number
  is_from_me: boolean
  text: string
  created_at: string
  guid?: string
}

/**
 * The row that proves a send happened: from us, same text, created at or after the send began
 * (minus clock skew), not already accounted to another send. The oldest such row wins so two
 * identical replies each claim their own row.
 */
export function findOurRow(
  rows: readonly HistoryRow[],
  text: string,
  startedAt: number,
  claimed: ReadonlySet<number> = new Set(),
  skewMs = DEFAULT_RECONCILE_TIMINGS.clockSkewMs,
): HistoryRow | undefined {
  let best: HistoryRow | undefined
  for (const r of rows) {
    if (!r.is_from_me || r.text !== text || claimed.has(r.id)) continue
    const t = Date.parse(r.created_at)
    if (!Number.isFinite(t) || t < startedAt - skewMs) continue
    if (!best || r.id < best.id) best = r
  }
  return best
}

/** `message.send_status` result (addendum §2). */
export interface SendStatusResult {
  ok?: boolean
  guid?: string
  send_state?: string
  service?: string | null
  checked_at?: string
  delivered_at?: string
  status_fields?: {
    is_sent?: boolean
    is_delivered?: boolean
    is_finished?: boolean
    error?: number
    date_delivered?: string | number | null
    date_read?: string | number | null
    [k: string]: unknown
  } | null
}

export type StatusVerdict =
  | {kind: 'sent' | 'delivered'; readAt?: string; deliveredAt?: string}
  /** failed; `safe` when the message never left this Mac (not sent, not delivered), so a new attempt cannot duplicate it. */
  | {kind: 'failed'; safe: boolean; error?: number}
  /** pending; `exists` false when imsg knows no message with that guid (status_fields null). */
  | {kind: 'pending'; exists: boolean}

function isoOf(v: unknown): string | undefined {
  if (typeof v === 'string' && v !== '') return v
  return undefined
}

export function interpretSendStatus(r: SendStatusResult): StatusVerdict {
  const f = r.status_fields
  switch (r.send_state) {
    case 'delivered':
      return {kind: 'delivered', deliveredAt: r.delivered_at ?? isoOf(f?.date_delivered), readAt: isoOf(f?.date_read)}
    case 'sent':
      return {kind: 'sent', readAt: isoOf(f?.date_read)}
    case 'failed':
      return {kind: 'failed', safe: Boolean(f) && f!.is_sent !== true && f!.is_delivered !== true && !f!.date_delivered, error: f?.error}
    default:
      return {kind: 'pending', exists: f !== null && f !== undefined}
  }
}

/** Backoff delays for status polls: base, 2×base, … capped at max, summing to at most limit. */
export function pollDelays(t: Pick<ReconcileTimings, 'statusPollBaseMs' | 'statusPollMaxMs' | 'statusPollLimitMs'>): number[] {
  const out: number[] = []
  let total = 0
  let d = Math.max(1, t.statusPollBaseMs)
  while (total + d <= t.statusPollLimitMs) {
    out.push(d)
    total += d
    d = Math.min(d * 2, t.statusPollMaxMs)
  }
  return out
}

/** RFC 4122 version-5 UUID (SHA-1 of namespace + name): the same name always gives the same id. */
export function uuidV5(name: string, namespace: string): string {
  const ns = Buffer.from(namespace.replaceAll('-', ''), 'hex')
  const h = createHash('sha1').update(ns).update(name, 'utf8').digest()
  h[6] = (h[6]! & 0x0f) | 0x50
  h[8] = (h[8]! & 0x3f) | 0x80
  const x = h.subarray(0, 16).toString('hex')
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`
}

/** Namespace of remoteclaw attempt ids (a fixed random UUID). */
const ATTEMPT_NAMESPACE = '6f1d2c3b-8a4e-4f5a-9b7c-0d1e2f3a4b5c'

/**
 * The `send.tracked` attempt_id of one chunk: derived from the journal entry's id, the chunk's
 * position and the attempt number, so a gateway restarted after kill -9 asks for the very same id
 * (imsg refuses a second message under it) and a deliberate new attempt gets a new one.
 */
export function attemptIdFor(entryId: string, chunk: number, attempt: number): string {
  return uuidV5(`${entryId}:${chunk}:${attempt}`, ATTEMPT_NAMESPACE)
}

/** imsg refused the attempt_id because a message or an in-flight tracked send already has it: find out, never a new id. */
export function isAttemptIdTaken(err: unknown): boolean {
  const d = (err as {data?: unknown})?.data as {detail?: unknown} | undefined
  const detail = d && typeof d === 'object' && typeof d.detail === 'string' ? d.detail : ''
  return /attempt_id already identifies a message|already reserved by another tracked send/i.test(detail)
}

/** -32001 `still_in_flight`: the child still holds the send (its mutation lane is blocked until it restarts). */
export function isStillInFlight(err: unknown): boolean {
  const d = (err as {data?: unknown})?.data as {disposition?: unknown} | undefined
  return Boolean(d && typeof d === 'object' && d.disposition === 'still_in_flight')
}

/** The child answered (-32001 may_have_completed): it no longer holds the request. */
export function childAnswered(err: unknown): boolean {
  const e = err as {rpcCode?: unknown; code?: unknown}
  const code = typeof e?.rpcCode === 'number' ? e.rpcCode : typeof e?.code === 'number' ? e.code : undefined
  return code !== undefined && !isStillInFlight(err)
}

export interface ReconcilerDeps {
  log: Logger
  now: () => number
  /** Abortable sleep (Delivery's: ends early on shutdown). */
  sleep: (ms: number) => Promise<void>
  aborted: () => boolean
  /** Generation of the imsg child running now; undefined while none runs. */
  childGeneration: () => number | undefined
  /** Ends the current child (it still holds a send that must not complete behind our back). */
  restartChild?: (reason: string) => void
  /** `messages.history` of one chat (newest first), through the current child; `end` (ISO, exclusive) pages back. */
  readHistory: (chatId: number, limit: number, end?: string) => Promise<HistoryRow[]>
  /** `message.send_status {guid}` through the current child. */
  sendStatus?: (guid: string) => Promise<SendStatusResult>
  timings?: Partial<ReconcileTimings>
}

/** One send whose outcome is unknown. */
export interface UnknownSend {
  chatId: number
  text: string
  /** Gateway clock when the send (this attempt) began. */
  startedAt: number
  /** Generation of the child that held the request. */
  generation: number | undefined
  /** True when that child answered (it holds nothing any more). */
  answered: boolean
  /** For logs: "DM from +1555… (chunk 2/3)". */
  label: string
}

export type ReadBackResult = {found: true; rowId: number} | {found: false} | {aborted: true}

/**
 * Waits until the send can no longer happen behind our back, then reads the chat back. Every
 * step is logged with the chat and the text's length (never the text: it is a person's message).
 */
export class SendReconciler {
  readonly t: ReconcileTimings
  /** Row ids already accounted to a send (ours, confirmed), so two identical texts each need their own row. */
  private readonly claimed = new Set<number>()

  constructor(private readonly d: ReconcilerDeps) {
    this.t = {...DEFAULT_RECONCILE_TIMINGS, ...d.timings}
  }

  claim(rowId: number | undefined): void {
    if (rowId === undefined) return
    this.claimed.add(rowId)
    if (this.claimed.size > 4_096) this.claimed.delete(this.claimed.values().next().value!)
  }

  /** Resolves once the child that held `u` is gone (restarting it after holdLimitMs) and settleMs has passed. */
  async waitUntilSettled(u: UnknownSend): Promise<boolean> {
    const {log, now, sleep, aborted, childGeneration} = this.d
    const since = now()
    let restarted = false
    if (!u.answered && u.generation !== undefined && childGeneration() === u.generation) {
      log.info(`${u.label}: waiting for the imsg child that holds the send to finish or be replaced before checking the chat`, {
        holdLimitMs: this.t.holdLimitMs,
      })
    }
    while (!u.answered && u.generation !== undefined && childGeneration() === u.generation) {
      if (aborted()) return false
      if (!restarted && now() - since >= this.t.holdLimitMs) {
        restarted = true
        this.d.restartChild?.(`it still holds a send with an unknown outcome after ${Math.round(this.t.holdLimitMs / 1000)}s; a fresh child cannot complete it behind our back`)
      }
      await sleep(Math.min(500, this.t.holdLimitMs))
    }
    if (aborted()) return false
    await sleep(this.t.settleMs)
    return !aborted()
  }

  /** Plain sends: read the chat back once nothing can still complete the send. */
  async readBack(u: UnknownSend): Promise<ReadBackResult> {
    const {log, sleep, aborted} = this.d
    if (!(await this.waitUntilSettled(u))) return {aborted: true}
    for (let attempt = 1; ; attempt++) {
      if (aborted()) return {aborted: true}
      try {
        const rows = await this.chatSince(u.chatId, u.startedAt - this.t.clockSkewMs)
        const row = findOurRow(rows, u.text, u.startedAt, this.claimed, this.t.clockSkewMs)
        if (row) {
          this.claim(row.id)
          log.info(`${u.label}: read the chat back: the message is there (row ${row.id}); it went out, not sending it again`, {chatId: u.chatId, rowId: row.id})
          return {found: true, rowId: row.id}
        }
        log.info(`${u.label}: read the chat back: no message from us with that text since the send began; it did not go out, sending it once more`, {chatId: u.chatId})
        return {found: false}
      } catch (error) {
        const delay = Math.min(this.t.statusPollBaseMs * 2 ** Math.min(attempt - 1, 4), this.t.statusPollMaxMs)
        log.warn(`${u.label}: could not read chat ${u.chatId} back (${(error as Error)?.message ?? String(error)}); trying again in ${delay}ms`, {attempt})
        await sleep(delay)
      }
    }
  }

  /**
   * Every row of the chat created at or after `since` (pages of 100 back in time, at most 20 pages):
   * in a busy group our row may be far below the newest 50.
   */
  private async chatSince(chatId: number, since: number): Promise<HistoryRow[]> {
    const PAGE = 100
    const byId = new Map<number, HistoryRow>()
    let end: string | undefined
    for (let page = 0; page < 20; page++) {
      const rows = await this.d.readHistory(chatId, PAGE, end)
      for (const r of rows) byId.set(r.id, r)
      if (rows.length < PAGE) break
      const oldest = Math.min(...rows.map((r) => Date.parse(r.created_at)).filter(Number.isFinite))
      if (!Number.isFinite(oldest) || oldest < since) break
      // end is exclusive: one ms past the oldest keeps rows that share its timestamp (deduplicated by id).
      const next = new Date(oldest + 1).toISOString()
      if (next === end) break
      end = next
    }
    return [...byId.values()]
  }

  /**
   * Tracked sends: poll `message.send_status` for the attempt id with backoff, bounded by
   * statusPollLimitMs. `missing` (imsg knows no such message once the child that held it is gone)
   * is safe to send again under the SAME attempt id: imsg refuses a second message with it.
   */
  async trackedStatus(u: UnknownSend & {attemptId: string}): Promise<
    | {kind: 'sent' | 'delivered'; readAt?: string; deliveredAt?: string}
    | {kind: 'failed'; safe: boolean; error?: number}
    | {kind: 'missing'}
    | {kind: 'unknown'; why: string}
    | {aborted: true}
  > {
    const {log, sleep, aborted, childGeneration, sendStatus} = this.d
    if (!sendStatus) return {kind: 'unknown', why: 'message.send_status is not available'}
    const delays = pollDelays(this.t)
    let lastWhy = 'no answer yet'
    let settled = false
    for (let i = 0; i <= delays.length; i++) {
      if (aborted()) return {aborted: true}
      try {
        const v = interpretSendStatus(await sendStatus(u.attemptId))
        if (v.kind === 'sent' || v.kind === 'delivered') {
          log.info(`${u.label}: message.send_status says ${v.kind} for attempt ${u.attemptId}; done, not sending it again`, {attemptId: u.attemptId})
          return v
        }
        if (v.kind === 'failed') {
          log.warn(`${u.label}: message.send_status says failed for attempt ${u.attemptId}${v.error ? ` (error ${v.error})` : ''}`, {attemptId: u.attemptId, safe: v.safe})
          return v
        }
        if (v.kind === 'pending' && !v.exists) {
          const gone = u.answered || u.generation === undefined || childGeneration() !== u.generation
          if (gone) {
            if (!settled) {
              // The settle time lets a row the dead child handed to Messages appear first; then ask again.
              settled = true
              if (!(await this.waitUntilSettled(u))) return {aborted: true}
              i--
              continue
            }
            log.info(`${u.label}: imsg knows no message with attempt ${u.attemptId} and nothing holds it; sending it again under the same attempt_id (imsg refuses a duplicate)`, {attemptId: u.attemptId})
            return {kind: 'missing'}
          }
          lastWhy = 'imsg has no message with that attempt id yet and the child that holds the send is still running'
        } else lastWhy = 'the message is still pending in Messages'
      } catch (error) {
        lastWhy = `message.send_status failed: ${(error as Error)?.message ?? String(error)}`
      }
      if (i === delays.length) break
      log.debug(`${u.label}: attempt ${u.attemptId} still unknown (${lastWhy}); polling again in ${delays[i]}ms`)
      await sleep(delays[i]!)
    }
    return {kind: 'unknown', why: `${lastWhy} after ${Math.round(this.t.statusPollLimitMs / 1000)}s of polling`}
  }
}
