/**
 * bench/imsg-lines: CPU cost of framing one very long line from imsg (a message notification
 * with a huge text), fed in 64 KiB chunks as a pipe delivers it. "before" is the framing the
 * client used until issue 10 (append each chunk to one string, search it from the start:
 * quadratic); "after" is LineFramer (linear), once without a limit and once with the client's
 * MAX_LINE_CHARS (16 MiB), above which the line is skipped as it streams.
 *
 *   npx tsx bench/imsg-lines.ts [--sizes 1,10,20,40] [--before-max 10]
 *
 * The quadratic "before" runs only up to --before-max MB (it takes minutes above that).
 *
 * Prints ms per size and the heap growth (MB) while framing.
 */
import {MAX_LINE_CHARS} from '../src/lib/imsg/client.js'
import {LineFramer} from '../src/lib/imsg/line-framer.js'

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : def
}
const SIZES = arg('sizes', '1,10,20,40').split(',').map(Number)
const BEFORE_MAX = Number(arg('before-max', '10'))
const CHUNK = 64 * 1024

/** The pre-fix framing (ImsgClient.onStdout before issue 10). */
function framerBefore(onLine: (l: string) => void): (chunk: string) => void {
  let buf = ''
  return (chunk) => {
    buf += chunk
    let nl: number
    while ((nl = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      onLine(line)
    }
  }
}

function chunksOf(mb: number): string[] {
  const text = 'x'.repeat(mb * 1024 * 1024)
  const line = JSON.stringify({jsonrpc: '2.0', method: 'message', params: {subscription: 1, message: {id: 1, text}}}) + '\n'
  const out: string[] = []
  for (let i = 0; i < line.length; i += CHUNK) out.push(line.slice(i, i + CHUNK))
  return out
}

function run(push: (chunk: string) => void, chunks: string[]): {ms: number; heapMb: number} {
  globalThis.gc?.()
  const heap0 = process.memoryUsage().heapUsed
  const t0 = performance.now()
  let peak = heap0
  for (let i = 0; i < chunks.length; i++) {
    push(chunks[i]!)
    if (i % 64 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed)
  }
  return {ms: performance.now() - t0, heapMb: (Math.max(peak, process.memoryUsage().heapUsed) - heap0) / 1048576}
}

const rows: string[][] = [['line MB', 'before ms', 'after (no limit) ms', 'after (16 MiB limit) ms', 'limit outcome']]
for (const mb of SIZES) {
  const chunks = chunksOf(mb)
  let got = 0
  const before = mb > BEFORE_MAX ? undefined : run(framerBefore((l) => (got = l.length)), chunks)
  const f1 = new LineFramer(Number.POSITIVE_INFINITY, (l) => (got = l.length), () => {})
  const unlimited = run((c) => f1.push(c), chunks)
  let skipped = 0
  const f2 = new LineFramer(MAX_LINE_CHARS, (l) => (got = l.length), (n) => (skipped = n))
  const limited = run((c) => f2.push(c), chunks)
  rows.push([
    String(mb),
    before ? `${before.ms.toFixed(0)} (+${before.heapMb.toFixed(0)} MB heap)` : '-',
    `${unlimited.ms.toFixed(0)} (+${unlimited.heapMb.toFixed(0)} MB)`,
    `${limited.ms.toFixed(0)} (+${limited.heapMb.toFixed(0)} MB)`,
    skipped > 0 ? `skipped (${(skipped / 1048576).toFixed(1)} MiB)` : `delivered (${(got / 1048576).toFixed(1)} MiB)`,
  ])
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '))
