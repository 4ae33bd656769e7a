import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {healthFilePath, HealthRecorder, readGatewayHealth, type GatewayHealthFile} from '../../../src/lib/gateway/health.js'
import {tempDir} from '../../helpers/cli.js'
import {GatewayHarness} from './harness.js'

function write(dir: string, data: Partial<GatewayHealthFile>): void {
  const file = healthFilePath(dir)
  fs.mkdirSync(path.dirname(file), {recursive: true})
  fs.writeFileSync(file, JSON.stringify({schemaVersion: 1, startedAt: new Date().toISOString(), updatedAt: new Date().toISOString(), accounts: {}, ...data}))
}

const acct = (over: Record<string, unknown> = {}) => ({accountId: 'default', running: true, state: 'running', restarts: 0, consecutiveFailures: 0, ...over})

describe('gateway health file (readGatewayHealth)', () => {
  let t: ReturnType<typeof tempDir>
  beforeEach(() => {
    t = tempDir('rc-health-')
  })
  afterEach(() => t.cleanup())

  it('no file: not-running', async () => {
    const v = await readGatewayHealth({stateDir: t.dir, now: Date.now})
    expect(v.gateway).to.equal('not-running')
    expect(v.summary).to.contain('remoteclaw gateway')
  })

  it('a pid that is gone without a clean stop: dead', async () => {
    write(t.dir, {pid: 2 ** 22 + 12345, accounts: {default: acct() as never}})
    const v = await readGatewayHealth({stateDir: t.dir, now: Date.now})
    expect(v.gateway).to.equal('dead')
    expect(v.accounts[0]!.degraded).to.equal(false)
  })

  it('running gateway: an account whose imsg is restarting, or whose probe or last send failed, is degraded', async () => {
    write(t.dir, {
      pid: process.pid,
      accounts: {
        ok: acct({accountId: 'ok'}) as never,
        restarting: acct({accountId: 'restarting', running: false, state: 'restarting', consecutiveFailures: 3, lastError: 'imsg exited with code 1'}) as never,
        probe: acct({accountId: 'probe', lastProbeOk: false}) as never,
        send: acct({accountId: 'send', lastSendOutcome: 'failed', lastSendAt: new Date().toISOString()}) as never,
      },
    })
    const v = await readGatewayHealth({stateDir: t.dir, now: Date.now})
    expect(v.gateway).to.equal('running')
    const by = Object.fromEntries(v.accounts.map((a) => [a.accountId, a]))
    expect(by.ok!.degraded).to.equal(false)
    expect(by.restarting!.degraded).to.equal(true)
    expect(by.restarting!.problems[0]).to.contain('imsg exited with code 1')
    expect(by.probe!.degraded).to.equal(true)
    expect(by.send!.degraded).to.equal(true)
    expect(v.summary).to.contain('3 accounts degraded')
  })

  it('alive pid but no update for a minute: stale', async () => {
    write(t.dir, {pid: process.pid, updatedAt: new Date(Date.now() - 120_000).toISOString(), accounts: {default: acct() as never}})
    const v = await readGatewayHealth({stateDir: t.dir, now: Date.now})
    expect(v.gateway).to.equal('stale')
    expect(v.accounts[0]!.degraded).to.equal(true)
  })

  it('HealthRecorder writes 0600 and marks a clean stop', async () => {
    const r = new HealthRecorder(t.dir, Date.now)
    r.update('default', {running: true, state: 'running', childPid: 42})
    await r.flush()
    expect(fs.statSync(healthFilePath(t.dir)).mode & 0o777).to.equal(0o600)
    await r.stop()
    const v = await readGatewayHealth({stateDir: t.dir, now: Date.now})
    expect(v.gateway).to.equal('stopped')
    expect(v.accounts[0]!.running).to.equal(false)
  })
})

describe('gateway health end to end', function () {
  this.timeout(60_000)
  let h: GatewayHarness
  beforeEach(async () => {
    h = new GatewayHarness()
    await h.init()
  })
  afterEach(async () => h.dispose())

  it('a hung imsg: the gateway keeps retrying (no exit), health shows the account degraded with the reason', async () => {
    h.writeConfig({rpcTimeoutMs: 300}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    h.start({IMSG_SIM_HANG: '1'})
    await h.waitForLog(/imsg stopped .*did not answer/)
    await h.waitFor(async () => {
      const v = await readGatewayHealth({stateDir: h.dir, now: Date.now})
      return v.gateway === 'running' && v.accounts[0]?.degraded ? v : undefined
    }, 'degraded health')
    const v = await readGatewayHealth({stateDir: h.dir, now: Date.now})
    expect(v.accounts[0]!.problems.join(' ')).to.match(/did not answer/)
    expect(h.exitCode).to.equal(undefined)
    expect(await h.stop()).to.equal(0)
  })

  it('a running gateway killed with -9 is reported dead', async () => {
    h.writeConfig({}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    h.start()
    await h.ready()
    await h.stop('SIGKILL')
    const v = await readGatewayHealth({stateDir: h.dir, now: Date.now})
    expect(v.gateway).to.equal('dead')
  })

  it('Full Disk Access missing: logged with the fix, retried (never an exit), account degraded', async () => {
    h.writeConfig({}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    h.start({IMSG_SIM_FDA: 'missing'})
    await h.waitForLog(/Full Disk Access/)
    const fix = await h.waitForLog(/^fix: Grant Full Disk Access/)
    expect(fix.level).to.equal('warn')
    await h.waitFor(async () => {
      const v = await readGatewayHealth({stateDir: h.dir, now: Date.now})
      return v.accounts[0]?.degraded && /Full Disk Access/.test(v.accounts[0].problems.join(' ')) ? v : undefined
    }, 'degraded with the FDA reason')
    expect(h.exitCode).to.equal(undefined)
    expect(await h.stop()).to.equal(0)
  })
})

