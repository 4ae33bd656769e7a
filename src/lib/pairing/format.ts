function unit(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

/** "57 minutes", "30 seconds", "2 hours": a duration, rounded down to its largest unit. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 60) return unit(s, 'second')
  const m = Math.floor(s / 60)
  if (m < 60) return unit(m, 'minute')
  const h = Math.floor(m / 60)
  if (h < 48) return unit(h, 'hour')
  return unit(Math.floor(h / 24), 'day')
}

/** "3 minutes ago", or "just now" under 10 seconds. */
export function formatAgo(ms: number): string {
  return ms < 10_000 ? 'just now' : `${formatDuration(ms)} ago`
}

/** Plain fixed-width table for human output. */
export function table(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(headers), ...rows.map(line)]
}
