/**
 * bench/rpc: request throughput and p50/p99 round-trip latency of ImsgClient against the imsg
 * simulator, next to the floor: the same newline-delimited JSON round trips over a plain
 * child-process pipe to the same simulator. Goal: the client adds at most 25% over the floor.
 *
 *   npx tsx bench/rpc.ts [--requests 2000] [--rounds 3] [--version 0.9.0] [--json]
 *   npm run bench:rpc
 *
 * Needs the built simulator (npm run build). Prints a table; --json prints the figures.
 */
import {spawn, spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {ImsgClient} from '../src/lib/imsg/client.js'
import {createLogger} from '../src/lib/log.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const SIM = path.join(ROOT, 'bin', 'imsg-sim')

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : def
}
const N = Number(arg('requests', '2000'))
const ROUNDS = Number(arg('rounds', '3'))
const VERSION = arg('version', '0.9.0')
const CONCURRENCY = Number(arg('concurrency', '32'))
const JSON_OUT = process.argv.includes('--json')
const METHOD = 'chats.list'
const PARAMS = {limit: 1}

interface Run {
  reqPerSec: number
  p50: number
  p99: number
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/** Throughput is the median over batches (robust to a stall caused by other load on the machine). */
function summarize(lat: number[], rates: number[]): Run {
  const s = [...lat].sort((a, b) => a - b)
  const r = [...rates].sort((a, b) => a - b)
  return {reqPerSec: percentile(r, 50), p50: percentile(s, 50), p99: percentile(s, 99)}
}

interface Impl {
  one: () => Promise<void>
  close: () => Promise<void>
}

/** The floor: a plain pipe, one JSON line out, one line back, matched by id. */
function floorImpl(db: string): Impl {
  const child = spawn(SIM, ['rpc', '--db', db], {stdio: ['pipe', 'pipe', 'ignore'], env: {...process.env, IMSG_SIM_VERSION: VERSION}})
  const waiting = new Map<number, (err?: Error) => void>()
  let buf = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    buf += chunk
    let nl: number
    while ((nl = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      const id = (JSON.parse(line) as {id: number}).id
      waiting.get(id)?.()
      waiting.delete(id)
    }
  })
  let next = 1
  let exited = false
  child.once('exit', (code, signal) => {
    exited = true
    for (const [id, done] of waiting) {
      waiting.delete(id)
      done(new Error(`floor: imsg-sim exited (${code ?? signal}) with request ${id} unanswered`))
    }
  })
  return {
    one: () =>
      new Promise<void>((resolve, reject) => {
        const id = next++
        // Same 10 s limit as the client's default, so a lost answer fails the bench instead of hanging it.
        const timer = setTimeout(() => {
          waiting.delete(id)
          reject(new Error(`floor: no answer to request ${id} within 10 s`))
        }, 10_000)
        waiting.set(id, (err?: Error) => {
          clearTimeout(timer)
          if (err) reject(err)
          else resolve()
        })
        child.stdin.write(JSON.stringify({jsonrpc: '2.0', id, method: METHOD, params: PARAMS}) + '\n')
      }),
    close: async () => {
      if (exited) return
      const gone = new Promise((resolve) => child.once('exit', resolve))
      child.stdin.end()
      const t = setTimeout(() => child.kill('SIGKILL'), 5000)
      await gone
      clearTimeout(t)
    },
  }
}

function clientImpl(db: string): Impl {
  const c = ImsgClient.spawn({cliPath: SIM, dbPath: db, env: {IMSG_SIM_VERSION: VERSION}, log: createLogger({level: 'error'})})
  return {
    one: () => c.chatsList(PARAMS).then(() => undefined),
    close: async () => {
      await c.close()
    },
  }
}

/** n requests with `concurrency` in flight; latency from send to answer. Returns latencies and elapsed ms. */
async function batch(one: () => Promise<void>, n: number, concurrency: number): Promise<{lat: number[]; ms: number}> {
  const lat: number[] = []
  let issued = 0
  const t0 = performance.now()
  const worker = async () => {
    while (issued < n) {
      issued++
      const s = performance.now()
      await one()
      lat.push(performance.now() - s)
    }
  }
  await Promise.all(Array.from({length: Math.min(concurrency, n)}, worker))
  return {lat, ms: performance.now() - t0}
}

/**
 * Both sides run in alternating batches of 100 (which side goes first alternates too), so load
 * from other processes on the machine hits floor and client alike.
 */
async function compare(db: string, n: number, concurrency: number): Promise<{floor: Run; client: Run}> {
  const f = floorImpl(db)
  const c = clientImpl(db)
  if (process.env.BENCH_DEBUG) console.error(`compare n=${n} concurrency=${concurrency}`)
  await batch(f.one, 200, concurrency) // warm-up
  await batch(c.one, 200, concurrency)
  const acc = {floor: {lat: [] as number[], rates: [] as number[]}, client: {lat: [] as number[], rates: [] as number[]}}
  const size = Math.max(concurrency * 4, 100)
  for (let done = 0, i = 0; done < n; done += size, i++) {
    const k = Math.min(size, n - done)
    const order: Array<['floor' | 'client', Impl]> = i % 2 === 0 ? [['floor', f], ['client', c]] : [['client', c], ['floor', f]]
    for (const [name, impl] of order) {
      if (process.env.BENCH_DEBUG) console.error(`batch ${i} ${name}`)
      const r = await batch(impl.one, k, concurrency)
      acc[name].lat.push(...r.lat)
      acc[name].rates.push((k / r.ms) * 1000)
    }
  }
  if (process.env.BENCH_DEBUG) console.error('closing')
  await f.close()
  await c.close()
  return {floor: summarize(acc.floor.lat, acc.floor.rates), client: summarize(acc.client.lat, acc.client.rates)}
}

function median(runs: Run[]): Run {
  const pick = (k: keyof Run) => {
    const v = runs.map((r) => r[k]).sort((a, b) => a - b)
    return v[Math.floor(v.length / 2)]!
  }
  return {reqPerSec: pick('reqPerSec'), p50: pick('p50'), p99: pick('p99')}
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'sim', 'main.js'))) {
    console.error('bench/rpc needs the built simulator: run npm run build first')
    process.exit(1)
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-bench-rpc-'))
  const db = path.join(dir, 'chat.db')
  spawnSync(SIM, ['inject', '--db', db, '--from', '+15551234567', '--text', 'hello'], {stdio: 'ignore'})
  const results: Record<string, {floor: Run; client: Run; overheadP50Pct: number; overheadThroughputPct: number}> = {}
  try {
    for (const [mode, conc] of [
      ['sequential', 1],
      [`pipelined x${CONCURRENCY}`, CONCURRENCY],
    ] as const) {
      const f: Run[] = []
      const c: Run[] = []
      for (let r = 0; r < ROUNDS; r++) {
        const x = await compare(db, N, conc)
        f.push(x.floor)
        c.push(x.client)
      }
      const fm = median(f)
      const cm = median(c)
      results[mode] = {
        floor: fm,
        client: cm,
        overheadP50Pct: ((cm.p50 - fm.p50) / fm.p50) * 100,
        overheadThroughputPct: ((fm.reqPerSec - cm.reqPerSec) / fm.reqPerSec) * 100,
      }
    }
  } finally {
    fs.rmSync(dir, {recursive: true, force: true})
  }
  if (JSON_OUT) {
    console.log(JSON.stringify({method: METHOD, params: PARAMS, requests: N, rounds: ROUNDS, imsgVersion: VERSION, node: process.version, results}, null, 2))
    return
  }
  const f2 = (x: number) => x.toFixed(3)
  console.log(`imsg rpc round trips: ${METHOD} ${JSON.stringify(PARAMS)} against imsg-sim ${VERSION}, ${N} requests, median of ${ROUNDS} rounds, Node ${process.version}`)
  console.log('mode              impl     req/s    p50 ms   p99 ms   client overhead')
  for (const [mode, r] of Object.entries(results)) {
    console.log(`${mode.padEnd(18)}floor   ${r.floor.reqPerSec.toFixed(0).padStart(7)}  ${f2(r.floor.p50).padStart(7)}  ${f2(r.floor.p99).padStart(7)}`)
    console.log(
      `${''.padEnd(18)}client  ${r.client.reqPerSec.toFixed(0).padStart(7)}  ${f2(r.client.p50).padStart(7)}  ${f2(r.client.p99).padStart(7)}   p50 ${r.overheadP50Pct >= 0 ? '+' : ''}${r.overheadP50Pct.toFixed(1)}%, throughput ${r.overheadThroughputPct >= 0 ? '-' : '+'}${Math.abs(r.overheadThroughputPct).toFixed(1)}%`,
    )
  }
  const worst = Math.max(...Object.values(results).flatMap((r) => [r.overheadP50Pct, r.overheadThroughputPct]))
  console.log(`goal: client overhead <= 25% over the floor: ${worst <= 25 ? 'met' : 'NOT met'} (worst ${worst.toFixed(1)}%)`)
}

await main()
