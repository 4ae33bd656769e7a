import type {GroupHistory} from '../access/history.js'
import {historyKey} from '../access/history.js'
import type {ResolvedAgent} from '../agents/resolve.js'
import type {ResolvedAccount} from '../config/accounts.js'
import type {Context} from '../context.js'
import type {Envelope} from '../core/envelope.js'
import {errorMessage} from '../errors.js'
import type {Logger} from '../log.js'
import {BLOCK_KEY_MARK, BlockStreamer} from '../outbound/block-stream.js'
import type {Delivery, DeliveryStatus} from '../outbound/delivery.js'
import {QueueRejectedError, type SessionQueue} from '../sessions/queue.js'
import {resolveInboundAttachments} from './attachments-seam.js'
import {chatLabel} from './normalize.js'
import type {RunAgent, TurnContext} from './ports.js'
import type {ChatCommandHandler, RunnerEvent} from './runner-types.js'

/**
 * One accepted message's turn: from the moment the session queue starts it to the delivered
 * reply. Chat command check, group history, attachments, the agent run (runAgent), errorReply,
 * delivery and the pipeline events all happen here; the pipeline only decides that a message
 * gets a turn and keeps the cursor.
 *
 * Seam for the features built around a turn: `TurnObserver`s (RunnerDeps.observers) and the
 * TurnContext the runAgent port receives.
 *   accepted(info)      the message passed drop rules, access control and the loop breaker and
 *                       is about to be queued. Never called for dropped, history-only or pairing
 *                       messages. Not awaited (it must not hold up the stream): presence sends
 *                       the read receipt and the "ack" tapback here.
 *   started(turn)       the queue started the turn and the agent is about to run (not for chat
 *                       commands). Awaited, in list order, before the agent runs: presence turns
 *                       the typing indicator on (and keeps it alive until ended); sessions looks
 *                       up or creates the session record and puts it in turn.context.values;
 *                       agent tools open their per-turn resource and add its token to
 *                       turn.context.env.
 *   ended(turn, out)    exactly once after every started(): the reply was delivered (or nothing
 *                       was sent, or the turn failed). Awaited, in reverse list order: presence
 *                       turns typing off, sessions stores the CLI's session id (from what its
 *                       runAgent put in context.values), tools close their resource.
 * Observer errors are logged and never stop the turn. Chat commands (`/config`, and `/new`,
 * `/status` from sessions) are ChatCommandHandlers: they answer without starting the agent.
 * Block streaming: the runAgent port gets `onBlock(text)` (the runtime calls it only for agents
 * with streaming "block"); blocks are coalesced and delivered in order through the same Delivery
 * journal as a reply (outbound/block-stream.ts: keys `<inbound guid>#blocks:<ids>`, so a turn run
 * again after a crash skips what was sent), all before the final answer, which is not sent again
 * when the blocks already said it.
 */

export interface AcceptedInfo {
  env: Envelope
  account: ResolvedAccount
  agent: ResolvedAgent
  sessionKey: string
}

export type TurnKind = 'agent' | 'command'

/** How a turn ended: a delivery status, or 'error' when it threw before or while delivering. */
export interface TurnOutcome {
  kind: TurnKind
  status: DeliveryStatus | 'error'
  /** Set when the agent failed (logged; never sent) or the turn threw. */
  error?: string
}

export interface TurnObserver {
  accepted?(info: AcceptedInfo): void | Promise<void>
  /** A message the drop rules kept from a turn (own sends, reactions, duplicates...). Not awaited; must not throw. */
  dropped?(env: Envelope, reason: string): void
  started?(turn: Turn): void | Promise<void>
  ended?(turn: Turn, outcome: TurnOutcome): void | Promise<void>
}

export interface TurnDeps {
  ctx: Context
  log: Logger
  runAgent: RunAgent
  chatCommand?: ChatCommandHandler
  approved: {isApproved(handle: string): boolean}
  history: GroupHistory
  delivery: Delivery
  observers: readonly TurnObserver[]
  onEvent?: (e: RunnerEvent) => void
  /** Block streaming: how long to wait for another block before sending what is buffered. */
  blockIdleMs?: number
}

/** Block streaming's default coalescing wait. */
export const BLOCK_IDLE_MS = 1000

/** Where a reply to `env` goes: its chat, else the sender's handle. */
export function replyTarget(env: Envelope): {chatId: number; to?: string} {
  return env.chat.chatId > 0 ? {chatId: env.chat.chatId, to: env.sender.handle || undefined} : {chatId: 0, to: env.sender.handle || env.sender.raw}
}

/** responsePrefix: the group's (or groups["*"]'s) override, else the account's. */
export function prefixFor(account: ResolvedAccount, env: Envelope): string | undefined {
  if (env.isGroup) {
    const g = account.groups[String(env.chat.chatId)]?.responsePrefix ?? account.groups['*']?.responsePrefix
    if (g !== undefined) return g
  }
  return account.responsePrefix
}

interface Produced {
  text?: string
  files?: string[]
  error?: string
}

export class Turn {
  readonly context: TurnContext = {env: {}, values: new Map()}
  /** Known once the queue started it: a chat command answers without the agent. */
  kind: TurnKind = 'agent'
  private started = false
  private streamer: BlockStreamer | undefined

  constructor(
    private readonly d: TurnDeps,
    readonly env: Envelope,
    /** The account config when the message was accepted (a reload mid-turn does not change it). */
    readonly account: ResolvedAccount,
    readonly agent: ResolvedAgent,
    readonly sessionKey: string,
    /** When the gateway received the message (ms). */
    readonly receivedAt: number,
  ) {}

  get label(): string {
    return chatLabel(this.env)
  }

  /**
   * Queues the turn behind its session and runs it to the delivered reply. 'not-started' when the
   * queue refused it (full or draining): the caller hands the message back below the cursor.
   */
  async run(queue: SessionQueue): Promise<TurnOutcome | 'not-started'> {
    let produced: Produced
    try {
      produced = await queue.enqueue(this.sessionKey, () => this.execute())
    } catch (error) {
      if (error instanceof QueueRejectedError) {
        this.d.log.warn(`${this.label}: not handled now (${error.message}); it will be answered after the gateway restarts`)
        return 'not-started'
      }
      return this.fail(error)
    }
    try {
      return await this.end(await this.deliver(produced))
    } catch (error) {
      return this.fail(error)
    }
  }

  /** Inside the session queue: command check, then the agent run. */
  private async execute(): Promise<Produced> {
    const {env, account: a} = this
    const command = this.d.chatCommand ? await this.d.chatCommand(env, a, this.d.approved, {sessionKey: this.sessionKey, agentId: this.agent.id}) : undefined
    if (command !== undefined) {
      this.kind = 'command'
      return {text: command}
    }
    this.started = true
    await this.notify('started', (o) => o.started?.(this))
    const history = env.isGroup ? this.d.history.take(historyKey(a.id, env.chat.chatId)) : []
    const {attachments, notes} = await resolveInboundAttachments(this.d.ctx, env, a, this.sessionKey, this.d.log)
    // What was left out (too large, outside the roots, missing) is told to the agent with the text.
    const turnEnv = notes.length > 0 ? {...env, text: `${env.text}\n\n[${notes.join('; ')}]`} : env
    const r = await this.d.runAgent({
      agent: this.agent,
      sessionKey: this.sessionKey,
      accountId: a.id,
      env: turnEnv,
      history,
      attachments,
      context: this.context,
      onBlock: async (text) => this.sendBlock(text),
    })
    if (r.error) {
      this.d.log.warn(
        `${this.label}: agent "${this.agent.id}" failed: ${r.error}${this.agent.errorReply ? '; sending errorReply' : '; nothing sent (set errorReply on the agent to tell the sender)'}`,
      )
      return {text: this.agent.errorReply, files: r.files, error: r.error}
    }
    return {text: r.text, files: r.files}
  }

  /** One streamed block: coalesced, then delivered behind earlier blocks of this turn and before the final reply. */
  private sendBlock(text: string): void {
    this.streamer ??= new BlockStreamer({
      inboundGuid: this.env.guid,
      limit: this.account.textChunkLimit,
      idleMs: this.d.blockIdleMs ?? BLOCK_IDLE_MS,
      priorKeys: this.env.guid ? this.d.delivery.journalKeys(`${this.env.guid}${BLOCK_KEY_MARK}`) : [],
      deliver: (group, key) =>
        this.d.delivery
          .deliver({inboundGuid: this.env.guid ? key : '', ...replyTarget(this.env), text: group, prefix: prefixFor(this.account, this.env), label: `${this.label} (streamed)`})
          // A failed block is logged by Delivery; it must not fail the turn.
          .catch((error) => this.d.log.warn(`${this.label}: a streamed block was not sent: ${errorMessage(error)}`)),
    })
    this.streamer.push(text)
  }

  private async deliver(p: Produced): Promise<{status: DeliveryStatus; error?: string}> {
    const env = this.env
    const streamed = this.streamer
    if (streamed) {
      // Blocks first, in order; the final answer only when the blocks did not already say it.
      const {sendFinal} = await streamed.finish(p.error ? undefined : p.text)
      if (!sendFinal && !p.error) p = {...p, text: undefined}
      if (streamed.skippedBlocks > 0) this.d.log.info(`${this.label}: ${streamed.skippedBlocks} streamed block(s) were sent before a restart; not sent again`)
    }
    if ((!p.text || p.text.trim() === '') && !(p.files && p.files.length > 0)) {
      if (!streamed) this.d.log.info(`${this.label}: agent returned no reply; nothing sent`)
      this.d.onEvent?.({type: 'replied', env, at: this.d.ctx.now(), receivedAt: this.receivedAt, status: 'empty'})
      return {status: 'empty', error: p.error}
    }
    const outcome = await this.d.delivery.deliver({
      inboundGuid: env.guid,
      ...replyTarget(env),
      text: p.text ?? '',
      files: p.files,
      // presence: answer in the thread of the triggering message where threaded replies are usable
      replyTo: this.kind === 'command' ? undefined : (this.context.values.get('replyTo') as string | undefined),
      prefix: this.kind === 'command' ? undefined : prefixFor(this.account, env),
      label: this.label,
    })
    this.d.onEvent?.({type: 'replied', env, at: outcome.ackedAt ?? this.d.ctx.now(), receivedAt: this.receivedAt, status: outcome.status})
    return {status: outcome.status, error: p.error ?? outcome.error}
  }

  private async fail(error: unknown): Promise<TurnOutcome> {
    this.d.log.error(`${this.label}: ${errorMessage(error)}`)
    return this.end({status: 'error', error: errorMessage(error)})
  }

  private async end(o: {status: TurnOutcome['status']; error?: string}): Promise<TurnOutcome> {
    const outcome: TurnOutcome = {kind: this.kind, ...o}
    if (this.started) {
      this.started = false
      await this.notify('ended', (ob) => ob.ended?.(this, outcome), true)
    }
    return outcome
  }

  private async notify(what: string, call: (o: TurnObserver) => void | Promise<void>, reverse = false): Promise<void> {
    const list = reverse ? [...this.d.observers].reverse() : this.d.observers
    for (const o of list) {
      try {
        await call(o)
      } catch (error) {
        this.d.log.error(`${this.label}: turn observer failed at ${what}: ${errorMessage(error)}`)
      }
    }
  }
}
