import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {AccountRunner} from '../../../src/lib/gateway/account-runner.js'
import {HealthRecorder} from '../../../src/lib/gateway/health.js'
import {resolveAccount} from '../../../src/lib/config/accounts.js'
import {resolveAgents} from '../../../src/lib/agents/resolve.js'
import {createContext} from '../../../src/lib/context.js'
import {createLogger, type LogRecord} from '../../../src/lib/log.js'
import type {RemoteclawConfig} from '../../../src/lib/config/schema.js'
import {REPO_ROOT, tempDir} from '../../helpers/cli.js'
import {AccountState} from '../../../src/lib/state/account-state.js'
import type {AgentTurn} from '../../../src/lib/gateway/ports.js'

/** An `imsg` that never answers and ignores SIGTERM: closing it takes the full grace (stdin EOF, TERM, KILL). */
function stubbornImsg(dir: string): string {
  const file = path.join(dir, 'stubborn-imsg')
  fs.writeFileSync(file, `#!${process.execPath}\nprocess.on('SIGTERM', () => {}); process.stdin.resume(); process.stdin.on('end', () => {}); setInterval(() => {}, 1000)\n`, {mode: 0o700})
  return file
}

describe('AccountRunner supervision (in process)', function () {
  this.timeout(30_000)
  let t: ReturnType<typeof tempDir>
  beforeEach(() => {
    t = tempDir('rc-runner-')
  })
  afterEach(() => t.cleanup())

  function makeRunner(records: LogRecord[], timings: Record<string, number>) {
    const config = {channels: {imessage: {cliPath: stubbornImsg(t.dir), dbPath: path.join(t.dir, 'chat.db'), rpcTimeoutMs: 200}}} as unknown as RemoteclawConfig
    const log = createLogger({level: 'debug', write: () => {}, onRecord: (r) => records.push(r)})
    const ctx = createContext({env: {HOME: t.dir}, home: t.dir, stateDir: t.dir, configPath: path.join(t.dir, 'remoteclaw.json'), log})
    const account = resolveAccount(config, undefined, ctx)
    const health = new HealthRecorder(t.dir, Date.now)
    const agents = resolveAgents(config)
    return {runner: new AccountRunner(account, {ctx, log, health, runAgent: async () => ({text: ''}), agents: () => agents, timings}), health}
  }

  it('stop() while the supervisor is closing a failed child does not wait out the restart backoff', async () => {
    const records: LogRecord[] = []
    const {runner, health} = makeRunner(records, {backoffBaseMs: 20_000, maxBackoffMs: 20_000, probeIntervalMs: 0, drainTimeoutMs: 1_000})
    await runner.start()
    // The child never answers: the start fails after rpcTimeoutMs and the supervisor starts closing it (~2 s grace).
    const end = Date.now() + 10_000
    while (!health.account('default').lastError && Date.now() < end) await new Promise((r) => setTimeout(r, 10))
    expect(records.some((r) => /imsg stopped/.test(r.msg)), 'still closing the child').to.equal(false)
    const stopped = runner.stop().then(() => 'stopped')
    const result = await Promise.race([stopped, new Promise<string>((r) => setTimeout(() => r('still waiting on the backoff'), 8_000))])
    expect(result).to.equal('stopped')
    await stopped
  })
})

describe('AccountRunner: malformed notifications (fake imsg)', function () {
  this.timeout(60_000)
  let t: ReturnType<typeof tempDir>
  beforeEach(() => {
    t = tempDir('rc-runner-')
  })
  afterEach(() => t.cleanup())

  it('logs and skips each row with a field of the wrong type, keeps the child, answers the next row, and saves a readable cursor past them', async () => {
    const fake = path.join(REPO_ROOT, 'test', 'fixtures', 'fake-imsg.mjs')
    const config = {channels: {imessage: {cliPath: fake, dmPolicy: 'open', allowFrom: ['*'], rpcTimeoutMs: 5000}}} as unknown as RemoteclawConfig
    const records: LogRecord[] = []
    const log = createLogger({level: 'debug', write: () => {}, onRecord: (r) => records.push(r)})
    // The supervisor spawns imsg with this process's environment.
    process.env.FAKE_BAD_ROWS = '1'
    const ctx = createContext({env: {HOME: t.dir}, home: t.dir, stateDir: t.dir, configPath: path.join(t.dir, 'remoteclaw.json'), log})
    const agents = resolveAgents(config)
    const turns: AgentTurn[] = []
    const runner = new AccountRunner(resolveAccount(config, undefined, ctx), {
      ctx,
      log,
      health: new HealthRecorder(t.dir, Date.now),
      runAgent: async (turn) => (turns.push(turn), {text: ''}),
      agents: () => agents,
      timings: {debounceMs: 20, backoffBaseMs: 100, maxBackoffMs: 1000, probeIntervalMs: 0, drainTimeoutMs: 5000},
    })
    try {
      await runner.start()
    } finally {
      delete process.env.FAKE_BAD_ROWS
    }
    const end = Date.now() + 20_000
    while (turns.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
    await new Promise((r) => setTimeout(r, 300))
    await runner.stop()
    expect(turns.map((x) => x.env.text)).to.deep.equal(['good'])
    expect(records.filter((r) => /imsg stopped|restarting imsg/.test(r.msg)), 'no child restart').to.deep.equal([])
    const skipped = records.filter((r) => /malformed message row/.test(r.msg)).map((r) => r.msg)
    expect(skipped).to.have.length(4)
    expect(skipped[0]).to.contain('text is a number')
    expect(skipped[1]).to.contain('attachments is a string')
    expect(skipped[2]).to.contain('chat_guid is a number')
    expect(skipped[3]).to.contain('id is "abc"')
    const state = await AccountState.open(t.dir, 'default')
    expect(state.cursor).to.equal(8)
    await state.close()
  })

  it('opens a state file whose cursor an older version saved as null, starting by the first-start rule', async () => {
    const dir = path.join(t.dir, 'gateway', 'accounts', 'default')
    fs.mkdirSync(dir, {recursive: true, mode: 0o700})
    fs.writeFileSync(path.join(dir, 'state.json'), JSON.stringify({version: 1, cursor: null, seen: ['G1'], pending: []}), {mode: 0o600})
    const state = await AccountState.open(t.dir, 'default')
    expect(state.cursor).to.equal(0)
    expect(state.has('G1')).to.equal(true)
    expect(state.warnings.join()).to.match(/saved cursor .* is null, not a row number; starting from the newest message/)
    await state.markDone('G2', Number.POSITIVE_INFINITY)
    await state.close()
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')).cursor).to.equal(0)
  })
})
