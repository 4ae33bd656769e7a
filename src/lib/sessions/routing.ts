import type {ResolvedAccount} from '../config/accounts.js'
import type {Envelope} from '../core/envelope.js'
import {findAgent, type ResolvedAgent, type ResolvedAgents} from '../agents/resolve.js'
import {groupKey, groupSettings} from '../access/decide.js'
import {sessionKeyFor} from './keys.js'

export interface Route {
  agent: ResolvedAgent
  sessionKey: string
  /** Which key chose the agent. */
  via: 'group' | 'groups-default' | 'account' | 'default'
  /** An agentId that names no agent (the default agent was used instead); log it. */
  unknownAgentId?: {key: string; id: string}
}

/**
 * Which agent answers a message: groups.<chat_id>.agentId (groups only), then groups["*"].agentId,
 * then the account's agentId, then the default agent. An id that names no agent falls back to
 * the default agent and is reported in `unknownAgentId` (checkRouting() warns at startup too).
 */
export function routeAgent(agents: ResolvedAgents, account: Pick<ResolvedAccount, 'groups' | 'agentId' | 'keyPrefix' | 'inheritedFrom'>, env: Pick<Envelope, 'isGroup' | 'chat'> & Partial<Pick<Envelope, 'sender'>>): Route {
  const candidates: Array<{id: string | undefined; via: Route['via']; key: string}> = []
  if (env.isGroup) {
    const {own, wildcard} = groupSettings(account, env.chat.chatId)
    candidates.push({id: own?.agentId, via: 'group', key: `${groupKey(account, String(env.chat.chatId))}.agentId`})
    candidates.push({id: wildcard?.agentId, via: 'groups-default', key: `${groupKey(account, '*')}.agentId`})
  }
  candidates.push({id: account.agentId, via: 'account', key: `${account.keyPrefix}.agentId`})
  for (const c of candidates) {
    if (c.id === undefined) continue
    const agent = findAgent(agents, c.id)
    if (agent) return {agent, sessionKey: sessionKeyFor(agent.id, env, agent.session.dmScope), via: c.via}
    const agent0 = agents.defaultAgent
    return {agent: agent0, sessionKey: sessionKeyFor(agent0.id, env, agent0.session.dmScope), via: 'default', unknownAgentId: {key: c.key, id: c.id}}
  }
  const agent = agents.defaultAgent
  return {agent, sessionKey: sessionKeyFor(agent.id, env, agent.session.dmScope), via: 'default'}
}

/** Startup warnings for agentId keys that name no agent. */
export function checkRouting(agents: ResolvedAgents, accounts: Array<Pick<ResolvedAccount, 'groups' | 'agentId' | 'keyPrefix' | 'inheritedFrom'>>): string[] {
  const known = agents.agents.map((a) => a.id)
  const warnings: string[] = []
  const check = (id: string | undefined, key: string) => {
    if (id !== undefined && !known.includes(id)) {
      warnings.push(`${key} is "${id}", which is not in agents.list (known: ${known.join(', ')}); the default agent "${agents.defaultAgent.id}" answers instead.`)
    }
  }
  for (const account of accounts) {
    check(account.agentId, `${account.keyPrefix}.agentId`)
    for (const [chat, g] of Object.entries(account.groups)) check(g.agentId, `${groupKey(account, chat)}.agentId`)
  }
  return [...new Set(warnings)]
}
