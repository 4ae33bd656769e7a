import type {Logger} from '../log.js'
import type {Envelope} from '../core/envelope.js'
import {chatLabel} from './normalize.js'
import {ECHO_WINDOW_MS, type EchoTracker} from '../outbound/echoes.js'

// Echo matching lives with the sends it remembers (outbound/echoes.ts); re-exported for callers of this module.
export {ECHO_WINDOW_MS, EchoTracker} from '../outbound/echoes.js'

/**
 * Drop rules applied before access control: what must never reach an agent.
 * Every drop is logged at info with its reason and what (if anything) would admit it.
 */
export type DropReason = 'from-me' | 'own-send' | 'echo' | 'duplicate' | 'backlog' | 'before-first-start' | 'reaction' | 'empty'

export interface Drop {
  reason: DropReason
  /** What the message was, for the log. */
  detail: string
  /** The key or command that would admit it, or why nothing does. */
  admit: string
}

export interface DropContext {
  now: number
  /** 0 disables the age fence. */
  maxInboundAgeMinutes: number
  keyPrefix: string
  /** chat.db time of the newest message at the gateway's first start (ms); older rows existed before it. */
  firstStartFence?: number
  seen: (guid: string) => boolean
  echoes: EchoTracker
}

/** The first drop rule that applies, or undefined when the message may go on to access control. */
export function checkDrop(env: Envelope, c: DropContext): Drop | undefined {
  if (env.reaction && !(env.guid && c.seen(env.guid))) {
    // a tapback (ours too: the ack reaction) is never answered by itself; presence hands it to the next turn (reactionNotifications)
    return {reason: 'reaction', detail: `a ${env.reaction.emoji || env.reaction.type} tapback`, admit: 'nothing: reactions are never answered by themselves'}
  }
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
  if (c.firstStartFence !== undefined && env.createdAt > 0 && env.createdAt < c.firstStartFence) {
    return {
      reason: 'before-first-start',
      detail: `created ${new Date(env.createdAt).toISOString()}, before the gateway first started (chat.db's newest message was ${new Date(c.firstStartFence).toISOString()})`,
      admit: 'nothing: the first start never answers what was already in chat.db',
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
