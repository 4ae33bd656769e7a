/**
 * Per-chat outbound throttle and the reply-loop breaker. Both protect the Apple ID (Apple flags
 * accounts that send too much, too fast) and the model budget; neither drops a message silently.
 */

/** Sliding one-minute window per chat. Excess sends wait; they are never dropped. */
export class ChatRateLimiter {
  private readonly sent = new Map<string, number[]>()

  constructor(
    private readonly now: () => number,
    private readonly perMinute: () => number,
  ) {}

  /** ms to wait before the next send to `chat` is allowed (0 = now). */
  delayFor(chat: string): number {
    const limit = this.perMinute()
    const t = this.now()
    const list = (this.sent.get(chat) ?? []).filter((x) => x > t - 60_000)
    if (list.length === 0) this.sent.delete(chat)
    else this.sent.set(chat, list)
    if (list.length < limit) return 0
    return list[list.length - limit]! + 60_000 - t
  }

  record(chat: string): void {
    const list = this.sent.get(chat) ?? []
    list.push(this.now())
    this.sent.set(chat, list)
    // Memory follows the chats active in the last minute, not every chat ever answered.
    if (this.sent.size > 4_096) {
      const cutoff = this.now() - 60_000
      for (const [k, l] of this.sent) if (l[l.length - 1]! <= cutoff) this.sent.delete(k)
    }
  }
}

export interface LoopBreakerOptions {
  /** Replies triggered within `windowMs` that count as "faster than a person types". */
  maxTriggers: number
  windowMs: number
  /** How long a tripped chat stays paused. */
  pauseMs: number
}

/** 8 agent-triggering messages within 8 s from one chat: no person types that fast. */
export const LOOP_BREAKER_DEFAULTS: LoopBreakerOptions = {maxTriggers: 8, windowMs: 8_000, pauseMs: 60_000}

export type LoopVerdict = {paused: false} | {paused: true; until: number; tripped: boolean}

/**
 * Counts agent-triggering inbound messages per chat; when a chat exceeds the rate it is paused
 * for pauseMs. Messages during the pause are not answered and are logged by the caller with
 * the reason and when the chat resumes.
 */
export class LoopBreaker {
  private readonly hits = new Map<string, number[]>()
  private readonly pausedUntil = new Map<string, number>()

  constructor(
    private readonly now: () => number,
    private readonly opts: LoopBreakerOptions = LOOP_BREAKER_DEFAULTS,
  ) {}

  /** Records one trigger for `chat` and says whether the chat is (now) paused. */
  check(chat: string): LoopVerdict {
    const t = this.now()
    const until = this.pausedUntil.get(chat)
    if (until !== undefined) {
      if (t < until) return {paused: true, until, tripped: false}
      this.pausedUntil.delete(chat)
      this.hits.delete(chat)
    }
    const list = (this.hits.get(chat) ?? []).filter((x) => x > t - this.opts.windowMs)
    list.push(t)
    this.hits.set(chat, list)
    if (list.length > this.opts.maxTriggers) {
      const u = t + this.opts.pauseMs
      this.pausedUntil.set(chat, u)
      this.hits.delete(chat)
      return {paused: true, until: u, tripped: true}
    }
    if (this.hits.size > 4_096) this.gc(t)
    return {paused: false}
  }

  /** When the chat's pause ends, if it is paused now (records nothing: for sends the agent starts itself). */
  pausedUntilFor(chat: string): number | undefined {
    const until = this.pausedUntil.get(chat)
    return until !== undefined && this.now() < until ? until : undefined
  }

  private gc(t: number): void {
    for (const [k, list] of this.hits) if (list.every((x) => x <= t - this.opts.windowMs)) this.hits.delete(k)
  }

  /** Lifts a pause early (e.g. `/config` is not involved; used by tests and on config reload). */
  reset(chat?: string): void {
    if (chat === undefined) {
      this.hits.clear()
      this.pausedUntil.clear()
    } else {
      this.hits.delete(chat)
      this.pausedUntil.delete(chat)
    }
  }
}
