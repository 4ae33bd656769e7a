import type {Envelope, EnvelopeAttachment, EnvelopeReaction} from '../core/envelope.js'

/**
 * The fields of an imsg `message` notification the gateway reads (protocol §5.1). Optional
 * fields are absent, never null; unknown fields are ignored.
 */
export interface WireMessage {
  id: number
  chat_id?: number
  guid?: string
  sender?: string
  sender_name?: string
  is_from_me?: boolean
  text?: string
  created_at?: string
  attachments?: Array<{
    filename?: string
    transfer_name?: string
    mime_type?: string
    total_bytes?: number
    original_path?: string
    missing?: boolean
  }>
  reply_to_guid?: string
  thread_originator_guid?: string
  reply_to_text?: string
  reply_to_sender?: string
  chat_identifier?: string
  chat_guid?: string
  chat_name?: string
  participants?: string[]
  is_group?: boolean
  is_reaction?: boolean
  reaction_type?: string
  reaction_emoji?: string
  is_reaction_add?: boolean
  reacted_to_guid?: string
  cursor?: number
}

const STRING_FIELDS = ['guid', 'sender', 'sender_name', 'text', 'created_at', 'reply_to_guid', 'chat_identifier', 'chat_guid', 'chat_name'] as const
const BOOLEAN_FIELDS = ['is_from_me', 'is_group', 'is_reaction'] as const
const ATTACHMENT_STRINGS = ['filename', 'transfer_name', 'mime_type', 'original_path'] as const

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Absent or null (the protocol omits optional fields; some imsg builds write null). */
function absent(v: unknown): boolean {
  return v === undefined || v === null
}

export type WireCheck = {ok: true; msg: WireMessage} | {ok: false; problem: string; /** The row's cursor position, when that much is valid. */ cursor?: number}

/**
 * Checks a `message` notification's fields before anything reads them: a row with a field of the
 * wrong type (a numeric text, `attachments: "x"`, `"id": "abc"`) would throw deep in the pipeline
 * or corrupt the cursor. Such a row is reported, not normalised.
 */
export function checkWireMessage(m: unknown): WireCheck {
  if (!isRecord(m)) return {ok: false, problem: 'the message is not an object'}
  const idOk = Number.isSafeInteger(m.id) && (m.id as number) >= 0
  const cursorOk = absent(m.cursor) || (Number.isSafeInteger(m.cursor) && (m.cursor as number) >= 0)
  const cursor = idOk && cursorOk ? ((absent(m.cursor) ? m.id : m.cursor) as number) : undefined
  const bad = (problem: string): WireCheck => ({ok: false, problem, cursor})
  if (!idOk) return bad(`id is ${JSON.stringify(m.id) ?? 'missing'}, not a row number`)
  if (!cursorOk) return bad(`cursor is ${JSON.stringify(m.cursor)}, not a row number`)
  for (const f of STRING_FIELDS) if (!absent(m[f]) && typeof m[f] !== 'string') return bad(`${f} is a ${typeof m[f]}, not a string`)
  for (const f of BOOLEAN_FIELDS) if (!absent(m[f]) && typeof m[f] !== 'boolean') return bad(`${f} is a ${typeof m[f]}, not a boolean`)
  if (!absent(m.chat_id) && !Number.isSafeInteger(m.chat_id)) return bad(`chat_id is ${JSON.stringify(m.chat_id)}, not a number`)
  if (!absent(m.participants) && !(Array.isArray(m.participants) && m.participants.every((p) => typeof p === 'string'))) {
    return bad('participants is not a list of strings')
  }
  if (!absent(m.attachments)) {
    if (!Array.isArray(m.attachments)) return bad(`attachments is a ${typeof m.attachments}, not a list`)
    for (const a of m.attachments) {
      if (!isRecord(a)) return bad('an attachment is not an object')
      for (const f of ATTACHMENT_STRINGS) if (!absent(a[f]) && typeof a[f] !== 'string') return bad(`attachment ${f} is a ${typeof a[f]}, not a string`)
      if (!absent(a.total_bytes) && typeof a.total_bytes !== 'number') return bad('attachment total_bytes is not a number')
      if (!absent(a.missing) && typeof a.missing !== 'boolean') return bad('attachment missing is not a boolean')
    }
  }
  return {ok: true, msg: m as unknown as WireMessage}
}

export interface NormalizeOptions {
  accountId: string
  /** The account's `groups` map: a chat listed there is a group even when imsg says is_group=false. */
  groups: Record<string, unknown>
  /** Handle normaliser (E.164 / lower-case email); identity when it cannot parse. */
  normalizeHandle: (raw: string) => string
}

function safeNormalize(fn: (raw: string) => string, raw: string): string {
  if (raw === '') return ''
  try {
    return fn(raw) || raw
  } catch {
    return raw
  }
}

/** Wire message -> the one Envelope type. Never throws on odd input: missing fields get empty values. */
export function normalizeMessage(msg: WireMessage, opts: NormalizeOptions): Envelope {
  const chatId = typeof msg.chat_id === 'number' ? msg.chat_id : 0
  const chatGuid = msg.chat_guid ?? ''
  const identifier = msg.chat_identifier ?? ''
  const listed = chatId > 0 && Object.prototype.hasOwnProperty.call(opts.groups, String(chatId))
  const isGroup = msg.is_group === true || chatGuid.includes(';+;') || identifier.includes(';+;') || listed
  const created = msg.created_at ? Date.parse(msg.created_at) : Number.NaN
  const attachments: EnvelopeAttachment[] = (msg.attachments ?? []).map((a) => ({
    originalPath: a.original_path ?? '',
    name: a.transfer_name || (a.filename ? a.filename.split('/').pop()! : ''),
    mimeType: a.mime_type ?? '',
    size: a.total_bytes ?? 0,
    missing: a.missing ?? !a.original_path,
  }))
  const raw = msg.sender ?? ''
  return {
    accountId: opts.accountId,
    chat: {
      chatId,
      guid: chatGuid,
      identifier,
      name: msg.chat_name || identifier,
      participants: [...new Set((msg.participants ?? []).map((p) => safeNormalize(opts.normalizeHandle, p)))],
    },
    isGroup,
    sender: {handle: safeNormalize(opts.normalizeHandle, raw), raw, displayName: msg.sender_name || undefined},
    text: msg.text ?? '',
    attachments,
    replyToGuid: msg.reply_to_guid || undefined,
    ...replyContext(msg),
    ...(msg.is_reaction === true ? {reaction: reactionOf(msg)} : {}),
    createdAt: Number.isFinite(created) ? created : 0,
    messageId: msg.id,
    guid: msg.guid ?? '',
    isFromMe: msg.is_from_me === true,
    ...(typeof msg.is_from_me === 'boolean' ? {} : {isFromMeKnown: false}),
    cursor: typeof msg.cursor === 'number' ? msg.cursor : msg.id,
  }
}

/** imsg decides "threaded reply" from thread_originator_guid (addendum §4); reply_to_guid is the fallback. */
function replyContext(msg: WireMessage): Pick<Envelope, 'replyTo'> {
  const guid = msg.thread_originator_guid || msg.reply_to_guid
  if (!guid || msg.is_reaction === true) return {}
  return {replyTo: {guid, ...(msg.reply_to_text ? {text: msg.reply_to_text} : {}), ...(msg.reply_to_sender ? {sender: msg.reply_to_sender} : {})}}
}

function reactionOf(msg: WireMessage): EnvelopeReaction {
  return {
    type: msg.reaction_type ?? 'custom',
    emoji: msg.reaction_emoji ?? '',
    added: msg.is_reaction_add !== false,
    targetGuid: msg.reacted_to_guid ?? '',
  }
}

/** Human label for logs: "chat 42" or "DM +15551234567". */
export function chatLabel(env: Envelope): string {
  if (env.isGroup) return `group chat ${env.chat.chatId}${env.chat.name && env.chat.name !== env.chat.identifier ? ` ("${env.chat.name}")` : ''}`
  return `DM from ${env.sender.handle || env.sender.raw || 'unknown sender'}`
}
