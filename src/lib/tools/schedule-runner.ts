import {errorMessage} from '../errors.js'
import type {Logger} from '../log.js'
import {formatLocal, isQuiet, nextAllowed, type QuietHours} from './quiet-hours.js'
import type {ScheduleRecord, ScheduleStore} from './schedule-store.js'
import type {ToolHost} from './types.js'

/** The `schedules` config with defaults applied (read again at every tick: a reload applies at once). */
export interface ResolvedScheduleConfig {
  /** A schedule found more than missedGraceMinutes late (the gateway was down): send it with a note, or drop it. */
  missed: 'send' | 'drop'
  missedGraceMinutes: number
  quietHours?: QuietHours
  /** IANA zone for quiet hours and the times in notes; undefined = the gateway's. */
  timezone?: string
  maxPendingPerChat: number
}

export interface ScheduleRunnerOptions {
  store: ScheduleStore
  host: ToolHost
  log: Logger
  now: () => number
  config: () => ResolvedScheduleConfig
  /** Only these accounts' schedules (the gateway's running accounts); default all. */
  accounts?: () => string[] | undefined
  /** Longest sleep between looks at the store (a CLI cancel or a new schedule is seen by then at the latest). */
  maxSleepMs?: number
}

/** When a record may go out: its due time, moved past quiet hours. */
export function effectiveDue(r: ScheduleRecord, c: ResolvedScheduleConfig): number {
  return nextAllowed(r.dueAt, c.quietHours, c.timezone)
}

export function missedNote(r: ScheduleRecord, c: ResolvedScheduleConfig): string {
  return `(Scheduled for ${formatLocal(r.dueAt, c.timezone)}; sent late because the gateway was offline.)`
}

/**
 * Sends due schedules once each. Reconciles records left "firing" by a crash before anything
 * else, applies the missed-schedule policy and quiet hours, and settles every record with a
 * log line: nothing is skipped silently.
 */
export class ScheduleRunner {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private again = false
  private stopped = false
  /** ids this process is sending now (a "firing" record not in here was left by a crash). */
  private readonly active = new Set<string>()
  /** "firing" records whose check failed; retried each pass, logged once. */
  private readonly retrying = new Set<string>()

  constructor(private readonly o: ScheduleRunnerOptions) {}

  /** Reconciles what a crash left "firing", then sends what is due (and keeps doing so until stop()). */
  async start(): Promise<void> {
    await this.tick()
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
  }

  /** Look at the store now (a schedule was added or cancelled). */
  kick(): void {
    if (this.stopped) return
    void this.tick()
  }

  /** Resolves when the current pass (if any) is done. */
  async idle(): Promise<void> {
    while (this.running) await this.running
  }

  private inScope(r: ScheduleRecord): boolean {
    const ids = this.o.accounts?.()
    return !ids || ids.includes(r.accountId)
  }

  /**
   * A record left "firing" by an earlier process: sent, not sent (back to pending), or unknown
   * (never resent). When the host cannot answer yet (imsg still starting), it stays "firing"
   * and is looked at again at the next pass.
   */
  private async reconcile(r: ScheduleRecord): Promise<'sent' | 'not-sent' | 'unknown' | 'later'> {
    const {store, host, log} = this.o
    const fields = {schedule: r.id, session: r.sessionKey, chat: r.chat.target}
    let verdict: 'sent' | 'not-sent' | 'unknown'
    try {
      verdict = host.reconcileScheduled
        ? await host.reconcileScheduled({accountId: r.accountId, chat: r.chat, text: r.text, firingAt: r.firingAt ?? r.dueAt, journalKey: journalKey(r)})
        : 'unknown'
    } catch (error) {
      if (!this.retrying.has(r.id)) log.warn(`schedule ${r.id}: cannot check yet whether it was sent before the restart (${errorMessage(error)}); will check again`, fields)
      this.retrying.add(r.id)
      return 'later'
    }
    this.retrying.delete(r.id)
    if (verdict === 'sent') {
      await store.settle(r.id, 'sent', 'confirmed after a restart')
      log.info(`schedule ${r.id}: was sent before the restart; not sent again`, fields)
    } else if (verdict === 'not-sent') {
      await store.release(r.id)
      log.info(`schedule ${r.id}: was not sent before the restart; sending it now`, fields)
    } else {
      await store.settle(r.id, 'unknown', 'the gateway stopped while sending it; not resent so the chat does not get it twice')
      log.warn(`schedule ${r.id}: the gateway stopped while sending it and whether it arrived is unknown; not resent so the chat does not get it twice`, fields)
    }
    return verdict
  }

  /** One pass: send what is due, then sleep until the next due time (capped). */
  tick(): Promise<void> {
    if (this.running) {
      this.again = true
      return this.running
    }
    this.running = (async () => {
      try {
        do {
          this.again = false
          await this.pass()
        } while (this.again && !this.stopped)
      } catch (error) {
        this.o.log.error(`schedules: ${errorMessage(error)}`, {fix: (error as {fix?: string}).fix})
      } finally {
        this.running = undefined
      }
    })()
    return this.running
  }

  private async pass(): Promise<void> {
    const {store, log, now} = this.o
    if (this.stopped) return
    const c = this.o.config()
    const t = now()
    let next = Number.POSITIVE_INFINITY
    for (const r of await store.list()) {
      if (r.status === 'firing' && !this.active.has(r.id) && this.inScope(r)) await this.reconcile(r)
    }
    if (this.retrying.size > 0) next = t + 5_000
    for (const r of await store.list()) {
      if (this.stopped) return
      if (r.status !== 'pending' || !this.inScope(r)) continue
      const due = effectiveDue(r, c)
      if (due > t) {
        next = Math.min(next, due)
        continue
      }
      if (isQuiet(t, c.quietHours, c.timezone)) {
        // due, but the window came round again (the gateway was down through the day)
        next = Math.min(next, nextAllowed(t, c.quietHours, c.timezone))
        continue
      }
      const late = t - due > c.missedGraceMinutes * 60_000
      if (late && c.missed === 'drop') {
        if (await store.claim(r.id)) {
          await store.settle(r.id, 'dropped', `missed by more than ${c.missedGraceMinutes} min while the gateway was down`)
          log.warn(`schedule ${r.id}: dropped; it was due ${new Date(r.dueAt).toISOString()} while the gateway was down`, {
            schedule: r.id,
            session: r.sessionKey,
            chat: r.chat.target,
            admit: 'set schedules.missed to "send" to send late schedules with a note',
          })
        }
        continue
      }
      await this.fire(r, late ? `${r.text}\n\n${missedNote(r, c)}` : r.text)
    }
    this.arm(next)
  }

  private async fire(r: ScheduleRecord, text: string): Promise<void> {
    const {store, host, log} = this.o
    const claimed = await store.claim(r.id)
    if (!claimed) return // cancelled or taken meanwhile
    this.active.add(r.id)
    try {
      await this.send(r, text)
    } finally {
      this.active.delete(r.id)
    }
  }

  private async send(r: ScheduleRecord, text: string): Promise<void> {
    const {store, host, log} = this.o
    const fields = {schedule: r.id, session: r.sessionKey, chat: r.chat.target}
    let status: string
    let detail: string | undefined
    try {
      const res = await host.send({
        accountId: r.accountId,
        sessionKey: r.sessionKey,
        target: r.chat.target,
        chatId: r.chat.chatId,
        text,
        journalKey: journalKey(r),
        label: `${r.chat.label} (schedule ${r.id})`,
      })
      status = res.status
      detail = res.detail
    } catch (error) {
      status = 'failed'
      detail = errorMessage(error)
    }
    if (status === 'sent') {
      await store.settle(r.id, 'sent')
      log.info(`schedule ${r.id}: sent`, fields)
    } else if (status === 'interrupted') {
      // stays "firing": the next start reconciles it against the journal and the chat
      log.info(`schedule ${r.id}: the gateway stopped while sending it; checked at the next start`, fields)
    } else if (status === 'unknown') {
      await store.settle(r.id, 'unknown', detail)
      log.warn(`schedule ${r.id}: delivery outcome unknown (${detail ?? 'no detail'}); not retried so the chat does not get it twice`, fields)
    } else {
      await store.settle(r.id, 'failed', detail)
      log.warn(`schedule ${r.id}: not sent: ${detail ?? 'send failed'}`, {...fields, fix: 'check `remoteclaw channels status --probe`'})
    }
  }

  private arm(next: number): void {
    clearTimeout(this.timer)
    if (this.stopped) return
    const maxSleep = this.o.maxSleepMs ?? 30_000
    const delay = Math.max(0, Math.min(next - this.o.now(), maxSleep))
    this.timer = setTimeout(() => void this.tick(), delay)
    this.timer.unref?.()
  }
}

export function journalKey(r: Pick<ScheduleRecord, 'id'>): string {
  return `schedule:${r.id}`
}
