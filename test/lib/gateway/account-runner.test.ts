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
import {tempDir} from '../../helpers/cli.js'

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
