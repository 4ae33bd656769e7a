import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {attemptIdFor} from '../../src/lib/outbound/reconcile.js'
import {GatewayHarness, TEST_TIMINGS} from '../lib/gateway/harness.js'

/** imsg 0.15 with the bridge: send.tracked and message.send_status are offered (status.methods). */
const BRIDGE = {IMSG_SIM_VERSION: '0.15.10', IMSG_SIM_BRIDGE: '1'}
const TIMINGS = JSON.stringify({...TEST_TIMINGS, reconcile: {settleMs: 200, statusPollBaseMs: 100, statusPollMaxMs: 400}})

describe('gateway tracked sends (send.tracked + message.send_status), CLI child + simulator', function () {
  this.timeout(90_000)
  let h: GatewayHarness

  beforeEach(async () => {
    h = new GatewayHarness()
    await h.init()
    h.writeConfig({dmPolicy: 'open', allowFrom: ['*'], rpcTimeoutMs: 2000}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
  })
  afterEach(async () => {
    await h.dispose()
  })

  const journal = () => path.join(h.dir, 'gateway', 'accounts', 'default', 'journal.ndjson')
  /** The journal entry id of the reply being sent (its attempt ids derive from it). */
  const entryId = () => {
    for (const line of fs.readFileSync(journal(), 'utf8').split('\n')) {
      if (!line.includes('"t":"pending"')) continue
      const rec = JSON.parse(line) as {p: {id?: string; tracked?: boolean}}
      if (rec.p.tracked && rec.p.id) return rec.p.id
    }
    return undefined
  }

  it('a plain reply goes out with send.tracked under an attempt id derived from its journal entry', async () => {
    h.start({...BRIDGE, REMOTECLAW_GATEWAY_TIMINGS: JSON.stringify({...JSON.parse(TIMINGS), deliveryCheckMs: [300]})})
    await h.ready()
    await h.inject('+15550130000', 'tracked hello')
    const [row] = await h.waitForSent(1)
    expect(row!.text).to.equal('tracked hello')
    expect(row!.guid).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    // Nothing pushes delivered/read: the last send per chat is looked up with message.send_status.
    const deliveries = () => Object.values((h.healthFile().accounts.default as {lastDeliveries?: Record<string, {state: string}>}).lastDeliveries ?? {})
    await h.waitFor(() => deliveries()[0]?.state === 'delivered', 'delivered in the health file')
    const st = await h.cli(['channels', 'status', '--json'])
    const gw = (JSON.parse(st.stdout) as {accounts: Array<{gateway?: {lastDeliveries?: Record<string, {state: string; guid?: string}>}}>}).accounts[0]!.gateway!
    const states = Object.values(gw.lastDeliveries ?? {})
    expect(states.map((x) => x.state)).to.deep.equal(['delivered'])
    expect(states[0]!.guid).to.equal(row!.guid)
    const human = await h.cli(['channels', 'status'])
    expect(human.stdout).to.match(/chat_id:\d+: delivered at /)
  })

  for (const outcome of ['sent', 'unsent'] as const) {
    it(`-32001 on a tracked send that was in fact ${outcome}: settled with message.send_status, the chat gets it exactly once`, async () => {
      h.start({...BRIDGE, IMSG_SIM_TRACKED_UNKNOWN: outcome, REMOTECLAW_GATEWAY_TIMINGS: TIMINGS})
      await h.ready()
      await h.inject('+15550130001', `unknown ${outcome}`)
      await h.waitForSent(1)
      await h.waitForLog(outcome === 'sent' ? /message.send_status says (sent|delivered)/ : /sending it again under the same attempt_id/)
      await h.waitForLog(/reply sent/)
      await new Promise((r) => setTimeout(r, 1000))
      const sent = await h.sent()
      expect(sent.map((x) => x.text)).to.deep.equal([`unknown ${outcome}`])
      expect(sent[0]!.guid).to.equal(attemptIdFor(entryId() ?? '', 0, 0))
      expect(h.findLog(/delivery outcome unknown .*asking imsg for attempt/)).to.not.equal(undefined)
    })

    it(`gateway kill -9 while a tracked send's outcome is unknown (${outcome}): after the restart it is sent once, never twice`, async () => {
      h.start({...BRIDGE, IMSG_SIM_TRACKED_UNKNOWN: outcome, IMSG_SIM_TRACKED_HANG: '1', REMOTECLAW_GATEWAY_TIMINGS: TIMINGS})
      await h.ready()
      await h.inject('+15550130002', `crash ${outcome}`)
      await h.waitFor(() => fs.existsSync(journal()) && entryId(), 'the journaled tracked send')
      if (outcome === 'sent') await h.waitForSent(1)
      else await new Promise((r) => setTimeout(r, 500)) // the request is with imsg, which never answers
      const id = entryId()!
      await h.stop('SIGKILL')
      expect((await h.sent()).length).to.equal(outcome === 'sent' ? 1 : 0)
      h.start({...BRIDGE, REMOTECLAW_GATEWAY_TIMINGS: TIMINGS})
      await h.ready()
      await h.waitForLog(/\(tracked\) was interrupted by a restart/)
      await h.waitForLog(/reply sent/)
      await new Promise((r) => setTimeout(r, 1000))
      const sent = await h.sent()
      expect(sent.map((x) => x.text)).to.deep.equal([`crash ${outcome}`])
      // The same attempt id before and after the crash: imsg refused a second message under it.
      expect(sent[0]!.guid).to.equal(attemptIdFor(id, 0, 0))
      if (outcome === 'sent') expect(h.findLog(/message.send_status says (sent|delivered)/)).to.not.equal(undefined)
    })
  }
})
