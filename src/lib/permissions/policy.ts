import {dmOpenWarning, groupsAllowlistEmptyWarning, warningLine} from '../config/warnings.js'
import type {ResolvedAccount} from '../config/accounts.js'

/** Who can reach the bot by DM right now, in one sentence. */
export function dmPolicySentence(a: ResolvedAccount): string {
  const key = `${a.keyPrefix}.dmPolicy`
  const allow = a.allowFrom.filter((h) => h !== '*')
  const listed = allow.length === 0 ? 'nobody yet' : `${allow.length} allowlisted sender${allow.length === 1 ? '' : 's'} (${preview(allow)})`
  // "*" in allowFrom admits every sender under allowlist and pairing too (the gateway's decideDm)
  if ((a.dmPolicy === 'allowlist' || a.dmPolicy === 'pairing') && a.allowFrom.some((h) => h.trim() === '*')) {
    return `DMs: anyone who texts this account gets an answer (${key} is "${a.dmPolicy}" but ${a.keyPrefix}.allowFrom contains "*", which admits everyone).`
  }
  switch (a.dmPolicy) {
    case 'disabled':
      return `DMs: nobody can reach the bot by direct message (${key} is "disabled").`
    case 'open':
      return a.allowFrom.includes('*')
        ? `DMs: anyone who texts this account gets an answer (${key} is "open" with "*" in allowFrom).`
        : `DMs: ${key} is "open" but allowFrom lacks "*", so only ${listed} can reach the bot.`
    case 'allowlist':
      return `DMs: only ${listed} can reach the bot; everyone else is ignored (${key} is "allowlist").`
    case 'pairing':
    default:
    {
      // "nobody yet and approved pairings" reads badly: name the allowlist only when it has entries.
      const who = allow.length === 0 ? 'senders you approved with a pairing code' : `${listed} and senders you approved with a pairing code`
      return a.pairingReply === 'code'
        ? `DMs: ${who} can reach the bot; any other sender is sent a pairing code (${key} is "pairing", pairingReply "code").`
        : `DMs: ${who} can reach the bot; other senders are recorded silently for \`remoteclaw pairing list imessage\` (pairingReply "silent").`
    }
  }
}

/** Who can reach the bot in group chats right now, in one sentence. */
export function groupPolicySentence(a: ResolvedAccount): string {
  const key = `${a.keyPrefix}.groupPolicy`
  const wildcard = a.groups['*']
  // as the gateway decides: a chat's own enabled, else "*"'s, else on
  const groupIds = Object.keys(a.groups).filter((g) => g !== '*' && (a.groups[g]?.enabled ?? wildcard?.enabled ?? true))
  const senders =
    a.groupAllowFrom.length === 0 || a.groupAllowFrom.includes('*')
      ? 'any participant'
      : `only ${a.groupAllowFrom.length} allowlisted sender${a.groupAllowFrom.length === 1 ? '' : 's'}${a.groupAllowFromInherited ? ' (from allowFrom)' : ''}`
  const mention = (a.groups['*']?.requireMention ?? true) ? ', when a mention pattern matches' : ''
  switch (a.groupPolicy) {
    case 'disabled':
      return `Groups: the bot ignores every group chat (${key} is "disabled").`
    case 'open':
      return `Groups: ${senders} in any group chat can trigger the bot${mention} (${key} is "open").`
    case 'allowlist':
    default:
      // "*" in groups admits every chat under allowlist (the gateway's decideGroup)
      if (wildcard !== undefined && wildcard.enabled !== false) {
        return `Groups: ${senders} in any group chat can trigger the bot${mention} (${key} is "allowlist" and ${a.keyPrefix}.groups has "*", which admits every chat).`
      }
      return groupIds.length === 0
        ? `Groups: no group chat can reach the bot: ${key} is "allowlist" and ${a.keyPrefix}.groups lists no chat.`
        : `Groups: ${senders} in ${groupIds.length} listed chat${groupIds.length === 1 ? '' : 's'} (chat_id ${preview(groupIds)}) can trigger the bot${mention}.`
  }
}

export interface Footgun {
  id: 'groups_allowlist_empty' | 'dm_open' | 'pairing_reply_personal_number' | 'open_without_star'
  message: string
  fix: string
}

/**
 * Config that does something the operator rarely means. `deployment` is "local" when imsg
 * runs as the user at this Mac: then the account is likely the operator's personal number.
 */
export function findFootguns(a: ResolvedAccount, deployment: 'local' | 'wrapper'): Footgun[] {
  const out: Footgun[] = []
  const p = a.keyPrefix
  if (a.groupPolicy === 'allowlist' && Object.keys(a.groups).length === 0) {
    const w = groupsAllowlistEmptyWarning(`${p}.groups`, `${p}.groupPolicy`)
    out.push({id: 'groups_allowlist_empty', message: warningLine(w), fix: w.fix})
  }
  if (a.dmPolicy === 'open' && a.allowFrom.includes('*')) {
    const w = dmOpenWarning(`${p}.dmPolicy`)
    out.push({id: 'dm_open', message: warningLine(w), fix: w.fix})
  }
  if ((a.dmPolicy === 'allowlist' || a.dmPolicy === 'pairing') && a.allowFrom.some((h) => h.trim() === '*')) {
    out.push({
      id: 'dm_open',
      message: `${p}.dmPolicy is "${a.dmPolicy}" but ${p}.allowFrom contains "*": anyone who knows this number or Apple ID can talk to your agent.`,
      fix: `Remove "*" from ${p}.allowFrom and list the senders (or use pairing), or set ${p}.dmPolicy open to say what it does.`,
    })
  }
  if (a.dmPolicy === 'open' && !a.allowFrom.includes('*')) {
    out.push({
      id: 'open_without_star',
      message: `${p}.dmPolicy is "open" but ${p}.allowFrom does not contain "*", so it behaves like "allowlist".`,
      fix: `Set ${p}.dmPolicy "allowlist" to say what it does, or add "*" to ${p}.allowFrom.`,
    })
  }
  if (deployment === 'local' && a.dmPolicy === 'pairing' && a.pairingReply === 'code' && !a.allowFrom.some((h) => h.trim() === '*')) {
    out.push({
      id: 'pairing_reply_personal_number',
      message: `this account runs as your own macOS user, which looks like a personal number: in pairing mode every unknown sender (friends, family, 2FA services) gets a pairing code reply.`,
      fix: `remoteclaw config set ${p}.pairingReply silent   (requests still show in \`remoteclaw pairing list imessage\`), or use a dedicated bot user (remoteclaw setup imessage --deployment bot-user).`,
    })
  }
  return out
}

function preview(items: string[]): string {
  return items.length <= 3 ? items.join(', ') : `${items.slice(0, 3).join(', ')}, +${items.length - 3} more`
}
