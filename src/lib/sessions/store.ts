import {randomUUID} from 'node:crypto'
import path from 'node:path'
import {z} from 'zod'
import type {Context} from '../context.js'
import {RemoteclawError} from '../errors.js'
import {readIfExists, withFileLock, writeFileAtomic600} from '../util/files.js'

/**
 * Agent sessions, one record per session key, in <stateDir>/sessions/sessions.json (0600, in a
 * 0700 folder). Every change is a read-modify-write under a cross-process lock and an atomic
 * replace, like the config file, so the gateway and `remoteclaw sessions reset` running at once
 * never lose each other's writes. Reads take no lock (a rename is atomic).
 *
 * A file that exists but cannot be read or parsed is an error, never an empty store: an empty
 * store would silently start every conversation over.
 */
export interface SessionRecord {
  key: string
  agentId: string
  runtime: string
  /** The agent CLI's own session (thread) id; absent for runtimes without one. */
  sessionId?: string
  /** The agent's working directory when the session began (a change starts fresh). */
  cwd: string
  /** The account of the last turn. */
  accountId: string
  /** ms since the epoch */
  createdAt: number
  lastUsedAt: number
  /** Turns answered in this session. */
  turns: number
  /**
   * Changes whenever the session starts over, so a turn that was running while the session was
   * reset does not write the old conversation back.
   */
  epoch: string
}

const recordSchema = z.object({
  key: z.string(),
  agentId: z.string(),
  runtime: z.string(),
  sessionId: z.string().optional(),
  cwd: z.string(),
  accountId: z.string(),
  createdAt: z.number(),
  lastUsedAt: z.number(),
  turns: z.number().int().min(0),
  epoch: z.string(),
})
const fileSchema = z.object({version: z.literal(1), sessions: z.record(z.string(), recordSchema)})
type SessionFile = z.infer<typeof fileSchema>

export type SessionStoreContext = Pick<Context, 'stateDir'>

export function sessionsFile(stateDir: string): string {
  return path.join(stateDir, 'sessions', 'sessions.json')
}

export function newEpoch(): string {
  return randomUUID()
}

export class SessionStore {
  readonly file: string

  constructor(ctx: SessionStoreContext) {
    this.file = sessionsFile(ctx.stateDir)
  }

  private async read(): Promise<SessionFile> {
    let text: string | undefined
    try {
      text = await readIfExists(this.file)
    } catch (error) {
      throw this.unreadable((error as Error).message)
    }
    if (text === undefined || text.trim() === '') return {version: 1, sessions: {}}
    let data: unknown
    try {
      data = JSON.parse(text)
    } catch (error) {
      throw this.unreadable(`not JSON (${(error as Error).message})`)
    }
    const parsed = fileSchema.safeParse(data)
    if (!parsed.success) throw this.unreadable(parsed.error.issues[0]?.message ?? 'unexpected content')
    return parsed.data
  }

  private unreadable(why: string): RemoteclawError {
    return new RemoteclawError(`the session store ${this.file} is unreadable: ${why}`, {
      code: 'sessions_unreadable',
      fix: `Move it aside (every conversation then starts fresh): mv ${this.file} ${this.file}.broken`,
    })
  }

  async get(key: string): Promise<SessionRecord | undefined> {
    return (await this.read()).sessions[key]
  }

  /** Every record, oldest first by last use. */
  async list(): Promise<SessionRecord[]> {
    return Object.values((await this.read()).sessions).sort((a, b) => a.lastUsedAt - b.lastUsedAt)
  }

  /**
   * Changes one record under the lock: `fn` gets the current record (undefined when none) and
   * returns the new one, null to delete it, or undefined to leave the file alone.
   */
  async update(key: string, fn: (current: SessionRecord | undefined) => SessionRecord | null | undefined): Promise<SessionRecord | undefined> {
    return withFileLock(this.file, async () => {
      const doc = await this.read()
      const next = fn(doc.sessions[key])
      if (next === undefined) return doc.sessions[key]
      if (next === null) {
        if (!(key in doc.sessions)) return undefined
        delete doc.sessions[key]
      } else doc.sessions[key] = next
      await writeFileAtomic600(this.file, JSON.stringify(doc, null, 2) + '\n')
      return next ?? undefined
    })
  }

  /** Removes records (all when `keys` is undefined); returns the keys removed. */
  async remove(keys?: string[]): Promise<string[]> {
    return withFileLock(this.file, async () => {
      const doc = await this.read()
      const removed = (keys ?? Object.keys(doc.sessions)).filter((k) => k in doc.sessions)
      if (removed.length === 0) return removed
      for (const k of removed) delete doc.sessions[k]
      await writeFileAtomic600(this.file, JSON.stringify(doc, null, 2) + '\n')
      return removed
    })
  }
}
