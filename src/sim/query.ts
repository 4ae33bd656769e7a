// Reads as imsg does them (§8.4) and the JSON encoding of chats and messages (§5): optional fields are
// left out (never null), times are UTC ISO-8601 with milliseconds and Z.
import fs from 'node:fs'
import {type DB, expandHome, isGroupId, isoFromApple} from './db.js'
import {atLeast, type Version} from './version.js'

export type Json = null | boolean | number | string | Json[] | {[k: string]: Json}
export type JsonObject = {[k: string]: Json}

export interface ChatInfo {
  id: number
  identifier: string
  guid: string
  name: string
  displayName: string | null
  service: string
  accountId: string
  accountLogin: string
  lastAddressedHandle: string
  participants: string[]
  isGroup: boolean
}

interface ChatRow {
  id: number
  guid: string | null
  chat_identifier: string | null
  display_name: string | null
  service_name: string | null
  account_id: string | null
  account_login: string | null
  last_addressed_handle: string | null
}

export interface MessageRow {
  id: number
  guid: string | null
  text: string | null
  date: number | null
  is_from_me: number
  handle_id: number | null
  service: string | null
  amg: string | null
  amt: number | null
  thread_originator_guid: string | null
  thread_originator_part: string | null
  destination_caller_id: string | null
  balloon_bundle_id: string | null
  is_read: number | null
  date_read: number | null
  sender: string | null
  chat_id: number | null
}

const MSG_COLS = `m.ROWID AS id, m.guid, m.text, m.date, m.is_from_me, m.handle_id, m.service,
  m.associated_message_guid AS amg, m.associated_message_type AS amt, m.thread_originator_guid,
  m.thread_originator_part, m.destination_caller_id, m.balloon_bundle_id, m.is_read, m.date_read,
  h.id AS sender`
const NOT_REACTION = '(m.associated_message_type IS NULL OR m.associated_message_type NOT BETWEEN 2000 AND 3006)'

const REACTIONS: Record<number, [string, string]> = {
  0: ['love', '\u2764\ufe0f'],
  1: ['like', '\ud83d\udc4d'],
  2: ['dislike', '\ud83d\udc4e'],
  3: ['laugh', '\ud83d\ude02'],
  4: ['emphasis', '\u203c\ufe0f'],
  5: ['question', '\u2753'],
  6: ['custom', ''],
}

export interface EncodeOptions {
  attachments: boolean
  reactions: boolean
  /** history: the requested chat id; otherwise from the join */
  chatId?: number
}

/** Prepared statements over one connection; chat info cached for the process lifetime as imsg ≤0.13 does. */
export class Reader {
  private readonly chatCache = new Map<number, ChatInfo>()
  private readonly st

  constructor(readonly db: DB, private readonly v: Version) {
    // Dates exceed 2^53 as integers; reading them as numbers loses only sub-microsecond precision.
    this.st = {
      chat: db.prepare(`SELECT ROWID AS id, guid, chat_identifier, display_name, service_name, account_id,
        account_login, last_addressed_handle FROM chat WHERE ROWID = ?`),
      participants: db.prepare(`SELECT DISTINCT h.id AS id FROM chat_handle_join j JOIN handle h ON h.ROWID = j.handle_id
        WHERE j.chat_id = ? AND h.id IS NOT NULL AND h.id <> '' ORDER BY h.id ASC`),
      attachments: db.prepare(`SELECT a.filename, a.transfer_name, a.uti, a.mime_type, a.total_bytes, a.is_sticker
        FROM message_attachment_join j JOIN attachment a ON a.ROWID = j.attachment_id WHERE j.message_id = ?
        ORDER BY a.ROWID ASC`),
      reactions: db.prepare(`SELECT m.ROWID AS id, m.associated_message_type AS amt, h.id AS sender, m.is_from_me,
        m.date, m.text FROM message m LEFT JOIN handle h ON h.ROWID = m.handle_id
        WHERE (m.associated_message_guid = ? OR m.associated_message_guid LIKE ?)
        AND m.associated_message_type BETWEEN 2000 AND 3006 ORDER BY m.date ASC, m.ROWID ASC`),
      byGuid: db.prepare(`SELECT m.text, h.id AS sender, m.destination_caller_id FROM message m
        LEFT JOIN handle h ON h.ROWID = m.handle_id WHERE m.guid = ? LIMIT 1`),
      maxRowid: db.prepare('SELECT COALESCE(MAX(ROWID), 0) AS n FROM message'),
      watchAll: db.prepare(`SELECT ${MSG_COLS}, j.chat_id FROM message m
        LEFT JOIN chat_message_join j ON j.message_id = m.ROWID LEFT JOIN handle h ON h.ROWID = m.handle_id
        WHERE m.ROWID > ? AND (? = 1 OR ${NOT_REACTION}) ORDER BY m.ROWID ASC LIMIT ?`),
      watchChat: db.prepare(`SELECT ${MSG_COLS}, j.chat_id FROM message m
        JOIN chat_message_join j ON j.message_id = m.ROWID LEFT JOIN handle h ON h.ROWID = m.handle_id
        WHERE m.ROWID > ? AND (? = 1 OR ${NOT_REACTION}) AND j.chat_id = ? ORDER BY m.ROWID ASC LIMIT ?`),
      countAfter: db.prepare(`SELECT COUNT(*) AS n FROM message m WHERE m.ROWID > ?`),
    }
  }

  maxRowid(): number {
    return (this.st.maxRowid.get() as {n: number}).n
  }

  countAfter(rowid: number): number {
    return (this.st.countAfter.get(rowid) as {n: number}).n
  }

  chat(id: number): ChatInfo | undefined {
    // ≤0.13 caches chat info for the process lifetime (renames/new participants show after a restart); 0.14 refreshes
    const cached = atLeast(this.v, '0.14.0') ? undefined : this.chatCache.get(id)
    if (cached) return cached
    const r = this.st.chat.get(id) as ChatRow | undefined
    if (!r) return undefined
    const info = chatInfo(r, (this.st.participants.all(id) as Array<{id: string}>).map((p) => p.id))
    this.chatCache.set(id, info)
    return info
  }

  /** chats.list: chats with messages only, newest activity first (ROWID desc tie-break). */
  listChats(limit: number, unreadOnly: boolean): Array<ChatInfo & {lastDate: number | null; unread: number}> {
    const rows = this.db.prepare(`SELECT c.ROWID AS id, c.guid, c.chat_identifier, c.display_name, c.service_name,
        c.account_id, c.account_login, c.last_addressed_handle, MAX(j.message_date) AS last_date,
        SUM(CASE WHEN m.is_from_me = 0 AND m.is_read = 0 THEN 1 ELSE 0 END) AS unread
      FROM chat c JOIN chat_message_join j ON j.chat_id = c.ROWID JOIN message m ON m.ROWID = j.message_id
      GROUP BY c.ROWID ${unreadOnly ? 'HAVING unread > 0' : ''}
      ORDER BY last_date DESC, c.ROWID DESC LIMIT ?`).all(limit) as Array<ChatRow & {last_date: number | null; unread: number}>
    return rows.map((r) => ({
      ...chatInfo(r, (this.st.participants.all(r.id) as Array<{id: string}>).map((p) => p.id)),
      lastDate: r.last_date,
      unread: r.unread,
    }))
  }

  history(p: {chatId: number; limit: number; participants?: string[]; startNs?: bigint; endNs?: bigint}): MessageRow[] {
    const where = ['j.chat_id = @chat', NOT_REACTION]
    const args: Record<string, unknown> = {chat: p.chatId, limit: p.limit}
    if (p.startNs !== undefined) {
      where.push('m.date >= @start')
      args.start = p.startNs
    }
    if (p.endNs !== undefined) {
      where.push('m.date < @end')
      args.end = p.endNs
    }
    if (p.participants && p.participants.length > 0) {
      const names = p.participants.map((_, i) => `@p${i}`)
      p.participants.forEach((x, i) => (args[`p${i}`] = x.toLowerCase()))
      where.push(`LOWER(CASE WHEN COALESCE(h.id, '') = '' THEN COALESCE(m.destination_caller_id, '') ELSE h.id END) IN (${names.join(',')})`)
    }
    return this.db.prepare(`SELECT ${MSG_COLS}, j.chat_id FROM message m
      JOIN chat_message_join j ON j.message_id = m.ROWID LEFT JOIN handle h ON h.ROWID = m.handle_id
      WHERE ${where.join(' AND ')} ORDER BY m.date DESC, m.ROWID DESC LIMIT @limit`).all(args) as MessageRow[]
  }

  /** Watch batch: ROWID > cursor ascending (§6.5). */
  watchBatch(cursor: number, chatId: number | undefined, includeReactions: boolean, limit: number): MessageRow[] {
    const r = includeReactions ? 1 : 0
    return (chatId === undefined
      ? this.st.watchAll.all(cursor, r, limit)
      : this.st.watchChat.all(cursor, r, chatId, limit)) as MessageRow[]
  }

  encodeMessage(row: MessageRow, o: EncodeOptions): JsonObject {
    const v = this.v
    const chatId = o.chatId ?? row.chat_id ?? 0
    const chat = chatId ? this.chat(chatId) : undefined
    const out: JsonObject = {id: row.id, chat_id: chatId, guid: row.guid ?? ''}
    const amt = row.amt ?? 0
    const isReaction = amt >= 2000 && amt <= 3006
    if (row.amg && !isReaction && row.amt !== null) out.reply_to_guid = afterSlash(row.amg)
    if (row.thread_originator_guid && atLeast(v, '0.5.0')) out.thread_originator_guid = row.thread_originator_guid
    if (row.thread_originator_part && atLeast(v, '0.13.0')) out.thread_originator_part = row.thread_originator_part
    if (atLeast(v, '0.9.0')) {
      const parentGuid = row.thread_originator_guid || (out.reply_to_guid as string | undefined)
      if (parentGuid) {
        const parent = this.st.byGuid.get(parentGuid) as {text: string | null; sender: string | null; destination_caller_id: string | null} | undefined
        if (parent) {
          out.reply_to_text = parent.text ?? ''
          out.reply_to_sender = parent.sender || parent.destination_caller_id || ''
        }
      }
    }
    if (row.destination_caller_id && atLeast(v, '0.5.0')) out.destination_caller_id = row.destination_caller_id
    out.sender = row.sender || row.destination_caller_id || ''
    out.is_from_me = row.is_from_me === 1
    out.text = row.text ?? ''
    out.created_at = isoFromApple(row.date)
    out.attachments = o.attachments ? this.attachments(row.id) : []
    out.reactions = o.reactions && row.guid ? this.reactions(row.guid) : []
    if (isReaction) {
      const add = amt < 3000
      const [type, emoji] = REACTIONS[amt % 1000] ?? ['custom', '']
      out.is_reaction = true
      out.reaction_type = type
      out.reaction_emoji = type === 'custom' ? customEmoji(row.text) : emoji
      out.is_reaction_add = add
      if (row.amg) out.reacted_to_guid = afterSlash(row.amg)
    }
    out.chat_identifier = chat?.identifier ?? ''
    out.chat_guid = chat?.guid ?? ''
    out.chat_name = chat?.name ?? ''
    out.participants = chat?.participants ?? []
    out.is_group = chat?.isGroup ?? false
    if (row.balloon_bundle_id && atLeast(v, '0.11.1')) out.balloon_bundle_id = row.balloon_bundle_id
    if (atLeast(v, '0.13.0') && row.is_from_me !== 1) {
      out.is_read = row.is_read === 1
      if (row.is_read === 1 && row.date_read) out.date_read = isoFromApple(row.date_read)
    }
    return out
  }

  attachments(messageId: number): JsonObject[] {
    const rows = this.st.attachments.all(messageId) as Array<{filename: string | null; transfer_name: string | null;
      uti: string | null; mime_type: string | null; total_bytes: number | null; is_sticker: number | null}>
    return rows.map((a) => {
      const filename = a.filename ?? ''
      const original = filename === '' ? '' : expandHome(filename)
      let missing = true
      if (original !== '') {
        try {
          missing = fs.statSync(original).isDirectory()
        } catch {
          missing = true
        }
      }
      return {
        filename,
        transfer_name: a.transfer_name ?? '',
        uti: a.uti ?? '',
        mime_type: a.mime_type ?? '',
        total_bytes: a.total_bytes ?? 0,
        is_sticker: a.is_sticker === 1,
        original_path: original,
        missing,
      }
    })
  }

  /** Net current tapbacks folded in date order (§5.2). */
  reactions(guid: string): JsonObject[] {
    const rows = this.st.reactions.all(guid, `%/${guid}`) as Array<{id: number; amt: number; sender: string | null;
      is_from_me: number; date: number | null; text: string | null}>
    const folded: JsonObject[] = []
    for (const r of rows) {
      const [type, emoji] = REACTIONS[r.amt % 1000] ?? ['custom', '']
      const sender = r.sender ?? ''
      const fromMe = r.is_from_me === 1
      const idx = folded.findIndex((f) => f.sender === sender && f.is_from_me === fromMe && f.type === type)
      if (idx >= 0) folded.splice(idx, 1)
      if (r.amt < 3000) {
        folded.push({id: r.id, type, emoji: type === 'custom' ? customEmoji(r.text) : emoji, sender, is_from_me: fromMe,
          created_at: isoFromApple(r.date)})
      }
    }
    return folded
  }
}

function chatInfo(r: ChatRow, participants: string[]): ChatInfo {
  const identifier = r.chat_identifier ?? ''
  return {
    id: r.id,
    identifier,
    guid: r.guid ?? '',
    name: r.display_name ?? identifier,
    displayName: r.display_name,
    service: r.service_name ?? '',
    accountId: r.account_id ?? '',
    accountLogin: r.account_login ?? '',
    lastAddressedHandle: r.last_addressed_handle ?? '',
    participants,
    isGroup: isGroupId(r.guid, r.chat_identifier),
  }
}

function afterSlash(s: string): string {
  const i = s.lastIndexOf('/')
  return i >= 0 ? s.slice(i + 1) : s
}

function customEmoji(text: string | null): string {
  const m = /^(?:Reacted (.+?) to |Removed (.+?) from )/u.exec(text ?? '')
  return m?.[1] ?? m?.[2] ?? ''
}

/** RPC chats.list object of the emulated version (§4.1). */
export function encodeChatRpc(c: ChatInfo & {lastDate: number | null; unread: number}, v: Version): JsonObject {
  const out: JsonObject = {
    id: c.id, identifier: c.identifier, guid: c.guid, name: c.name, service: c.service,
    last_message_at: isoFromApple(c.lastDate), participants: c.participants, is_group: c.isGroup,
  }
  if (atLeast(v, '0.13.0')) out.unread_count = c.unread
  if (atLeast(v, '0.14.0')) {
    out.display_name = c.displayName ?? c.identifier
    if (c.accountId) out.account_id = c.accountId
    if (c.accountLogin) out.account_login = c.accountLogin
    if (c.lastAddressedHandle) out.last_addressed_handle = c.lastAddressedHandle
  }
  return out
}

/** CLI `imsg chats --json` object (§5.4). */
export function encodeChatCli(c: ChatInfo & {lastDate: number | null; unread: number}, v: Version): JsonObject {
  const out: JsonObject = {
    id: c.id, name: c.name, identifier: c.identifier, service: c.service, last_message_at: isoFromApple(c.lastDate),
    is_group: c.isGroup, participants: c.participants,
  }
  if (c.guid) out.guid = c.guid
  out.display_name = c.displayName ?? c.identifier
  if (c.accountId) out.account_id = c.accountId
  if (c.accountLogin) out.account_login = c.accountLogin
  if (c.lastAddressedHandle) out.last_addressed_handle = c.lastAddressedHandle
  if (atLeast(v, '0.13.0')) out.unread_count = c.unread
  return out
}
