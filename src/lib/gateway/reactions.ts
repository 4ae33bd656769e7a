// Inbound tapbacks as context (issue 12): a reaction is never answered by itself; it waits for the
// next turn of that chat and reaches the agent then ("Ana reacted 👍 to your message '…'").
import type {ReactionNote} from '../agents/presence-context.js'
import type {Envelope} from '../core/envelope.js'

export type {ReactionNote}

interface Known {
  text: string
  fromMe: boolean
}

/** Bounded memory of recent messages by GUID (the bot's own sends and accepted inbound ones). */
export class MessageMemory {
  private readonly map = new Map<string, Known>()
  constructor(private readonly max = 2000) {}

  remember(guid: string, text: string, fromMe: boolean): void {
    if (!guid) return
    this.map.delete(guid)
    this.map.set(guid, {text, fromMe})
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string)
  }

  get(guid: string): Known | undefined {
    return this.map.get(guid)
  }
}

const MAX_PENDING = 20

/** Pending reaction notes per chat, handed to the next turn there. */
export class ReactionInbox {
  private readonly pending = new Map<string, ReactionNote[]>()

  /**
   * Files a reaction row per `reactionNotifications`; returns the note, or why it was not kept
   * (for the log). A removal cancels a still-pending add of the same reaction by the same person.
   */
  add(chatKey: string, env: Envelope, mode: 'off' | 'own' | 'all', memory: MessageMemory): {note?: ReactionNote; skipped?: string} {
    const r = env.reaction
    if (!r) return {skipped: 'not a reaction'}
    if (mode === 'off') return {skipped: 'reactionNotifications is off'}
    const known = memory.get(r.targetGuid)
    const toBot = known?.fromMe === true
    if (mode === 'own' && !toBot) return {skipped: 'not a reaction to the bot\'s message (reactionNotifications "own"; "all" would pass it on)'}
    const sender = env.sender.handle || env.sender.raw
    const note: ReactionNote = {
      sender,
      ...(env.sender.displayName ? {senderName: env.sender.displayName} : {}),
      emoji: r.emoji,
      type: r.type,
      added: r.added,
      messageGuid: r.targetGuid,
      ...(known ? {messageText: known.text} : {}),
      toBot,
      at: new Date(env.createdAt || Date.now()).toISOString(),
    }
    const list = this.pending.get(chatKey) ?? []
    if (!r.added) {
      const i = list.findIndex((n) => n.added && n.sender === sender && n.messageGuid === r.targetGuid && n.type === r.type && n.emoji === r.emoji)
      if (i >= 0) {
        list.splice(i, 1)
        if (list.length === 0) this.pending.delete(chatKey)
        return {skipped: 'it takes back a reaction the agent has not seen yet'}
      }
    }
    list.push(note)
    while (list.length > MAX_PENDING) list.shift()
    this.pending.set(chatKey, list)
    return {note}
  }

  /** The notes waiting for this chat, oldest first; they are handed over once. */
  take(chatKey: string): ReactionNote[] {
    const list = this.pending.get(chatKey) ?? []
    this.pending.delete(chatKey)
    return list
  }

  /** Puts notes back (the turn that took them did not run). */
  restore(chatKey: string, notes: ReactionNote[]): void {
    if (notes.length === 0) return
    this.pending.set(chatKey, [...notes, ...(this.pending.get(chatKey) ?? [])].slice(-MAX_PENDING))
  }
}
