import {parseTarget} from '../imsg/targets.js'
import type {ImsgMessage} from '../imsg/types.js'
import type {Logger} from '../log.js'
import type {DeliveryOutcome} from '../outbound/delivery.js'
import {ToolRefusal, type ChatScope, type HostSendRequest, type HostSendResult, type ToolHost} from '../tools/types.js'

/** What one running account offers the agent tools (AccountRunner implements it). */
export interface AccountToolPort {
  /** The account's region (phone numbers in targets). */
  readonly region: string
  /**
   * A send through the account's Delivery, like a reply: journaled under journalKey, prefixed,
   * chunked, rate limited. Throws ToolRefusal when the loop breaker has paused the chat.
   */
  deliverTool(req: {journalKey: string; chatId: number; to?: string; text: string; files?: string[]; label: string}): Promise<DeliveryOutcome>
  /** messages.history of one chat, newest first; waits (bounded) for a running imsg. */
  history(chatId: number, limit: number, before?: Date): Promise<ImsgMessage[]>
  /** A tapback in chat chatId; throws ToolRefusal('no_capability') with the reason where it is not usable. */
  react(chatId: number, messageGuid: string, reaction: string): Promise<void>
  /** The send journal holds this key (a send that started and is not settled: recovery owns it). */
  journalHas(key: string): boolean
}

/** How far back the chat is read to tell whether a scheduled message already went out. */
const RECONCILE_DEPTH = 50

/**
 * The gateway's ToolHost: each call goes to the port of the account it names. Nothing here
 * decides scope (the dispatcher does); this only carries calls to the one outbound path.
 */
export class GatewayToolHost implements ToolHost {
  constructor(
    private readonly port: (accountId: string) => AccountToolPort | undefined,
    private readonly log: Logger,
  ) {}

  private need(accountId: string): AccountToolPort {
    const p = this.port(accountId)
    if (!p) throw new ToolRefusal('unavailable', `account ${accountId} is not running in this gateway`)
    return p
  }

  async send(req: HostSendRequest): Promise<HostSendResult> {
    const p = this.need(req.accountId)
    let chatId = req.chatId
    let to: string | undefined
    if (chatId <= 0) {
      const t = parseTarget(req.target, {region: p.region})
      if (t.kind === 'chat_id') chatId = t.chatId
      else if (t.kind === 'handle') to = t.handle
      else throw new ToolRefusal('invalid_arguments', `${req.target}: send_message writes to a handle or chat_id:N (chat_guid and chat_identifier targets are not supported)`)
    }
    const o = await p.deliverTool({journalKey: req.journalKey, chatId, ...(to ? {to} : {}), text: req.text, ...(req.files ? {files: req.files} : {}), label: req.label})
    switch (o.status) {
      case 'sent':
      case 'empty':
        return {status: 'sent'}
      case 'interrupted':
        return {status: 'interrupted', detail: o.error}
      case 'unknown':
        return {status: 'unknown', detail: o.error}
      default:
        return {status: 'failed', detail: o.error}
    }
  }

  async react(req: {accountId: string; chat: ChatScope; messageGuid: string; reaction: string}): Promise<void> {
    if (req.chat.chatId <= 0) throw new ToolRefusal('unavailable', 'this chat has no chat_id yet, so a tapback cannot be addressed to it')
    await this.need(req.accountId).react(req.chat.chatId, req.messageGuid, req.reaction)
  }

  async history(req: {accountId: string; chat: ChatScope; limit: number; before?: Date}): Promise<ImsgMessage[]> {
    return this.need(req.accountId).history(req.chat.chatId, req.limit, req.before)
  }

  /**
   * A journal entry means Delivery started it and its own recovery finishes it: count it as
   * sent here. No entry: it either never started or settled; the chat's history tells which.
   */
  async reconcileScheduled(rec: {accountId: string; chat: ChatScope; text: string; firingAt: number; journalKey: string}): Promise<'sent' | 'not-sent' | 'unknown'> {
    const p = this.port(rec.accountId)
    if (!p) throw new Error(`account ${rec.accountId} is not running`)
    if (p.journalHas(rec.journalKey)) return 'sent'
    if (rec.chat.chatId <= 0) return 'unknown'
    const messages = await p.history(rec.chat.chatId, RECONCILE_DEPTH)
    const head = rec.text.trim().slice(0, 80)
    const found = messages.some((m) => m.is_from_me && Date.parse(m.created_at) >= rec.firingAt - 5_000 && (m.text ?? '').includes(head))
    this.log.debug('schedule reconciled against the chat', {chat: rec.chat.target, found})
    return found ? 'sent' : 'not-sent'
  }
}
