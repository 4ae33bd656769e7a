/**
 * bench/sessions: the gateway's own cost per agent turn with a fake agent CLI (spawn in its own
 * process group + JSON stream parse + session store lookup and atomic locked write + group kill),
 * next to the bare spawn of the same fake CLI reading its stdout to the end. Runs alternate, so
 * load on a shared machine hits both sides alike. Goal: under 15 ms p50 above the bare spawn.
 *
 *   npx tsx bench/sessions.ts [--turns 40] [--cli claude|codex|gemini|opencode] [--json]
 *   npm run bench:sessions
 */
import {spawn} from 'node:child_process'
import {execa} from 'execa'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {resolveAgents} from '../src/lib/agents/resolve.js'
import {createAgentRunner} from '../src/lib/agents/runner.js'
import {buildAgentInput} from '../src/lib/agents/types.js'
import type {Envelope} from '../src/lib/core/envelope.js'
import {createLogger} from '../src/lib/log.js'
import {SessionTurns} from '../src/lib/sessions/continuity.js'
import {SessionStore} from '../src/lib/sessions/store.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : def
}
const TURNS = Number(arg('turns', '40'))
const CLI = arg('cli', 'claude') as 'claude' | 'codex' | 'gemini' | 'opencode'
const JSON_OUT = process.argv.includes('--json')

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-bench-sessions-'))
const bin = path.join(dir, 'bin')
fs.mkdirSync(bin)
fs.symlinkSync(path.join(ROOT, 'test', 'fixtures', 'agent-clis', `${CLI}.mjs`), path.join(bin, CLI))
const cwd = path.join(dir, 'work')
fs.mkdirSync(cwd)
const env = {PATH: [bin, path.dirname(process.execPath), '/usr/bin', '/bin'].join(':'), FAKE_AGENT_STORE: path.join(dir, 'store'), HOME: dir}

const envelope: Envelope = {
  accountId: 'default',
  chat: {chatId: 1, guid: 'g', identifier: '+15550000001', name: '', participants: ['+15550000001']},
  isGroup: false,
  sender: {handle: '+15550000001', raw: '+15550000001'},
  text: 'hello',
  attachments: [],
  createdAt: 0,
  messageId: 1,
  guid: 'G',
  isFromMe: false,
  cursor: 1,
}
const agent = resolveAgents({agents: {list: [{id: 'main', runtime: CLI, cwd}]}}).defaultAgent
const log = createLogger({level: 'error', write: () => {}})
const runner = createAgentRunner(agent, {env, spawn: execa, log})
const turns = new SessionTurns({store: new SessionStore({stateDir: path.join(dir, 'state')}), log, now: Date.now})
const key = 'agent:main:main'

/** The floor: the same fake CLI, the argv of a resumed turn, stdout read to the end. */
function bare(sessionId: string): Promise<number> {
  const argv = {
    claude: ['-p', '--output-format', 'stream-json', '--verbose', '--resume', sessionId, '--', 'hello'],
    codex: ['exec', '--json', '--skip-git-repo-check', 'resume', sessionId, '--', 'hello'],
    gemini: ['--prompt=hello', '-o', 'stream-json', '--resume', sessionId],
    opencode: ['run', '--format', 'json', '-s', sessionId, '--dir', cwd, '--', 'hello'],
  }[CLI]
  const t0 = performance.now()
  return new Promise((resolve, reject) => {
    const c = spawn(path.join(bin, CLI), argv, {cwd, env, stdio: ['ignore', 'pipe', 'pipe']})
    c.stdout.resume()
    c.stderr.resume()
    c.on('error', reject)
    c.on('close', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${CLI} exited ${code}`))))
  })
}

const storeWrites: number[] = []
/** Time to the answer; the session store write that follows it (off the reply's path) is timed apart. */
async function viaGateway(): Promise<number> {
  const t0 = performance.now()
  const r = await turns.run({agent, runner, sessionKey: key, accountId: 'default', input: buildAgentInput(envelope, key)})
  const ms = performance.now() - t0
  if (r.error || !r.session.id) throw new Error(`turn failed: ${r.error}`)
  const t1 = performance.now()
  await turns.settled(key)
  storeWrites.push(performance.now() - t1)
  return ms
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!
}

try {
  await viaGateway() // first turn creates the session; warm-up
  const sid = (await new SessionStore({stateDir: path.join(dir, 'state')}).get(key))!.sessionId!
  await bare(sid)
  const a: number[] = []
  const b: number[] = []
  for (let i = 0; i < TURNS; i++) {
    if (i % 2 === 0) {
      a.push(await bare(sid))
      b.push(await viaGateway())
    } else {
      b.push(await viaGateway())
      a.push(await bare(sid))
    }
  }
  const diffs = b.map((x, i) => x - a[i]!)
  const figures = {
    cli: CLI,
    turns: TURNS,
    bareSpawnMs: {p50: pct(a, 50), p90: pct(a, 90)},
    gatewayTurnMs: {p50: pct(b, 50), p90: pct(b, 90)},
    overheadMs: {p50: pct(b, 50) - pct(a, 50), pairedP50: pct(diffs, 50)},
    storeWriteAfterAnswerMs: {p50: pct(storeWrites, 50), p90: pct(storeWrites, 90)},
    goalMs: 15,
  }
  if (JSON_OUT) process.stdout.write(JSON.stringify(figures, null, 2) + '\n')
  else {
    const f = (n: number) => n.toFixed(1).padStart(7)
    process.stdout.write(`agent turn cost with the fake ${CLI} CLI, ${TURNS} resumed turns each (alternating)\n`)
    process.stdout.write(`                          p50 ms   p90 ms\n`)
    process.stdout.write(`bare spawn of the fake  ${f(figures.bareSpawnMs.p50)}  ${f(figures.bareSpawnMs.p90)}\n`)
    process.stdout.write(`gateway turn            ${f(figures.gatewayTurnMs.p50)}  ${f(figures.gatewayTurnMs.p90)}\n`)
    process.stdout.write(`overhead (p50 - p50)    ${f(figures.overheadMs.p50)}   (paired p50 ${figures.overheadMs.pairedP50.toFixed(1)}; goal < ${figures.goalMs})\n`)
    process.stdout.write(`store write after the answer ${f(figures.storeWriteAfterAnswerMs.p50)}  ${f(figures.storeWriteAfterAnswerMs.p90)}   (locked, atomic, fsync'd; the next turn of the key waits for it)\n`)
  }
} finally {
  fs.rmSync(dir, {recursive: true, force: true})
}
