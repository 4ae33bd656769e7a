// The IMCore bridge (`imsg launch`, SIP disabled) and what imsg answers without it: `typing`, `read`,
// `tapback` (classic and emoji), threaded `send`/`send.rich` with `reply_to` (addendum §1–§4, §6, §8.1).
// Bridge mode (IMSG_SIM_BRIDGE=1) leaves the traces Messages would in chat.db (tapback rows with
// associated_message_type, replies with thread_originator_guid, read state) and logs every bridge call
// in the sim-only table sim_bridge_event (`imsg-sim events`), since typing leaves no row.
import {appleNs, type DB, type Writer} from './db.js'
import {lBool, lInt, lStr, pick} from './params.js'
import type {JsonObject} from './query.js'
import {internalError, invalidParams, normalizeHandle, RpcError} from './send.js'
import {BRIDGE_NOT_STARTED} from './texts.js'
import {truthy} from './version.js'

export const READY_LOCK_ABSENT = 'The bridge ready lock is absent. Run imsg launch explicitly before retrying.'
export const TYPING_DIRECT_FAILED =
  'Typing indicator failed: Failed to connect to imagent (Messages daemon) for IMCore typing indicators. Make sure Messages.app is running and System Integrity Protection allows IMCore access.'
export const REPLY_NEEDS_BRIDGE = 'reply_to requires bridge transport; AppleScript fallback cannot send threaded replies'
export const EMOJI_UNSUPPORTED = 'Emoji tapbacks unsupported on this macOS version'

/** Outbound kinds as imsg names them (note: inbound rows say `emphasis`). */
const KINDS = ['love', 'like', 'dislike', 'laugh', 'emphasize', 'question'] as const
const KIND_ALIASES: Record<string, (typeof KINDS)[number]> = {
  love: 'love', heart: 'love', '❤️': 'love', '❤': 'love',
  like: 'like', thumbsup: 'like', 'thumbs-up': 'like', '+1': 'like', '👍': 'like',
  dislike: 'dislike', thumbsdown: 'dislike', 'thumbs-down': 'dislike', '-1': 'dislike', '👎': 'dislike',
  laugh: 'laugh', haha: 'laugh', lol: 'laugh', '😂': 'laugh', '🤣': 'laugh',
  emphasize: 'emphasize', emphasis: 'emphasize', '!!': 'emphasize', '‼️': 'emphasize',
  question: 'question', '?': 'question', '❓': 'question',
}
const VERBS = ['Loved', 'Liked', 'Disliked', 'Laughed at', 'Emphasized', 'Questioned']

export interface BridgeConfig {
  ready: boolean
  /** The helper's emojiTapbackSend selector (capabilities.features["tapback.emoji"] = 2). */
  emoji: boolean
  /** A typing call that never settles: held in the mutation lane this long, then -32001 still_in_flight. */
  typingStuckMs?: number
}

export function bridgeConfig(env: NodeJS.ProcessEnv): BridgeConfig {
  const ready = truthy(env.IMSG_SIM_BRIDGE)
  const stuck = truthy(env.IMSG_SIM_TYPING_STUCK)
  const ms = Number.parseInt(env.IMSG_SIM_TYPING_STUCK_MS ?? '', 10)
  return {
    ready,
    emoji: ready && !truthy(env.IMSG_SIM_BRIDGE_NO_EMOJI),
    typingStuckMs: ready && stuck ? (Number.isFinite(ms) && ms >= 0 ? ms : 12_000) : undefined,
  }
}

/** `status.bridge` (addendum §6). */
export function bridgeStatus(c: BridgeConfig): JsonObject {
  if (!c.ready) return {ready: false, error: BRIDGE_NOT_STARTED}
  return {
    ready: true, bridge_version: 2, v2_ready: true, registry_available: true,
    selectors: {typing: true, read: true, sendReaction: true, emojiTapbackSend: c.emoji, sendMessage: true,
      sendAttachment: false, clientMessageGuidReservation: true},
  }
}

/** Methods listed as usable in `status.methods` beyond the database reads (addendum §6). */
export function bridgeMethods(c: BridgeConfig, platformMac = true): string[] {
  // typing and read are always listed on macOS, bridge or not: their presence proves nothing
  const m = platformMac ? ['typing', 'read'] : []
  if (c.ready) m.push('tapback', 'send.rich')
  return m
}

/** -32603 `Delivery failed before dispatch`, retry-safe (addendum §8.1). */
export function notStarted(operation: string, detail = READY_LOCK_ABSENT): RpcError {
  return new RpcError(-32603, 'Delivery failed before dispatch', {retry_safe: true, disposition: 'not_started',
    transport: 'bridge_v2', operation, detail})
}

/** -32001: most helper errors on mutations come back as may_have_completed (addendum §5 gotcha). */
export function helperError(operation: string, detail: string, disposition = 'may_have_completed'): RpcError {
  return new RpcError(-32001, 'Delivery outcome unknown', {retry_safe: false, disposition, transport: 'bridge_v2',
    operation, detail})
}

interface ChatRow {
  id: number
  guid: string
  service_name: string | null
}

interface Deps {
  strict: boolean
  db?: DB
  writer?: Writer
  region: string
}

/**
 * The bridge-backed methods. Param validation comes first (-32602), then the bridge check, as imsg
 * validates before publishing a bridge request.
 */
export class Bridge {
  constructor(readonly config: BridgeConfig, private readonly d: Deps) {}

  private str(p: Record<string, unknown>, ...keys: string[]): string | undefined {
    const v = pick(p, ...keys)
    return this.d.strict ? (v as string | undefined) : lStr(v)
  }

  /** Exactly one of to | chat_id | chat_identifier | chat_guid (to only where allowed). */
  private target(p: Record<string, unknown>, allowTo: boolean): {to?: string; chatId?: number; ident?: string; guid?: string} {
    const to = allowTo ? this.str(p, 'to') : undefined
    const chatId = this.d.strict ? (p.chat_id as number | undefined) : lInt(p.chat_id)
    const ident = this.str(p, 'chat_identifier')
    const guid = this.str(p, 'chat_guid')
    const chats = [chatId !== undefined && chatId !== 0, (ident ?? '') !== '', (guid ?? '') !== ''].filter(Boolean).length
    if (this.d.strict) {
      if (chatId !== undefined && chatId < 1) throw invalidParams('chat_id must be a positive integer')
      if (to !== undefined && to.trim() === '') throw invalidParams('to must be a non-empty string')
      if (to !== undefined && chats > 0) throw invalidParams('use to or exactly one chat selector; not both')
      if (chats > 1) throw invalidParams('use exactly one of chat_id, chat_identifier, chat_guid')
    }
    if (chats === 0 && (to ?? '') === '') {
      throw invalidParams(allowTo ? 'to or chat_guid, chat_identifier, or chat_id is required' : 'chat_guid, chat_identifier, or chat_id is required')
    }
    return {to: chats > 0 ? undefined : to, chatId: chatId || undefined, ident: ident || undefined, guid: guid || undefined}
  }

  /** The chat the helper would act on, or undefined ("Chat not found" in the helper). */
  private resolveChat(t: ReturnType<Bridge['target']>, service = 'imessage'): {row?: ChatRow; guid: string} {
    const db = this.d.db
    const get = (sql: string, v: unknown) => db?.prepare(sql).get(v) as ChatRow | undefined
    const cols = 'SELECT ROWID AS id, guid, service_name FROM chat WHERE'
    if (t.chatId !== undefined) {
      const row = get(`${cols} ROWID = ?`, t.chatId)
      if (!row) throw invalidParams(`unknown chat_id ${t.chatId}`)
      return {row, guid: row.guid}
    }
    if (t.guid !== undefined) {
      const swapped = t.guid.replace(/^any;([+-]);/, (_m, s: string) => `any;${s === '+' ? '-' : '+'};`)
      const row = get(`${cols} guid = ?`, t.guid) ?? get(`${cols} guid = ?`, swapped)
      return {row, guid: t.guid}
    }
    if (t.ident !== undefined) {
      const row = get(`${cols} chat_identifier = ? ORDER BY ROWID DESC LIMIT 1`, t.ident)
      return {row, guid: row?.guid ?? `iMessage;-;${t.ident}`}
    }
    const handle = normalizeHandle(t.to!, this.d.region)
    for (const g of [`iMessage;-;${handle}`, `any;-;${handle}`, `SMS;-;${handle}`]) {
      const row = get(`${cols} guid = ?`, g)
      if (row) return {row, guid: g}
    }
    return {guid: `${service.toLowerCase() === 'sms' ? 'SMS' : 'iMessage'};-;${handle}`}
  }

  private maxRowid(): number {
    try {
      return (this.d.db?.prepare('SELECT COALESCE(MAX(ROWID), 0) AS m FROM message').get() as {m: number} | undefined)?.m ?? 0
    } catch {
      return 0
    }
  }

  /** last_message_rowid: the newest message row when the call arrived (orders calls against sends). */
  private event(method: string, chatGuid: string, detail: Record<string, unknown>, max: number): void {
    const db = this.d.db
    if (!db) return
    try {
      db.prepare('INSERT INTO sim_bridge_event (date, method, chat_guid, detail, last_message_rowid) VALUES (?, ?, ?, ?, ?)')
        .run(Date.now(), method, chatGuid, JSON.stringify(detail), max)
    } catch {
      // the event log is a test aid; a locked DB must not change the answer
    }
  }

  /** Records the call, then rethrows any error after logging its outcome. */
  private logged<T>(method: string, chatGuid: string, detail: Record<string, unknown>, fn: () => T): T {
    const max = this.maxRowid()
    try {
      const r = fn()
      this.event(method, chatGuid, {...detail, outcome: 'ok'}, max)
      return r
    } catch (e) {
      const code = e instanceof RpcError ? e.code : -32603
      const disposition = e instanceof RpcError && e.data && typeof e.data === 'object'
        ? (e.data as {disposition?: string}).disposition : undefined
      this.event(method, chatGuid, {...detail, outcome: 'error', code, ...(disposition ? {disposition} : {})}, max)
      throw e
    }
  }

  typing(p: Record<string, unknown>): JsonObject {
    const t = this.target(p, true)
    const on = this.d.strict ? (p.typing as boolean | undefined) ?? true : lBool(p.typing) ?? true
    const service = this.str(p, 'service') ?? 'imessage'
    const chat = this.resolveChat(t, service)
    return this.logged('typing', chat.guid, {typing: on}, () => {
      // without the helper imsg falls back to direct IMCore, which imagent refuses (addendum §1)
      if (!this.config.ready) throw internalError(TYPING_DIRECT_FAILED)
      if (!chat.row) throw helperError('typing', `Chat not found: ${chat.guid}`)
      return {ok: true}
    })
  }

  /** The stuck-typing knob: the call that holds the lane, then -32001 still_in_flight. */
  stuckTypingError(): RpcError {
    return helperError('typing', 'The bridge did not answer typing within 12 s; it may still complete. Restart the RPC child before sending another mutation.', 'still_in_flight')
  }

  read(p: Record<string, unknown>): JsonObject {
    const t = this.target(p, true)
    const chat = this.resolveChat(t)
    return this.logged('read', chat.guid, {}, () => {
      if (!this.config.ready) {
        if (!this.d.strict) throw internalError(BRIDGE_NOT_STARTED)
        throw notStarted('read', 'The bridge request could not be published: System Integrity Protection (SIP) is enabled. Refusing to inject into Messages.app; run imsg launch with SIP disabled.')
      }
      if (!chat.row) throw helperError('read', `Chat not found: ${chat.guid}`)
      // -[IMChat markAllMessagesAsRead]: the whole chat, not one message
      this.d.db!.prepare(`UPDATE message SET is_read = 1, date_read = ? WHERE is_from_me = 0 AND is_read = 0
        AND ROWID IN (SELECT message_id FROM chat_message_join WHERE chat_id = ?)`).run(appleNs(Date.now()), chat.row.id)
      return {ok: true}
    })
  }

  tapback(p: Record<string, unknown>): JsonObject {
    const t = this.target(p, false)
    const rawTarget = this.str(p, 'message_id', 'messageId', 'message_guid', 'messageGuid', 'message')
    if ((rawTarget ?? '') === '') throw invalidParams('message_id or message_guid is required')
    const reactionRaw = this.str(p, 'reaction', 'kind')
    const emoji = this.str(p, 'emoji')
    if ((reactionRaw ?? '') === '' && (emoji ?? '') === '') throw invalidParams('reaction, kind, or emoji is required')
    let remove = (this.d.strict ? (p.remove as boolean | undefined) : lBool(p.remove)) ?? false
    let kind: (typeof KINDS)[number] | undefined
    if ((reactionRaw ?? '') !== '') {
      let r = reactionRaw!.trim()
      if (r.toLowerCase().startsWith('remove-')) {
        remove = true
        r = r.slice(7)
      }
      kind = KIND_ALIASES[r.toLowerCase()] ?? KIND_ALIASES[r]
      if (!kind) throw invalidParams(`unsupported tapback reaction ${reactionRaw}; use love, like, dislike, laugh, emphasize, or question`)
    }
    const m = /^p:(\d+)\/(.+)$/.exec(rawTarget!)
    const partIndex = m ? Number(m[1]) : (this.d.strict ? (pick(p, 'part_index', 'partIndex') as number | undefined) : lInt(pick(p, 'part_index', 'partIndex'))) ?? 0
    const guid = m ? m[2]! : rawTarget!
    const chat = this.resolveChat(t)
    return this.logged('tapback', chat.guid, {message: guid, ...(kind ? {reaction: kind} : {emoji}), remove}, () => {
      if (!this.config.ready) {
        if (!this.d.strict) throw internalError(BRIDGE_NOT_STARTED)
        throw notStarted('tapback')
      }
      if (!chat.row) throw helperError('tapback', `Chat not found: ${chat.guid}`)
      // the server forwards emoji without checking; an old helper refuses, which arrives as -32001
      if (kind === undefined && !this.config.emoji) throw helperError('tapback', EMOJI_UNSUPPORTED)
      const db = this.d.db!
      const parent = db.prepare(`SELECT m.ROWID AS id, m.text FROM message m JOIN chat_message_join j ON j.message_id = m.ROWID
        WHERE m.guid = ? AND j.chat_id = ?`).get(guid, chat.row.id) as {id: number; text: string | null} | undefined
      if (!parent) throw helperError('tapback', `Message not found: ${guid}`)
      const quoted = `\u201c${(parent.text ?? '').slice(0, 60)}\u201d`
      const index = kind === undefined ? 6 : KINDS.indexOf(kind)
      const text = kind === undefined
        ? `${remove ? 'Removed' : 'Reacted'} ${emoji} ${remove ? 'from' : 'to'} ${quoted}`
        : `${remove ? `Removed a ${kind} from` : VERBS[index]} ${quoted}`
      this.insertOutgoing(chat.row, {text, associatedGuid: `p:${partIndex}/${guid}`, associatedType: (remove ? 3000 : 2000) + index})
      const result: JsonObject = kind === undefined ? {ok: true, emoji: emoji!} : {ok: true, reaction: remove ? `remove-${kind}` : kind}
      return result
    })
  }

  /**
   * A `send`/`send.rich` with `reply_to`: bridge-only and fails closed (addendum §4). Returns the row
   * written, or throws what imsg answers without the bridge.
   */
  threadedSend(method: string, p: Record<string, unknown>, text: string, replyTo: string): {id: number; guid: string; chatGuid: string; service: string} {
    const t = this.target(p, method === 'send')
    const chat = this.resolveChat(t, this.str(p, 'service') ?? 'imessage')
    return this.logged(method, chat.guid, {reply_to: replyTo}, () => {
      if (!this.config.ready) {
        if (method === 'send' || !this.d.strict) {
          if (!this.d.strict) throw internalError(BRIDGE_NOT_STARTED)
          throw invalidParams(REPLY_NEEDS_BRIDGE)
        }
        throw notStarted(method)
      }
      if (!chat.row) {
        if (method === 'send') throw invalidParams(REPLY_NEEDS_BRIDGE)
        throw helperError(method, `Chat not found: ${chat.guid}`)
      }
      const parentGuid = replyTo.replace(/^p:\d+\//, '')
      const parent = this.d.db!.prepare('SELECT thread_originator_guid AS tog FROM message WHERE guid = ?').get(parentGuid) as
        {tog: string | null} | undefined
      // the helper cannot derive a native thread: refused before dispatch
      if (!parent) throw notStarted(method, `Could not derive a native reply thread for ${parentGuid}.`)
      const row = this.insertOutgoing(chat.row, {text, threadOriginator: parent.tog ?? parentGuid, replyToGuid: parentGuid})
      return {...row, chatGuid: chat.row.guid, service: chat.row.service_name ?? 'iMessage'}
    })
  }

  private insertOutgoing(chat: ChatRow, o: {text: string; associatedGuid?: string; associatedType?: number;
    threadOriginator?: string; replyToGuid?: string}): {id: number; guid: string} {
    const w = this.d.writer!
    return w.db.transaction(() => {
      const one = w.db.prepare(`SELECT j.handle_id AS h, COUNT(*) OVER () AS n FROM chat_handle_join j WHERE j.chat_id = ? LIMIT 1`)
        .get(chat.id) as {h: number; n: number} | undefined
      const handleRowId = one && one.n === 1 && !chat.guid.includes(';+;') ? one.h : 0
      const r = w.insertMessage({chatIds: [chat.id], text: o.text, handleRowId, service: chat.service_name ?? 'iMessage',
        isFromMe: true, dateMs: Date.now(), associatedGuid: o.associatedGuid, associatedType: o.associatedType,
        threadOriginatorGuid: o.threadOriginator})
      if (o.threadOriginator) {
        w.db.prepare('UPDATE message SET thread_originator_part = ?, reply_to_guid = ? WHERE ROWID = ?')
          .run('0:0:' + String(o.text.length), o.replyToGuid ?? null, r.id)
      }
      return r
    }).immediate()
  }
}

/**
 * Threads an already written outgoing row under `replyTo` as the bridge does (send.tracked with
 * reply_to): thread_originator_guid is the parent's thread root, or the parent itself.
 */
export function threadRow(db: DB, guid: string, replyTo: string): void {
  const parentGuid = replyTo.replace(/^p:\d+\//, '')
  const parent = db.prepare('SELECT thread_originator_guid AS tog FROM message WHERE guid = ?').get(parentGuid) as {tog: string | null} | undefined
  const row = db.prepare('SELECT text FROM message WHERE guid = ?').get(guid) as {text: string | null} | undefined
  if (!row) return
  db.prepare('UPDATE message SET thread_originator_guid = ?, thread_originator_part = ?, reply_to_guid = ? WHERE guid = ?')
    .run(parent?.tog ?? parentGuid, '0:0:' + String((row.text ?? '').length), parentGuid, guid)
}
