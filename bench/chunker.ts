/**
 * bench/chunker: time to chunk one long reply (textChunkLimit 4000) in both chunk modes, for
 * inputs of 10 KB to 1 MB of three kinds: prose (words, newlines, some emoji), one line without
 * spaces (hard cuts), and emoji/Han/combining marks (no ASCII to anchor a boundary on).
 *
 *   npx tsx bench/chunker.ts [--limit 4000] [--rounds 3] [--json]
 *   npm run bench:chunker
 *
 * Prints the median of the rounds per input; before the linear chunker (Node 20) 80 KB of prose
 * took over a minute, 160 KB 13-25 s.
 */
import {chunkText, type ChunkMode} from '../src/lib/outbound/chunker.js'

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : def
}
const LIMIT = Number(arg('limit', '4000'))
const ROUNDS = Number(arg('rounds', '3'))
const JSON_OUT = process.argv.includes('--json')

const KINDS: Record<string, string> = {
  prose: 'The gateway answered the message in 150 ms; 👍 then it went on.\nSecond line, a little longer than the first one.\n\n',
  'one line': 'x'.repeat(997) + 'ß\u0301',
  'emoji+Han': '👨‍👩‍👧‍👦🇫🇷中文字e\u0301👍🏽漢字かなカナ한국어',
}
const SIZES_KB = [10, 100, 320, 1024]

function build(unit: string, bytes: number): string {
  return unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes)
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

const rows: Array<{kind: string; kb: number; mode: ChunkMode; chunks: number; ms: number; mbPerS: number}> = []
for (const [kind, unit] of Object.entries(KINDS)) {
  for (const kb of SIZES_KB) {
    const text = build(unit, kb * 1024)
    for (const mode of ['length', 'newline'] as const) {
      const times: number[] = []
      let chunks = 0
      for (let r = 0; r < ROUNDS; r++) {
        const t0 = performance.now()
        chunks = chunkText(text, {limit: LIMIT, mode}).length
        times.push(performance.now() - t0)
      }
      const ms = median(times)
      rows.push({kind, kb, mode, chunks, ms: Math.round(ms * 10) / 10, mbPerS: Math.round((text.length / 1e6 / (ms / 1000)) * 10) / 10})
    }
  }
}

if (JSON_OUT) {
  console.log(JSON.stringify({node: process.version, limit: LIMIT, rounds: ROUNDS, rows}, null, 2))
} else {
  console.log(`chunker, textChunkLimit ${LIMIT}, median of ${ROUNDS} rounds, Node ${process.version}`)
  console.log(['input'.padEnd(12), 'size'.padStart(8), 'mode'.padEnd(8), 'chunks'.padStart(7), 'ms'.padStart(9), 'M units/s'.padStart(10)].join('  '))
  for (const r of rows) {
    console.log([r.kind.padEnd(12), `${r.kb} KB`.padStart(8), r.mode.padEnd(8), String(r.chunks).padStart(7), r.ms.toFixed(1).padStart(9), r.mbPerS.toFixed(1).padStart(10)].join('  '))
  }
}
