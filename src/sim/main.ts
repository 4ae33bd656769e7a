// imsg-sim: a stand-in for the `imsg` CLI backed by a real chat.db (see /work/notes/sim-contract.md).
// CLI errors go to stdout with exit 1, as imsg does (protocol §7.1).
import fs from 'node:fs'
import path from 'node:path'
import {
  attachmentFor, type AttachmentSpec, defaultDbPath, expandHome, isoFromApple, localAccount, missingAttachment, openExisting,
  openForWrite, Writer,
} from './db.js'
import {encodeChatCli, Reader} from './query.js'
import {bridgeConfig, bridgeStatus} from './bridge.js'
import {runRpc, sendResult} from './rpc.js'
import {performSend, RpcError} from './send.js'
import {permissionBanner, rawPermissionDenied, rootHelp, RPC_HELP} from './texts.js'
import {atLeast, compiledMethods, emulation, type Emulation} from './version.js'

interface Args {
  positional: string[]
  flags: Map<string, string[]>
}

const BOOLEAN_FLAGS = new Set(['json', 'j', 'json-output', 'jsonOutput', 'help', 'h', 'version', 'V', 'v', 'verbose',
  'attachment-missing', 'from-me', 'read', 'remove-reaction', 'batch'])

function parseArgs(argv: string[]): Args {
  const positional: string[] = []
  const flags = new Map<string, string[]>()
  const add = (k: string, v: string) => flags.set(k, [...(flags.get(k) ?? []), v])
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=')
      if (eq > 0) add(a.slice(2, eq), a.slice(eq + 1))
      else if (BOOLEAN_FLAGS.has(a.slice(2))) add(a.slice(2), 'true')
      else add(a.slice(2), argv[++i] ?? '')
    } else if (a.startsWith('-') && a.length === 2) {
      add(a.slice(1), 'true')
    } else positional.push(a)
  }
  return {positional, flags}
}

const flag = (a: Args, ...names: string[]): string | undefined => {
  for (const n of names) {
    const v = a.flags.get(n)
    if (v && v.length > 0) return v[v.length - 1]
  }
  return undefined
}
const has = (a: Args, ...names: string[]) => names.some((n) => a.flags.has(n))
const wantsJson = (a: Args) => has(a, 'json', 'j', 'json-output', 'jsonOutput')

function out(line: string): void {
  process.stdout.write(line + '\n')
}

/** imsg reports CLI errors on stdout and exits 1. */
class CliFail extends Error {}
function fail(text: string): never {
  throw new CliFail(text)
}

function dbPathOf(a: Args): string {
  const db = flag(a, 'db')
  return db !== undefined ? path.resolve(expandHome(db)) : defaultDbPath(process.env)
}

/** What imsg prints when chat.db can't be opened (FDA knob or a missing file). */
function unreadableText(em: Emulation, dbPath: string): string | undefined {
  const cause = process.env.IMSG_SIM_FDA === 'missing' ? 'fda' : fs.existsSync(dbPath) ? undefined : 'missing'
  if (!cause) return undefined
  return atLeast(em.v, '0.7.0') ? permissionBanner(dbPath, cause) : rawPermissionDenied(dbPath, cause)
}

export async function main(argv: string[]): Promise<number> {
  const em = emulation(process.env)
  const a = parseArgs(argv)
  const cmd = a.positional[0]
  if (has(a, 'version', 'V') && cmd === undefined) {
    out(em.display)
    return 0
  }
  const withRpc = em.hasRpc
  const withStatus = atLeast(em.v, '0.6.0')
  const known = ['chats', 'history', 'watch', 'send', 'init', 'inject', 'sent', 'events',
    ...(withRpc ? ['rpc'] : []), ...(withStatus ? ['status'] : [])]
  if (cmd === undefined || (has(a, 'help', 'h') && !known.includes(cmd))) {
    // a binary without rpc answers `rpc --help` with the root help and exit 0 (§7.2)
    out(rootHelp(em.display, withRpc, withStatus))
    return 0
  }
  if (!known.includes(cmd)) {
    out(`Unknown command: ${cmd}`)
    out('')
    out(rootHelp(em.display, withRpc, withStatus))
    return 1
  }
  if (has(a, 'help', 'h')) {
    out(cmd === 'rpc' ? RPC_HELP : `imsg ${cmd}\n\nUsage:\n  imsg ${cmd} [options]`)
    return 0
  }
  try {
    switch (cmd) {
      case 'rpc':
        return await runRpc({dbPath: dbPathOf(a), env: process.env, em})
      case 'chats':
        return chats(a, em)
      case 'send':
        return send(a, em)
      case 'status':
        return status(a, em)
      case 'init':
        return init(a)
      case 'inject':
        return await inject(a)
      case 'sent':
        return sent(a)
      case 'events':
        return events(a)
      default:
        out(`imsg-sim does not simulate \`imsg ${cmd}\`; use rpc (watch.subscribe, messages.history)`)
        return 1
    }
  } catch (e) {
    if (e instanceof CliFail) {
      out(e.message)
      return 1
    }
    throw e
  }
}

// ------------------------------------------------------------------ imsg commands

function chats(a: Args, em: Emulation): number {
  const dbPath = dbPathOf(a)
  const bad = unreadableText(em, dbPath)
  if (bad) fail(bad)
  const limit = Math.max(1, Number.parseInt(flag(a, 'limit') ?? '20', 10) || 20)
  const db = openExisting(dbPath)
  const reader = new Reader(db, em.v)
  for (const c of reader.listChats(limit, false)) {
    if (wantsJson(a)) out(JSON.stringify(encodeChatCli(c, em.v)))
    else out(`[${c.id}] ${c.name} (${c.identifier}) last=${isoFromApple(c.lastDate)}`)
  }
  db.close()
  return 0
}

function send(a: Args, em: Emulation): number {
  const to = flag(a, 'to')
  const chatIdRaw = flag(a, 'chat-id')
  const chatIdentifier = flag(a, 'chat-identifier')
  const chatGuid = flag(a, 'chat-guid')
  const text = flag(a, 'text')
  const file = flag(a, 'file')
  const hasChat = chatIdRaw !== undefined || chatIdentifier !== undefined || chatGuid !== undefined
  if ((text ?? '') === '' && (file ?? '') === '') fail('Missing option: text or file')
  if (to !== undefined && hasChat) fail('Invalid option: --to (use --to or one chat flag: --chat-id, --chat-identifier, --chat-guid)')
  if (!hasChat && (to ?? '') === '') fail('Missing option: --to')
  const service = flag(a, 'service') ?? 'auto'
  if (!['auto', 'imessage', 'sms'].includes(service)) fail(`Invalid value for --service: ${service} (imessage|sms|auto)`)
  let chatId: number | undefined
  if (chatIdRaw !== undefined) {
    chatId = Number.parseInt(chatIdRaw, 10)
    if (!Number.isInteger(chatId)) fail(`Invalid value for --chat-id: ${chatIdRaw}`)
  }
  const dbPath = dbPathOf(a)
  if (chatId !== undefined) {
    const bad = unreadableText(em, dbPath)
    if (bad) fail(bad)
  }
  const db = openForWrite(dbPath)
  try {
    performSend({to, chatId, chatIdentifier, chatGuid, text, file, service: service as 'auto', region: flag(a, 'region') ?? 'US',
      strict: em.strict}, {writer: new Writer(db, localAccount(process.env)), env: process.env, now: () => Date.now()})
  } catch (e) {
    if (e instanceof RpcError) {
      const d = e.data
      fail(typeof d === 'string' ? d : d && typeof d === 'object' && 'detail' in d ? String((d as {detail: unknown}).detail) : e.rpcMessage)
    }
    throw e
  } finally {
    db.close()
  }
  out(wantsJson(a) ? JSON.stringify({status: 'sent'}) : 'sent')
  return 0
}

function status(a: Args, em: Emulation): number {
  const v = em.v
  const bridge = bridgeConfig(process.env)
  const b = bridgeStatus(bridge)
  if (wantsJson(a)) {
    const s: Record<string, unknown> = {}
    if (atLeast(v, '0.9.0')) s.version = em.display
    Object.assign(s, {
      basic_features: true,
      advanced_features: bridge.ready,
      typing_indicators: bridge.ready,
      read_receipts: bridge.ready,
      sip: bridge.ready ? 'disabled' : 'enabled',
      message: bridge.ready ? 'Advanced features available (IMCore bridge running).'
        : 'Advanced features require SIP disabled and the IMCore helper (imsg launch).',
      ...(bridge.ready ? {bridge_version: 2} : {}),
      v2_ready: bridge.ready,
      selectors: b.selectors ?? {},
    })
    // the compiled list, minus send.tracked when the helper lacks it (addendum §6)
    if (atLeast(v, '0.7.3')) s.rpc_methods = em.hasRpc ? compiledMethods(v).filter((m) => bridge.ready || m !== 'send.tracked') : []
    if (atLeast(v, '0.15.0')) {
      Object.assign(s, {helper_version: em.display, helper_version_mismatch: false,
        capabilities: {engine: {version: em.display, commit: 'imsg-sim'}, features: bridge.emoji ? {'tapback.emoji': 2} : {}}})
    }
    out(JSON.stringify(s))
  } else {
    out('imsg status')
    out('Basic features (send, receive, history): Available')
    out(`Advanced features (typing, read receipts, tapbacks): ${bridge.ready ? 'Available' : 'Unavailable'}`)
    out(`SIP: ${bridge.ready ? 'disabled' : 'enabled'}`)
  }
  return 0
}

// ------------------------------------------------------------------ simulator-only commands

function init(a: Args): number {
  const dbPath = dbPathOf(a)
  openForWrite(dbPath).close()
  out(wantsJson(a) ? JSON.stringify({db: dbPath}) : `initialised ${dbPath}`)
  return 0
}

const REACTION_TYPES = ['love', 'like', 'dislike', 'laugh', 'emphasis', 'question']

export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(s.trim())
  if (!m) fail(`Invalid duration: ${s} (e.g. 500ms, 20s, 20m, 2h, 1d)`)
  const mult = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000}[m[2] as 'ms' ?? 's'] ?? 1000
  return Number(m[1]) * mult
}

/** One inbound (or --from-me) row as `inject` flags or a `--batch` JSON line describe it. */
interface InjectSpec {
  from?: string
  fromMe: boolean
  text?: string
  chatId?: number
  group?: string
  participants: string[]
  chatIdentifier?: string
  service: string
  attachments: string[]
  attachmentMissing: boolean
  agoMs: number
  guid?: string
  replyTo?: string
  reaction?: string
  /** a custom emoji tapback (associated_message_type 2006/3006) */
  emoji?: string
  target?: string
  removeReaction: boolean
  read: boolean
}

function specFromArgs(a: Args): InjectSpec {
  const chatIdRaw = flag(a, 'chat-id')
  return {
    from: flag(a, 'from'),
    fromMe: has(a, 'from-me'),
    text: flag(a, 'text'),
    chatId: chatIdRaw === undefined ? undefined : Number.parseInt(chatIdRaw, 10),
    group: flag(a, 'group'),
    participants: (flag(a, 'participants') ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    chatIdentifier: flag(a, 'chat-identifier'),
    service: flag(a, 'service') ?? 'iMessage',
    attachments: a.flags.get('attachment') ?? [],
    attachmentMissing: has(a, 'attachment-missing'),
    agoMs: flag(a, 'ago') !== undefined ? parseDuration(flag(a, 'ago')!) : 0,
    guid: flag(a, 'guid'),
    replyTo: flag(a, 'reply-to'),
    reaction: flag(a, 'reaction'),
    emoji: flag(a, 'emoji'),
    target: flag(a, 'target'),
    removeReaction: has(a, 'remove-reaction'),
    read: has(a, 'read'),
  }
}

function specFromJson(o: Record<string, unknown>): InjectSpec {
  const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined)
  const list = (k: string) => (Array.isArray(o[k]) ? (o[k] as unknown[]).map(String)
    : typeof o[k] === 'string' ? (o[k] as string).split(',').map((s) => s.trim()).filter(Boolean) : [])
  const ago = o.ago
  return {
    from: str('from'),
    fromMe: o.from_me === true,
    text: str('text'),
    chatId: typeof o.chat_id === 'number' ? o.chat_id : undefined,
    group: str('group'),
    participants: list('participants'),
    chatIdentifier: str('chat_identifier'),
    service: str('service') ?? 'iMessage',
    attachments: list('attachments').concat(list('attachment')),
    attachmentMissing: o.attachment_missing === true,
    agoMs: typeof ago === 'number' ? ago : typeof ago === 'string' ? parseDuration(ago) : 0,
    guid: str('guid'),
    replyTo: str('reply_to'),
    reaction: str('reaction'),
    emoji: str('emoji'),
    target: str('target'),
    removeReaction: o.remove_reaction === true,
    read: o.read === true,
  }
}

function checkSpec(sp: InjectSpec, where: string): void {
  if (!sp.from && !sp.fromMe) fail(`${where}Missing option: --from <handle> (or --from-me)`)
  if (sp.chatId !== undefined && !Number.isInteger(sp.chatId)) fail(`${where}Invalid value for --chat-id`)
  if (sp.reaction !== undefined && sp.emoji !== undefined) fail(`${where}Use --reaction or --emoji, not both`)
  if (sp.reaction !== undefined && !REACTION_TYPES.includes(sp.reaction)) {
    fail(`${where}Invalid value for --reaction: ${sp.reaction} (${REACTION_TYPES.join('|')})`)
  }
  if ((sp.reaction !== undefined || sp.emoji !== undefined) && !sp.target) {
    fail(`${where}Missing option: --target <message guid> (with --reaction or --emoji)`)
  }
}

class Injector {
  private readonly w: Writer
  constructor(private readonly db: ReturnType<typeof openForWrite>) {
    this.w = new Writer(db, localAccount(process.env))
  }

  /** Finds or creates the chat the way Messages would; call inside a transaction. */
  chat(sp: InjectSpec): {chatId: number; handleRowId: number; group: boolean} {
    const {w, db} = this
    const from = sp.from
    const service = sp.service
    const handleRowId = from ? w.handle(from, service) : 0
    const members = [...new Set([...(from ? [from] : []), ...sp.participants])]
    if (sp.chatId !== undefined) {
      const row = db.prepare('SELECT ROWID AS id, guid, service_name FROM chat WHERE ROWID = ?').get(sp.chatId) as
        {id: number; guid: string; service_name: string | null} | undefined
      if (!row) fail(`unknown chat_id ${sp.chatId}`)
      const group = row.guid.includes(';+;')
      if (from && group) w.addParticipants(row.id, [from], row.service_name ?? service)
      return {chatId: row.id, handleRowId, group}
    }
    if (sp.group !== undefined) {
      const existing = db.prepare(`SELECT ROWID AS id FROM chat WHERE display_name = ? AND guid LIKE '%;+;%'
        ORDER BY ROWID DESC LIMIT 1`).get(sp.group) as {id: number} | undefined
      const chatId = existing?.id ?? w.groupChat(sp.group, members, service)
      if (existing) w.addParticipants(chatId, members, service)
      return {chatId, handleRowId, group: true}
    }
    if (sp.chatIdentifier !== undefined) {
      const existing = db.prepare('SELECT ROWID AS id, guid FROM chat WHERE chat_identifier = ? ORDER BY ROWID DESC LIMIT 1')
        .get(sp.chatIdentifier) as {id: number; guid: string} | undefined
      if (existing) return {chatId: existing.id, handleRowId, group: existing.guid.includes(';+;')}
      if (sp.chatIdentifier.startsWith('chat')) {
        return {chatId: w.groupChat(null, members, service, sp.chatIdentifier), handleRowId, group: true}
      }
      return {chatId: w.directChat(sp.chatIdentifier, service), handleRowId: w.handle(sp.chatIdentifier, service), group: false}
    }
    if (!from) fail('--from-me needs a chat: --chat-id, --group or --chat-identifier')
    return {chatId: w.directChat(from, service), handleRowId, group: false}
  }

  /** Inserts row number i (1-based, for the `{i}` text template) of spec; call inside a transaction. */
  insert(sp: InjectSpec, c: {chatId: number; handleRowId: number; group: boolean}, i: number, count: number,
    now: number): {id: number; guid: string; chat_id: number} {
    const attachments: AttachmentSpec[] = sp.attachments.map((p) => attachmentFor(p))
    if (sp.attachmentMissing) attachments.push(missingAttachment())
    let text: string | null = (sp.text ?? (count > 1 ? 'message {i}' : '')).replaceAll('{i}', String(i))
    if (text === '' && attachments.length > 0) text = '\ufffc'
    let associatedGuid: string | undefined
    let associatedType: number | undefined
    if (sp.reaction !== undefined) {
      associatedType = (sp.removeReaction ? 3000 : 2000) + REACTION_TYPES.indexOf(sp.reaction)
      associatedGuid = `p:0/${sp.target}`
      if (!sp.text) text = `${sp.removeReaction ? 'Removed a' : 'Reacted'} ${sp.reaction} to a message`
    } else if (sp.emoji !== undefined) {
      associatedType = sp.removeReaction ? 3006 : 2006
      associatedGuid = `p:0/${sp.target}`
      // imsg reads the custom emoji from this text
      if (!sp.text) text = `${sp.removeReaction ? 'Removed' : 'Reacted'} ${sp.emoji} ${sp.removeReaction ? 'from' : 'to'} \u201ca message\u201d`
    }
    const r = this.w.insertMessage({
      chatIds: [c.chatId],
      text,
      handleRowId: sp.fromMe && c.group ? 0 : c.handleRowId,
      service: sp.service,
      isFromMe: sp.fromMe,
      dateMs: now - sp.agoMs,
      guid: sp.guid !== undefined ? (count > 1 ? `${sp.guid}-${i}` : sp.guid) : undefined,
      associatedGuid,
      associatedType,
      threadOriginatorGuid: sp.replyTo,
      attachments,
    })
    if (sp.read && !sp.fromMe) this.db.prepare('UPDATE message SET is_read = 1, date_read = date WHERE ROWID = ?').run(r.id)
    return {...r, chat_id: c.chatId}
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

async function inject(a: Args): Promise<number> {
  const dbPath = dbPathOf(a)
  if (has(a, 'batch')) {
    // JSON lines on stdin, all inserted in one transaction
    const specs = (await readStdin()).split('\n').map((l, n) => [l.trim(), n + 1] as const).filter(([l]) => l !== '')
      .map(([l, n]) => {
        let o: unknown
        try {
          o = JSON.parse(l)
        } catch {
          fail(`line ${n}: not JSON: ${l.slice(0, 80)}`)
        }
        if (!o || typeof o !== 'object' || Array.isArray(o)) fail(`line ${n}: expected a JSON object`)
        const sp = specFromJson(o as Record<string, unknown>)
        checkSpec(sp, `line ${n}: `)
        return sp
      })
    const db = openForWrite(dbPath)
    const inj = new Injector(db)
    const now = Date.now()
    const rows = db.transaction(() => specs.map((sp) => inj.insert(sp, inj.chat(sp), 1, 1, now))).immediate()
    db.close()
    if (wantsJson(a)) out(JSON.stringify(rows))
    else out(`injected ${rows.length} messages${rows.length ? ` ${rows[0]!.id}..${rows[rows.length - 1]!.id}` : ''}`)
    return 0
  }
  const sp = specFromArgs(a)
  checkSpec(sp, '')
  const count = Math.max(1, Number.parseInt(flag(a, 'count') ?? '1', 10) || 1)
  const rate = flag(a, 'rate') !== undefined ? Number(flag(a, 'rate')) : undefined
  const db = openForWrite(dbPath)
  const inj = new Injector(db)
  const chat = db.transaction(() => inj.chat(sp)).immediate()
  const now = Date.now()
  const results: Array<{id: number; guid: string}> = []
  if (rate !== undefined && rate > 0 && count > 1) {
    // paced: a small transaction every ~10 ms, on schedule by elapsed time, so a watcher sees a steady stream
    const t0 = Date.now()
    let i = 1
    while (i <= count) {
      const due = Math.min(count, Math.floor(((Date.now() - t0) / 1000) * rate) + 1)
      if (due >= i) {
        db.transaction(() => {
          while (i <= due) results.push(inj.insert(sp, chat, i++, count, Date.now()))
        }).immediate()
      }
      if (i <= count) await new Promise((r) => setTimeout(r, 10))
    }
  } else {
    db.transaction(() => {
      for (let i = 1; i <= count; i++) results.push(inj.insert(sp, chat, i, count, now))
    }).immediate()
  }
  db.close()
  const first = results[0]!
  const last = results[results.length - 1]!
  const chatId = chat.chatId
  if (wantsJson(a)) {
    out(JSON.stringify(count === 1 ? {id: first.id, guid: first.guid, chat_id: chatId}
      : {count, first_id: first.id, last_id: last.id, chat_id: chatId}))
  } else {
    out(count === 1 ? `injected message ${first.id} (${first.guid}) into chat ${chatId}`
      : `injected ${count} messages ${first.id}..${last.id} into chat ${chatId}`)
  }
  return 0
}

function sent(a: Args): number {
  const dbPath = dbPathOf(a)
  if (!fs.existsSync(dbPath)) {
    out(wantsJson(a) ? '[]' : 'nothing sent')
    return 0
  }
  const db = openExisting(dbPath)
  const since = Number.parseInt(flag(a, 'since-rowid') ?? '0', 10) || 0
  const rows = db.prepare(`SELECT m.ROWID AS id, m.guid, m.text, m.date, m.service, j.chat_id, c.chat_identifier,
      c.guid AS chat_guid, h.id AS handle,
      (SELECT a.filename FROM message_attachment_join x JOIN attachment a ON a.ROWID = x.attachment_id
        WHERE x.message_id = m.ROWID ORDER BY a.ROWID LIMIT 1) AS file
    FROM message m LEFT JOIN chat_message_join j ON j.message_id = m.ROWID LEFT JOIN chat c ON c.ROWID = j.chat_id
    LEFT JOIN handle h ON h.ROWID = m.handle_id
    WHERE m.is_from_me = 1 AND m.ROWID > ? ORDER BY m.ROWID ASC`).all(since) as Array<{id: number; guid: string;
      text: string | null; date: number; service: string | null; chat_id: number | null; chat_identifier: string | null;
      chat_guid: string | null; handle: string | null; file: string | null}>
  db.close()
  const items = rows.map((r) => {
    const item: Record<string, unknown> = {
      id: r.id, guid: r.guid, chat_id: r.chat_id ?? 0, chat_identifier: r.chat_identifier ?? '',
      to: r.chat_guid?.includes(';+;') ? (r.chat_identifier ?? '') : (r.handle ?? r.chat_identifier ?? ''),
      text: r.text === '\ufffc' ? '' : (r.text ?? ''),
    }
    if (r.file) item.file = r.file.startsWith('~/') ? path.join(process.env.HOME ?? '', r.file.slice(2)) : r.file
    item.service = r.service ?? ''
    item.created_at = isoFromApple(r.date)
    return item
  })
  if (wantsJson(a)) out(JSON.stringify(items))
  else for (const i of items) out(`${String(i.created_at)} [${String(i.id)}] -> ${String(i.to)}: ${String(i.text)}${i.file ? ` (+${String(i.file)})` : ''}`)
  return 0
}

/** Simulator only: the bridge calls the rpc server answered (typing, read, tapback, threaded sends). */
function events(a: Args): number {
  const dbPath = dbPathOf(a)
  if (!fs.existsSync(dbPath)) {
    out(wantsJson(a) ? '[]' : 'no bridge calls')
    return 0
  }
  const db = openForWrite(dbPath)
  const since = Number.parseInt(flag(a, 'since') ?? '0', 10) || 0
  const rows = db.prepare(`SELECT ROWID AS seq, date, method, chat_guid, detail, last_message_rowid FROM sim_bridge_event
    WHERE ROWID > ? ORDER BY ROWID ASC`).all(since) as Array<{seq: number; date: number; method: string; chat_guid: string;
      detail: string; last_message_rowid: number}>
  db.close()
  const items = rows.map((r) => ({seq: r.seq, at: new Date(r.date).toISOString(), method: r.method, chat_guid: r.chat_guid,
    last_message_rowid: r.last_message_rowid, ...(JSON.parse(r.detail) as Record<string, unknown>)}))
  if (wantsJson(a)) out(JSON.stringify(items))
  else for (const i of items) out(`${i.at} #${i.seq} ${i.method} ${i.chat_guid} ${JSON.stringify({...i, seq: undefined, at: undefined, method: undefined, chat_guid: undefined})}`)
  return 0
}

// exported for the bin script
export {sendResult}

// stdout writes to pipes and files are synchronous on Linux, so exiting right away loses nothing
process.exit(await main(process.argv.slice(2)))
