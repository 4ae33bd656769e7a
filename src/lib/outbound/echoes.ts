import type {Envelope} from '../core/envelope.js'

/** Default window for matching an inbound row against our recent sends by chat+text. */
export const ECHO_WINDOW_MS = 15_000

interface TextEntry {
  expires: number
  /** The handle the send was addressed to ('' when unknown). */
  to: string
}

/**
 * Remembers what the gateway sent, to recognise our own sends coming back from the watch.
 * - By id/guid: `send` returned them; exact, kept for the last ~4,000 sends.
 * - By chat+text, only for a send whose id and guid imsg did not return, and only for a row
 *   whose is_from_me is missing (some wrappers lose it) and whose sender is empty or the handle
 *   we sent to. A row that says is_from_me: false is a person's message, never ours by text:
 *   a person who answers "ok" to our "ok" is answered. Each entry matches once, within the window.
 */
export class EchoTracker {
  private readonly ids = new Set<string>()
  /** chat+text -> sends not yet matched */
  private readonly recent = new Map<string, TextEntry[]>()
  private readonly idOrder: string[] = []
  private lastPrune = 0

  constructor(
    private readonly now: () => number,
    private readonly windowMs = ECHO_WINDOW_MS,
  ) {}

  private key(chat: string, text: string): string {
    return `${chat}\u0000${text.trim()}`
  }

  /**
   * Records one sent chunk. `chat` is "chat_id:N" or the target handle; `to` the handle the
   * send was addressed to, when known.
   */
  recordSend(chat: string, text: string, result?: {id?: number; guid?: string}, to = ''): void {
    let identified = false
    if (result?.guid) {
      this.addId(`guid:${result.guid}`)
      identified = true
    }
    if (typeof result?.id === 'number' && result.id > 0) {
      this.addId(`id:${result.id}`)
      identified = true
    }
    // The row of this send is recognised by its id/guid: text must not stand in for it.
    if (identified) return
    const k = this.key(chat, text)
    const list = this.recent.get(k) ?? []
    list.push({expires: this.now() + this.windowMs, to})
    this.recent.set(k, list)
    this.prune()
  }

  private addId(id: string): void {
    this.ids.add(id)
    this.idOrder.push(id)
    if (this.idOrder.length > 4_000) {
      for (const old of this.idOrder.splice(0, 2_000)) this.ids.delete(old)
    }
  }

  /** Expired entries go at most once a second (a full scan per send would cost O(sends in window)). */
  private prune(): void {
    const t = this.now()
    if (this.recent.size < 512 || t - this.lastPrune < 1_000) return
    this.lastPrune = t
    for (const [k, entries] of this.recent) {
      const kept = entries.filter((e) => e.expires >= t)
      if (kept.length === 0) this.recent.delete(k)
      else this.recent.set(k, kept)
    }
  }

  private idMatch(env: Envelope): boolean {
    return Boolean((env.guid && this.ids.has(`guid:${env.guid}`)) || (env.messageId > 0 && this.ids.has(`id:${env.messageId}`)))
  }

  private candidates(env: Envelope): string[] {
    return [env.chat.chatId > 0 ? `chat_id:${env.chat.chatId}` : '', env.sender.handle, env.sender.raw].filter(Boolean)
  }

  /** A row from someone other than the send's addressee is never our echo. */
  private fromAddressee(env: Envelope, e: TextEntry): boolean {
    if (env.sender.handle === '' && env.sender.raw === '') return true
    return e.to !== '' && (env.sender.handle === e.to || env.sender.raw === e.to)
  }

  private firstLive(env: Envelope): {k: string; entries: TextEntry[]; idx: number} | undefined {
    const t = this.now()
    for (const c of this.candidates(env)) {
      const k = this.key(c, env.text)
      const entries = this.recent.get(k)
      if (!entries) continue
      if (!entries.some((e) => e.expires >= t)) {
        this.recent.delete(k)
        continue
      }
      const idx = entries.findIndex((e) => e.expires >= t && this.fromAddressee(env, e))
      if (idx !== -1) return {k, entries, idx}
    }
    return undefined
  }

  /**
   * The is_from_me row of one of our sends arrived: a copy whose flag was lost may follow within
   * moments, so keep a text entry only briefly; a person repeating the same words later is answered.
   */
  noteOwnRow(env: Envelope): boolean {
    if (this.idMatch(env)) return true
    const hit = this.firstLive(env)
    if (hit) hit.entries[hit.idx]!.expires = Math.min(hit.entries[hit.idx]!.expires, this.now() + 3_000)
    return hit !== undefined
  }

  /** A match (consumed) when the envelope is a copy of something we sent. */
  isEcho(env: Envelope): {match: 'id' | 'text'} | undefined {
    if (this.idMatch(env)) return {match: 'id'}
    // Only a row whose is_from_me was lost on the way can be ours by text.
    if (env.isFromMeKnown !== false) return undefined
    const hit = this.firstLive(env)
    if (!hit) return undefined
    hit.entries.splice(hit.idx, 1)
    if (hit.entries.length === 0) this.recent.delete(hit.k)
    return {match: 'text'}
  }
}
