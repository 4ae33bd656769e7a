/**
 * Splits a byte stream into lines as it arrives, linearly: each chunk is scanned once for
 * newlines and only the unfinished tail is kept. A line longer than `maxLineBytes` is skipped
 * (reported once through onOversize) instead of growing without bound.
 */
export class LineSplitter {
  private parts: Buffer[] = []
  private size = 0
  private skipping = false

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly opts: {maxLineBytes: number; onOversize?: (bytes: number) => void},
  ) {}

  push(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    let start = 0
    for (;;) {
      const nl = buf.indexOf(10, start)
      if (nl === -1) {
        this.keep(buf.subarray(start))
        return
      }
      this.keep(buf.subarray(start, nl))
      this.emit()
      start = nl + 1
    }
  }

  /** The last line when the stream ended without a newline. */
  end(): void {
    if (this.size > 0 || this.skipping) this.emit()
  }

  private keep(b: Buffer): void {
    if (b.length === 0 || this.skipping) return
    if (this.size + b.length > this.opts.maxLineBytes) {
      this.skipping = true
      this.opts.onOversize?.(this.size + b.length)
      this.parts = []
      this.size = 0
      return
    }
    this.parts.push(b)
    this.size += b.length
  }

  private emit(): void {
    const skipped = this.skipping
    const line = this.parts.length === 1 ? this.parts[0]!.toString('utf8') : Buffer.concat(this.parts, this.size).toString('utf8')
    this.parts = []
    this.size = 0
    this.skipping = false
    if (!skipped) this.onLine(line)
  }
}

/** A JSON object from one stdout line, or undefined for blank lines, non-JSON text and non-objects. */
export function parseJsonLine(line: string): Record<string, unknown> | undefined {
  const t = line.trim()
  if (!t.startsWith('{')) return undefined
  try {
    const v = JSON.parse(t) as unknown
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
