// `send.tracked` (0.15+) and `message.send_status` (0.10+), as the 0.15 addendum §2 and §5 describe.
// message.send_status only reads chat.db, so it works without the bridge. send.tracked needs the
// IMCore bridge (clientMessageGuidReservation): without IMSG_SIM_BRIDGE=1 it is refused before
// dispatch (-32603 not_started, retry_safe) and not listed in `status.methods`, as a real imsg does.
// Knobs (docs/simulator.md):
//   IMSG_SIM_BRIDGE=1                 bridge mode (shared with the presence features' bridge mode)
//   IMSG_SIM_TRACKED_UNKNOWN=sent     the first send.tracked of each attempt_id writes its row, then answers -32001
//   IMSG_SIM_TRACKED_UNKNOWN=unsent   the first send.tracked of each attempt_id writes nothing and answers -32001
//   IMSG_SIM_TRACKED_HANG=1           with IMSG_SIM_TRACKED_UNKNOWN: no answer at all instead of -32001 (a hung bridge wait)
import type {DB, Writer} from './db.js'
import {threadRow} from './bridge.js'
import {isoFromApple} from './db.js'
import type {Json, JsonObject} from './query.js'
import {invalidParams, performSend, RpcError} from './send.js'
import {compiledMethods, truthy, type Emulation} from './version.js'

export const TRACKED_METHODS = new Set(['send.tracked', 'message.send_status'])

const READY_LOCK_ABSENT = 'The bridge ready lock is absent. Run imsg launch explicitly before retrying.'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const SEND_KEYS = new Set(['to', 'chat_id', 'chat_identifier', 'chat_guid', 'text', 'file', 'service', 'region', 'transport',
  'text_formatting', 'textFormatting', 'formatting', 'reply_to', 'replyTo', 'reply_to_guid', 'message_guid',
  'allow_sms_fallback', 'allowSMSFallback', 'attempt_id'])

export function bridgeMode(env: NodeJS.ProcessEnv): boolean {
  return truthy(env.IMSG_SIM_BRIDGE)
}

/** What `status.methods` lists of these two (usable now). */
export function trackedMethodsListed(env: NodeJS.ProcessEnv, em: Emulation, dbReady: boolean): string[] {
  if (!dbReady) return []
  const compiled = compiledMethods(em.v)
  const out: string[] = []
  if (compiled.includes('message.send_status')) out.push('message.send_status')
  if (compiled.includes('send.tracked') && bridgeMode(env)) out.push('send.tracked')
  return out
}

export interface TrackedContext {
  strict: boolean
  env: NodeJS.ProcessEnv
  em: Emulation
  db?: DB
  writer?: Writer
  dbReady: () => boolean
  dbUnavailable: () => RpcError
}

function delivery(disposition: 'not_started' | 'may_have_completed', detail: string): JsonObject {
  return {retry_safe: disposition === 'not_started', disposition, transport: 'bridge_v2', operation: 'send.tracked', detail}
}

/** attempt_ids whose knob outcome was already played in this process (the next try behaves normally). */
const played = new Set<string>()

export async function handleTracked(method: string, p: Record<string, unknown>, c: TrackedContext): Promise<Json> {
  return method === 'message.send_status' ? sendStatus(p, c) : sendTracked(p, c)
}

function sendStatus(p: Record<string, unknown>, c: TrackedContext): JsonObject {
  if (c.strict) {
    for (const [k, v] of Object.entries(p)) {
      if (k !== 'guid') throw invalidParams(`unknown message.send_status param: ${k}`)
      if (v === null) throw invalidParams('guid must not be null')
    }
  }
  const guid = typeof p.guid === 'string' ? p.guid : ''
  if (guid === '') throw invalidParams('guid is required')
  if (!c.dbReady()) throw c.dbUnavailable()
  const row = c.db!.prepare(`SELECT guid, service, error, is_sent, is_delivered, is_finished, date_delivered, date_read
    FROM message WHERE guid = ? COLLATE NOCASE LIMIT 1`).get(guid) as
    | {guid: string; service: string | null; error: number; is_sent: number; is_delivered: number; is_finished: number; date_delivered: number | null; date_read: number | null}
    | undefined
  const checkedAt = new Date().toISOString()
  if (!row) return {ok: true, guid, send_state: 'pending', service: null, checked_at: checkedAt, status_fields: null}
  const delivered = Boolean(row.date_delivered && row.date_delivered > 0)
  const state = row.error !== 0 ? 'failed' : row.is_delivered || delivered ? 'delivered' : row.is_sent ? 'sent' : 'pending'
  const out: JsonObject = {
    ok: true,
    guid: row.guid,
    send_state: state,
    service: row.service,
    checked_at: checkedAt,
    status_fields: {
      is_sent: Boolean(row.is_sent),
      is_delivered: Boolean(row.is_delivered),
      is_finished: Boolean(row.is_finished),
      error: row.error,
      date_delivered: delivered ? isoFromApple(row.date_delivered) : null,
      date_read: row.date_read && row.date_read > 0 ? isoFromApple(row.date_read) : null,
      is_delayed: false,
      is_prepared: true,
      is_pending_satellite_send: false,
      was_downgraded: false,
    },
  }
  if (delivered) out.delivered_at = isoFromApple(row.date_delivered)
  return out
}

async function sendTracked(p: Record<string, unknown>, c: TrackedContext): Promise<Json> {
  for (const [k, v] of Object.entries(p)) {
    if (!SEND_KEYS.has(k)) throw invalidParams(`unknown send.tracked param: ${k}`)
    if (v === null) throw invalidParams(`${k} must not be null`)
  }
  const attempt = typeof p.attempt_id === 'string' ? p.attempt_id.toLowerCase() : ''
  if (!UUID.test(attempt)) throw invalidParams('attempt_id must be a UUID')
  const text = typeof p.text === 'string' ? p.text : ''
  if (text === '' || p.file !== undefined) throw invalidParams('send.tracked supports exactly one text message')
  if (typeof p.transport === 'string' && p.transport.toLowerCase() === 'applescript') throw invalidParams('send.tracked requires bridge transport')
  if (!bridgeMode(c.env)) {
    throw new RpcError(-32603, 'Delivery failed before dispatch', delivery('not_started', READY_LOCK_ABSENT))
  }
  if (!c.dbReady()) throw c.dbUnavailable()
  const db = c.db!
  const hasChat = p.chat_id !== undefined || p.chat_identifier !== undefined || p.chat_guid !== undefined
  if (!hasChat) {
    // `to` needs an existing direct chat: the bridge sends into a chat, never creates one.
    const to = typeof p.to === 'string' ? p.to : ''
    const found = to !== '' && db.prepare('SELECT 1 FROM chat WHERE chat_identifier = ? LIMIT 1').get(to) !== undefined
    if (!found) throw invalidParams('bridge transport requires an existing chat target')
  }
  if (db.prepare('SELECT 1 FROM message WHERE guid = ? COLLATE NOCASE').get(attempt) !== undefined) {
    throw new RpcError(-32603, 'Delivery failed before dispatch', delivery('not_started', 'attempt_id already identifies a message; choose a new UUID'))
  }
  // A threaded reply (addendum §4: send.tracked takes reply_to like send): the helper must derive
  // the native thread before dispatch, else not_started.
  const replyRaw = p.reply_to ?? p.replyTo ?? p.reply_to_guid ?? p.message_guid
  const parentGuid = typeof replyRaw === 'string' && replyRaw !== '' ? replyRaw.replace(/^p:\d+\//, '') : undefined
  const parent = parentGuid === undefined ? undefined
    : (db.prepare('SELECT thread_originator_guid AS tog FROM message WHERE guid = ?').get(parentGuid) as {tog: string | null} | undefined)
  if (parentGuid !== undefined && !parent) {
    throw new RpcError(-32603, 'Delivery failed before dispatch', delivery('not_started', `Could not derive a native reply thread for ${parentGuid}.`))
  }
  const knob = c.env.IMSG_SIM_TRACKED_UNKNOWN
  const play = (knob === 'sent' || knob === 'unsent') && !played.has(attempt)
  if (play) played.add(attempt)
  const doSend = () => {
    const sent = performSend(
      {
        to: hasChat ? undefined : (p.to as string),
        chatId: typeof p.chat_id === 'number' ? p.chat_id : undefined,
        chatIdentifier: typeof p.chat_identifier === 'string' ? p.chat_identifier : undefined,
        chatGuid: typeof p.chat_guid === 'string' ? p.chat_guid : undefined,
        text,
        service: 'auto',
        region: typeof p.region === 'string' ? p.region : 'US',
        strict: c.strict,
        guid: attempt,
      },
      {writer: c.writer, env: c.env, now: () => Date.now()},
    )
    if (parentGuid !== undefined) threadRow(c.writer!.db, attempt, parentGuid)
    return sent
  }
  if (play) {
    if (knob === 'sent') doSend()
    if (truthy(c.env.IMSG_SIM_TRACKED_HANG)) {
      // The bridge wait never ends; at stdin EOF the process goes (a drained imsg would, eventually).
      process.stdin.once('end', () => setTimeout(() => process.exit(0), 50))
      return new Promise<Json>(() => {})
    }
    throw new RpcError(-32001, 'Delivery outcome unknown', delivery('may_have_completed',
      'The bridge did not confirm the send before its deadline; it may have been delivered. Check message.send_status.'))
  }
  const out = doSend()
  const r: JsonObject = {ok: true, transport: 'bridge', guid: out.guid ?? attempt, message_id: out.guid ?? attempt, attempt_id: attempt}
  if (out.chatGuid) r.chat_guid = out.chatGuid
  r.service = out.service
  return r
}
