import path from 'node:path'
import {RemoteclawError} from '../errors.js'
import {readIfExists, withFileLock, writeFileAtomic600} from '../util/files.js'
import type {ChatScope} from './types.js'

/**
 * pending -> firing -> sent | failed | unknown, or pending -> cancelled | dropped. "firing" is
 * written before the send starts, so a crash mid-send is found on the next start and reconciled
 * instead of being sent again blind.
 */
export type ScheduleStatus = 'pending' | 'firing' | 'sent' | 'cancelled' | 'dropped' | 'failed' | 'unknown'

/** A schedule carries its own record of where it goes; it outlives the turn (and its token). */
export interface ScheduleRecord {
  id: string
  accountId: string
  agentId: string
  sessionKey: string
  chat: ChatScope
  text: string
  /** When it was asked for (ms since the epoch); quiet hours may hold it later. */
  dueAt: number
  createdAt: number
  status: ScheduleStatus
  firingAt?: number
  settledAt?: number
  /** Why it ended the way it did (cancelled by whom, drop reason, send error). */
  detail?: string
}

interface StoreFile {
  version: 1
  schedules: ScheduleRecord[]
}

/** Settled records are kept this long for `schedule list --all`, then pruned. */
const KEEP_SETTLED_MS = 7 * 24 * 3600_000

export function schedulesFile(stateDir: string): string {
  return path.join(stateDir, 'schedules.json')
}

export function isOpen(r: ScheduleRecord): boolean {
  return r.status === 'pending' || r.status === 'firing'
}

/**
 * The schedules of a state dir: one 0600 JSON file, every change read-modify-written under the
 * file lock (the gateway and `remoteclaw schedule cancel` may run at once) and written atomically.
 */
export class ScheduleStore {
  readonly file: string

  constructor(
    stateDir: string,
    private readonly now: () => number,
  ) {
    this.file = schedulesFile(stateDir)
  }

  private async read(): Promise<StoreFile> {
    const text = await readIfExists(this.file)
    if (text === undefined || text.trim() === '') return {version: 1, schedules: []}
    let doc: unknown
    try {
      doc = JSON.parse(text)
    } catch (error) {
      throw new RemoteclawError(`the schedules file ${this.file} is not valid JSON (${(error as Error).message})`, {
        code: 'schedules_corrupt',
        fix: `Move it aside to start with no schedules: mv ${this.file} ${this.file}.bad`,
      })
    }
    const d = doc as Partial<StoreFile>
    if (!d || typeof d !== 'object' || !Array.isArray(d.schedules)) {
      throw new RemoteclawError(`the schedules file ${this.file} has an unknown layout`, {
        code: 'schedules_corrupt',
        fix: `Move it aside to start with no schedules: mv ${this.file} ${this.file}.bad`,
      })
    }
    return {version: 1, schedules: d.schedules}
  }

  private async update<T>(fn: (doc: StoreFile) => T): Promise<T> {
    return withFileLock(this.file, async () => {
      const doc = await this.read()
      const out = fn(doc)
      const cutoff = this.now() - KEEP_SETTLED_MS
      doc.schedules = doc.schedules.filter((r) => isOpen(r) || (r.settledAt ?? r.createdAt) >= cutoff)
      await writeFileAtomic600(this.file, JSON.stringify(doc, null, 2) + '\n')
      return out
    })
  }

  /** Every record, open ones first by due time. */
  async list(): Promise<ScheduleRecord[]> {
    const doc = await this.read()
    return doc.schedules.sort((a, b) => Number(isOpen(b)) - Number(isOpen(a)) || a.dueAt - b.dueAt)
  }

  async get(id: string): Promise<ScheduleRecord | undefined> {
    return (await this.read()).schedules.find((r) => r.id === id)
  }

  /**
   * Adds a record built by `make` from a fresh id. `check` sees the open records first and may
   * throw (a per-chat cap), all under the lock so two turns cannot both pass it.
   */
  async add(make: (id: string) => ScheduleRecord, newId: () => string, check?: (open: ScheduleRecord[]) => void): Promise<ScheduleRecord> {
    return this.update((doc) => {
      check?.(doc.schedules.filter(isOpen))
      let id = newId()
      while (doc.schedules.some((r) => r.id === id)) id = newId()
      const rec = make(id)
      doc.schedules.push(rec)
      return rec
    })
  }

  /**
   * Cancels a pending record when `allow` accepts it. Undefined when there is no such id (or
   * `allow` refuses it); otherwise the record as it is now and whether this call cancelled it (a
   * record already firing or settled is left as it is).
   */
  async cancel(
    id: string,
    detail: string,
    allow: (r: ScheduleRecord) => boolean = () => true,
  ): Promise<{record: ScheduleRecord; cancelled: boolean} | undefined> {
    return this.update((doc) => {
      const r = doc.schedules.find((x) => x.id === id)
      if (!r || !allow(r)) return undefined
      if (r.status !== 'pending') return {record: {...r}, cancelled: false}
      r.status = 'cancelled'
      r.settledAt = this.now()
      r.detail = detail
      return {record: {...r}, cancelled: true}
    })
  }

  /** pending -> firing, only if it is still pending (not cancelled meanwhile). */
  async claim(id: string): Promise<ScheduleRecord | undefined> {
    return this.update((doc) => {
      const r = doc.schedules.find((x) => x.id === id)
      if (!r || r.status !== 'pending') return undefined
      r.status = 'firing'
      r.firingAt = this.now()
      return {...r}
    })
  }

  /** firing -> pending (reconciled as not sent). */
  async release(id: string): Promise<void> {
    await this.update((doc) => {
      const r = doc.schedules.find((x) => x.id === id)
      if (r && r.status === 'firing') {
        r.status = 'pending'
        delete r.firingAt
      }
    })
  }

  async settle(id: string, status: Exclude<ScheduleStatus, 'pending' | 'firing'>, detail?: string): Promise<void> {
    await this.update((doc) => {
      const r = doc.schedules.find((x) => x.id === id)
      if (!r) return
      r.status = status
      r.settledAt = this.now()
      if (detail !== undefined) r.detail = detail
      else delete r.detail
    })
  }
}
