/**
 * Splits a child's output into lines in linear time. Appending each chunk to one string and
 * searching it from the start made one long line quadratic (a 40 MB message text: 9.5 s of CPU
 * that held up every other chat); here a partial line is kept as a list of pieces and only each
 * new chunk is searched. A line longer than `maxChars` is discarded as it streams (memory stays
 * bounded) and reported once at its end.
 */
export class LineFramer {
  private parts: string[] = []
  private len = 0
  /** Characters of the current oversized line seen so far; -1 while the line is within bounds. */
  private skipped = -1

  constructor(
    private readonly maxChars: number,
    private readonly onLine: (line: string) => void,
    private readonly onOversize: (chars: number) => void,
  ) {}

  push(chunk: string): void {
    let start = 0
    for (;;) {
      const nl = chunk.indexOf('\n', start)
      if (nl === -1) {
        this.append(start === 0 ? chunk : chunk.slice(start))
        return
      }
      this.append(chunk.slice(start, nl))
      start = nl + 1
      if (this.skipped >= 0) {
        const n = this.skipped
        this.skipped = -1
        this.onOversize(n)
        continue
      }
      const line = this.parts.length === 1 ? this.parts[0]! : this.parts.join('')
      this.parts = []
      this.len = 0
      this.onLine(line)
    }
  }

  private append(piece: string): void {
    if (this.skipped >= 0) {
      this.skipped += piece.length
      return
    }
    if (this.len + piece.length > this.maxChars) {
      this.skipped = this.len + piece.length
      this.parts = []
      this.len = 0
      return
    }
    this.parts.push(piece)
    this.len += piece.length
  }

  /** The partial last line (not ending in a newline), '' while an oversized one is being skipped. */
  rest(): string {
    return this.skipped >= 0 ? '' : this.parts.join('')
  }

  /** Returns the partial last line and forgets it (the stream ended). */
  takeRest(): string {
    const r = this.rest()
    this.parts = []
    this.len = 0
    this.skipped = -1
    return r
  }
}
