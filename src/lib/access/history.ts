import type {Envelope} from '../core/envelope.js'

/** One unaddressed group message kept as context. */
export interface HistoryEntry {
  sender: string
  senderName?: string
  text: string
  /** ms since the epoch */
  createdAt: number
  messageId: number
}

/** Longer texts are cut: context, not an archive, and memory must stay bounded. */
export const HISTORY_TEXT_MAX = 2000
export const HISTORY_MAX_CHATS = 1000

export function historyEntryFrom(env: Envelope): HistoryEntry {
  const text = env.text.length > HISTORY_TEXT_MAX ? env.text.slice(0, HISTORY_TEXT_MAX) + '…' : env.text
  return {
    sender: env.sender.handle || env.sender.raw,
    ...(env.sender.displayName ? {senderName: env.sender.displayName} : {}),
    text,
    createdAt: env.createdAt,
    messageId: env.messageId,
  }
}

/** Key of one group's buffer: history never crosses accounts. */
export function historyKey(accountId: string, chatId: number): string {
  return `${accountId}:${chatId}`
}

/**
 * Unaddressed group messages, per chat, up to `limit` each (oldest dropped first), handed to
 * the agent with the next addressed message of that chat and then cleared. At most `maxChats`
 * chats are tracked (least recently written evicted), so memory is bounded by
 * maxChats * limit * HISTORY_TEXT_MAX whatever the traffic. In memory only: a restart forgets
 * context, never a message that needed an answer.
 */
export class GroupHistory {
  private readonly buffers = new Map<string, HistoryEntry[]>()
  private readonly maxChats: number

  constructor(opts: {maxChats?: number} = {}) {
    this.maxChats = opts.maxChats ?? HISTORY_MAX_CHATS
  }

  /** Keeps `entry` for `key`; limit 0 keeps nothing (and forgets what was kept). */
  add(key: string, entry: HistoryEntry, limit: number): void {
    if (limit <= 0) {
      this.buffers.delete(key)
      return
    }
    let buf = this.buffers.get(key)
    if (buf) {
      this.buffers.delete(key) // re-insert: Map order is the LRU order
    } else {
      buf = []
      while (this.buffers.size >= this.maxChats) {
        const oldest = this.buffers.keys().next().value
        if (oldest === undefined) break
        this.buffers.delete(oldest)
      }
    }
    buf.push(entry)
    if (buf.length > limit) buf.splice(0, buf.length - limit)
    this.buffers.set(key, buf)
  }

  /** Returns the kept messages (oldest first) and clears them. */
  take(key: string): HistoryEntry[] {
    const buf = this.buffers.get(key)
    if (!buf) return []
    this.buffers.delete(key)
    return buf
  }

  peek(key: string): readonly HistoryEntry[] {
    return this.buffers.get(key) ?? []
  }

  clear(key?: string): void {
    if (key === undefined) this.buffers.clear()
    else this.buffers.delete(key)
  }

  /** Number of chats with kept messages. */
  get chats(): number {
    return this.buffers.size
  }
}
