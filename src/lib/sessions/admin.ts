import {findAgent, resolveAgents, sessionSettings} from '../agents/resolve.js'
import type {RemoteclawConfig} from '../config/schema.js'
import type {Context} from '../context.js'
import {NotFoundError} from '../errors.js'
import {SessionStore, type SessionRecord} from './store.js'

/** One row of `remoteclaw sessions list`. */
export interface SessionListing extends SessionRecord {
  /** When the next message would start fresh (idleMinutes after the last turn); null = never. */
  expiresAt: number | null
  expired: boolean
}

/** The stored sessions with their expiry under the current config, newest first. */
export async function listSessions(ctx: Pick<Context, 'stateDir' | 'now'>, config: RemoteclawConfig, opts: {accountId?: string} = {}): Promise<SessionListing[]> {
  const agents = resolveAgents(config)
  const now = ctx.now()
  const records = await new SessionStore(ctx).list()
  return records
    .filter((r) => opts.accountId === undefined || r.accountId === opts.accountId)
    .reverse()
    .map((r) => {
      const idle = (findAgent(agents, r.agentId)?.session ?? sessionSettings(config)).idleMinutes
      const expiresAt = idle > 0 ? r.lastUsedAt + idle * 60_000 : null
      return {...r, expiresAt, expired: expiresAt !== null && expiresAt < now}
    })
}

/**
 * Forgets sessions: the next message of each starts a fresh conversation with the agent. Safe
 * while the gateway runs (same lock as its writes; a turn running now does not write it back).
 */
export async function resetSessions(ctx: Pick<Context, 'stateDir'>, target: {keys: string[]} | {all: true; accountId?: string}): Promise<string[]> {
  const store = new SessionStore(ctx)
  if ('keys' in target) {
    const known = new Set((await store.list()).map((r) => r.key))
    const missing = target.keys.filter((k) => !known.has(k))
    if (missing.length > 0) {
      throw new NotFoundError(`no session ${missing.map((k) => `"${k}"`).join(', ')}`, {
        code: 'session_not_found',
        fix: 'List the stored sessions with: remoteclaw sessions list',
      })
    }
    return store.remove(target.keys)
  }
  if (target.accountId === undefined) return store.remove()
  const keys = (await store.list()).filter((r) => r.accountId === target.accountId).map((r) => r.key)
  return keys.length === 0 ? [] : store.remove(keys)
}
