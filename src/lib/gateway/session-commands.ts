import type {ResolvedAgent} from '../agents/resolve.js'
import type {ResolvedAccount} from '../config/accounts.js'
import {errorMessage} from '../errors.js'
import type {Logger} from '../log.js'
import {formatAgo} from '../pairing/format.js'
import {SessionTurns} from '../sessions/continuity.js'
import type {SessionStore} from '../sessions/store.js'
import {approvedByName} from './chat-commands.js'
import type {Envelope} from '../core/envelope.js'

/**
 * `/new` (alias `/reset`) and `/status` from chat. On by default, for senders approved by name
 * (the same rule as `/config`, see approvedByName); never passed to the agent. From anyone else,
 * and any other `/...`, the text goes to the agent as usual.
 */
export const SESSION_COMMAND = /^\/(new|reset|status)\s*$/i

export function createSessionCommandHandler(deps: {store: SessionStore; turns: SessionTurns; log: Logger; now: () => number}) {
  const {turns} = deps
  return async (
    env: Envelope,
    account: ResolvedAccount,
    approved: {isApproved(handle: string): boolean},
    route: {agent: ResolvedAgent; sessionKey: string},
  ): Promise<string | undefined> => {
    const m = SESSION_COMMAND.exec(env.text.trim())
    if (!m) return undefined
    const verb = m[1]!.toLowerCase()
    const who = env.sender.handle || env.sender.raw
    if (!approvedByName(env, account, approved)) {
      deps.log.info(
        `/${verb} from ${who || 'an unknown sender'} not run: only senders approved by name may use chat commands (pairing approval, or their handle in ${account.keyPrefix}.allowFrom); passing it to the agent as text`,
        {admit: who ? `remoteclaw pairing approve imessage ${who}${account.keyPrefix.includes('.accounts.') ? ` --account ${account.id}` : ''}` : undefined},
      )
      return undefined
    }
    const {agent, sessionKey} = route
    try {
      await turns.settled(sessionKey)
      if (verb === 'new' || verb === 'reset') {
        const removed = await deps.store.remove([sessionKey])
        deps.log.info(`/${verb} by ${who}: session ${sessionKey} ${removed.length > 0 ? 'reset' : 'had nothing to reset'}; the next message starts fresh`, {sessionKey})
        return 'New conversation started.'
      }
      const rec = await deps.store.get(sessionKey)
      const label = `Agent ${agent.name ? `${agent.name} (${agent.id})` : agent.id}, ${agent.runtime}`
      if (!rec) return `${label}: no conversation yet; your next message starts one.`
      const now = deps.now()
      const stale = turns.freshReason(rec, agent, now)
      return `${label}: conversation started ${formatAgo(now - rec.createdAt)}, ${rec.turns} turn${rec.turns === 1 ? '' : 's'}${stale ? `; your next message starts a new one (${stale})` : ''}.`
    } catch (error) {
      deps.log.error(`/${verb} from ${who} failed: ${errorMessage(error)}`, {fix: (error as {fix?: string}).fix})
      return 'Not done: the session store could not be read; the operator log says why.'
    }
  }
}
