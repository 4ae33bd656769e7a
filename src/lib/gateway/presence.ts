// Presence in the chat (issue 12): typing while a turn runs, read receipts and the ack tapback on
// accepted messages, threaded replies. Every feature is best effort: it never delays or fails a
// reply, and is off where this imsg lacks the capability (one info line per child start).
import type {ResolvedAccount} from '../config/accounts.js'
import {AccountCapabilities, CAPABILITY_LABELS, reactionCapability, shouldRedetect, type CapabilityName} from '../imsg/capabilities.js'
import {ImsgError} from '../imsg/errors.js'
import type {PresenceTarget, TapbackParams} from '../imsg/types.js'
import type {Logger} from '../log.js'
import {reactionEmoji, type Reaction} from '../util/tapback.js'
import type {Envelope} from '../core/envelope.js'

/** The slice of the imsg client presence uses (the live child's). */
export interface PresenceClient {
  typing(target: PresenceTarget, on: boolean, opts?: {timeoutMs?: number}): Promise<unknown>
  read(target: PresenceTarget, opts?: {timeoutMs?: number}): Promise<unknown>
  tapback(params: TapbackParams, opts?: {timeoutMs?: number}): Promise<unknown>
}

export type PresenceSettings = Pick<ResolvedAccount, 'typingIndicator' | 'sendReadReceipts' | 'ackReaction' | 'replyThreading'>

export interface PresenceOptions {
  settings: () => PresenceSettings
  capabilities: AccountCapabilities
  /** The live child's client, or undefined between children. */
  client: () => PresenceClient | undefined
  log: Logger
  /** Capabilities may have changed (a not_started that names the bridge, -32003): detect again. */
  redetect?: () => void
  /**
   * A typing call did not answer in time: it still occupies imsg's mutation lane and later sends
   * would wait behind it, then fail with -32004. The supervisor restarts the child.
   */
  laneStuck?: (why: string) => void
  /** Timeout of each typing call (short: it shares the mutation lane with replies). Default 1500 ms. */
  typingTimeoutMs?: number
  /** Re-send typing this often while a turn runs (Messages drops an indicator that is not renewed). Default 20000 ms. */
  typingKeepAliveMs?: number
  /** Timeout of read and tapback calls. Default 5000 ms. */
  mutationTimeoutMs?: number
}

export interface TypingHandle {
  /** Settles when the first "typing on" was answered or timed out (at most typingTimeoutMs). Never rejects. */
  ready: Promise<void>
  /** Clears the indicator (after the reply went out, or when the turn ends). Never throws. */
  stop(): Promise<void>
}

const NO_TYPING: TypingHandle = {ready: Promise.resolve(), stop: async () => {}}

/** Where presence calls go: the chat by id, else guid, else the sender's handle. */
export function presenceTarget(env: Pick<Envelope, 'chat' | 'sender'>): PresenceTarget | undefined {
  if (env.chat.chatId > 0) return {chat_id: env.chat.chatId}
  if (env.chat.guid) return {chat_guid: env.chat.guid}
  if (env.chat.identifier) return {chat_identifier: env.chat.identifier}
  const h = env.sender.handle || env.sender.raw
  return h ? {to: h} : undefined
}

export class Presence {
  /** Typing failed on this child: not used again until the next child (the issue's rule). */
  private typingBroken = false
  /**
   * A typing call timed out: it held imsg's mutation lane, so the child was restarted. Typing stays
   * off for this account until the gateway restarts, or every turn would cost a restart.
   */
  private typingStuck = false
  private readonly typingTimeoutMs: number
  private readonly keepAliveMs: number
  private readonly mutationTimeoutMs: number

  constructor(private readonly o: PresenceOptions) {
    this.typingTimeoutMs = o.typingTimeoutMs ?? 1500
    this.keepAliveMs = o.typingKeepAliveMs ?? 20_000
    this.mutationTimeoutMs = o.mutationTimeoutMs ?? 5000
  }

  /** Call at each child start, after capabilities were detected: resets per-child state, logs what is off. */
  childStarted(): void {
    this.typingBroken = this.typingStuck
    const s = this.o.settings()
    const wanted: Array<[string, CapabilityName, boolean]> = [
      ['typingIndicator', 'typing', s.typingIndicator],
      ['sendReadReceipts', 'read', s.sendReadReceipts],
      ['ackReaction', s.ackReaction ? reactionCapability(s.ackReaction) : 'tapback', s.ackReaction !== undefined],
      ['replyThreading', 'threadedReply', s.replyThreading !== 'off'],
    ]
    for (const [key, cap, on] of wanted) {
      if (!on || this.o.capabilities.usable(cap)) continue
      const c = this.o.capabilities.current[cap]
      this.o.log.info(`${key} is off: ${CAPABILITY_LABELS[cap]} are not usable with this imsg (${c.reason ?? 'not detected'}); see remoteclaw channels status --probe`)
    }
  }

  private usable(cap: CapabilityName): boolean {
    return this.o.capabilities.usable(cap)
  }

  private failed(what: string, error: unknown): void {
    if (shouldRedetect(error)) this.o.redetect?.()
    this.o.log.debug(`${what} failed (ignored)`, {error: error instanceof Error ? error.message : String(error)})
  }

  /**
   * A message was accepted for the agent: mark the chat read and put the ack tapback on it. Runs in
   * the background (never awaited by the turn) and never throws.
   */
  accepted(env: Envelope): Promise<void> {
    const s = this.o.settings()
    const target = presenceTarget(env)
    const client = this.o.client()
    if (!target || !client) return Promise.resolve()
    const jobs: Array<Promise<void>> = []
    if (s.sendReadReceipts && this.usable('read')) {
      jobs.push(client.read(target, {timeoutMs: this.mutationTimeoutMs}).then(() => {}, (e) => this.failed('read receipt', e)))
    }
    if (s.ackReaction && env.guid && !('to' in target) && this.usable(reactionCapability(s.ackReaction))) {
      jobs.push(this.react(client, target as Exclude<PresenceTarget, {to: string}>, env.guid, s.ackReaction).then(() => {}, (e) => this.failed('ack reaction', e)))
    }
    return Promise.all(jobs).then(() => {})
  }

  /** Puts a tapback on a message (ack reaction, an agent's `react`); rejects when imsg fails. */
  async react(client: PresenceClient, target: Exclude<PresenceTarget, {to: string}>, messageGuid: string, r: Reaction): Promise<void> {
    const params = {...target, message_id: messageGuid, ...(r.kind !== undefined ? {reaction: r.kind} : {emoji: r.emoji})} as TapbackParams
    await client.tapback(params, {timeoutMs: this.mutationTimeoutMs})
    this.o.log.debug(`reacted ${reactionEmoji(r)} to ${messageGuid}`)
  }

  /** Whether an agent's reaction can be sent here (capability), and where. */
  canReact(env: Envelope, r: Reaction): boolean {
    const t = presenceTarget(env)
    return t !== undefined && !('to' in t) && this.usable(reactionCapability(r))
  }

  /**
   * Shows typing in the chat until stop(). The first call and each keep-alive get a short timeout;
   * a timeout or error switches typing off for this child (and a timeout asks for a restart, since
   * the stuck call holds imsg's mutation lane). Never delays the caller: nothing here is awaited
   * except by stop(), which is itself bounded.
   */
  startTyping(env: Envelope): TypingHandle {
    const s = this.o.settings()
    const target = presenceTarget(env)
    if (!s.typingIndicator || !target || this.typingBroken || !this.usable('typing')) return NO_TYPING
    let stopped = false
    let inflight: Promise<boolean> | undefined
    const send = (on: boolean): Promise<boolean> => {
      const client = this.o.client()
      if (!client || this.typingBroken) return Promise.resolve(false)
      const p = client.typing(target, on, {timeoutMs: this.typingTimeoutMs}).then(
        () => true,
        (error: unknown) => {
          if (!this.typingBroken) {
            this.typingBroken = true
            const timedOut = error instanceof ImsgError && error.code === 'imsg_timeout'
            this.o.log.warn(`typing indicator ${timedOut ? `did not answer within ${this.typingTimeoutMs} ms` : `failed (${error instanceof Error ? error.message : String(error)})`}; not used again for this imsg child`)
            if (timedOut) {
              this.typingStuck = true
              this.o.log.warn('typing indicators are off until the gateway restarts (a stuck typing call blocks replies in imsg)')
              this.o.laneStuck?.('a typing call is stuck in imsg\'s mutation lane')
            }
            else if (shouldRedetect(error)) this.o.redetect?.()
          }
          return false
        },
      )
      inflight = p
      return p
    }
    const first = send(true)
    const timer = setInterval(() => {
      // a keep-alive never queues behind one still in flight
      if (!stopped && !this.typingBroken) void Promise.resolve(inflight).then(() => (stopped ? undefined : send(true)))
    }, this.keepAliveMs)
    timer.unref?.()
    return {
      ready: first.then(() => {}),
      stop: async () => {
        if (stopped) return
        stopped = true
        clearInterval(timer)
        // wait for a call in flight (bounded by its timeout) so "off" never overtakes "on"
        const ok = await (inflight ?? Promise.resolve(false))
        if (ok) await send(false)
      },
    }
  }

  /** The GUID to answer in the thread of, or undefined for a plain reply (imsg refuses reply_to without the bridge). */
  replyTo(env: Envelope): string | undefined {
    const mode = this.o.settings().replyThreading
    if (mode === 'off' || !env.guid) return undefined
    if (mode === 'group' && !env.isGroup) return undefined
    return this.usable('threadedReply') ? env.guid : undefined
  }
}

/**
 * A send that carries `reply_to`: when imsg refuses it before dispatch (the bridge went away since
 * capabilities were detected: -32602 "reply_to requires bridge transport", or not_started), the
 * same text goes out once more, plain, and threaded replies are off until the next detection. A
 * reply is never lost to threading. Any other failure is the caller's (Delivery's) to handle.
 */
export async function sendThreaded<P extends {reply_to?: string}, R>(
  params: P,
  send: (p: P) => Promise<R>,
  capabilities: AccountCapabilities,
  log: Logger,
): Promise<R> {
  if (params.reply_to === undefined) return send(params)
  try {
    return await send(params)
  } catch (error) {
    const e = error instanceof ImsgError ? error : undefined
    const d = e?.data && typeof e.data === 'object' ? (e.data as {disposition?: unknown}).disposition : undefined
    const refused = e !== undefined && ((e.rpcCode === -32602 && /reply_to/.test(String(e.data))) || d === 'not_started' || e.rpcCode === -32003)
    if (!refused) throw error
    capabilities.markUnusable('threadedReply', `imsg refused a threaded reply (${e.message})`)
    log.warn(`imsg refused the threaded reply (${e.message}); sent it as a plain reply, threaded replies off until imsg restarts`)
    const {reply_to: _drop, ...plain} = params
    return send(plain as P)
  }
}
