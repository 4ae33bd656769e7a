import type {ResolvedAccount} from '../config/accounts.js'
import type {Context} from '../context.js'
import {detectCapabilities, reactionCapability, requireCapability, type CapabilitySet} from '../imsg/capabilities.js'
import {ImsgClient} from '../imsg/client.js'
import {readCliStatus} from '../imsg/probe.js'
import {formatTarget, parseTarget, targetToChatSelector, type Target} from '../imsg/targets.js'
import type {TapbackParams} from '../imsg/types.js'
import {reactionEmoji, type Reaction} from '../util/tapback.js'

/** Capabilities of the imsg behind `client` (RPC status, else `<cliPath> status --json`). */
export function detectFor(account: ResolvedAccount, client: ImsgClient, ctx: Pick<Context, 'env'>): Promise<CapabilitySet> {
  return detectCapabilities({
    status: () => client.status(),
    cliStatus: () => readCliStatus(account.cliPath, ctx.env, Math.min(account.rpcTimeoutMs, 5000)),
  })
}

export interface ReactResult {
  schemaVersion: 1
  accountId: string
  target: string
  messageGuid: string
  reaction: {kind?: string; emoji: string}
  removed: boolean
}

export interface ReactOptions {
  account: ResolvedAccount
  target: string | Target
  messageGuid: string
  reaction: Reaction
  remove?: boolean
  ctx: Pick<Context, 'log' | 'env'>
  /** Reuse a running client and its detected capabilities (the gateway). */
  client?: ImsgClient
  capabilities?: CapabilitySet
}

/**
 * Puts (or removes) a tapback on a message. Refuses with CapabilityUnavailableError (exit 5)
 * when this imsg cannot: tapbacks need the IMCore bridge, emoji also imsg's emoji support.
 */
export async function sendReaction(o: ReactOptions): Promise<ReactResult> {
  const {account} = o
  const target = typeof o.target === 'string' ? parseTarget(o.target, {region: account.region}) : o.target
  const client = o.client ?? ImsgClient.spawn({cliPath: account.cliPath, dbPath: account.dbPath, requestTimeoutMs: account.rpcTimeoutMs,
    log: o.ctx.log, remoteHost: account.remoteHost})
  try {
    const caps = o.capabilities ?? (await detectFor(account, client, o.ctx))
    requireCapability(caps, reactionCapability(o.reaction))
    const params = {
      ...targetToChatSelector(target),
      message_id: o.messageGuid,
      ...(o.reaction.kind !== undefined ? {reaction: o.reaction.kind} : {emoji: o.reaction.emoji}),
      ...(o.remove ? {remove: true} : {}),
    } as TapbackParams
    await client.tapback(params)
  } finally {
    if (!o.client) await client.close()
  }
  return {
    schemaVersion: 1,
    accountId: account.id,
    target: formatTarget(target),
    messageGuid: o.messageGuid,
    reaction: {...(o.reaction.kind !== undefined ? {kind: o.reaction.kind} : {}), emoji: reactionEmoji(o.reaction)},
    removed: o.remove === true,
  }
}
