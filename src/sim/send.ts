// `send` as imsg's AppleScript path does it, with Messages.app's effect simulated: an is_from_me=1 row
// joined to the target chat (plus an attachment row), which then comes back through watch.
import type {CountryCode, parsePhoneNumberFromString} from 'libphonenumber-js'
import fs from 'node:fs'
import {createRequire} from 'node:module'
import path from 'node:path'
import {attachmentFor, expandHome, type Writer} from './db.js'
import type {Reader} from './query.js'
import {AUTOMATION_DENIED} from './texts.js'
import {truthy} from './version.js'

export class RpcError extends Error {
  constructor(readonly code: number, readonly rpcMessage: string, readonly data?: unknown) {
    super(typeof data === 'string' ? data : rpcMessage)
  }
}

export const invalidParams = (data: string): RpcError => new RpcError(-32602, 'Invalid params', data)
export const internalError = (data: string): RpcError => new RpcError(-32603, 'Internal error', data)

export interface SendParams {
  to?: string
  chatId?: number
  chatIdentifier?: string
  chatGuid?: string
  text?: string
  file?: string
  service: 'auto' | 'imessage' | 'sms'
  region: string
  strict: boolean
  /** The new row's guid (send.tracked: the caller's attempt_id); default a fresh one. */
  guid?: string
}

export interface SendOutcome {
  id?: number
  guid?: string
  chatGuid: string
  service: string
}

/** Phone numbers to E.164 with `region` (as imsg does); emails and other handles as given. */
const require = createRequire(import.meta.url)
let parsePhone: typeof parsePhoneNumberFromString | undefined

export function normalizeHandle(to: string, region: string): string {
  const t = to.trim()
  if (t.includes('@')) return t
  // loaded on first use: its metadata costs ~50 ms of start-up that --version/--help should not pay
  parsePhone ??= (require('libphonenumber-js') as {parsePhoneNumberFromString: typeof parsePhoneNumberFromString}).parsePhoneNumberFromString
  const p = parsePhone(t, region.toUpperCase() as CountryCode)
  return p ? p.number : t
}

export function performSend(
  p: SendParams,
  deps: {writer?: Writer; reader?: Reader; env: NodeJS.ProcessEnv; now: () => number},
): SendOutcome {
  const {writer, env} = deps
  const db = writer?.db
  let chatRowId: number | undefined
  let chatGuid = ''
  let service = 'iMessage'
  let handleRowId = 0
  let peer: string | undefined

  if (p.chatId !== undefined) {
    const row = db?.prepare('SELECT ROWID AS id, guid, service_name FROM chat WHERE ROWID = ?').get(p.chatId) as
      {id: number; guid: string; service_name: string | null} | undefined
    if (!row) throw invalidParams(`unknown chat_id ${p.chatId}`)
    chatRowId = row.id
    chatGuid = row.guid
    service = row.service_name ?? 'iMessage'
  } else if (p.chatIdentifier !== undefined || p.chatGuid !== undefined) {
    const key = p.chatGuid !== undefined ? 'guid' : 'chat_identifier'
    const value = (p.chatGuid ?? p.chatIdentifier)!
    if (db) {
      const row = db.prepare(`SELECT ROWID AS id, guid, service_name FROM chat WHERE ${key} = ? ORDER BY ROWID DESC LIMIT 1`).get(value) as
        {id: number; guid: string; service_name: string | null} | undefined
      if (!row) {
        if (p.strict) throw invalidParams(`unknown ${key === 'guid' ? 'chat_guid' : 'chat_identifier'} ${value}`)
        throw internalError(`AppleScript failed: Messages got an error: Can\u2019t get chat id "${value}". (-1728)`)
      }
      chatRowId = row.id
      chatGuid = row.guid
      service = row.service_name ?? 'iMessage'
    } else {
      chatGuid = p.chatGuid ?? `iMessage;-;${value}`
    }
  } else {
    peer = normalizeHandle(p.to!, p.region)
    if (p.service === 'sms') service = 'SMS'
    else if (p.service === 'auto' && db) {
      const has = (g: string) => db.prepare('SELECT 1 FROM chat WHERE guid = ?').get(g) !== undefined
      if (!has(`iMessage;-;${peer}`) && has(`SMS;-;${peer}`)) service = 'SMS'
    }
    chatGuid = `${service};-;${peer}`
  }

  let attachment: ReturnType<typeof attachmentFor> | undefined
  if (p.file !== undefined && p.file !== '') {
    const abs = path.resolve(expandHome(p.file))
    let ok = false
    try {
      ok = fs.statSync(abs).isFile()
    } catch {
      ok = false
    }
    if (!ok) throw internalError(`AppleScript failed: Attachment not found at ${abs}`)
    attachment = attachmentFor(abs)
  }

  if (env.IMSG_SIM_AUTOMATION === 'denied') throw internalError(AUTOMATION_DENIED)
  if (!writer) return {chatGuid, service}

  const text = p.text !== undefined && p.text !== '' ? p.text : attachment ? '\ufffc' : ''
  if (truthy(env.IMSG_SIM_GHOST_ROW) && peer === undefined) {
    // Messages accepted a chat send but wrote an empty outgoing row joined to no chat (§4.5, §8.5)
    const ghost = writer.db.transaction(() => writer.insertMessage({
      chatIds: [], text: '', handleRowId: writer.handle(chatGuid, service), service, isFromMe: true, dateMs: deps.now(),
    })).immediate()
    throw internalError(`AppleScript failed: Messages accepted the chat send but wrote an unjoined empty outgoing row (${ghost.id}); delivery to the target chat was not confirmed`)
  }
  // IMMEDIATE takes the write lock before the reads below: with a deferred transaction a concurrent
  // writer (another inject) makes the lock upgrade fail at once with SQLITE_BUSY, ignoring busy_timeout.
  const written = writer.db.transaction(() => {
    if (peer !== undefined) {
      chatRowId = writer.directChat(peer, service)
      handleRowId = writer.handle(peer, service)
    } else if (chatRowId !== undefined) {
      const one = writer.db.prepare(`SELECT j.handle_id AS h, COUNT(*) OVER () AS n FROM chat_handle_join j
        WHERE j.chat_id = ? LIMIT 1`).get(chatRowId) as {h: number; n: number} | undefined
      // 1:1 outgoing rows carry the peer's handle; group rows carry 0 (§8.3)
      if (one && one.n === 1 && !chatGuid.includes(';+;')) handleRowId = one.h
    }
    return writer.insertMessage({
      chatIds: chatRowId === undefined ? [] : [chatRowId],
      text,
      handleRowId,
      service,
      isFromMe: true,
      dateMs: deps.now(),
      attachments: attachment ? [attachment] : [],
      ...(p.guid ? {guid: p.guid} : {}),
    })
  }).immediate()
  if (truthy(env.IMSG_SIM_SEND_UNKNOWN) && p.strict) {
    throw new RpcError(-32001, 'Delivery outcome unknown', {
      retry_safe: false,
      disposition: 'may_have_completed',
      transport: 'applescript',
      operation: 'send',
      detail: 'Messages accepted the send but no matching chat.db row was confirmed; it may have been delivered. Do not retry.',
    })
  }
  // imsg reports id/guid best-effort; attachment-only sends are not matched by text (§4.5)
  if (attachment && (p.text === undefined || p.text === '')) return {chatGuid, service}
  return {id: written.id, guid: written.guid, chatGuid, service}
}
