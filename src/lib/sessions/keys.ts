import type {Envelope} from '../core/envelope.js'

/**
 * Session keys: all DMs of an agent share its main session; each group chat gets its own.
 * The key is the unit of ordering (one agent run at a time per key, see queue.ts) and is
 * passed to agents as REMOTECLAW_SESSION_KEY.
 */
export function dmSessionKey(agentId: string): string {
  return `agent:${agentId}:main`
}

export function groupSessionKey(agentId: string, chatId: number): string {
  return `agent:${agentId}:imessage:group:${chatId}`
}

export function sessionKeyFor(agentId: string, env: Pick<Envelope, 'isGroup' | 'chat'>): string {
  return env.isGroup ? groupSessionKey(agentId, env.chat.chatId) : dmSessionKey(agentId)
}
