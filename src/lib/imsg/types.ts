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
  /** Decide "threaded reply" from this (addendum §4). */
  thread_originator_guid?: string
  reply_to_text?: string
  reply_to_sender?: string
  is_reaction?: boolean
  /** love | like | dislike | laugh | emphasis | question | custom */
  reaction_type?: string
  reaction_emoji?: string
  /** false: the reaction was removed */
  is_reaction_add?: boolean
  reacted_to_guid?: string
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

/** `reply_to`: the GUID of the message to answer in its thread. Bridge-only: imsg refuses it without the bridge. */
export type SendParams = SendTarget & {text?: string; file?: string; reply_to?: string}

/** A chat selector (typing, read, tapback): never `region`, which those methods reject. */
export type ChatSelector = {chat_id: number} | {chat_identifier: string} | {chat_guid: string}

/** typing and read also take a direct `to` (with `service` imessage|sms for a chat imsg must synthesize). */
export type PresenceTarget = ChatSelector | {to: string; service?: 'imessage' | 'sms'}

import type {TapbackKind} from '../util/tapback.js'

export type {TapbackKind}

/** `tapback` (bridge only): a classic kind or, where `capabilities.features["tapback.emoji"] >= 2`, any emoji. */
export type TapbackParams = ChatSelector & {
  /** The target message GUID (or `p:N/GUID`). */
  message_id: string
  remove?: boolean
  part_index?: number
} & ({reaction: TapbackKind; emoji?: never} | {emoji: string; reaction?: never})

export interface TapbackResult {
  ok?: boolean
  reaction?: string
  emoji?: string
  [key: string]: unknown
}

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
  bridge?: {
    ready?: boolean
    error?: string
    bridge_version?: number
    v2_ready?: boolean
    registry_available?: boolean
    /** Present only after a successful non-launching probe. */
    selectors?: Record<string, boolean>
  }
  methods?: string[]
  supported_methods?: string[]
  capabilities?: Record<string, unknown>
  [key: string]: unknown
}
