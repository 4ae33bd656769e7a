// Start-up cost of light commands against bare Node, measured side by side: each round runs
// `node -e 0` and then every command once, so machine noise hits both alike. Prints each
// command's median wall time, its ratio to bare Node (goal: <= 2x) and peak RSS (goal < 70 MB).
// Usage: npm run build && node bench/startup.mjs [rounds]
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const run = path.join(root, 'bin', 'run.js')
const rounds = Number(process.argv[2] ?? 15)
const state = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-startup-'))
fs.writeFileSync(
  path.join(state, 'remoteclaw.json'),
  JSON.stringify({channels: {imessage: {cliPath: '/usr/local/bin/imsg', dmPolicy: 'pairing', groupPolicy: 'disabled'}}}),
)
const env = {...process.env, HOME: state, REMOTECLAW_STATE_DIR: state, NO_COLOR: '1'}
delete env.REMOTECLAW_CONFIG_PATH

const commands = [
  ['--version'],
  ['--help'],
  ['pairing', 'list', 'imessage', '--json'],
  ['config', 'get', 'channels.imessage.dmPolicy'],
  ['channels', 'status', '--json'],
  ['sessions', 'list', '--json'],
]
// The same command without V8's code cache: what the first run after an install or upgrade costs.
const NO_CACHE = {REMOTECLAW_CODE_CACHE: 'off'}
const variants = [...commands.map((argv) => ({argv, env: {}, label: ''})), {argv: commands[2], env: NO_CACHE, label: ' (no code cache)'}]
// GNU time reports the peak RSS of the child; without it, RSS is not measured.
const gnuTime = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined

function once(argv, extraEnv = {}) {
  const started = process.hrtime.bigint()
  const e = {...env, ...extraEnv}
  const r = gnuTime
    ? spawnSync(gnuTime, ['-f', '%M', process.execPath, ...argv], {env: e, encoding: 'utf8'})
    : spawnSync(process.execPath, argv, {env: e, encoding: 'utf8'})
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  const rssKb = gnuTime ? Number(r.stderr.trim().split('\n').pop()) : NaN
  return {ms, rssKb, status: r.status}
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

const bare = []
const results = variants.map(() => ({ms: [], rss: [], status: new Set()}))
once(['-e', '0'])
for (const v of variants) once([run, ...v.argv], v.env) // warm the file cache, write the code cache
for (let i = 0; i < rounds; i++) {
  bare.push(once(['-e', '0']).ms)
  variants.forEach((v, j) => {
    const r = once([run, ...v.argv], v.env)
    results[j].ms.push(r.ms)
    results[j].rss.push(r.rssKb)
    results[j].status.add(r.status)
  })
}
const base = median(bare)
console.log(`node ${process.version}, ${os.cpus().length} cores, ${rounds} rounds; node -e 0: ${base.toFixed(1)} ms median`)
console.log('command'.padEnd(62) + 'median ms'.padStart(10) + 'ratio'.padStart(8) + 'peak RSS MB'.padStart(13) + '  exit')
variants.forEach((v, j) => {
  const m = median(results[j].ms)
  const rss = Math.max(...results[j].rss) / 1024
  console.log(
    `remoteclaw ${v.argv.join(' ')}${v.label}`.padEnd(62) +
      m.toFixed(1).padStart(10) +
      `${(m / base).toFixed(2)}x`.padStart(8) +
      (Number.isFinite(rss) ? rss.toFixed(1) : 'n/a').padStart(13) +
      `  ${[...results[j].status].join(',')}`,
  )
})
fs.rmSync(state, {recursive: true, force: true})
