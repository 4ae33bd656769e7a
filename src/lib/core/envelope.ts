/**
 * The one inbound envelope type: every imsg message the gateway sees is normalised into this
 * before any decision (drop, access, routing, agent input) is made.
 */
export interface EnvelopeChat {
  /** imsg chat_id (chat.ROWID); 0 when imsg did not join the row to a chat. */
  chatId: number
  guid: string
  identifier: string
  name: string
  /** External handles, normalised (E.164 phones, lower-case emails). */
  participants: string[]
}

export interface EnvelopeAttachment {
  /** Path as imsg reports it (original_path), on the machine where imsg runs. */
  originalPath: string
  name: string
  mimeType: string
  size: number
  missing: boolean
}

export interface Envelope {
  accountId: string
  chat: EnvelopeChat
  /** imsg's is_group, or the chat is listed in `groups` (multi-person threads with is_group=false). */
  isGroup: boolean
  sender: {
    /** Normalised handle (E.164 or lower-case email); '' when imsg gave none. */
    handle: string
    /** Handle exactly as imsg sent it. */
    raw: string
    displayName?: string
  }
  text: string
  attachments: EnvelopeAttachment[]
  replyToGuid?: string
  /**
   * The message this one answers ("reply to"), from imsg's thread_originator_guid (else reply_to_guid),
   * reply_to_text and reply_to_sender. Text and sender are absent when imsg could not resolve the parent.
   */
  replyTo?: {guid: string; text?: string; sender?: string}
  /** Set on tapback rows (watch with include_reactions): never answered, only handed on as context. */
  reaction?: EnvelopeReaction
  /** ms since the Unix epoch, from created_at. */
  createdAt: number
  /** message ROWID */
  messageId: number
  guid: string
  isFromMe: boolean
  /**
   * false when the row carried no is_from_me at all (some wrappers drop it): it may then be our
   * own send, recognised by text (outbound/echoes.ts). Absent means it was reported.
   */
  isFromMeKnown?: boolean
  /** 0.14+ resume cursor when imsg sends one; else the ROWID. */
  cursor: number
}

/** An inbound tapback (imsg: is_reaction, reaction_type, reaction_emoji, is_reaction_add, reacted_to_guid). */
export interface EnvelopeReaction {
  /** love | like | dislike | laugh | emphasis | question | custom */
  type: string
  emoji: string
  /** false: the reaction was removed */
  added: boolean
  targetGuid: string
}
