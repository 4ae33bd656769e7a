import {expect} from 'chai'
import {execa, type ResultPromise} from 'execa'
import fs from 'node:fs'
import path from 'node:path'
import {RUN_JS} from '../helpers/cli.js'
import {GatewayHarness, TEST_TIMINGS} from '../lib/gateway/harness.js'

/** One gateway per state dir (gateway/gateway.lock), and what `channels status` says after a kill -9. */
describe('one gateway per state dir; status after kill -9 (CLI child + imsg simulator)', function () {
  this.timeout(300_000)
  let h: GatewayHarness

  beforeEach(async () => {
    h = new GatewayHarness()
    await h.init()
    h.writeConfig({dmPolicy: 'open', allowFrom: ['*']}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
  })
  afterEach(async () => {
    await h.dispose()
  })

  function gateway(env: Record<string, string> = {}): ResultPromise {
    return execa(process.execPath, [RUN_JS, 'gateway', '--log-format', 'json'], {
      env: {HOME: h.dir, REMOTECLAW_STATE_DIR: h.dir, NO_COLOR: '1', REMOTECLAW_GATEWAY_TIMINGS: JSON.stringify(TEST_TIMINGS), ...env},
      reject: false,
      stdin: 'ignore',
    })
  }

  it('two gateways started together on one state dir, 20 times: exactly one runs, the other exits 1 naming its pid', async () => {
    for (let round = 0; round < 20; round++) {
      const a = gateway()
      const b = gateway()
      // The loser exits on its own; the winner runs until stopped.
      const first = await Promise.race([a.then(() => 'a'), b.then(() => 'b')])
      const [loser, winner] = first === 'a' ? [a, b] : [b, a]
      const lost = await loser
      expect(lost.exitCode, `round ${round}: ${String(lost.stderr)}`).to.equal(1)
      expect(String(lost.stderr)).to.include(`another gateway (pid ${winner.pid}`)
      expect(String(lost.stderr)).to.include(`kill ${winner.pid}`)
      expect(JSON.parse(fs.readFileSync(path.join(h.dir, 'gateway', 'gateway.lock'), 'utf8')).pid, `round ${round}: the lock names the winner`).to.equal(winner.pid)
      // Both write the same log file: the winner says it runs (its signal handlers are set by then).
      await h.waitFor(() => fs.readFileSync(path.join(h.dir, 'logs', 'gateway.log'), 'utf8').includes(`gateway running (pid ${winner.pid})`), `round ${round}: the winner runs`)
      expect(winner.exitCode, `round ${round}: the winner still runs`).to.equal(null)
      winner.kill('SIGTERM')
      const won = await winner
      expect(won.exitCode, `round ${round}: ${String(won.stderr).slice(-500)}`).to.equal(0)
      // released on a clean stop
      expect(fs.existsSync(path.join(h.dir, 'gateway', 'gateway.lock'))).to.equal(false)
    }
  })

  it('a gateway run by the service manager: the second one is told to use `remoteclaw gateway stop`', async () => {
    const svc = gateway({REMOTECLAW_SERVICE: 'launchd'})
    await h.waitFor(() => fs.existsSync(path.join(h.dir, 'gateway', 'gateway.lock')), 'the service gateway holds the lock')
    const second = await gateway()
    expect(second.exitCode).to.equal(1)
    expect(String(second.stderr)).to.include(`another gateway (pid ${svc.pid}`)
    expect(String(second.stderr)).to.include('by launchd')
    expect(String(second.stderr)).to.include('remoteclaw gateway stop')
    svc.kill('SIGTERM')
    expect((await svc).exitCode).to.equal(0)
  })

  it('kill -9: the stale lock is taken over at the next start; channels status shows the accounts stopped with their last activity', async () => {
    h.start()
    await h.ready()
    const oldPid = h.child!.pid!
    await h.inject('+15550400001', 'answered just before the crash')
    await h.waitForSent(1)
    // The health file catches up with the inbound and the send within ~2 s (not only at heartbeats).
    await h.waitFor(() => {
      const a = JSON.parse(fs.readFileSync(path.join(h.dir, 'gateway', 'health.json'), 'utf8')).accounts.default
      return a.lastInboundAt && a.lastSendAt ? a : undefined
    }, 'last inbound and send in the health file', 5_000)
    await h.stop('SIGKILL')
    expect(JSON.parse(fs.readFileSync(path.join(h.dir, 'gateway', 'gateway.lock'), 'utf8')).pid).to.equal(oldPid)

    const st = await h.cli(['channels', 'status', '--json'])
    expect(st.exitCode).to.equal(5)
    const doc = JSON.parse(st.stdout) as {gateway: {state: string}; accounts: Array<{gateway: {running: boolean; state: string; lastInboundAt?: string; lastSendAt?: string; childPid?: number}}>}
    expect(doc.gateway.state).to.equal('dead')
    const g = doc.accounts[0]!.gateway
    expect(g.running).to.equal(false)
    expect(g.state).to.equal('stopped')
    expect(g.childPid).to.equal(undefined)
    expect(g.lastInboundAt).to.be.a('string')
    expect(g.lastSendAt).to.be.a('string')
    const text = await h.cli(['channels', 'status'])
    expect(text.stdout).to.include('  gateway: stopped (')
    expect(text.stdout).to.not.match(/gateway: running/)
    expect(text.stdout).to.match(/last inbound \d{4}-\d\d-\d\dT[^;]+; last send \d{4}-\S+ \(sent\)/)
    expect(text.stdout).to.include(`the gateway (pid ${oldPid}) is gone without a clean stop`)

    h.start()
    await h.ready()
    expect(h.findLog(new RegExp(`took over the lock of a gateway that is gone \\(pid ${oldPid}\\)`))).to.not.equal(undefined)
    expect(JSON.parse(fs.readFileSync(path.join(h.dir, 'gateway', 'gateway.lock'), 'utf8')).pid).to.equal(h.child!.pid)
  })
})
