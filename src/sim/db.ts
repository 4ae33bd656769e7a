// chat.db on real SQLite: the schema subset imsg reads (§8.2), Apple-epoch dates (§8.3) and the
// writes Messages.app would do (inbound rows, our own sends). WAL + busy_timeout let inject, sent and
// several rpc processes share one file as they do on a Mac.
import type BetterSqlite3 from 'better-sqlite3'
import {randomUUID} from 'node:crypto'
import fs from 'node:fs'
import {createRequire} from 'node:module'
import os from 'node:os'
import path from 'node:path'

export type DB = BetterSqlite3.Database

// Loaded on first use: --version and rpc --help (what probes run most) then start without the native module.
const require = createRequire(import.meta.url)
let sqlite: typeof BetterSqlite3 | undefined
function Database(file: string, options?: BetterSqlite3.Options): DB {
  sqlite ??= require('better-sqlite3') as typeof BetterSqlite3
  return new sqlite(file, options)
}

/** A read-only connection (the watch poller's own, for PRAGMA data_version). */
export function openReadonly(dbPath: string): DB {
  return tune(Database(dbPath, {readonly: true, fileMustExist: true}))
}

const APPLE_EPOCH_MS = 978_307_200_000

/** Unix ms -> Apple nanoseconds (exact, as BigInt: the value exceeds 2^53). */
export function appleNs(unixMs: number): bigint {
  return BigInt(Math.round(unixMs - APPLE_EPOCH_MS)) * 1_000_000n
}

/** Apple nanoseconds (number or bigint; NULL = 2001-01-01) -> ISO-8601 UTC with ms and Z. */
export function isoFromApple(date: number | bigint | null | undefined): string {
  const ns = date === null || date === undefined ? 0 : Number(date)
  return new Date(Math.floor(ns / 1e6) + APPLE_EPOCH_MS).toISOString()
}

export function defaultDbPath(env: NodeJS.ProcessEnv): string {
  if (env.IMSG_SIM_DB) return env.IMSG_SIM_DB
  return path.join(env.HOME || os.homedir(), 'Library', 'Messages', 'chat.db')
}

export function expandHome(p: string): string {
  if (p === '~') return os.homedir()
  if (p.startsWith('~/')) return path.join(os.homedir(), p.slice(2))
  return p
}

/** Stored the way Messages stores attachment paths: under HOME as `~/...`. */
export function tildeify(p: string): string {
  const home = os.homedir()
  return p.startsWith(home + path.sep) ? '~' + p.slice(home.length) : p
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS handle (
  ROWID INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE, id TEXT NOT NULL, country TEXT, service TEXT NOT NULL,
  uncanonicalized_id TEXT, person_centric_id TEXT, UNIQUE (id, service));
CREATE TABLE IF NOT EXISTS chat (
  ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, style INTEGER, state INTEGER,
  account_id TEXT, properties BLOB, chat_identifier TEXT, service_name TEXT, room_name TEXT,
  account_login TEXT, is_archived INTEGER DEFAULT 0, last_addressed_handle TEXT, display_name TEXT,
  group_id TEXT, is_filtered INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS message (
  ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, text TEXT, replace INTEGER DEFAULT 0,
  service_center TEXT, handle_id INTEGER DEFAULT 0, subject TEXT, country TEXT, attributedBody BLOB,
  version INTEGER DEFAULT 0, type INTEGER DEFAULT 0, service TEXT, account TEXT, account_guid TEXT,
  error INTEGER DEFAULT 0, date INTEGER, date_read INTEGER, date_delivered INTEGER,
  is_delivered INTEGER DEFAULT 0, is_finished INTEGER DEFAULT 0, is_from_me INTEGER DEFAULT 0,
  is_read INTEGER DEFAULT 0, is_sent INTEGER DEFAULT 0, is_audio_message INTEGER DEFAULT 0,
  cache_has_attachments INTEGER DEFAULT 0, cache_roomnames TEXT, item_type INTEGER DEFAULT 0,
  group_action_type INTEGER DEFAULT 0, associated_message_guid TEXT, associated_message_type INTEGER DEFAULT 0,
  balloon_bundle_id TEXT, payload_data BLOB, thread_originator_guid TEXT, thread_originator_part TEXT,
  reply_to_guid TEXT, destination_caller_id TEXT, message_summary_info BLOB,
  schedule_type INTEGER DEFAULT 0, schedule_state INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS chat_handle_join (chat_id INTEGER REFERENCES chat (ROWID) ON DELETE CASCADE,
  handle_id INTEGER REFERENCES handle (ROWID) ON DELETE CASCADE, UNIQUE(chat_id, handle_id));
CREATE TABLE IF NOT EXISTS chat_message_join (chat_id INTEGER REFERENCES chat (ROWID) ON DELETE CASCADE,
  message_id INTEGER REFERENCES message (ROWID) ON DELETE CASCADE, message_date INTEGER DEFAULT 0,
  PRIMARY KEY (chat_id, message_id));
CREATE TABLE IF NOT EXISTS attachment (
  ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, created_date INTEGER DEFAULT 0,
  filename TEXT, uti TEXT, mime_type TEXT, transfer_state INTEGER DEFAULT 0, is_outgoing INTEGER DEFAULT 0,
  user_info BLOB, transfer_name TEXT, total_bytes INTEGER DEFAULT 0, is_sticker INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS message_attachment_join (
  message_id INTEGER REFERENCES message (ROWID) ON DELETE CASCADE,
  attachment_id INTEGER REFERENCES attachment (ROWID) ON DELETE CASCADE, UNIQUE(message_id, attachment_id));
CREATE INDEX IF NOT EXISTS chat_message_join_idx_message_id_only ON chat_message_join(message_id);
CREATE INDEX IF NOT EXISTS chat_message_join_idx_message_date_id_chat_id ON chat_message_join(chat_id, message_date, message_id);
CREATE INDEX IF NOT EXISTS message_attachment_join_idx_message_id ON message_attachment_join(message_id);
CREATE INDEX IF NOT EXISTS chat_handle_join_idx_handle_id ON chat_handle_join(handle_id);
CREATE INDEX IF NOT EXISTS message_idx_associated_message2 ON message(associated_message_guid);
CREATE INDEX IF NOT EXISTS message_idx_thread_originator_guid ON message(thread_originator_guid);
-- simulator only (not in Messages' chat.db): every bridge call the rpc server answered, for tests
-- (\`imsg-sim events\`); last_message_rowid orders the calls against message rows
CREATE TABLE IF NOT EXISTS sim_bridge_event (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, date INTEGER, method TEXT,
  chat_guid TEXT, detail TEXT, last_message_rowid INTEGER);
`

function tune(db: DB): DB {
  db.pragma('busy_timeout = 5000')
  return db
}

/** Opens (creating with the schema when absent) for writers: init, inject, send. */
export function openForWrite(dbPath: string): DB {
  fs.mkdirSync(path.dirname(dbPath), {recursive: true})
  const db = tune(Database(dbPath))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec(SCHEMA)
  return db
}

/** Opens an existing DB for the rpc server; throws when the file is missing (imsg never creates it). */
export function openExisting(dbPath: string): DB {
  const db = tune(Database(dbPath, {fileMustExist: true}))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec(SCHEMA)
  return db
}

export function newGuid(): string {
  return randomUUID().toUpperCase()
}

export function isGroupId(...ids: Array<string | null | undefined>): boolean {
  return ids.some((s) => typeof s === 'string' && s.includes(';+;'))
}

/** The local account that Messages records in destination_caller_id. */
export function localAccount(env: NodeJS.ProcessEnv): string {
  return env.IMSG_SIM_ACCOUNT || 'me@icloud.com'
}

// ---------------------------------------------------------------- writers

export class Writer {
  private readonly st

  constructor(readonly db: DB, private readonly account: string) {
    this.st = {
      handleGet: db.prepare('SELECT ROWID AS id FROM handle WHERE id = ? AND service = ?'),
      handleIns: db.prepare('INSERT INTO handle (id, country, service, uncanonicalized_id) VALUES (?, ?, ?, ?)'),
      chatByGuid: db.prepare('SELECT ROWID AS id FROM chat WHERE guid = ?'),
      chatIns: db.prepare(`INSERT INTO chat (guid, style, state, account_id, chat_identifier, service_name,
        account_login, last_addressed_handle, display_name) VALUES (?, ?, 3, ?, ?, ?, ?, ?, ?)`),
      chJoin: db.prepare('INSERT OR IGNORE INTO chat_handle_join (chat_id, handle_id) VALUES (?, ?)'),
      msgIns: db.prepare(`INSERT INTO message (guid, text, handle_id, service, account, date, date_read,
        date_delivered, is_delivered, is_finished, is_from_me, is_read, is_sent, cache_has_attachments,
        associated_message_guid, associated_message_type, thread_originator_guid, reply_to_guid,
        destination_caller_id, cache_roomnames)
        VALUES (@guid, @text, @handle_id, @service, @account, @date, @date_read, @date_delivered, 1, 1,
        @is_from_me, @is_read, @is_sent, @has_att, @amg, @amt, @tog, @rtg, @dest, @rooms)`),
      cmJoin: db.prepare('INSERT INTO chat_message_join (chat_id, message_id, message_date) VALUES (?, ?, ?)'),
      attIns: db.prepare(`INSERT INTO attachment (guid, created_date, filename, uti, mime_type, transfer_state,
        is_outgoing, transfer_name, total_bytes, is_sticker) VALUES (?, ?, ?, ?, ?, 5, ?, ?, ?, 0)`),
      maJoin: db.prepare('INSERT INTO message_attachment_join (message_id, attachment_id) VALUES (?, ?)'),
    }
  }

  handle(id: string, service: string): number {
    const row = this.st.handleGet.get(id, service) as {id: number} | undefined
    if (row) return row.id
    return Number(this.st.handleIns.run(id, id.startsWith('+') ? 'us' : null, service, id).lastInsertRowid)
  }

  /** A 1:1 chat `<Service>;-;<handle>` (created with its handle join when absent). */
  directChat(handleId: string, service: string): number {
    const guid = `${service};-;${handleId}`
    const row = this.st.chatByGuid.get(guid) as {id: number} | undefined
    if (row) return row.id
    const h = this.handle(handleId, service)
    const id = Number(this.st.chatIns.run(guid, 45, `e:${this.account}`, handleId, service, this.account,
      this.account, null).lastInsertRowid)
    this.st.chJoin.run(id, h)
    return id
  }

  /** A group chat `iMessage;+;chat<digits>` with the given external participants. */
  groupChat(displayName: string | null, participants: string[], service = 'iMessage', identifier?: string): number {
    const ident = identifier ?? `chat${String(Math.floor(Math.random() * 1e15)).padStart(15, '0')}`
    const guid = `${service};+;${ident}`
    const existing = this.st.chatByGuid.get(guid) as {id: number} | undefined
    if (existing) return existing.id
    const id = Number(this.st.chatIns.run(guid, 43, `e:${this.account}`, ident, service, this.account,
      this.account, displayName).lastInsertRowid)
    for (const p of participants) this.st.chJoin.run(id, this.handle(p, service))
    return id
  }

  addParticipants(chatId: number, participants: string[], service: string): void {
    for (const p of participants) this.st.chJoin.run(chatId, this.handle(p, service))
  }

  insertMessage(m: {
    chatIds: number[]
    text: string | null
    handleRowId: number
    service: string
    isFromMe: boolean
    dateMs: number
    guid?: string
    associatedGuid?: string | null
    associatedType?: number
    threadOriginatorGuid?: string | null
    attachments?: AttachmentSpec[]
    roomName?: string | null
  }): {id: number; guid: string} {
    const guid = m.guid ?? newGuid()
    const date = appleNs(m.dateMs)
    const atts = m.attachments ?? []
    const id = Number(this.st.msgIns.run({
      guid,
      text: m.text,
      handle_id: m.handleRowId,
      service: m.service,
      account: `e:${this.account}`,
      date,
      date_read: 0,
      date_delivered: m.isFromMe ? 0 : date,
      is_from_me: m.isFromMe ? 1 : 0,
      is_read: m.isFromMe ? 1 : 0,
      is_sent: m.isFromMe ? 1 : 0,
      has_att: atts.length > 0 ? 1 : 0,
      amg: m.associatedGuid ?? null,
      amt: m.associatedType ?? 0,
      tog: m.threadOriginatorGuid ?? null,
      rtg: null,
      dest: this.account,
      rooms: m.roomName ?? null,
    }).lastInsertRowid)
    for (const c of m.chatIds) this.st.cmJoin.run(c, id, date)
    for (const a of atts) {
      const attId = Number(this.st.attIns.run(newGuid(), date, a.filename, a.uti, a.mimeType, m.isFromMe ? 1 : 0,
        a.transferName, a.totalBytes).lastInsertRowid)
      this.st.maJoin.run(id, attId)
    }
    return {id, guid}
  }
}

export interface AttachmentSpec {
  filename: string
  transferName: string
  uti: string
  mimeType: string
  totalBytes: number
}

const TYPES: Record<string, [string, string]> = {
  '.jpg': ['public.jpeg', 'image/jpeg'],
  '.jpeg': ['public.jpeg', 'image/jpeg'],
  '.png': ['public.png', 'image/png'],
  '.gif': ['com.compuserve.gif', 'image/gif'],
  '.heic': ['public.heic', 'image/heic'],
  '.pdf': ['com.adobe.pdf', 'application/pdf'],
  '.txt': ['public.plain-text', 'text/plain'],
  '.caf': ['com.apple.coreaudio-format', 'audio/x-caf'],
  '.m4a': ['com.apple.m4a-audio', 'audio/x-m4a'],
  '.mov': ['com.apple.quicktime-movie', 'video/quicktime'],
  '.mp4': ['public.mpeg-4', 'video/mp4'],
}

/** Attachment row for a local file (size read from disk; 0 when absent). */
export function attachmentFor(file: string): AttachmentSpec {
  const abs = path.resolve(expandHome(file))
  const [uti, mimeType] = TYPES[path.extname(abs).toLowerCase()] ?? ['public.data', 'application/octet-stream']
  let totalBytes = 0
  try {
    const st = fs.statSync(abs)
    if (st.isFile()) totalBytes = st.size
  } catch {
    // absent: recorded anyway, reads as missing:true
  }
  return {filename: tildeify(abs), transferName: path.basename(abs), uti, mimeType, totalBytes}
}

/** An attachment Messages knows about but whose file is gone (offloaded to iCloud, cleaned up). */
export function missingAttachment(): AttachmentSpec {
  const g = newGuid()
  return {
    filename: `~/Library/Messages/Attachments/${g.slice(0, 2).toLowerCase()}/00/${g}/IMG_0001.heic`,
    transferName: 'IMG_0001.heic',
    uti: 'public.heic',
    mimeType: 'image/heic',
    totalBytes: 482_113,
  }
}
