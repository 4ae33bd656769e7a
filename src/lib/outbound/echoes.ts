import type {Envelope} from '../core/envelope.js'

/** Default window for matching an inbound row against our recent sends by chat+text. */
export const ECHO_WINDOW_MS = 15_000

/**
 * Remembers what the gateway sent: ids/guids returned by `send`, and chat+text for a short
 * window (self-chat writes a second, is_from_me=0 row; some wrappers lose is_from_me).
 * A chat+text entry matches once, so a person who really sends the same words later is answered.
 */
export class EchoTracker {
  private readonly ids = new Set<string>()
  /** chat+text -> expiry times of sends not yet matched */
  private readonly recent = new Map<string, number[]>()
  private readonly idOrder: string[] = []
  private lastPrune = 0

  constructor(
    private readonly now: () => number,
    private readonly windowMs = ECHO_WINDOW_MS,
  ) {}

  private key(chat: string, text: string): string {
    return `${chat}\u0000${text.trim()}`
  }

  /** Records one sent chunk. `chat` is "chat_id:N" or the target handle. */
  recordSend(chat: string, text: string, result?: {id?: number; guid?: string}): void {
    if (result?.guid) this.addId(`guid:${result.guid}`)
    if (typeof result?.id === 'number' && result.id > 0) this.addId(`id:${result.id}`)
    const k = this.key(chat, text)
    const list = this.recent.get(k) ?? []
    list.push(this.now() + this.windowMs)
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
    for (const [k, times] of this.recent) {
      const kept = times.filter((e) => e >= t)
      if (kept.length === 0) this.recent.delete(k)
      else this.recent.set(k, kept)
    }
  }

  private candidates(env: Envelope): string[] {
    return [env.chat.chatId > 0 ? `chat_id:${env.chat.chatId}` : '', env.sender.handle, env.sender.raw].filter(Boolean)
  }

  private firstLive(env: Envelope): {k: string; times: number[]; idx: number} | undefined {
    const t = this.now()
    for (const c of this.candidates(env)) {
      const k = this.key(c, env.text)
      const times = this.recent.get(k)
      if (!times) continue
      const idx = times.findIndex((e) => e >= t)
      if (idx === -1) {
        this.recent.delete(k)
        continue
      }
      return {k, times, idx}
    }
    return undefined
  }

  /**
   * The is_from_me row of one of our sends arrived: a second, is_from_me=0 copy (self-chat)
   * follows within moments, so keep the entry only briefly; a person repeating the same words
   * later is then answered.
   */
  noteOwnRow(env: Envelope): boolean {
    if ((env.guid && this.ids.has(`guid:${env.guid}`)) || (env.messageId > 0 && this.ids.has(`id:${env.messageId}`))) return true
    const hit = this.firstLive(env)
    if (hit) hit.times[hit.idx] = Math.min(hit.times[hit.idx]!, this.now() + 3_000)
    return hit !== undefined
  }

  /** A match (consumed) when the envelope is a copy of something we sent. */
  isEcho(env: Envelope): {match: 'id' | 'text'} | undefined {
    if (env.guid && this.ids.has(`guid:${env.guid}`)) return {match: 'id'}
    if (env.messageId > 0 && this.ids.has(`id:${env.messageId}`)) return {match: 'id'}
    const hit = this.firstLive(env)
    if (!hit) return undefined
    hit.times.splice(0, hit.idx + 1)
    if (hit.times.length === 0) this.recent.delete(hit.k)
    return {match: 'text'}
  }
}
