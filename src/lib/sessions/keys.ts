import type {Envelope} from '../core/envelope.js'

/**
 * Session keys. Each group chat gets its own session; DMs share the agent's main session, or,
 * with session.dmScope "per-sender", get one per sender. The key is the unit of ordering (one
 * agent run at a time per key, see queue.ts), of conversation continuity (store.ts) and is
 * passed to agents as REMOTECLAW_SESSION_KEY.
 */
export type DmScope = 'main' | 'per-sender'

export function dmSessionKey(agentId: string): string {
  return `agent:${agentId}:main`
}

export function senderSessionKey(agentId: string, handle: string): string {
  return `agent:${agentId}:imessage:dm:${handle}`
}

export function groupSessionKey(agentId: string, chatId: number): string {
  return `agent:${agentId}:imessage:group:${chatId}`
}

export function sessionKeyFor(agentId: string, env: Pick<Envelope, 'isGroup' | 'chat'> & Partial<Pick<Envelope, 'sender'>>, dmScope: DmScope = 'main'): string {
  if (env.isGroup) return groupSessionKey(agentId, env.chat.chatId)
  if (dmScope === 'per-sender') return senderSessionKey(agentId, env.sender?.handle || (env.sender?.raw ?? '').trim().toLowerCase())
  return dmSessionKey(agentId)
}
