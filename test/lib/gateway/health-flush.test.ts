import {expect} from 'chai'
import fs from 'node:fs'
import {healthFilePath, HealthRecorder, readGatewayHealth} from '../../../src/lib/gateway/health.js'
import {tempDir} from '../../helpers/cli.js'

describe('gateway health file: activity reaches the file without waiting for the heartbeat', () => {
  let t: ReturnType<typeof tempDir>
  beforeEach(() => {
    t = tempDir('rc-health-flush-')
  })
  afterEach(() => t.cleanup())

  const read = () => JSON.parse(fs.readFileSync(healthFilePath(t.dir), 'utf8'))

  it('an in-memory change (last inbound) is written by the change check; an unchanged state is not rewritten', async () => {
    // Heartbeat an hour away: only the change check can write.
    const h = new HealthRecorder(t.dir, Date.now, undefined, {heartbeatMs: 3_600_000, changeFlushMs: 50})
    h.account('default')
    h.start()
    await h.flush()
    const first = read().updatedAt as string
    await new Promise((r) => setTimeout(r, 300))
    expect(read().updatedAt, 'nothing changed: no rewrite').to.equal(first)
    h.account('default').lastInboundAt = '2026-12-04T10:00:00.000Z'
    for (let i = 0; i < 100 && read().accounts.default.lastInboundAt === undefined; i++) await new Promise((r) => setTimeout(r, 100))
    expect(read().accounts.default.lastInboundAt).to.equal('2026-12-04T10:00:00.000Z')
    await h.stop()
  })

  it('a dead gateway: accounts are not running, their last activity stays', async () => {
    const h = new HealthRecorder(t.dir, Date.now)
    h.update('default', {running: true, state: 'running', childPid: 4242, lastInboundAt: '2026-12-04T10:00:00.000Z', lastSendAt: '2026-12-04T10:00:01.000Z', lastSendOutcome: 'sent'})
    await h.flush()
    const data = read()
    data.pid = 2 ** 22 + 4321 // gone, no stoppedAt: as after kill -9
    fs.writeFileSync(healthFilePath(t.dir), JSON.stringify(data))
    const v = await readGatewayHealth({stateDir: t.dir, now: Date.now})
    expect(v.gateway).to.equal('dead')
    expect(v.accounts[0]).to.include({running: false, state: 'stopped', lastInboundAt: '2026-12-04T10:00:00.000Z', lastSendOutcome: 'sent'})
    expect(v.accounts[0]!.childPid).to.equal(undefined)
  })
})
