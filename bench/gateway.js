#!/usr/bin/env node
// bench:gateway: 10,000 inbound DMs from approved senders through the imsg simulator with the
// echo runtime. The gateway runs in this process (so its RSS is what is measured); rows are
// written by bench/gateway-inject.js at a steady rate. Prints throughput, p50/p99 latency,
// peak RSS and RSS after the run (and RSS at each quarter, to show it does not grow).
//   node bench/gateway.js [--messages 10000] [--senders 2000] [--rate 600]
import {execa} from 'execa'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {createContext} from '../dist/lib/context.js'
import {createLogger} from '../dist/lib/log.js'
import {Gateway} from '../dist/lib/gateway/gateway.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const SIM = path.join(ROOT, 'bin', 'imsg-sim')
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : def
}
const MESSAGES = arg('messages', 10_000)
const SENDERS = arg('senders', 2_000) // 5 messages each: below the loop breaker and the per-chat rate limit
const RATE = arg('rate', 600)
const handle = (i) => `+1555${String(2000000 + i).padStart(7, '0')}`

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'remoteclaw-bench-'))
const db = path.join(dir, 'chat.db')
await execa(SIM, ['init', '--db', db])
fs.writeFileSync(
  path.join(dir, 'remoteclaw.json'),
  JSON.stringify({channels: {imessage: {cliPath: SIM, dbPath: db, dmPolicy: 'pairing'}}, agents: {list: [{id: 'main', runtime: 'echo'}]}}),
  {mode: 0o600},
)
// Approved senders, in the pairing store's allowlist format (as `pairing approve` leaves it).
fs.mkdirSync(path.join(dir, 'pairing'), {recursive: true, mode: 0o700})
const approvedAt = Date.now()
fs.writeFileSync(
  path.join(dir, 'pairing', 'imessage-default-allow.json'),
  JSON.stringify({version: 1, approved: Array.from({length: SENDERS}, (_, i) => ({handle: handle(i), approvedAt}))}),
  {mode: 0o600},
)

const lat = new Float64Array(MESSAGES)
const e2e = new Float64Array(MESSAGES)
let replied = 0
let other = 0
let firstInbound = 0
let lastReply = 0
let peakRss = 0
const quarters = []
const sample = () => {
  const r = process.memoryUsage().rss
  if (r > peakRss) peakRss = r
}
const sampler = setInterval(sample, 50)
let done
const finished = new Promise((r) => (done = r))

const log = createLogger({level: 'warn', format: 'text'})
const ctx = createContext({env: {...process.env, HOME: dir}, home: dir, stateDir: dir, configPath: path.join(dir, 'remoteclaw.json'), log})
const gateway = await Gateway.start({
  ctx,
  watchConfig: false,
  onEvent: (_id, e) => {
    if (e.type === 'inbound' && !e.env.isFromMe && firstInbound === 0) firstInbound = e.at
    if (e.type !== 'replied') return
    if (e.status !== 'sent') {
      other++
      return
    }
    lat[replied] = e.at - e.receivedAt
    e2e[replied] = e.at - e.env.createdAt
    replied++
    lastReply = e.at
    if (replied % (MESSAGES / 4) === 0) {
      sample()
      quarters.push(process.memoryUsage().rss)
    }
    if (replied + other >= MESSAGES) done()
  },
})
await new Promise((resolve) => {
  const t = setInterval(() => {
    const h = JSON.parse(fs.readFileSync(path.join(dir, 'gateway', 'health.json'), 'utf8'))
    if (h.accounts.default?.running) {
      clearInterval(t)
      resolve()
    }
  }, 50)
})
const rssBefore = process.memoryUsage().rss
const injector = execa(process.execPath, [path.join(ROOT, 'bench', 'gateway-inject.js'), db, String(MESSAGES), String(SENDERS), String(RATE)], {env: {HOME: dir}})
const timeout = setTimeout(() => done(), Math.max(120_000, (MESSAGES / RATE) * 4000))
await finished
clearTimeout(timeout)
await injector
await gateway.stop()
clearInterval(sampler)
global.gc?.()
await new Promise((r) => setTimeout(r, 200))
const rssAfter = process.memoryUsage().rss
const heapAfter = process.memoryUsage().heapUsed

const pct = (arr, n, p) => {
  const s = Array.from(arr.subarray(0, n)).sort((a, b) => a - b)
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN
}
const mb = (b) => `${(b / 1024 / 1024).toFixed(1)} MB`
const seconds = (lastReply - firstInbound) / 1000
const result = {
  messages: MESSAGES,
  answered: replied,
  notSent: other,
  injectRatePerSecond: RATE,
  throughputPerSecond: Math.round(replied / seconds),
  gatewayLatencyMs: {p50: pct(lat, replied, 50), p99: pct(lat, replied, 99), max: pct(lat, replied, 100)},
  endToEndLatencyMs: {p50: pct(e2e, replied, 50), p99: pct(e2e, replied, 99)},
  rss: {beforeLoad: mb(rssBefore), peak: mb(peakRss), atQuarters: quarters.map(mb), afterRun: mb(rssAfter)},
  heapAfterRun: mb(heapAfter),
}
console.log(`bench:gateway  ${MESSAGES} DMs from ${SENDERS} approved senders, echo runtime, imsg simulator, injected at ${RATE}/s`)
console.log(`  answered            ${replied}/${MESSAGES}${other ? ` (${other} not sent)` : ''}`)
console.log(`  throughput          ${result.throughputPerSecond} msg/s (first inbound to last reply: ${seconds.toFixed(2)} s)`)
console.log(`  latency (gateway)   p50 ${result.gatewayLatencyMs.p50.toFixed(1)} ms, p99 ${result.gatewayLatencyMs.p99.toFixed(1)} ms  (notification received -> send acknowledged)`)
console.log(`  latency (end to end) p50 ${result.endToEndLatencyMs.p50.toFixed(0)} ms, p99 ${result.endToEndLatencyMs.p99.toFixed(0)} ms  (row written -> send acknowledged; includes imsg's watch debounce)`)
console.log(`  heap after the run  ${result.heapAfterRun}${global.gc ? ' (after a forced GC)' : ' (no forced GC: run with node --expose-gc)'}`)
console.log(`  RSS                 before ${result.rss.beforeLoad}, peak ${result.rss.peak}, at 25/50/75/100%: ${result.rss.atQuarters.join(' / ')}, after ${result.rss.afterRun}`)
if (other > 0) console.log(`  not sent            ${other}: see the warnings above (each is logged with its imsg error)`)
if (process.argv.includes('--json')) console.log(JSON.stringify(result))
fs.rmSync(dir, {recursive: true, force: true})
// Every message must be accounted for: answered, or not sent with its imsg error logged.
process.exit(replied + other === MESSAGES ? 0 : 1)
