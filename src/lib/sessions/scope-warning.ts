import type {ResolvedAccount} from '../config/accounts.js'
import type {ResolvedAgents} from '../agents/resolve.js'
import {routeAgent} from './routing.js'

/**
 * With session.dmScope "main" every DM to an agent continues ONE conversation: when more than one
 * person can DM the bot, each can read (ask the agent about) what the others said. Returns the
 * warning for the gateway's start-up log and `channels doctor`, or undefined when it cannot happen.
 */
export function sharedDmSessionWarning(
  account: ResolvedAccount,
  agents: ResolvedAgents,
  approvedHandles: string[],
): {message: string; fix: string; agentId: string} | undefined {
  if (account.dmPolicy === 'disabled') return undefined
  const {agent} = routeAgent(agents, account, {isGroup: false, chat: {chatId: 0, guid: '', identifier: '', name: '', participants: []}})
  if (agent.session.dmScope !== 'main') return undefined
  const p = account.keyPrefix
  // Name the key where the list is written, so accounts that inherit it get the same sentence.
  const allowFrom = `${account.inheritedFrom?.allowFrom ?? p}.allowFrom`
  const star = account.allowFrom.some((h) => h.trim() === '*')
  let who: string | undefined
  if (account.dmPolicy === 'open' || star) who = `anyone who can DM the bot (${account.dmPolicy === 'open' ? `${p}.dmPolicy "open"` : `"*" in ${allowFrom}`})`
  else {
    const named = new Set([...account.allowFrom.filter((h) => !/^chat_(id|guid|identifier):/i.test(h.trim())).map((h) => h.trim()), ...approvedHandles])
    if (named.size >= 2) who = `the ${named.size} senders allowed to DM the bot (${allowFrom} and pairing approvals)`
    else if (account.dmPolicy === 'pairing' && named.size >= 1) return undefined
  }
  if (!who) return undefined
  const key = agent.session.dmScopeKey
  return {
    agentId: agent.id,
    message: `DMs to agent "${agent.id}" share one conversation (${key} is "main"): ${who} can see each other's context through the agent.`,
    fix: `remoteclaw config set ${key} per-sender`,
  }
}
