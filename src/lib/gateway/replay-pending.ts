import {errorMessage} from '../errors.js'
import type {ImsgClient} from '../imsg/client.js'
import type {Logger} from '../log.js'
import type {Delivery} from '../outbound/delivery.js'
import type {AccountState} from '../state/account-state.js'

export interface ReplayDeps {
  state: AccountState
  delivery: Delivery
  log: Logger
  /** Keeps the stream's replay of the inbound message from being answered while its reply is resent. */
  hold: (guid: string) => void
  release: (guid: string) => void
}

/**
 * Sends journaled as started but never settled (the gateway died mid-send): look for them in
 * the chat's history; confirmed chunks are not sent again, missing ones are sent now.
 */
export async function replayPending(client: ImsgClient, d: ReplayDeps): Promise<void> {
  const {state, delivery, log} = d
  for (const p of state.pending()) {
    if (delivery.active.has(p.inboundGuid)) continue // still being sent by this process
    let confirmed = p.sent
    if (p.tracked && p.id && p.chatId > 0 && p.sent < p.texts.length) {
      // Each chunk is sent again under the attempt_id it had: imsg refuses a second message with it,
      // and the refusal is settled with message.send_status (never a second copy).
      log.info(`reply to ${p.inboundGuid} (tracked) was interrupted by a restart; checking its ${p.texts.length - confirmed} unconfirmed chunk(s) by attempt id`)
      if (p.inboundGuid) d.hold(p.inboundGuid)
      void delivery
        .resume({inboundGuid: p.inboundGuid, chatId: p.chatId, to: p.to, text: '', label: `chat ${p.chatId}`}, p.texts, confirmed)
        .finally(() => d.release(p.inboundGuid))
        .catch((error) => log.error(`resending after restart failed: ${errorMessage(error)}`))
      continue
    }
    if (p.chatId > 0) {
      try {
        const {messages} = await client.messagesHistory({chat_id: p.chatId, limit: 50})
        const mine = messages.filter((m) => m.is_from_me && Date.parse(m.created_at) >= p.startedAt - 2_000)
        while (confirmed < p.texts.length && mine.some((m) => m.text === p.texts[confirmed])) confirmed++
      } catch (error) {
        log.warn(`could not check chat ${p.chatId} for a send interrupted by a restart: ${errorMessage(error)}; not resending`)
        confirmed = p.texts.length
      }
    } else {
      log.warn(`a send to ${p.to} was interrupted by a restart and cannot be checked (no chat id); not resending`)
      confirmed = p.texts.length
    }
    if (confirmed >= p.texts.length) {
      log.info(`reply to ${p.inboundGuid || 'a notice'} was sent before the restart; not sending it again`)
      await state.settleSend(p.inboundGuid)
      continue
    }
    log.info(`reply to ${p.inboundGuid} was interrupted by a restart; sending the ${p.texts.length - confirmed} missing chunk(s)`)
    const label = p.chatId > 0 ? `chat ${p.chatId}` : `DM ${p.to}`
    // The replay of its inbound message must not answer it a second time while this runs.
    if (p.inboundGuid) d.hold(p.inboundGuid)
    void delivery
      .resume({inboundGuid: p.inboundGuid, chatId: p.chatId, to: p.to, text: '', label}, p.texts, confirmed)
      .finally(() => d.release(p.inboundGuid))
      .catch((error) => log.error(`resending after restart failed: ${errorMessage(error)}`))
  }
}
