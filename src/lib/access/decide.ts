import {collectionPrefix, type ResolvedAccount} from '../config/accounts.js'
import type {GroupConfig} from '../config/schema.js'
import type {Envelope} from '../core/envelope.js'
import {normalizeHandle} from './handles.js'

/**
 * Inbound access control: one pure decision per envelope, made after the pipeline's drops
 * (echo, duplicate, age fence) and before routing.
 *
 * Every drop carries `reason` (why, naming the key and policy) and `admit` (the exact command
 * that would let it through), so the gateway can log `${reason}; allow it with: ${admit}` and
 * nothing is ever dropped silently. `describeDecision()` builds that line.
 */
export type Decision =
  | {action: 'accept'; sessionKind: 'dm' | 'group'; addressed: boolean}
  /** Unknown DM sender with dmPolicy pairing: record a pairing request (pairing/store.ts). */
  | {action: 'pair'}
  | {action: 'drop'; reason: string; admit: string}
  /** Group message not addressed to the bot: keep it as context for the next addressed one. */
  | {action: 'history'; reason: string; admit: string}

export interface AccessState {
  /** Senders approved through pairing (pairing/store.ts ApprovedSenders). */
  isApproved(handle: string): boolean
}

/** Leaves safe words bare and single-quotes the rest, so admit commands paste into any POSIX shell. */
export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_.:+@%/=,-]+$/.test(s)) return s
  return `'${s.replace(/'/g, `'\\''`)}'`
}

export function configSetCommand(key: string, value: string): string {
  return `remoteclaw config set ${shellQuote(key)} ${shellQuote(value)}`
}

type KeyedAccount = Pick<ResolvedAccount, 'keyPrefix' | 'inheritedFrom'>

/** `<prefix>.groups["42"]`: the key syntax `config set` takes for map entries. */
export function groupKey(account: KeyedAccount, chatKey: string): string {
  return `${collectionPrefix(account, 'groups')}.groups[${JSON.stringify(chatKey)}]`
}

/** `--account <id>` for commands that take it, when the account lives under `accounts`. */
function accountFlag(account: Pick<ResolvedAccount, 'id' | 'keyPrefix'>): string {
  return account.keyPrefix.includes('.accounts.') ? ` --account ${account.id}` : ''
}

export function pairingApproveCommand(account: Pick<ResolvedAccount, 'id' | 'keyPrefix'>, codeOrHandle: string): string {
  return `remoteclaw pairing approve imessage ${shellQuote(codeOrHandle)}${accountFlag(account)}`
}

// Allowlist entries are normalised once per list (lists are replaced, never mutated, on reload).
const normalisedLists = new WeakMap<string[], {region: string; entries: string[]}>()

function normalisedEntries(list: string[], region: string): string[] {
  const hit = normalisedLists.get(list)
  if (hit && hit.region === region) return hit.entries
  const entries = list.map((e) => {
    const t = e.trim()
    if (t === '*' || /^chat_(id|guid|identifier):/i.test(t)) return t
    return normalizeHandle(t, region)
  })
  normalisedLists.set(list, {region, entries})
  return entries
}

/** Does any allowFrom/groupAllowFrom entry admit this envelope? */
export function matchesAllowList(env: Envelope, list: string[], region: string): boolean {
  for (const entry of normalisedEntries(list, region)) {
    if (entry === '*') return true
    const m = /^chat_(id|guid|identifier):(.*)$/i.exec(entry)
    if (m) {
      const kind = m[1]!.toLowerCase()
      const value = m[2]!.trim()
      if (kind === 'id' && env.chat.chatId > 0 && String(env.chat.chatId) === value) return true
      if (kind === 'guid' && value !== '' && env.chat.guid === value) return true
      if (kind === 'identifier' && value !== '' && env.chat.identifier === value) return true
      continue
    }
    if (env.sender.handle !== '' && entry === env.sender.handle) return true
  }
  return false
}

const regexCache = new Map<string, RegExp>()

/** Case-insensitive RegExp; an invalid pattern (config validation should catch it) matches literally. */
function mentionRegex(pattern: string): RegExp {
  let re = regexCache.get(pattern)
  if (!re) {
    try {
      re = new RegExp(pattern, 'i')
    } catch {
      re = new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i')
    }
    if (regexCache.size > 1000) regexCache.clear()
    regexCache.set(pattern, re)
  }
  return re
}

export function matchesMention(text: string, patterns: string[]): boolean {
  return patterns.some((p) => mentionRegex(p).test(text))
}

/** groups[id] then groups["*"]: the settings that apply to one chat. */
export function groupSettings(account: Pick<ResolvedAccount, 'groups'>, chatId: number): {own?: GroupConfig; wildcard?: GroupConfig} {
  const key = String(chatId)
  const has = (k: string) => Object.prototype.hasOwnProperty.call(account.groups, k)
  return {own: has(key) ? account.groups[key] : undefined, wildcard: has('*') ? account.groups['*'] : undefined}
}

/** Unaddressed messages kept for this group: groups[id], groups["*"], then the account's historyLimit. */
export function historyLimitFor(account: Pick<ResolvedAccount, 'groups' | 'historyLimit'>, chatId: number): number {
  const {own, wildcard} = groupSettings(account, chatId)
  return own?.historyLimit ?? wildcard?.historyLimit ?? account.historyLimit
}

function withEntry(list: string[], entry: string): string {
  return JSON.stringify([...list.filter((e) => e !== entry), entry])
}

function dmSenderLabel(env: Envelope): string {
  return env.sender.handle !== '' ? env.sender.handle : `chat ${env.chat.chatId} (no sender handle)`
}

/** The allowFrom entry that would admit this DM: the handle, else the chat. */
function dmEntry(env: Envelope): string {
  return env.sender.handle !== '' ? env.sender.handle : `chat_id:${env.chat.chatId}`
}

function decideDm(env: Envelope, account: ResolvedAccount, state: AccessState): Decision {
  const who = `DM from ${dmSenderLabel(env)}`
  const p = account.keyPrefix
  const allowFromKey = `${collectionPrefix(account, 'allowFrom')}.allowFrom`
  if (account.dmPolicy === 'disabled') {
    return {
      action: 'drop',
      reason: `${who} ignored: DMs are disabled (${p}.dmPolicy disabled)`,
      admit: configSetCommand(`${p}.dmPolicy`, 'pairing'),
    }
  }
  const listed = matchesAllowList(env, account.allowFrom, account.region)
  if (account.dmPolicy === 'open') {
    if (account.allowFrom.some((e) => e.trim() === '*')) return {action: 'accept', sessionKind: 'dm', addressed: true}
    if (listed) return {action: 'accept', sessionKind: 'dm', addressed: true}
    return {
      action: 'drop',
      reason: `${who} ignored: dmPolicy open needs "*" in ${allowFromKey}, and the sender is not listed there`,
      admit: configSetCommand(allowFromKey, withEntry(account.allowFrom, '*')),
    }
  }
  if (listed) return {action: 'accept', sessionKind: 'dm', addressed: true}
  if (account.dmPolicy === 'pairing') {
    if (state.isApproved(env.sender.handle)) return {action: 'accept', sessionKind: 'dm', addressed: true}
    if (env.sender.handle === '') {
      return {
        action: 'drop',
        reason: `${who} ignored: no sender handle to pair with (dmPolicy pairing)`,
        admit: configSetCommand(allowFromKey, withEntry(account.allowFrom, dmEntry(env))),
      }
    }
    return {action: 'pair'}
  }
  // allowlist
  return {
    action: 'drop',
    reason: `${who} ignored: not in ${allowFromKey} (dmPolicy allowlist)`,
    admit: configSetCommand(allowFromKey, withEntry(account.allowFrom, dmEntry(env))),
  }
}

function decideGroup(env: Envelope, account: ResolvedAccount, patterns: string[]): Decision {
  const chatKey = String(env.chat.chatId)
  const where = `group chat ${chatKey}`
  const p = account.keyPrefix
  const gKey = groupKey(account, chatKey)
  const {own, wildcard} = groupSettings(account, env.chat.chatId)

  if (account.groupPolicy === 'disabled') {
    const listed = own !== undefined || wildcard !== undefined
    return {
      action: 'drop',
      reason: `${where} ignored: group chats are disabled (${p}.groupPolicy disabled)`,
      admit: listed
        ? configSetCommand(`${p}.groupPolicy`, 'allowlist')
        : `${configSetCommand(`${p}.groupPolicy`, 'allowlist')} && ${configSetCommand(gKey, '{}')}`,
    }
  }
  if (account.groupPolicy === 'allowlist' && own === undefined && wildcard === undefined) {
    return {
      action: 'drop',
      reason: `${where} ignored: not in ${collectionPrefix(account, 'groups')}.groups (groupPolicy allowlist)`,
      admit: configSetCommand(gKey, '{}'),
    }
  }
  const enabled = own?.enabled ?? wildcard?.enabled ?? true
  if (!enabled) {
    const byOwn = own?.enabled === false
    return {
      action: 'drop',
      reason: byOwn ? `${where} ignored: ${gKey}.enabled is false` : `${where} ignored: ${groupKey(account, '*')}.enabled is false`,
      admit: own !== undefined ? configSetCommand(`${gKey}.enabled`, 'true') : configSetCommand(gKey, '{"enabled":true}'),
    }
  }

  const requireMention = own?.requireMention ?? wildcard?.requireMention ?? true
  const mentioned = patterns.length > 0 && matchesMention(env.text, patterns)
  const addressed = mentioned || !requireMention

  // groupAllowFrom gates who can trigger the bot; an empty list means any participant of an
  // admitted group. Unaddressed messages from other participants are still context.
  const list = account.groupAllowFrom
  const senderOk = list.length === 0 || matchesAllowList(env, list, account.region)
  if (!senderOk && addressed) {
    const listKey = account.groupAllowFromInherited
      ? `${collectionPrefix(account, 'allowFrom')}.allowFrom`
      : `${collectionPrefix(account, 'groupAllowFrom')}.groupAllowFrom`
    const because = account.groupAllowFromInherited ? ` (groupAllowFrom unset, so allowFrom applies)` : ''
    const entry = env.sender.handle !== '' ? env.sender.handle : `chat_id:${chatKey}`
    // Unset groupAllowFrom is created on the account (narrowest); a set one is extended where it lives.
    const setKey = account.groupAllowFromInherited ? `${p}.groupAllowFrom` : `${collectionPrefix(account, 'groupAllowFrom')}.groupAllowFrom`
    return {
      action: 'drop',
      reason: `${where}: message from ${env.sender.handle || '(no sender handle)'} ignored: not in ${listKey}${because}`,
      admit: configSetCommand(setKey, withEntry(list, entry)),
    }
  }

  if (!addressed) {
    const off = configSetCommand(`${gKey}${own !== undefined ? '.requireMention' : ''}`, own !== undefined ? 'false' : '{"requireMention":false}')
    if (patterns.length === 0) {
      return {
        action: 'drop',
        reason: `${where} ignored: requireMention is on but no mention patterns are configured (agents.list[].groupChat.mentionPatterns or messages.groupChat.mentionPatterns)`,
        admit: `${configSetCommand('messages.groupChat.mentionPatterns', '["@bot"]')}   (or answer every message: ${off})`,
      }
    }
    return {
      action: 'history',
      reason: `${where}: message not addressed to the bot (requireMention; no mention pattern matched), kept as context`,
      admit: `mention the bot (patterns: ${patterns.join(', ')}) or answer every message: ${off}`,
    }
  }
  return {action: 'accept', sessionKind: 'group', addressed: mentioned}
}

/**
 * Decides what happens to one inbound message.
 * `agentMentionPatterns`: the routed agent's groupChat.mentionPatterns, else
 * messages.groupChat.mentionPatterns (agents/resolve.ts ResolvedAgent.mentionPatterns).
 */
export function decideInbound(env: Envelope, account: ResolvedAccount, state: AccessState, agentMentionPatterns: string[]): Decision {
  return env.isGroup ? decideGroup(env, account, agentMentionPatterns) : decideDm(env, account, state)
}

/** The log line for a drop or a history decision. */
export function describeDecision(d: Decision): string | undefined {
  if (d.action === 'drop') return `${d.reason}; allow it with: ${d.admit}`
  if (d.action === 'history') return `${d.reason}; to have it answered: ${d.admit}`
  return undefined
}

/** Log line for a DM sender who got (or already has, or could not get) a pairing code. */
export function describePairing(
  env: Envelope,
  account: Pick<ResolvedAccount, 'id' | 'keyPrefix' | 'pairingReply'>,
  result: {status: 'created' | 'pending'; code: string} | {status: 'capped'; pending: number},
): string {
  const who = `DM from ${env.sender.handle}`
  if (result.status === 'capped') {
    return `${who} ignored: ${result.pending} pairing requests already pending for account ${account.id} (max 3; codes expire after 1 hour); allow it with: ${pairingApproveCommand(account, env.sender.handle)}`
  }
  const sent = result.status === 'pending' ? 'code already sent, not sent again' : account.pairingReply === 'silent' ? 'code not sent (pairingReply silent)' : 'code sent'
  return `${who} held for pairing (${sent}); allow it with: ${pairingApproveCommand(account, result.code)}`
}
