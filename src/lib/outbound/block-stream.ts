import {createHash} from 'node:crypto'

/**
 * Block streaming of one turn (agents.list[].streaming "block"): finished assistant text blocks
 * are sent as they complete, in order, coalesced so the chat is not flooded (short blocks are
 * joined up to the chunk limit; a group goes out after `idleMs` without a new block), and the
 * final answer is not sent again when the blocks already said it.
 *
 * Exactly once across a crash: every group is one journaled reply keyed
 * `<inbound guid>#blocks:<block ids>`; after a restart the journal's reconciliation sends what
 * was journaled but not confirmed, and the turn that runs again skips every block (and a final
 * answer) whose id is already in the journal for this inbound message. A block id is a hash of its
 * text and how many times that text came before in this turn.
 */
export interface BlockStreamOptions {
  inboundGuid: string
  /** Max characters per group (textChunkLimit). */
  limit: number
  /** How long to wait for another block before sending what is buffered. */
  idleMs: number
  /** Journal keys already recorded (sent, or being reconciled) for this inbound message. */
  priorKeys: string[]
  /** Sends one group as a journaled reply under `key`; resolves when it is settled. */
  deliver: (text: string, key: string) => Promise<unknown>
}

export const BLOCK_KEY_MARK = '#blocks:'

const norm = (s: string) => s.replace(/\s+/g, ' ').trim()

export function blockId(text: string, occurrence: number): string {
  return `${createHash('sha256').update(norm(text)).digest('hex').slice(0, 12)}~${occurrence}`
}

export class BlockStreamer {
  private buffer: Array<{text: string; id: string}> = []
  private timer: NodeJS.Timeout | undefined
  private chain: Promise<void> = Promise.resolve()
  private readonly counts = new Map<string, number>()
  private readonly already = new Set<string>()
  private readonly blocks: string[] = []
  /** Groups handed to deliver() (skipped ones not counted). */
  sentGroups = 0
  skippedBlocks = 0

  constructor(private readonly o: BlockStreamOptions) {
    const prefix = `${o.inboundGuid}${BLOCK_KEY_MARK}`
    for (const k of o.priorKeys) if (k.startsWith(prefix)) for (const id of k.slice(prefix.length).split('.')) this.already.add(id)
  }

  private idFor(text: string): string {
    const n = norm(text)
    const occ = this.counts.get(n) ?? 0
    this.counts.set(n, occ + 1)
    return blockId(text, occ)
  }

  push(text: string): void {
    if (text.trim() === '') return
    this.blocks.push(text.trim())
    const id = this.idFor(text)
    if (this.already.has(id)) {
      this.skippedBlocks++
      return
    }
    const len = this.buffer.reduce((n, b) => n + b.text.length + 2, 0)
    if (this.buffer.length > 0 && len + text.trim().length > this.o.limit) this.flush()
    this.buffer.push({text: text.trim(), id})
    clearTimeout(this.timer)
    if (this.buffer.reduce((n, b) => n + b.text.length + 2, 0) >= this.o.limit) this.flush()
    else this.timer = setTimeout(() => this.flush(), this.o.idleMs)
  }

  private flush(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.buffer.length === 0) return
    const group = this.buffer
    this.buffer = []
    const key = `${this.o.inboundGuid}${BLOCK_KEY_MARK}${group.map((b) => b.id).join('.')}`
    this.sentGroups++
    this.chain = this.chain.then(() => this.o.deliver(group.map((b) => b.text).join('\n\n'), key).then(() => undefined))
  }

  /**
   * Sends what is buffered, waits for every group, and says whether the final answer still has
   * to be sent: not when it is empty, equals the last block, equals all blocks together, or was
   * already delivered before a restart.
   */
  async finish(finalText: string | undefined): Promise<{sendFinal: boolean}> {
    this.flush()
    await this.chain
    const f = norm(finalText ?? '')
    if (f === '') return {sendFinal: false}
    if (this.blocks.length > 0) {
      if (f === norm(this.blocks.at(-1)!)) return {sendFinal: false}
      const all = this.blocks.map(norm)
      if (f === norm(all.join(' ')) || f.replace(/\s/g, '') === all.join('').replace(/\s/g, '')) return {sendFinal: false}
    }
    return {sendFinal: !this.already.has(blockId(f, 0)) && !this.blocks.some((b) => norm(b) === f)}
  }

  /** Stops waiting (the turn was abandoned); buffered blocks are dropped. */
  cancel(): void {
    clearTimeout(this.timer)
    this.buffer = []
  }
}
