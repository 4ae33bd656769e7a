import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import {RemoteclawError} from '../errors.js'
import {ensureDir700, writeFileAtomic600} from '../util/files.js'

/**
 * Durable per-account gateway state: the resume cursor, the guid dedupe set and the journal of
 * sends that were started. Layout under <stateDir>/gateway/accounts/<id>/:
 *   state.json     snapshot (0600, atomic replace)
 *   journal.ndjson append-only records since the snapshot (0600), fsync'd in groups
 * Writing the whole dedupe set after every message would cost ~400 KB per message at the bound,
 * so each handled message appends one small line and the snapshot is rewritten only on compaction.
 */

/** A send the gateway started and has not confirmed; reconciled against history after a crash. */
export interface PendingSend {
  /** guid of the inbound message being answered ('' for sends with no inbound, e.g. notices). */
  inboundGuid: string
  chatId: number
  /** Handle target when the chat id is unknown. */
  to?: string
  /** The chunks being sent, in order. */
  texts: string[]
  /** How many chunks were confirmed sent. */
  sent: number
  startedAt: number
  /** Stable id of this entry (a UUID): tracked sends derive each chunk's attempt_id from it. */
  id?: string
  /** Chunks are sent with `send.tracked` (reconciled with message.send_status after a crash). */
  tracked?: boolean
  /** Attempt number per chunk index, when a chunk needed a new attempt_id (absent = 0). */
  attempts?: Record<string, number>
}

interface Snapshot {
  version: 1
  cursor: number
  /** Which imsg source (cliPath + dbPath) the cursor counts rows of; absent in older snapshots. */
  source?: string
  /** chat.db's newest message time at the first start (ms): rows created before it are never answered. */
  firstStartFence?: number
  seen: string[]
  pending: PendingSend[]
}

type JournalRecord =
  | {t: 'done'; guid: string; cursor: number}
  | {t: 'cursor'; cursor: number}
  | {t: 'pending'; p: PendingSend}
  | {t: 'chunk'; inboundGuid: string; sent: number}
  | {t: 'settled'; inboundGuid: string}
  | {t: 'attempt'; inboundGuid: string; chunk: number; attempt: number}

export interface AccountStateOptions {
  /** Max guids remembered for dedupe (oldest forgotten first). */
  maxSeen?: number
  /** Journal lines before the snapshot is rewritten. */
  compactEvery?: number
}

export const DEFAULT_MAX_SEEN = 20_000

export function accountStateDir(stateDir: string, accountId: string): string {
  return path.join(stateDir, 'gateway', 'accounts', accountId)
}

export class AccountState {
  cursor = 0
  /** What open() recovered from (logged by the gateway). */
  readonly warnings: string[] = []
  /** The imsg source the cursor belongs to (see Snapshot.source). */
  source: string | undefined
  /** See Snapshot.firstStartFence; set with the first-start cursor. */
  firstStartFence: number | undefined
  private readonly seen = new Set<string>()
  private readonly pendingSends = new Map<string, PendingSend>()
  private fd: number | undefined
  private journalLines = 0
  private queue: string[] = []
  private flushing: Promise<void> | undefined
  private waiters: Array<{resolve: () => void; reject: (e: unknown) => void}> = []
  private readonly maxSeen: number
  private readonly compactEvery: number
  private closed = false

  private constructor(
    readonly dir: string,
    opts: AccountStateOptions,
  ) {
    this.maxSeen = opts.maxSeen ?? DEFAULT_MAX_SEEN
    this.compactEvery = opts.compactEvery ?? 5_000
  }

  get snapshotFile(): string {
    return path.join(this.dir, 'state.json')
  }

  get journalFile(): string {
    return path.join(this.dir, 'journal.ndjson')
  }

  /**
   * Loads snapshot + journal. A snapshot that cannot be parsed is an error (never a silent reset
   * that would replay old messages); a torn last journal line (crash mid-write) is ignored.
   */
  static async open(stateDir: string, accountId: string, opts: AccountStateOptions = {}): Promise<AccountState> {
    const s = new AccountState(accountStateDir(stateDir, accountId), opts)
    await ensureDir700(s.dir)
    let snapText: string | undefined
    try {
      snapText = await fsp.readFile(s.snapshotFile, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
    if (snapText !== undefined) {
      let snap: Snapshot
      try {
        snap = JSON.parse(snapText) as Snapshot
        if (!Array.isArray(snap.seen)) throw new Error('missing seen')
      } catch (error) {
        throw new RemoteclawError(`gateway state ${s.snapshotFile} is unreadable: ${(error as Error).message}`, {
          code: 'state_corrupt',
          fix: `Move it aside to start from "now" (messages received while the gateway was down are then not answered): mv ${s.snapshotFile} ${s.snapshotFile}.bad`,
        })
      }
      if (typeof snap.cursor === 'number' && Number.isFinite(snap.cursor)) s.cursor = snap.cursor
      else {
        // Older versions could save a non-finite cursor (written as null) after a malformed row.
        s.warnings.push(
          `the saved cursor in ${s.snapshotFile} is ${JSON.stringify(snap.cursor) ?? 'missing'}, not a row number; starting from the newest message (first-start rule)`,
        )
      }
      s.source = typeof snap.source === 'string' ? snap.source : undefined
      s.firstStartFence = typeof snap.firstStartFence === 'number' && Number.isFinite(snap.firstStartFence) ? snap.firstStartFence : undefined
      for (const g of snap.seen) s.seen.add(g)
      for (const p of snap.pending ?? []) s.pendingSends.set(p.inboundGuid, p)
    }
    let journal = ''
    try {
      journal = await fsp.readFile(s.journalFile, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
    for (const line of journal.split('\n')) {
      if (line.trim() === '') continue
      let rec: JournalRecord
      try {
        rec = JSON.parse(line) as JournalRecord
      } catch {
        continue // torn write from a crash: the record never became durable
      }
      s.apply(rec)
      s.journalLines++
    }
    s.trimSeen()
    // Start each run with a fresh snapshot so the journal only holds this run's records.
    await s.compact()
    return s
  }

  private apply(rec: JournalRecord): void {
    switch (rec.t) {
      case 'done': {
        if (rec.guid) this.seen.add(rec.guid)
        if (Number.isFinite(rec.cursor) && rec.cursor > this.cursor) this.cursor = rec.cursor
        break
      }
      case 'cursor': {
        if (Number.isFinite(rec.cursor) && rec.cursor > this.cursor) this.cursor = rec.cursor
        break
      }
      case 'pending': {
        this.pendingSends.set(rec.p.inboundGuid, rec.p)
        break
      }
      case 'chunk': {
        const p = this.pendingSends.get(rec.inboundGuid)
        if (p) p.sent = rec.sent
        break
      }
      case 'attempt': {
        const p = this.pendingSends.get(rec.inboundGuid)
        if (p) p.attempts = {...p.attempts, [String(rec.chunk)]: rec.attempt}
        break
      }
      case 'settled': {
        // Settling a reply also marks its inbound handled, in the same record: a crash right
        // after it can neither resend the reply nor answer the message again.
        this.pendingSends.delete(rec.inboundGuid)
        if (rec.inboundGuid) this.seen.add(rec.inboundGuid)
        break
      }
    }
  }

  private trimSeen(): void {
    if (this.seen.size <= this.maxSeen) return
    let excess = this.seen.size - this.maxSeen
    for (const g of this.seen) {
      if (excess-- <= 0) break
      this.seen.delete(g)
    }
  }

  has(guid: string): boolean {
    return guid !== '' && this.seen.has(guid)
  }

  /**
   * Journal keys starting with `prefix`, settled or still pending: the streamed blocks of one
   * inbound message (`<guid>#blocks:...`), so a turn run again after a crash skips them.
   */
  keysWithPrefix(prefix: string): string[] {
    const out: string[] = []
    for (const g of this.seen) if (g.startsWith(prefix)) out.push(g)
    for (const g of this.pendingSends.keys()) if (g.startsWith(prefix)) out.push(g)
    return out
  }

  get seenCount(): number {
    return this.seen.size
  }

  /** Sends started before a crash and never settled, oldest first. */
  pending(): PendingSend[] {
    return [...this.pendingSends.values()]
  }

  /** Marks a message handled and advances the cursor; durable when the promise resolves. */
  async markDone(guid: string, cursor: number): Promise<void> {
    // A non-finite cursor would be saved as null and make the state unreadable: keep the old one.
    if (!Number.isFinite(cursor)) cursor = this.cursor
    const rec: JournalRecord = {t: 'done', guid, cursor}
    this.apply(rec)
    this.trimSeen()
    await this.append(rec)
  }

  async setCursor(cursor: number): Promise<void> {
    if (!Number.isFinite(cursor) || cursor <= this.cursor) return
    const rec: JournalRecord = {t: 'cursor', cursor}
    this.apply(rec)
    await this.append(rec)
  }

  async beginSend(p: PendingSend): Promise<void> {
    const rec: JournalRecord = {t: 'pending', p: {...p, texts: [...p.texts]}}
    this.apply(rec)
    await this.append(rec)
  }

  async chunkSent(inboundGuid: string, sent: number): Promise<void> {
    const rec: JournalRecord = {t: 'chunk', inboundGuid, sent}
    this.apply(rec)
    await this.append(rec)
  }

  /** A chunk gets a new attempt_id (its previous attempt provably did not send it). Durable before the new attempt starts. */
  async nextAttempt(inboundGuid: string, chunk: number): Promise<number> {
    const p = this.pendingSends.get(inboundGuid)
    const attempt = (p?.attempts?.[String(chunk)] ?? 0) + 1
    if (!p) return attempt
    const rec: JournalRecord = {t: 'attempt', inboundGuid, chunk, attempt}
    this.apply(rec)
    await this.append(rec)
    return attempt
  }

  /** The journal entry of a send not yet settled. */
  pendingSend(inboundGuid: string): PendingSend | undefined {
    return this.pendingSends.get(inboundGuid)
  }

  /** The send is finished (sent, failed for good, or outcome unknown): forget it and mark the inbound handled. */
  async settleSend(inboundGuid: string): Promise<void> {
    if (!this.pendingSends.has(inboundGuid)) return
    const rec: JournalRecord = {t: 'settled', inboundGuid}
    this.apply(rec)
    await this.append(rec)
  }

  /** Group commit: records queued while a write+fsync runs go out together in the next one. */
  private append(rec: JournalRecord): Promise<void> {
    if (this.closed) return Promise.reject(new Error('account state is closed'))
    this.queue.push(JSON.stringify(rec))
    const p = new Promise<void>((resolve, reject) => this.waiters.push({resolve, reject}))
    if (!this.flushing) this.flushing = this.flushLoop()
    return p
  }

  private async flushLoop(): Promise<void> {
    // Yield first: append() assigns `flushing` after this returns, so a loop that failed without
    // awaiting (openSync error) would clear it before the assignment and leave it set for good.
    await Promise.resolve()
    try {
      while (this.queue.length > 0) {
        const lines = this.queue
        const waiters = this.waiters
        this.queue = []
        this.waiters = []
        try {
          if (this.fd === undefined) this.fd = fs.openSync(this.journalFile, 'a', 0o600)
          const data = lines.join('\n') + '\n'
          await new Promise<void>((resolve, reject) =>
            fs.write(this.fd!, data, null, 'utf8', (err) => (err ? reject(err) : resolve())),
          )
          await new Promise<void>((resolve, reject) => fs.fdatasync(this.fd!, (err) => (err ? reject(err) : resolve())))
          this.journalLines += lines.length
          for (const w of waiters) w.resolve()
        } catch (error) {
          for (const w of waiters) w.reject(error)
        }
        if (this.journalLines >= this.compactEvery && this.queue.length === 0) await this.compact()
      }
    } finally {
      this.flushing = undefined
    }
  }

  /** Rewrites the snapshot atomically, then truncates the journal. */
  async compact(): Promise<void> {
    const snap: Snapshot = {
      version: 1,
      cursor: this.cursor,
      source: this.source,
      firstStartFence: this.firstStartFence,
      seen: [...this.seen],
      pending: this.pending(),
    }
    await writeFileAtomic600(this.snapshotFile, JSON.stringify(snap))
    if (this.fd !== undefined) {
      fs.closeSync(this.fd)
      this.fd = undefined
    }
    await fsp.writeFile(this.journalFile, '', {mode: 0o600})
    await fsp.chmod(this.journalFile, 0o600)
    this.journalLines = 0
  }

  /** Waits for queued records, writes a final snapshot and closes the journal. */
  async close(): Promise<void> {
    if (this.closed) return
    while (this.flushing) await this.flushing
    this.closed = true
    await this.compact()
    if (this.fd !== undefined) {
      fs.closeSync(this.fd)
      this.fd = undefined
    }
  }
}
