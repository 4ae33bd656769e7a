import {decideInbound, describeDecision, describePairing, historyLimitFor, pairingApproveCommand} from '../access/decide.js'
import {GroupHistory, historyEntryFrom, historyKey} from '../access/history.js'
import type {ResolvedAgent, ResolvedAgents} from '../agents/resolve.js'
import type {ResolvedAccount} from '../config/accounts.js'
import type {Context} from '../context.js'
import type {Envelope} from '../core/envelope.js'
import {errorMessage} from '../errors.js'
import {normalizeHandle} from '../imsg/handles.js'
import type {ImsgMessage} from '../imsg/types.js'
import type {Logger} from '../log.js'
import {Delivery} from '../outbound/delivery.js'
import type {EchoTracker} from '../outbound/echoes.js'
import {LoopBreaker} from '../outbound/rate-limit.js'
import {pairingReplyText} from '../pairing/messages.js'
import {ApprovedSenders, requestPairing} from '../pairing/store.js'
import {sessionKeyFor} from '../sessions/keys.js'
import {SessionQueue} from '../sessions/queue.js'
import {routeAgent} from '../sessions/routing.js'
import type {AccountState} from '../state/account-state.js'
import {BacklogSummary, checkDrop, logDrop} from './drops.js'
import type {HealthRecorder} from './health.js'
import {chatLabel, checkWireMessage, normalizeMessage} from './normalize.js'
import type {RunAgent} from './ports.js'
import type {ChatCommandHandler, RunnerEvent, RunnerTimings} from './runner-types.js'
import {replyTarget, Turn, type TurnObserver} from './turn.js'

export interface PipelineDeps {
  ctx: Context
  log: Logger
  health: HealthRecorder
  timings: RunnerTimings
  account: () => ResolvedAccount
  state: AccountState
  delivery: Delivery
  echoes: EchoTracker
  runAgent: RunAgent
  agents: () => ResolvedAgents
  chatCommand?: ChatCommandHandler
  observers: readonly TurnObserver[]
  onEvent?: (e: RunnerEvent) => void
}

/**
 * One account's inbound pipeline: normalise -> drop rules -> access decision (pairing) -> loop
 * breaker -> session queue -> Turn. Keeps the cursor: a message counts as handled (and the
 * persisted cursor moves past it) only when its turn ended, so a crash replays what was not done.
 */
export class InboundPipeline {
  private readonly breaker: LoopBreaker
  private readonly backlog: BacklogSummary
  private readonly approved: ApprovedSenders
  private readonly history = new GroupHistory()
  private readonly queue = new SessionQueue()
  /** Cursor positions received and not yet handled (low-water mark = persisted cursor). */
  private readonly inflight = new Set<number>()
  /**
   * guids being handled now. A child restart replays everything above the persisted cursor,
   * including messages whose turn or reply is still running from before the restart: those are
   * skipped here, not answered a second time.
   */
  private readonly inflightGuids = new Set<string>()
  private maxReceived = 0
  private lastApprovedRefresh = 0

  constructor(private readonly d: PipelineDeps) {
    this.breaker = new LoopBreaker(d.ctx.now, d.timings.loopBreaker)
    this.backlog = new BacklogSummary(d.log)
    this.approved = new ApprovedSenders(d.ctx, d.account().id)
  }

  private get now(): number {
    return this.d.ctx.now()
  }

  private get log(): Logger {
    return this.d.log
  }

  /** When the loop breaker's pause of this chat ends, if it is paused now (agent tools check it before a send). */
  pausedUntil(chatKey: string): number | undefined {
    return this.breaker.pausedUntilFor(chatKey)
  }

  /** Reads the approved senders once before the first message. */
  async init(): Promise<void> {
    await this.approved.refresh()
  }

  /** A new child streams from the persisted cursor. */
  childStarted(): void {
    this.maxReceived = this.d.state.cursor
  }

  /** Holds a guid as in flight (its reply is being resent after a restart); see inflightGuids. */
  hold(guid: string): void {
    if (guid) this.inflightGuids.add(guid)
  }

  release(guid: string): void {
    this.inflightGuids.delete(guid)
  }

  private lowWater(): number {
    if (this.inflight.size === 0) return this.maxReceived
    let min = Number.POSITIVE_INFINITY
    for (const c of this.inflight) if (c < min) min = c
    return min - 1
  }

  /** Marks a message handled: the cursor moves now; persisting it does not hold up the stream. */
  private async complete(env: Envelope, markGuid = true): Promise<void> {
    this.inflightGuids.delete(env.guid)
    await this.completeAt(env.cursor, markGuid ? env.guid : '')
  }

  private async completeAt(position: number, guid = ''): Promise<void> {
    this.inflight.delete(position)
    const state = this.d.state
    const cursor = Math.max(this.lowWater(), state.cursor)
    this.d.health.account(this.d.account().id).cursor = cursor
    try {
      if (guid) await state.markDone(guid, cursor)
      else await state.setCursor(cursor)
    } catch (error) {
      this.log.error(`could not persist the cursor: ${errorMessage(error)}`)
    }
  }

  /** One wire message. Awaited in stream order up to the session queue, so order per session holds. */
  async handle(m: ImsgMessage): Promise<void> {
    const receivedAt = this.now
    const a = this.d.account()
    const checked = checkWireMessage(m)
    if (!checked.ok) {
      this.skipMalformed(m, checked)
      return
    }
    const env = normalizeMessage(checked.msg, {accountId: a.id, groups: a.groups, normalizeHandle: (h) => normalizeHandle(h, a.region)})
    if (env.guid && this.inflightGuids.has(env.guid)) {
      this.log.debug(`${chatLabel(env)}: replayed after a restart while still being handled; skipped`, {guid: env.guid})
      return
    }
    this.inflight.add(env.cursor)
    if (env.guid) this.inflightGuids.add(env.guid)
    if (env.cursor > this.maxReceived) this.maxReceived = env.cursor
    if (!env.isFromMe) this.d.health.account(a.id).lastInboundAt = this.d.health.iso(receivedAt)
    this.d.health.account(a.id).lastStreamEventAt = this.d.health.iso(receivedAt)
    this.d.onEvent?.({type: 'inbound', env, at: receivedAt})

    const drop = checkDrop(env, {
      now: receivedAt,
      maxInboundAgeMinutes: a.maxInboundAgeMinutes,
      keyPrefix: a.keyPrefix,
      firstStartFence: this.d.state.firstStartFence,
      seen: (g) => this.d.state.has(g),
      echoes: this.d.echoes,
    })
    if (drop) {
      if (drop.reason === 'backlog') this.backlog.add(env, drop, a.maxInboundAgeMinutes)
      // Our own replies coming back are expected (one per send): debug, not info.
      else if (drop.reason === 'own-send') this.log.debug(`${chatLabel(env)}: own reply (is_from_me) skipped`, {rowid: env.messageId})
      else if (drop.reason !== 'reaction') logDrop(this.log, env, drop) // presence logs what it does with a reaction
      for (const o of this.d.observers) {
        try {
          o.dropped?.(env, drop.reason)
        } catch (error) {
          this.log.error(`${chatLabel(env)}: turn observer failed at dropped: ${errorMessage(error)}`)
        }
      }
      this.d.onEvent?.({type: 'dropped', env, reason: drop.reason})
      void this.complete(env, drop.reason !== 'duplicate')
      return
    }
    this.backlog.flush()
    await this.route(env, receivedAt)
  }

  /** A row with fields of the wrong type: logged and skipped; the cursor moves past it when its position is valid. */
  private skipMalformed(m: unknown, c: {problem: string; cursor?: number}): void {
    const rec = (typeof m === 'object' && m !== null ? m : {}) as Record<string, unknown>
    const guid = typeof rec.guid === 'string' ? rec.guid : undefined
    this.log.warn(`imsg sent a malformed message row (${c.problem}); skipped it${c.cursor === undefined ? '' : ` (row ${c.cursor})`}`, {
      reason: 'malformed',
      rowid: c.cursor,
      guid,
    })
    if (c.cursor === undefined) return
    this.inflight.add(c.cursor)
    if (c.cursor > this.maxReceived) this.maxReceived = c.cursor
    void this.completeAt(c.cursor)
  }

  private agentFor(env: Envelope, account: ResolvedAccount): ResolvedAgent {
    const route = routeAgent(this.d.agents(), account, env)
    if (route.unknownAgentId) {
      this.log.warn(`${route.unknownAgentId.key} is "${route.unknownAgentId.id}", which is not in agents.list; the default agent "${route.agent.id}" answers`)
    }
    return route.agent
  }

  private async refreshApproved(force: boolean): Promise<void> {
    const t = this.now
    if (!force && t - this.lastApprovedRefresh < 1_000) return
    await this.approved.refresh()
    this.lastApprovedRefresh = t
  }

  private async route(env: Envelope, receivedAt: number): Promise<void> {
    const a = this.d.account()
    const agent = this.agentFor(env, a)
    let decision
    try {
      // One stat per second at most; an unknown sender always re-checks, so an approval made a
      // moment ago by `pairing approve` applies to the very next message.
      await this.refreshApproved(false)
      decision = decideInbound(env, a, this.approved, agent.mentionPatterns)
      if (decision.action === 'pair') {
        await this.refreshApproved(true)
        decision = decideInbound(env, a, this.approved, agent.mentionPatterns)
      }
    } catch (error) {
      // An unreadable allowlist must not turn approved senders into strangers: hold the message
      // (it stays in flight, so the cursor stays below it and it is handled after a restart).
      this.log.error(`${chatLabel(env)} not handled: ${errorMessage(error)}`, {fix: (error as {fix?: string}).fix})
      this.inflightGuids.delete(env.guid)
      return
    }
    if (decision.action === 'drop' || decision.action === 'history') {
      this.log.info(describeDecision(decision)!, {reason: decision.action === 'drop' ? 'access' : 'not-addressed', admit: decision.admit, chatId: env.chat.chatId})
      if (decision.action === 'history') this.history.add(historyKey(a.id, env.chat.chatId), historyEntryFrom(env), historyLimitFor(a, env.chat.chatId))
      this.d.onEvent?.({type: 'dropped', env, reason: decision.action})
      void this.complete(env)
      return
    }
    if (decision.action === 'pair') {
      await this.pair(env, receivedAt)
      return
    }
    // accept
    const verdict = this.breaker.check(Delivery.chatKey(replyTarget(env)))
    if (verdict.paused) {
      const until = new Date(verdict.until).toISOString()
      const lb = this.d.timings.loopBreaker
      if (verdict.tripped) {
        this.log.warn(`${chatLabel(env)}: more than ${lb.maxTriggers} messages in ${lb.windowMs / 1000}s, faster than a person types; replies to this chat are paused until ${until} (loop breaker)`)
      }
      logDrop(this.log, env, {
        reason: 'loop-breaker',
        detail: `replies to this chat are paused until ${until}`,
        admit: 'send it again after the pause ends (the pause protects the Apple ID from a reply loop)',
      })
      this.d.onEvent?.({type: 'dropped', env, reason: 'loop-breaker'})
      void this.complete(env)
      return
    }
    const sessionKey = sessionKeyFor(agent.id, env, agent.session.dmScope)
    const failed = (error: unknown) => this.log.error(`${chatLabel(env)}: turn observer failed at accepted: ${errorMessage(error)}`)
    for (const o of this.d.observers) {
      // Called before the turn is queued, not awaited: presence calls imsg here and must not hold up the stream.
      try {
        void Promise.resolve(o.accepted?.({env, account: a, agent, sessionKey})).catch(failed)
      } catch (error) {
        failed(error)
      }
    }
    const turn = new Turn(
      {
        ctx: this.d.ctx,
        log: this.log,
        runAgent: this.d.runAgent,
        chatCommand: this.d.chatCommand,
        approved: this.approved,
        history: this.history,
        delivery: this.d.delivery,
        observers: this.d.observers,
        onEvent: this.d.onEvent,
        blockIdleMs: this.d.timings.blockIdleMs,
      },
      env,
      a,
      agent,
      sessionKey,
      receivedAt,
    )
    void turn.run(this.queue).then((outcome) => {
      // Not started: it stays in flight, so the persisted cursor stays below it and it is handled after a restart.
      if (outcome === 'not-started') this.inflightGuids.delete(env.guid)
      else void this.complete(env)
    })
  }

  private async pair(env: Envelope, receivedAt: number): Promise<void> {
    const a = this.d.account()
    let result
    try {
      result = await requestPairing(this.d.ctx, a.id, {
        sender: env.sender.handle,
        senderName: env.sender.displayName,
        chat: {chatId: env.chat.chatId, guid: env.chat.guid || undefined, identifier: env.chat.identifier || undefined, name: env.chat.name || undefined},
      })
    } catch (error) {
      this.log.error(`${chatLabel(env)}: pairing request not recorded: ${errorMessage(error)}`, {fix: (error as {fix?: string}).fix})
      void this.complete(env)
      return
    }
    if (result.status === 'approved') {
      this.approved.add(env.sender.handle)
      await this.route(env, receivedAt)
      return
    }
    this.log.info(describePairing(env, a, result), {reason: 'pairing', sender: env.sender.handle})
    this.d.onEvent?.({type: 'dropped', env, reason: `pairing-${result.status}`})
    if (result.status === 'created' && a.pairingReply === 'code') {
      void this.d.delivery
        .deliver({inboundGuid: env.guid, ...replyTarget(env), text: pairingReplyText(result.code), label: chatLabel(env)})
        .then(
          (o) => {
            if (o.status !== 'sent') this.log.warn(`${chatLabel(env)}: the pairing code could not be sent (${o.error ?? o.status}); approve by handle instead: ${pairingApproveCommand(a, env.sender.handle)}`)
            this.d.onEvent?.({type: 'replied', env, at: this.now, receivedAt, status: o.status})
            return this.complete(env)
          },
          // e.g. the send journal cannot be written: an unhandled rejection here would end the gateway.
          (error) => {
            this.log.error(`${chatLabel(env)}: the pairing code could not be sent (${errorMessage(error)}); approve by handle instead: ${pairingApproveCommand(a, env.sender.handle)}`)
            return this.complete(env)
          },
        )
      return
    }
    void this.complete(env)
  }

  /** Shutdown: summarises pending backlog drops now. */
  flushBacklog(): void {
    this.backlog.flush()
  }

  /**
   * Shutdown: waits for running turns up to `timeoutMs`; turns not started by then are handed
   * back below the cursor (answered after the next start).
   */
  async drain(timeoutMs: number): Promise<void> {
    const {drained, remaining} = await this.queue.drain({timeoutMs})
    if (!drained) {
      const n = this.queue.cancelPending()
      this.log.warn(`stopping with ${remaining} agent turn(s) unfinished; ${n} not started will be answered after the next start`)
    }
  }
}
