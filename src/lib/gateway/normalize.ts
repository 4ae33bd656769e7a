import type {Envelope, EnvelopeAttachment} from '../core/envelope.js'

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
  chat_identifier?: string
  chat_guid?: string
  chat_name?: string
  participants?: string[]
  is_group?: boolean
  is_reaction?: boolean
  cursor?: number
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
    createdAt: Number.isFinite(created) ? created : 0,
    messageId: msg.id,
    guid: msg.guid ?? '',
    isFromMe: msg.is_from_me === true,
    ...(typeof msg.is_from_me === 'boolean' ? {} : {isFromMeKnown: false}),
    cursor: typeof msg.cursor === 'number' ? msg.cursor : msg.id,
  }
}

/** Human label for logs: "chat 42" or "DM +15551234567". */
export function chatLabel(env: Envelope): string {
  if (env.isGroup) return `group chat ${env.chat.chatId}${env.chat.name && env.chat.name !== env.chat.identifier ? ` ("${env.chat.name}")` : ''}`
  return `DM from ${env.sender.handle || env.sender.raw || 'unknown sender'}`
}
