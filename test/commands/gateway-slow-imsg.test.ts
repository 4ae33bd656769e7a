import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {REPO_ROOT} from '../helpers/cli.js'
import {GatewayHarness, TEST_TIMINGS} from '../lib/gateway/harness.js'

const SLOW_IMSG = path.join(REPO_ROOT, 'test', 'fixtures', 'slow-imsg.mjs')

/**
 * Issue 10 item 2: an imsg that answers every request later than rpcTimeoutMs for a while. Sends
 * time out (outcome unknown), the child is restarted after failed liveness probes; afterwards every
 * unknown send is settled by reading the chat back, and every message is answered exactly once.
 */
describe('gateway with a slow imsg (answers later than rpcTimeoutMs), CLI child + simulator', function () {
  this.timeout(120_000)
  let h: GatewayHarness

  beforeEach(async () => {
    h = new GatewayHarness()
    await h.init()
  })
  afterEach(async () => {
    await h.dispose()
  })

  it('every message is answered exactly once: unknown outcomes are read back, found ones not resent, missing ones sent once more', async () => {
    const flag = path.join(h.dir, 'slow')
    h.writeConfig(
      {cliPath: SLOW_IMSG, dmPolicy: 'open', allowFrom: ['*'], outboundPerMinute: 1000, rpcTimeoutMs: 1000},
      {agents: {list: [{id: 'main', runtime: 'echo'}]}},
    )
    const timings = {
      ...TEST_TIMINGS,
      probeIntervalMs: 1500, // sends time out (1 s) before two probes fail and the child is killed, as in the issue
      reconcile: {settleMs: 300, holdLimitMs: 4000, statusPollBaseMs: 100, statusPollMaxMs: 500},
    }
    // Requests reach imsg 0.6 s or 6 s late (in turn) and answers come 0.9 s after that: both > rpcTimeoutMs,
    // and a 6 s request is still on its way when the liveness probes have the child killed.
    h.start({REMOTECLAW_GATEWAY_TIMINGS: JSON.stringify(timings), SLOW_IMSG_FLAG: flag, SLOW_IMSG_IN_MS: '600,6000', SLOW_IMSG_OUT_MS: '900'})
    await h.ready()
    await h.inject('+15550120000', 'before it got slow')
    await h.waitForSent(1)
    fs.writeFileSync(flag, '')
    const rows: Array<{from: string; text: string}> = []
    for (let i = 0; i < 4; i++) for (let s = 0; s < 5; s++) rows.push({from: `+155501201${String(s).padStart(2, '0')}`, text: `slow-${s}-${i}`})
    await h.injectBatch(rows)
    await h.waitForLog(/outcome unknown|reply not sent yet/, 30_000)
    await h.waitForLog(/did not answer two liveness probes|holds a send with an unknown outcome/, 30_000)
    await new Promise((r) => setTimeout(r, 3000)) // slow for a while longer: restarts keep failing
    fs.rmSync(flag)
    const all = ['before it got slow', ...rows.map((r) => r.text)]
    await h.waitForSent(all.length, 60_000)
    await new Promise((r) => setTimeout(r, 2000)) // anything extra would show up now
    const counts = new Map<string, number>()
    for (const s of await h.sent()) counts.set(s.text, (counts.get(s.text) ?? 0) + 1)
    const wrong = all.filter((t) => counts.get(t) !== 1).map((t) => `${t} x${counts.get(t) ?? 0}`)
    expect(wrong, 'messages not answered exactly once').to.deep.equal([])
    expect([...counts.values()].reduce((a, b) => a + b, 0)).to.equal(all.length)
    // The outcome of at least one send was unknown and settled by reading the chat back.
    expect(h.countLogs(/read the chat back: /)).to.be.greaterThan(0)
    expect(h.findLog(/outcome unknown; not retried so the chat does not get it twice/)).to.equal(undefined)
  })
})
