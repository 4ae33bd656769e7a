import {decideInbound, pairingApproveCommand} from '../access/decide.js'
import {resolveAgents} from '../agents/resolve.js'
import type {ResolvedAccount} from '../config/accounts.js'
import type {RemoteclawConfig} from '../config/schema.js'
import type {Context} from '../context.js'
import type {Envelope} from '../core/envelope.js'
import {ImsgClient} from '../imsg/client.js'
import {normalizeHandle} from '../imsg/handles.js'
import type {ImsgChat} from '../imsg/types.js'
import {ApprovedSenders} from '../pairing/store.js'
import {routeAgent} from '../sessions/routing.js'

/** One chat as `remoteclaw chats list` shows it (schema of --json: {schemaVersion, accountId, chats: ChatRow[]}). */
export interface ChatRow {
  chatId: number
  name: string
  identifier: string
  guid: string
  participants: string[]
  isGroup: boolean
  lastActivity?: string
  service: string
  /** Does the bot answer here now (for a DM: this sender; for a group: an addressed message). */
  answers: 'yes' | 'when-mentioned' | 'after-pairing' | 'no'
  /** Why, in the words the gateway logs. */
  why: string
  /** The command that would admit it, when it is not answered now. */
  admit?: string
  agentId: string
}

export interface ChatListResult {
  schemaVersion: 1
  accountId: string
  chats: ChatRow[]
}

/**
 * The gateway's own access decision for a message in this chat: a DM from its participant, or a
 * group message from a participant (addressed, then unaddressed), so the verdict and the admit
 * command are exactly what the gateway would log.
 */
export function chatVerdict(
  chat: ImsgChat,
  account: ResolvedAccount,
  config: RemoteclawConfig,
  approved: {isApproved(handle: string): boolean},
): Pick<ChatRow, 'answers' | 'why' | 'admit' | 'agentId' | 'isGroup'> {
  const isGroup = chat.is_group === true || Object.prototype.hasOwnProperty.call(account.groups, String(chat.id))
  const participants = (chat.participants ?? []).map((h) => normalizeHandle(h, account.region))
  const senders = isGroup ? participants : participants.slice(0, 1)
  const env = (sender: string, text: string): Envelope => ({
    accountId: account.id,
    chat: {chatId: chat.id, guid: chat.guid ?? '', identifier: chat.identifier ?? '', name: chat.name ?? '', participants},
    isGroup,
    sender: {handle: sender, raw: sender},
    text,
    attachments: [],
    createdAt: 0,
    messageId: 0,
    guid: '',
    isFromMe: false,
    cursor: 0,
  })
  const agents = resolveAgents(config)
  const agent = routeAgent(agents, account, env(senders[0] ?? '', '')).agent
  if (!isGroup) {
    const d = decideInbound(env(senders[0] ?? '', 'hi'), account, approved, agent.mentionPatterns)
    if (d.action === 'accept') return {isGroup, answers: 'yes', why: 'DMs from this sender are answered', agentId: agent.id}
    if (d.action === 'pair') {
      return {
        isGroup,
        answers: 'after-pairing',
        why: `an unknown sender under dmPolicy pairing gets a pairing code first (${account.keyPrefix}.pairingReply ${account.pairingReply})`,
        admit: pairingApproveCommand(account, senders[0]!),
        agentId: agent.id,
      }
    }
    return {isGroup, answers: 'no', why: d.action === 'drop' ? d.reason : 'not answered', admit: d.action === 'drop' ? d.admit : undefined, agentId: agent.id}
  }
  // A group: the most permissive participant decides whether anyone can reach the bot here.
  const mention = agent.mentionPatterns.length > 0 ? mentionSample(agent.mentionPatterns) : ''
  let firstDrop: {reason: string; admit: string} | undefined
  for (const s of senders.length > 0 ? senders : ['']) {
    const plain = decideInbound(env(s, 'hello'), account, approved, agent.mentionPatterns)
    if (plain.action === 'accept') return {isGroup, answers: 'yes', why: 'every message in this group is answered', agentId: agent.id}
    if (plain.action === 'history') {
      const addressed = mention !== '' ? decideInbound(env(s, mention), account, approved, agent.mentionPatterns) : undefined
      if (addressed?.action === 'accept') {
        return {isGroup, answers: 'when-mentioned', why: `answered when a message matches ${agent.mentionPatterns.join(', ')}`, admit: plain.admit, agentId: agent.id}
      }
      if (addressed?.action === 'drop') firstDrop ??= addressed
      continue
    }
    if (plain.action === 'drop') firstDrop ??= plain
  }
  return {isGroup, answers: 'no', why: firstDrop?.reason ?? 'not answered', admit: firstDrop?.admit, agentId: agent.id}
}

/** A text that a mention pattern matches, when one is easy to make (a literal pattern). */
function mentionSample(patterns: string[]): string {
  for (const p of patterns) {
    const literal = p.replace(/\\b/g, '').replace(/\\(.)/g, '$1')
    if (!/[.*+?^${}()|[\]]/.test(literal) && literal !== '') return literal
  }
  return ''
}

/** Lists the account's chats through its imsg (the same cliPath the gateway uses, SSH wrappers included). */
export async function listChats(
  ctx: Pick<Context, 'log' | 'stateDir'>,
  account: ResolvedAccount,
  config: RemoteclawConfig,
  opts: {limit: number},
): Promise<ChatListResult> {
  const approved = new ApprovedSenders(ctx, account.id)
  await approved.refresh()
  const client = ImsgClient.spawn({cliPath: account.cliPath, dbPath: account.dbPath, requestTimeoutMs: account.rpcTimeoutMs, log: ctx.log, remoteHost: account.remoteHost})
  let chats: ImsgChat[]
  try {
    chats = (await client.chatsList({limit: opts.limit})).chats
  } finally {
    await client.close({graceMs: 500}).catch(() => {})
  }
  return {
    schemaVersion: 1,
    accountId: account.id,
    chats: chats.map((c) => ({
      chatId: c.id,
      name: c.display_name || c.name || c.contact_name || '',
      identifier: c.identifier ?? '',
      guid: c.guid ?? '',
      participants: c.participants ?? [],
      lastActivity: c.last_message_at,
      service: c.service ?? '',
      ...chatVerdict(c, account, config, approved),
    })),
  }
}
