import type {ResolvedAccount} from '../config/accounts.js'
import type {ImsgClient} from '../imsg/client.js'
import type {ImsgMessage} from '../imsg/types.js'
import {Delivery, type DeliveryOutcome} from '../outbound/delivery.js'
import type {AccountState} from '../state/account-state.js'
import {ToolRefusal} from '../tools/types.js'
import type {AccountToolPort} from './tool-host.js'

export interface AccountToolPortDeps {
  account: () => ResolvedAccount
  delivery: () => Delivery
  /** The running imsg child, waiting up to ms for one; undefined when none came up. */
  client: (waitMs: number) => Promise<ImsgClient | undefined>
  state: () => AccountState
  /** The loop breaker's pause of a chat (Delivery.chatKey), if any. */
  pausedUntil: (chatKey: string) => number | undefined
  /** A tapback through the account's capabilities; absent where this build has none. */
  react?: (chatId: number, messageGuid: string, reaction: string) => Promise<void>
}

/** How long a history read waits for imsg to be running (a restart in progress). */
const CLIENT_WAIT_MS = 15_000

/** The agent tools' view of one AccountRunner: its Delivery, its imsg client, its journal. */
export function accountToolPort(d: AccountToolPortDeps): AccountToolPort {
  return {
    get region() {
      return d.account().region
    },

    async deliverTool(req): Promise<DeliveryOutcome> {
      const key = Delivery.chatKey(req)
      const until = d.pausedUntil(key)
      if (until !== undefined) {
        throw new ToolRefusal('limit', `sends to this chat are paused by the loop breaker until ${new Date(until).toISOString()}`)
      }
      const a = d.account()
      const prefix = (req.chatId > 0 ? a.groups[String(req.chatId)]?.responsePrefix : undefined) ?? a.responsePrefix
      return d.delivery().deliver({
        inboundGuid: req.journalKey,
        chatId: req.chatId,
        ...(req.to ? {to: req.to} : {}),
        text: req.text,
        ...(req.files ? {files: req.files} : {}),
        ...(prefix !== undefined ? {prefix} : {}),
        label: req.label,
      })
    },

    async history(chatId: number, limit: number, before?: Date): Promise<ImsgMessage[]> {
      const client = await d.client(CLIENT_WAIT_MS)
      if (!client) throw new ToolRefusal('unavailable', 'imsg is not running right now (it is restarting); try again shortly')
      const {messages} = await client.messagesHistory({chat_id: chatId, limit, attachments: true, ...(before ? {end: before.toISOString()} : {})})
      return messages
    },

    async react(chatId: number, messageGuid: string, reaction: string): Promise<void> {
      if (!d.react) throw new ToolRefusal('no_capability', 'this gateway cannot send tapbacks')
      await d.react(chatId, messageGuid, reaction)
    },

    journalHas(key: string): boolean {
      return d.state().pending().some((p) => p.inboundGuid === key)
    },
  }
}
