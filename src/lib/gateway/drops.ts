import type {Logger} from '../log.js'
import type {Envelope} from './envelope.js'
import {chatLabel} from './normalize.js'

/**
 * Drop rules applied before access control: what must never reach an agent.
 * Every drop is logged at info with its reason and what (if anything) would admit it.
 */
export type DropReason = 'from-me' | 'own-send' | 'echo' | 'duplicate' | 'backlog' | 'reaction' | 'empty'

export interface Drop {
  reason: DropReason
  /** What the message was, for the log. */
  detail: string
  /** The key or command that would admit it, or why nothing does. */
  admit: string
}

/** Default window for matching an inbound row against our recent sends by chat+text. */
export const ECHO_WINDOW_MS = 15_000

/**
 * Remembers what the gateway sent: ids/guids returned by `send`, and chat+text for a short
 * window (self-chat writes a second, is_from_me=0 row; some wrappers lose is_from_me).
 * A chat+text entry matches once, so a person who really sends the same words later is answered.
 */
export class EchoTracker {
  private readonly ids = new Set<string>()
  /** chat+text -> expiry times of sends not yet matched */
  private readonly recent = new Map<string, number[]>()
  private readonly idOrder: string[] = []
  private lastPrune = 0

  constructor(
    private readonly now: () => number,
    private readonly windowMs = ECHO_WINDOW_MS,
  ) {}

  private key(chat: string, text: string): string {
    return `${chat}\u0000${text.trim()}`
  }

  /** Records one sent chunk. `chat` is "chat_id:N" or the target handle. */
  recordSend(chat: string, text: string, result?: {id?: number; guid?: string}): void {
    if (result?.guid) this.addId(`guid:${result.guid}`)
    if (typeof result?.id === 'number' && result.id > 0) this.addId(`id:${result.id}`)
    const k = this.key(chat, text)
    const list = this.recent.get(k) ?? []
    list.push(this.now() + this.windowMs)
    this.recent.set(k, list)
    this.prune()
  }

  private addId(id: string): void {
    this.ids.add(id)
    this.idOrder.push(id)
    if (this.idOrder.length > 4_000) {
      for (const old of this.idOrder.splice(0, 2_000)) this.ids.delete(old)
    }
  }

  /** Expired entries go at most once a second (a full scan per send would cost O(sends in window)). */
  private prune(): void {
    const t = this.now()
    if (this.recent.size < 512 || t - this.lastPrune < 1_000) return
    this.lastPrune = t
    for (const [k, times] of this.recent) {
      const kept = times.filter((e) => e >= t)
      if (kept.length === 0) this.recent.delete(k)
      else this.recent.set(k, kept)
    }
  }

  private candidates(env: Envelope): string[] {
    return [env.chat.chatId > 0 ? `chat_id:${env.chat.chatId}` : '', env.sender.handle, env.sender.raw].filter(Boolean)
  }

  private firstLive(env: Envelope): {k: string; times: number[]; idx: number} | undefined {
    const t = this.now()
    for (const c of this.candidates(env)) {
      const k = this.key(c, env.text)
      const times = this.recent.get(k)
      if (!times) continue
      const idx = times.findIndex((e) => e >= t)
      if (idx === -1) {
        this.recent.delete(k)
        continue
      }
      return {k, times, idx}
    }
    return undefined
  }

  /**
   * The is_from_me row of one of our sends arrived: a second, is_from_me=0 copy (self-chat)
   * follows within moments, so keep the entry only briefly; a person repeating the same words
   * later is then answered.
   */
  noteOwnRow(env: Envelope): boolean {
    if ((env.guid && this.ids.has(`guid:${env.guid}`)) || (env.messageId > 0 && this.ids.has(`id:${env.messageId}`))) return true
    const hit = this.firstLive(env)
    if (hit) hit.times[hit.idx] = Math.min(hit.times[hit.idx]!, this.now() + 3_000)
    return hit !== undefined
  }

  /** A match (consumed) when the envelope is a copy of something we sent. */
  isEcho(env: Envelope): {match: 'id' | 'text'} | undefined {
    if (env.guid && this.ids.has(`guid:${env.guid}`)) return {match: 'id'}
    if (env.messageId > 0 && this.ids.has(`id:${env.messageId}`)) return {match: 'id'}
    const hit = this.firstLive(env)
    if (!hit) return undefined
    hit.times.splice(0, hit.idx + 1)
    if (hit.times.length === 0) this.recent.delete(hit.k)
    return {match: 'text'}
  }
}

export interface DropContext {
  now: number
  /** 0 disables the age fence. */
  maxInboundAgeMinutes: number
  keyPrefix: string
  seen: (guid: string) => boolean
  echoes: EchoTracker
}

/** The first drop rule that applies, or undefined when the message may go on to access control. */
export function checkDrop(env: Envelope, c: DropContext): Drop | undefined {
  if (env.isFromMe) {
    const ours = c.echoes.noteOwnRow(env)
    return {
      reason: ours ? 'own-send' : 'from-me',
      detail: ours ? `row ${env.messageId} is the gateway's own reply` : `row ${env.messageId} is from this Apple ID (is_from_me)`,
      admit: 'nothing: the bot never answers its own Apple ID (message it from another account)',
    }
  }
  if (env.guid && c.seen(env.guid)) {
    return {reason: 'duplicate', detail: `guid ${env.guid} was already handled`, admit: 'nothing: each message is answered once'}
  }
  const echo = c.echoes.isEcho(env)
  if (echo) {
    return {
      reason: 'echo',
      detail:
        echo.match === 'id'
          ? `row ${env.messageId} is a message the gateway sent`
          : `same text the gateway just sent to this chat (within ${ECHO_WINDOW_MS / 1000}s)`,
      admit: 'nothing: echoes of our own sends are never answered',
    }
  }
  if (c.maxInboundAgeMinutes > 0 && env.createdAt > 0 && c.now - env.createdAt > c.maxInboundAgeMinutes * 60_000) {
    return {
      reason: 'backlog',
      detail: `older than ${c.maxInboundAgeMinutes} min`,
      admit: `raise the age fence: remoteclaw config set ${c.keyPrefix}.maxInboundAgeMinutes <minutes> (0 disables it)`,
    }
  }
  if (env.text.trim() === '' && env.attachments.length === 0) {
    return {reason: 'empty', detail: 'no text and no attachments', admit: 'nothing: there is nothing to answer'}
  }
  return undefined
}

/** Logs one drop at info: "<label> dropped (<reason>): <detail>; admit: <admit>". */
export function logDrop(log: Logger, env: Envelope, drop: {reason: string; detail?: string; admit: string}): void {
  log.info(`${chatLabel(env)} dropped (${drop.reason})${drop.detail ? `: ${drop.detail}` : ''}; ${drop.admit}`, {
    reason: drop.reason,
    chatId: env.chat.chatId,
    sender: env.sender.handle || env.sender.raw,
    guid: env.guid || undefined,
    rowid: env.messageId,
    admit: drop.admit,
  })
}

/**
 * Backlog is summarised in one line per batch (a resync can deliver thousands of old rows):
 * drops are collected and flushed after `idleMs` without another backlog row, or by flush().
 */
export class BacklogSummary {
  private count = 0
  private oldest = Number.POSITIVE_INFINITY
  private newest = 0
  private readonly chats = new Set<string>()
  private timer: NodeJS.Timeout | undefined
  private admit = ''
  private fence = 0

  constructor(
    private readonly log: Logger,
    private readonly idleMs = 1_500,
  ) {}

  add(env: Envelope, drop: Drop, fenceMinutes: number): void {
    this.count++
    this.oldest = Math.min(this.oldest, env.createdAt)
    this.newest = Math.max(this.newest, env.createdAt)
    this.chats.add(env.isGroup ? `chat ${env.chat.chatId}` : env.sender.handle || env.sender.raw)
    this.admit = drop.admit
    this.fence = fenceMinutes
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => this.flush(), this.idleMs)
    this.timer.unref?.()
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    if (this.count === 0) return
    const n = this.count
    this.log.info(
      `dropped (backlog) ${n} message${n === 1 ? '' : 's'} older than ${this.fence} min from ${this.chats.size} chat${this.chats.size === 1 ? '' : 's'} (created ${new Date(this.oldest).toISOString()} .. ${new Date(this.newest).toISOString()}); ${this.admit}`,
      {reason: 'backlog', count: n, chats: [...this.chats].slice(0, 10), admit: this.admit},
    )
    this.count = 0
    this.oldest = Number.POSITIVE_INFINITY
    this.newest = 0
    this.chats.clear()
  }
}
