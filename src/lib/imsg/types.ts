/** Wire types of `imsg rpc` (protocol §4, §5). Keys are exactly as on the wire (snake_case). */

export interface ImsgChat {
  id: number
  identifier: string
  guid: string
  name: string
  service: string
  last_message_at?: string
  participants: string[]
  is_group: boolean
  contact_name?: string
  unread_count?: number
  display_name?: string
  [key: string]: unknown
}

export interface ImsgAttachment {
  filename: string
  transfer_name?: string
  uti?: string
  mime_type?: string
  total_bytes?: number
  is_sticker?: boolean
  original_path?: string
  missing?: boolean
  [key: string]: unknown
}

export interface ImsgMessage {
  id: number
  chat_id?: number
  guid: string
  sender: string
  is_from_me: boolean
  text: string
  created_at: string
  attachments: ImsgAttachment[]
  reactions: unknown[]
  chat_identifier?: string
  chat_guid?: string
  chat_name?: string
  participants?: string[]
  is_group?: boolean
  reply_to_guid?: string
  is_reaction?: boolean
  /** 0.14+, live watch only: persist this rather than `id`. */
  cursor?: number
  [key: string]: unknown
}

export interface ChatsListParams {
  limit?: number
  unread_only?: boolean
}

export interface MessagesHistoryParams {
  chat_id: number
  limit?: number
  participants?: string[]
  start?: string
  end?: string
  attachments?: boolean
}

export interface WatchSubscribeParams {
  chat_id?: number
  /** Exclusive cursor; omitted/0 = from now, -1 = from the beginning. */
  since_rowid?: number
  participants?: string[]
  start?: string
  end?: string
  attachments?: boolean
  include_reactions?: boolean
  debounce_ms?: number
  /** 0.14+ only (a lenient server ignores it). */
  buffer_limit?: number
}

export type SendService = 'auto' | 'imessage' | 'sms'

/** Exactly one target form: `to`, or one of chat_id / chat_identifier / chat_guid. */
export type SendTarget =
  | {to: string; service?: SendService; region?: string}
  | {chat_id: number}
  | {chat_identifier: string}
  | {chat_guid: string}

export type SendParams = SendTarget & {text?: string; file?: string}

/** Best-effort fields (imsg fills id/guid only when it observed the row). */
export interface SendResult {
  ok?: boolean
  id?: number
  guid?: string
  message_id?: string
  chat_guid?: string
  service?: string
  transport?: string
  [key: string]: unknown
}

/** `initialize` / `status` result (0.14+). */
export interface ImsgStatus {
  version?: string
  protocol_version?: number
  database?: {path?: string; ready?: boolean; error?: string; features?: Record<string, boolean>}
  bridge?: {ready?: boolean; error?: string}
  methods?: string[]
  supported_methods?: string[]
  capabilities?: Record<string, unknown>
  [key: string]: unknown
}
