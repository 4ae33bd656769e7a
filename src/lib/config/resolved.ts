import {resolveAccounts, imessageChannel} from './accounts.js'
import {toSegments} from './paths.js'
import {ACCOUNT_DEFAULTS, accountFieldsShape, type RemoteclawConfig} from './schema.js'
import {NotFoundError, UsageError} from '../errors.js'

/** Where an effective account value came from. */
export type ValueSource = 'account' | 'channel' | 'messages' | 'default' | 'unset'

export interface ResolvedValue {
  /** The account key, e.g. "dmPolicy". */
  key: string
  accountId: string
  value: unknown
  source: ValueSource
  /** The config path that holds the value ('' for a built-in default or an unset key). */
  from: string
}

const ACCOUNT_KEYS = Object.keys(accountFieldsShape)

/**
 * The effective value of an account key after channel -> account inheritance and defaults:
 * what the gateway uses, and which key (or default) it came from. Accepts the bare key
 * (`dmPolicy`), the channel path (`channels.imessage.dmPolicy`) or an account path
 * (`channels.imessage.accounts.bot.dmPolicy`, which also picks the account).
 */
export function resolvedValue(config: RemoteclawConfig, path: string, opts: {accountId?: string; home: string}): ResolvedValue {
  const segs = toSegments(path).map(String)
  const base = config.channels?.imessage ? 'channels.imessage' : 'imessage'
  let rest = segs
  let accountId = opts.accountId
  if (rest[0] === 'channels' && rest[1] === 'imessage') rest = rest.slice(2)
  else if (rest[0] === 'imessage') rest = rest.slice(1)
  if (rest[0] === 'accounts' && rest.length >= 3) {
    if (accountId !== undefined && accountId !== rest[1]) {
      throw new UsageError(`${path} names account "${rest[1]}" but --account is "${accountId}"`, {fix: `Drop --account, or ask for the bare key: remoteclaw config get ${rest.slice(2).join('.')} --resolved --account ${accountId}`})
    }
    accountId = rest[1]
    rest = rest.slice(2)
  }
  const key = rest[0]
  if (rest.length !== 1 || key === undefined || !ACCOUNT_KEYS.includes(key)) {
    throw new UsageError(`--resolved shows account keys (inherited from the channel, then defaults); ${path} is not one`, {
      fix: `Use one of: ${ACCOUNT_KEYS.join(', ')}; or drop --resolved to print what the file holds.`,
    })
  }
  const all = resolveAccounts(config, {home: opts.home})
  if (all.accounts.length === 0) {
    throw new NotFoundError('no iMessage account is configured', {fix: 'Run: remoteclaw setup imessage'})
  }
  const wanted = accountId ?? all.defaultAccountId
  const account = all.accounts.find((a) => a.id === wanted)
  if (!account) {
    throw new NotFoundError(`no iMessage account "${wanted}" (known accounts: ${all.accounts.map((a) => a.id).join(', ')})`, {
      fix: `Pass a known account: remoteclaw config get ${key} --resolved --account ${all.accounts[0]!.id}`,
    })
  }
  const channel = imessageChannel(config) ?? {}
  const override = channel.accounts?.[account.id] as Record<string, unknown> | undefined
  const own = override?.[key]
  const inherited = (channel as Record<string, unknown>)[key]
  const resolved = (account as unknown as Record<string, unknown>)[key]
  const dflt = (ACCOUNT_DEFAULTS as Record<string, unknown>)[key]
  if (own !== undefined) return {key, accountId: account.id, value: resolved ?? own, source: 'account', from: `${base}.accounts.${account.id}.${key}`}
  if (inherited !== undefined) return {key, accountId: account.id, value: resolved ?? inherited, source: 'channel', from: `${base}.${key}`}
  if (key === 'historyLimit' && config.messages?.groupChat?.historyLimit !== undefined) {
    return {key, accountId: account.id, value: resolved, source: 'messages', from: 'messages.groupChat.historyLimit'}
  }
  if (key === 'responsePrefix' && config.messages?.responsePrefix !== undefined) {
    return {key, accountId: account.id, value: resolved, source: 'messages', from: 'messages.responsePrefix'}
  }
  if (dflt !== undefined) return {key, accountId: account.id, value: resolved ?? dflt, source: 'default', from: ''}
  return {key, accountId: account.id, value: resolved ?? null, source: 'unset', from: ''}
}

/** Every account key's effective value (`config get --resolved` without a path). */
export function resolvedAccountValues(config: RemoteclawConfig, opts: {accountId?: string; home: string}): ResolvedValue[] {
  return ACCOUNT_KEYS.map((k) => resolvedValue(config, k, opts))
}
