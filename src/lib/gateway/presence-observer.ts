// The presence feature of one account, hooked into each turn (turn.ts observer seam): capabilities
// detected at each imsg child start, typing around the agent run, read receipt and ack tapback on
// accept, threaded replies, inbound reactions handed to the next turn, and the agent's `react`.
import type {AgentReact} from '../agents/presence-context.js'
import type {ResolvedAccount} from '../config/accounts.js'
import type {Context} from '../context.js'
import type {Envelope} from '../core/envelope.js'
import {AccountCapabilities, detectCapabilities} from '../imsg/capabilities.js'
import type {ImsgClient} from '../imsg/client.js'
import {readCliStatus} from '../imsg/probe.js'
import type {Logger} from '../log.js'
import {reactionEmoji} from '../util/tapback.js'
import {chatLabel} from './normalize.js'
import {Presence, presenceTarget, type TypingHandle} from './presence.js'
import {MessageMemory, ReactionInbox} from './reactions.js'
import type {AcceptedInfo, Turn, TurnObserver, TurnOutcome} from './turn.js'

/** Keys of this feature in TurnContext.values (turn.ts delivers in the thread `replyTo` names). */
export const PRESENCE_KEYS = {replyTo: 'replyTo', reactions: 'reactions', react: 'react'} as const

export interface PresenceObserverOptions {
  ctx: Pick<Context, 'env'>
  log: Logger
  account: () => ResolvedAccount
  client: () => ImsgClient | undefined
  /** Restart the imsg child (a typing call is stuck in its mutation lane). */
  restartChild: (reason: string) => void
  typingTimeoutMs?: number
  typingKeepAliveMs?: number
  /** How long a turn waits for capability detection at most (it normally takes one status call). */
  detectWaitMs?: number
}

const chatKey = (env: Envelope) => (env.chat.chatId > 0 ? `chat:${env.chat.chatId}` : `to:${env.sender.handle || env.sender.raw}`)

export class PresenceObserver implements TurnObserver {
  readonly capabilities = new AccountCapabilities()
  private readonly presence: Presence
  private readonly inbox = new ReactionInbox()
  private readonly memory = new MessageMemory()
  private readonly typing = new WeakMap<Turn, TypingHandle>()
  private detecting: Promise<void> = Promise.resolve()
  private readonly detectWaitMs: number

  constructor(private readonly o: PresenceObserverOptions) {
    this.detectWaitMs = o.detectWaitMs ?? 3000
    this.presence = new Presence({
      settings: () => o.account(),
      capabilities: this.capabilities,
      client: () => o.client(),
      log: o.log,
      redetect: () => this.redetect(),
      laneStuck: (why) => o.restartChild(why),
      typingTimeoutMs: o.typingTimeoutMs,
      typingKeepAliveMs: o.typingKeepAliveMs,
    })
  }

  /** At each child start: detect what this imsg can do, then say once what is off. */
  childStarted(client: ImsgClient): void {
    this.detecting = this.detect(client).then(() => this.presence.childStarted())
  }

  private redetect(): void {
    const client = this.o.client()
    if (client) this.detecting = this.detect(client)
  }

  private async detect(client: ImsgClient): Promise<void> {
    const a = this.o.account()
    const set = await detectCapabilities({
      status: () => client.status({timeoutMs: Math.min(a.rpcTimeoutMs, 5000)}),
      cliStatus: () => readCliStatus(a.cliPath, this.o.ctx.env, Math.min(a.rpcTimeoutMs, 5000)),
    })
    this.capabilities.update(set)
    const usable = Object.entries(set).filter(([k, v]) => k !== 'source' && (v as {usable: boolean}).usable).map(([k]) => k)
    this.o.log.debug(`imsg capabilities (${set.source}): ${usable.length > 0 ? usable.join(', ') : 'none beyond send/receive'}`)
  }

  private async ready(): Promise<void> {
    let t: NodeJS.Timeout | undefined
    await Promise.race([this.detecting, new Promise<void>((r) => (t = setTimeout(r, this.detectWaitMs)))])
    clearTimeout(t)
  }

  accepted(info: AcceptedInfo): Promise<void> {
    this.memory.remember(info.env.guid, info.env.text, false)
    return this.ready().then(() => this.presence.accepted(info.env))
  }

  async started(turn: Turn): Promise<void> {
    await this.ready()
    const a = this.o.account()
    const key = chatKey(turn.env)
    const reactions = this.inbox.take(key)
    if (reactions.length > 0) turn.context.values.set(PRESENCE_KEYS.reactions, reactions)
    const replyTo = this.presence.replyTo(turn.env)
    if (replyTo) turn.context.values.set(PRESENCE_KEYS.replyTo, replyTo)
    if (a.typingIndicator) {
      // on before the agent runs; the wait is bounded by the typing timeout and never fails the turn
      const handle = this.presence.startTyping(turn.env)
      this.typing.set(turn, handle)
      await handle.ready
    }
  }

  async ended(turn: Turn, _outcome: TurnOutcome): Promise<void> {
    await this.typing.get(turn)?.stop()
    this.typing.delete(turn)
    const react = turn.context.values.get(PRESENCE_KEYS.react) as AgentReact | undefined
    if (react) await this.agentReact(turn.env, react)
  }

  /** A command agent's `react` (output "json"): a tapback on the triggering message, or messageGuid. */
  private async agentReact(env: Envelope, react: AgentReact): Promise<void> {
    const client = this.o.client()
    const target = presenceTarget(env)
    if (!client || !target || 'to' in target || !this.presence.canReact(env, react)) {
      this.o.log.info(`${chatLabel(env)}: the agent asked to react ${reactionEmoji(react)}, but ${react.emoji !== undefined ? 'emoji tapbacks' : 'tapbacks'} are not usable with this imsg; not sent`)
      return
    }
    const guid = react.messageGuid ?? env.guid
    try {
      await this.presence.react(client, target, guid, react)
    } catch (error) {
      this.o.log.warn(`${chatLabel(env)}: the agent's reaction ${reactionEmoji(react)} was not sent: ${error instanceof Error ? error.message : String(error)}`)
    }
  }

  /** A message that gets no turn: the bot's own messages are remembered, reactions filed for the next turn. */
  dropped(env: Envelope, reason: string): void {
    if (env.isFromMe) {
      // the bot's replies (and its own tapbacks, which are not filed)
      if (!env.reaction && (reason === 'own-send' || reason === 'from-me')) this.memory.remember(env.guid, env.text, true)
      return
    }
    if (!env.reaction || reason !== 'reaction') return
    const a = this.o.account()
    const r = env.reaction
    const r2 = this.inbox.add(chatKey(env), env, a.reactionNotifications, this.memory)
    const what = `${env.sender.handle || 'someone'} ${r.added ? 'reacted' : 'removed'} ${r.emoji || r.type} ${r.added ? 'to' : 'from'} ${r.targetGuid}`
    if (r2.note) this.o.log.info(`${chatLabel(env)}: ${what}; the agent sees it with the next message (a reaction is never answered by itself)`)
    else this.o.log.info(`${chatLabel(env)}: ${what}; not passed to the agent: ${r2.skipped}`)
  }
}
