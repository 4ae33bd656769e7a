import {expandHome} from '../context.js'
import {parseReaction, type Reaction} from '../util/tapback.js'
import {NotFoundError} from '../errors.js'
import {
  ACCOUNT_DEFAULTS,
  DEFAULT_ACCOUNT_ID,
  type AccountConfig,
  type GroupConfig,
  type IMessageChannelConfig,
  type RemoteclawConfig,
} from './schema.js'

/**
 * One iMessage account with every value decided: channel-level keys, then accounts.<id>
 * overrides, then ACCOUNT_DEFAULTS. This is the only place inheritance happens.
 *
 * Maps and lists (groups, allowFrom, groupAllowFrom, attachment roots) are REPLACED by an
 * account override, never merged: an account that sets `groups` sees only its own groups.
 * `config validate` (and the gateway, which validates) warns when an override hides a non-empty
 * inherited map or list (config/warnings.ts).
 */
export interface ResolvedAccount {
  id: string
  name?: string
  enabled: boolean
  /** `~`-expanded; a bare name is resolved on PATH at spawn time. */
  cliPath: string
  dbPath?: string
  remoteHost?: string
  service: 'imessage' | 'sms' | 'auto'
  region: string
  dmPolicy: 'pairing' | 'allowlist' | 'open' | 'disabled'
  allowFrom: string[]
  pairingReply: 'code' | 'silent'
  groupPolicy: 'open' | 'allowlist' | 'disabled'
  /** groupAllowFrom, or allowFrom when groupAllowFrom is unset. */
  groupAllowFrom: string[]
  groupAllowFromInherited: boolean
  groups: Record<string, GroupConfig>
  historyLimit: number
  includeAttachments: boolean
  attachmentRoots: string[]
  remoteAttachmentRoots: string[]
  mediaMaxMb: number
  textChunkLimit: number
  chunkMode: 'length' | 'newline'
  maxReplyChunks: number
  configWrites: boolean
  /** account, then channel, then messages.responsePrefix */
  responsePrefix?: string
  agentId?: string
  maxInboundAgeMinutes: number
  rpcTimeoutMs: number
  outboundPerMinute: number
  /** Presence (each off where this imsg lacks the capability). */
  typingIndicator: boolean
  sendReadReceipts: boolean
  /** The tapback put on accepted messages; undefined when "off". */
  ackReaction?: Reaction
  replyThreading: 'off' | 'group' | 'all'
  reactionNotifications: 'off' | 'own' | 'all'
  /** Where the account's keys live, for messages that name a key: "channels.imessage" or "channels.imessage.accounts.<id>". */
  keyPrefix: string
  /**
   * Collections this account inherits from the channel (set there, not overridden by the account), with the
   * channel prefix: an admit command must extend the channel's map/list, since an account-level one would
   * replace (hide) it. Absent for single-account configs, where keyPrefix is already the channel.
   */
  inheritedFrom?: Partial<Record<InheritedCollection, string>>
}

export interface ResolvedAccounts {
  accounts: ResolvedAccount[]
  defaultAccountId: string
  warnings: string[]
}

/** The maps and lists an account override replaces instead of merging. */
export const INHERITED_COLLECTIONS = ['groups', 'allowFrom', 'groupAllowFrom', 'attachmentRoots', 'remoteAttachmentRoots'] as const
export type InheritedCollection = (typeof INHERITED_COLLECTIONS)[number]

/**
 * Where a collection key of this account lives: the channel when the account inherits it (an
 * account-level map or list would replace the inherited one, hiding its entries), else keyPrefix.
 */
export function collectionPrefix(account: Pick<ResolvedAccount, 'keyPrefix' | 'inheritedFrom'>, key: InheritedCollection): string {
  return account.inheritedFrom?.[key] ?? account.keyPrefix
}

/** channels.imessage, or the legacy top-level `imessage` when only that exists. */
export function imessageChannel(config: RemoteclawConfig): IMessageChannelConfig | undefined {
  return config.channels?.imessage ?? config.imessage
}

export function isNonEmpty(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0
  if (v && typeof v === 'object') return Object.keys(v).length > 0
  return false
}

function resolveOne(
  id: string,
  channel: IMessageChannelConfig,
  override: AccountConfig | undefined,
  config: RemoteclawConfig,
  home: string,
  keyPrefix: string,
): ResolvedAccount {
  const {accounts: _a, defaultAccount: _d, ...channelFields} = channel
  const merged: AccountConfig = {...channelFields, ...override}
  const pick = <K extends keyof typeof ACCOUNT_DEFAULTS>(k: K) => (merged[k] ?? ACCOUNT_DEFAULTS[k]) as NonNullable<AccountConfig[K]>
  const allowFrom = [...pick('allowFrom')]
  return {
    id,
    name: merged.name,
    enabled: pick('enabled'),
    cliPath: expandHome(pick('cliPath'), home),
    dbPath: merged.dbPath === undefined ? undefined : expandHome(merged.dbPath, home),
    remoteHost: merged.remoteHost,
    service: pick('service'),
    region: pick('region').toUpperCase(),
    dmPolicy: pick('dmPolicy'),
    allowFrom,
    pairingReply: pick('pairingReply'),
    groupPolicy: pick('groupPolicy'),
    groupAllowFrom: merged.groupAllowFrom ? [...merged.groupAllowFrom] : allowFrom,
    groupAllowFromInherited: merged.groupAllowFrom === undefined,
    groups: {...(merged.groups ?? {})},
    historyLimit: merged.historyLimit ?? config.messages?.groupChat?.historyLimit ?? ACCOUNT_DEFAULTS.historyLimit,
    includeAttachments: pick('includeAttachments'),
    attachmentRoots: [...pick('attachmentRoots')].map((r) => expandHome(r, home)),
    remoteAttachmentRoots: [...pick('remoteAttachmentRoots')],
    mediaMaxMb: pick('mediaMaxMb'),
    textChunkLimit: pick('textChunkLimit'),
    chunkMode: pick('chunkMode'),
    maxReplyChunks: pick('maxReplyChunks'),
    configWrites: pick('configWrites'),
    responsePrefix: merged.responsePrefix ?? config.messages?.responsePrefix,
    agentId: merged.agentId,
    maxInboundAgeMinutes: pick('maxInboundAgeMinutes'),
    rpcTimeoutMs: pick('rpcTimeoutMs'),
    outboundPerMinute: pick('outboundPerMinute'),
    typingIndicator: pick('typingIndicator'),
    sendReadReceipts: pick('sendReadReceipts'),
    ackReaction: pick('ackReaction') === 'off' ? undefined : parseReaction(pick('ackReaction')),
    replyThreading: pick('replyThreading'),
    reactionNotifications: pick('reactionNotifications'),
    keyPrefix,
  }
}

/** All iMessage accounts (enabled or not) with inheritance applied. */
export function resolveAccounts(config: RemoteclawConfig, ctx: {home: string}): ResolvedAccounts {
  const channel = imessageChannel(config)
  const base = config.channels?.imessage ? 'channels.imessage' : 'imessage'
  const warnings: string[] = []
  if (!channel) return {accounts: [], defaultAccountId: DEFAULT_ACCOUNT_ID, warnings}
  const ids = Object.keys(channel.accounts ?? {})
  if (ids.length === 0) {
    const account = resolveOne(DEFAULT_ACCOUNT_ID, channel, undefined, config, ctx.home, base)
    if (channel.enabled === false) account.enabled = false
    return {accounts: [account], defaultAccountId: DEFAULT_ACCOUNT_ID, warnings}
  }
  const accounts = ids.map((id) => {
    const override = channel.accounts![id]!
    const account = resolveOne(id, channel, override, config, ctx.home, `${base}.accounts.${id}`)
    for (const key of INHERITED_COLLECTIONS) {
      if (override[key] === undefined && channel[key] !== undefined) (account.inheritedFrom ??= {})[key] = base
    }
    // The channel switch turns every account off; an account's own `enabled` cannot re-enable it.
    if (channel.enabled === false) account.enabled = false
    return account
  })
  let defaultAccountId = channel.defaultAccount ?? (ids.includes(DEFAULT_ACCOUNT_ID) ? DEFAULT_ACCOUNT_ID : ids[0]!)
  if (!ids.includes(defaultAccountId)) {
    warnings.push(`${base}.defaultAccount "${defaultAccountId}" is not an account; using "${ids[0]}".`)
    defaultAccountId = ids[0]!
  }
  return {accounts, defaultAccountId, warnings}
}

/** What every command says when channels.imessage is missing: one message, one fix. */
export const NOT_CONFIGURED_MESSAGE = 'no iMessage account is configured'
export const NOT_CONFIGURED_FIX =
  'Run: remoteclaw setup imessage   (or: remoteclaw config set channels.imessage.cliPath /usr/local/bin/imsg)'

/** No account at all is "account not found" (exit 4) for the commands that need one. */
export function notConfiguredError(configPath?: string): NotFoundError {
  return new NotFoundError(configPath ? `${NOT_CONFIGURED_MESSAGE} in ${configPath}` : NOT_CONFIGURED_MESSAGE, {
    code: 'not_configured',
    fix: NOT_CONFIGURED_FIX,
  })
}

/** One account by id, or the default account. Unknown ids are a not-found error (exit 4). */
export function resolveAccount(config: RemoteclawConfig, id: string | undefined, ctx: {home: string}): ResolvedAccount {
  const all = resolveAccounts(config, ctx)
  if (all.accounts.length === 0) throw notConfiguredError()
  const wanted = id ?? all.defaultAccountId
  const found = all.accounts.find((a) => a.id === wanted)
  if (!found) {
    throw new NotFoundError(`no iMessage account "${wanted}"`, {
      fix: `Known accounts: ${all.accounts.map((a) => a.id).join(', ')}. Pass one with --account.`,
    })
  }
  return found
}
