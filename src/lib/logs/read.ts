import fs from 'node:fs'
import fsp from 'node:fs/promises'
import {UsageError} from '../errors.js'
import {formatText, isLogLevel, levelAtLeast, parseJsonLine, type LogLevel, type LogRecord} from '../log.js'

/** What `remoteclaw logs` selects. Every field narrows; none set selects every line. */
export interface LogFilter {
  /** Epoch ms: only lines at or after it. */
  since?: number
  /** Minimum level. */
  level?: LogLevel
  /** Lines about this account (scope imessage:<id>, or an accountId field). */
  account?: string
  /** Case-insensitive text anywhere in the human line. */
  grep?: string
}

const UNIT_MS: Record<string, number> = {s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000}

/** `--since`: a duration back from now (90s, 10m, 2h, 1d, 1h30m) or an ISO date/time. */
export function parseSince(value: string, now: number): number {
  const v = value.trim()
  if (/^(\d+[smhdw])+$/.test(v)) {
    let ms = 0
    for (const m of v.matchAll(/(\d+)([smhdw])/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!
    return now - ms
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(v)) {
    const t = Date.parse(v)
    if (Number.isFinite(t)) return t
  }
  throw new UsageError(`--since ${JSON.stringify(value)} is neither a duration nor a date`, {fix: 'Use a duration such as 30s, 10m, 2h, 1d or 1h30m, or an ISO time such as 2026-12-04T09:00:00Z.'})
}

export function parseLevel(value: string): LogLevel {
  const v = value.toLowerCase()
  if (isLogLevel(v)) return v
  throw new UsageError(`--level ${JSON.stringify(value)} is not a log level`, {fix: 'Use one of: debug, info, warn, error.'})
}

function aboutAccount(r: LogRecord, id: string): boolean {
  const s = r.scope ?? ''
  if (s === `imessage:${id}` || s.startsWith(`imessage:${id}:`)) return true
  return r.fields.accountId === id || r.fields.account === id
}

/** Whether a raw line passes the filter. A line that is not a log record passes only an empty filter (or a matching --grep). */
export function matches(line: string, f: LogFilter): {ok: boolean; record?: LogRecord} {
  const r = parseJsonLine(line)
  if (!r) {
    if (f.since !== undefined || f.level || f.account) return {ok: false}
    return {ok: f.grep ? line.toLowerCase().includes(f.grep.toLowerCase()) : line.trim() !== ''}
  }
  if (f.since !== undefined) {
    const t = Date.parse(r.time)
    if (!Number.isFinite(t) || t < f.since) return {ok: false, record: r}
  }
  if (f.level && !levelAtLeast(r.level, f.level)) return {ok: false, record: r}
  if (f.account && !aboutAccount(r, f.account)) return {ok: false, record: r}
  if (f.grep && !formatText(r).toLowerCase().includes(f.grep.toLowerCase())) return {ok: false, record: r}
  return {ok: true, record: r}
}

/** The human (or, with json, the raw) rendering of a selected line. */
export function renderLine(line: string, record: LogRecord | undefined, opts: {json?: boolean; color?: boolean}): string {
  if (opts.json || !record) return line
  return formatText(record, {color: opts.color})
}

/**
 * The last `limit` matching lines across the files (oldest first), reading the newest file first
 * and stopping once enough are found. limit undefined: every matching line.
 */
export async function readLastLines(files: string[], filter: LogFilter, limit?: number): Promise<Array<{line: string; record?: LogRecord}>> {
  const picked: Array<{line: string; record?: LogRecord}> = []
  for (let i = files.length - 1; i >= 0; i--) {
    let text: string
    try {
      text = await fsp.readFile(files[i]!, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue // rotated away meanwhile
      throw error
    }
    const lines = text.split('\n')
    if (lines.at(-1) === '') lines.pop()
    const fromFile: Array<{line: string; record?: LogRecord}> = []
    for (let j = lines.length - 1; j >= 0; j--) {
      const m = matches(lines[j]!, filter)
      if (m.ok) fromFile.push({line: lines[j]!, record: m.record})
      if (limit !== undefined && picked.length + fromFile.length >= limit) break
    }
    picked.push(...fromFile)
    if (limit !== undefined && picked.length >= limit) break
  }
  return picked.reverse()
}

/**
 * Follows a log file like `tail -F`: polls for new lines, and when the file is rotated (renamed
 * away and recreated) finishes the old one and continues with the new one from its start.
 */
export class LogFollower {
  private fd: number | undefined
  private ino: number | undefined
  private pos = 0
  private partial = ''
  private timer: NodeJS.Timeout | undefined
  private busy = false

  constructor(
    private readonly file: string,
    private readonly onLine: (line: string) => void,
    private readonly intervalMs = 250,
    private readonly maxRotated = 30,
  ) {}

  /** Starts at the end of the current file (lines already shown are not repeated). */
  start(fromStart = false): void {
    this.open(fromStart ? 'start' : 'end')
    this.timer = setInterval(() => this.poll(), this.intervalMs)
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.drain()
    if (this.partial) this.onLine(this.partial)
    this.partial = ''
    this.close()
  }

  private open(at: 'start' | 'end'): boolean {
    try {
      const fd = fs.openSync(this.file, 'r')
      const st = fs.fstatSync(fd)
      this.fd = fd
      this.ino = st.ino
      this.pos = at === 'end' ? st.size : 0
      return true
    } catch {
      return false
    }
  }

  private close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd)
    this.fd = undefined
    this.ino = undefined
  }

  private drain(): void {
    if (this.fd === undefined) return
    const buf = Buffer.alloc(64 * 1024)
    for (;;) {
      const n = fs.readSync(this.fd, buf, 0, buf.length, this.pos)
      if (n <= 0) break
      this.pos += n
      this.partial += buf.subarray(0, n).toString('utf8')
    }
    let i: number
    while ((i = this.partial.indexOf('\n')) >= 0) {
      const line = this.partial.slice(0, i)
      this.partial = this.partial.slice(i + 1)
      this.onLine(line)
    }
  }

  private flushPartial(): void {
    if (this.partial) this.onLine(this.partial)
    this.partial = ''
  }

  /** Rotated files newer than the one with inode `ino` (gateway.log.K-1 ... .1 when ours is now .K), oldest first. */
  private newerRotated(ino: number | undefined): string[] {
    const files: string[] = []
    for (let i = 1; i <= this.maxRotated; i++) {
      const f = `${this.file}.${i}`
      let st: fs.Stats
      try {
        st = fs.statSync(f)
      } catch {
        break
      }
      if (st.ino === ino) break
      files.push(f)
    }
    return files.reverse()
  }

  private readWhole(file: string): void {
    try {
      const text = fs.readFileSync(file, 'utf8')
      for (const line of text.split('\n')) if (line !== '') this.onLine(line)
    } catch {
      // rotated away meanwhile
    }
  }

  private poll(): void {
    if (this.busy) return
    this.busy = true
    try {
      if (this.fd === undefined) {
        // not created yet, or between a rotation's rename and the new file
        if (this.open('start')) this.drain()
        return
      }
      this.drain()
      let st: fs.Stats | undefined
      try {
        st = fs.statSync(this.file)
      } catch {
        return // renamed away, the new file is not there yet: keep the old one until it is
      }
      if (st.ino !== this.ino) {
        // rotated: the old file is complete (the writer closed it before renaming)
        this.drain()
        this.flushPartial()
        const old = this.ino
        this.close()
        // Rotated more than once since the last poll: the files between ours and the new one.
        for (const f of this.newerRotated(old)) this.readWhole(f)
        if (this.open('start')) this.drain()
      } else if (st.size < this.pos) {
        // truncated in place
        this.pos = 0
        this.partial = ''
        this.drain()
      }
    } finally {
      this.busy = false
    }
  }
}
