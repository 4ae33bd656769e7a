import {expect} from 'chai'
import fs from 'node:fs'
import {tempDir} from '../../helpers/cli.js'
import {createLogger, type LogRecord} from '../../../src/lib/log.js'
import {isQuiet, nextAllowed} from '../../../src/lib/tools/quiet-hours.js'
import {ScheduleRunner, type ResolvedScheduleConfig} from '../../../src/lib/tools/schedule-runner.js'
import {ScheduleStore, type ScheduleRecord} from '../../../src/lib/tools/schedule-store.js'
import {FakeHost} from './harness.js'

const T0 = Date.UTC(2026, 11, 5, 12, 0) // Sat 5 Dec 2026 12:00 UTC
const MIN = 60_000

describe('schedules: store and runner', () => {
  let tmp: {dir: string; cleanup: () => void}
  let clock: {now: number}
  let store: ScheduleStore
  let host: FakeHost
  let records: LogRecord[]
  let config: ResolvedScheduleConfig
  const runners: ScheduleRunner[] = []

  beforeEach(() => {
    tmp = tempDir('rc-sched-')
    clock = {now: T0}
    store = new ScheduleStore(tmp.dir, () => clock.now)
    host = new FakeHost()
    records = []
    config = {missed: 'send', missedGraceMinutes: 10, maxPendingPerChat: 20, timezone: 'UTC'}
  })
  afterEach(() => {
    for (const r of runners.splice(0)) r.stop()
    tmp.cleanup()
  })

  function runner(): ScheduleRunner {
    const log = createLogger({level: 'debug', write: () => {}, onRecord: (r) => records.push(r)})
    // a long maxSleep: the tests drive tick() with the injected clock
    const r = new ScheduleRunner({store, host, log, now: () => clock.now, config: () => config, maxSleepMs: 3_600_000})
    runners.push(r)
    return r
  }

  async function add(text: string, dueAt: number): Promise<ScheduleRecord> {
    let n = 0
    return store.add(
      (id) => ({id, accountId: 'default', agentId: 'main', sessionKey: 'agent:main:main', chat: {target: 'chat_id:1', chatId: 1, isGroup: false, label: 'DM'}, text, dueAt, createdAt: clock.now, status: 'pending'}),
      () => `id${n++}${text.length}`,
    )
  }

  it('sends a due schedule once, with its own record; not before it is due', async () => {
    const rec = await add('take the pills', T0 + 5 * MIN)
    const r = runner()
    await r.start()
    expect(host.sends).to.have.length(0)
    clock.now = T0 + 5 * MIN
    await r.tick()
    await r.tick()
    expect(host.sends).to.have.length(1)
    expect(host.sends[0]).to.include({accountId: 'default', sessionKey: 'agent:main:main', target: 'chat_id:1', chatId: 1, text: 'take the pills', journalKey: `schedule:${rec.id}`})
    expect((await store.get(rec.id))!.status).to.equal('sent')
    expect(fs.statSync(store.file).mode & 0o777).to.equal(0o600)
    // a restart does not send it again
    await runner().start()
    expect(host.sends).to.have.length(1)
  })

  it('a crash at the moment it fires: reconciled on start, never sent twice, never skipped silently', async () => {
    const rec = await add('call mum', T0)
    // first gateway: the send never returns (killed mid-send)
    host.sendResult = () => new Promise(() => {})
    const first = runner()
    void first.start()
    for (let i = 0; i < 100 && host.sends.length === 0; i++) await new Promise((r) => setTimeout(r, 20))
    first.stop()
    expect(host.sends).to.have.length(1)
    expect((await store.get(rec.id))!.status).to.equal('firing')

    // second gateway: the chat shows it arrived -> settled, not resent
    host.sendResult = async () => ({status: 'sent'})
    host.reconcile = 'sent'
    await runner().start()
    expect(host.sends).to.have.length(1)
    expect((await store.get(rec.id))!).to.include({status: 'sent', detail: 'confirmed after a restart'})
  })

  it('a crash before the send left the chat: sent exactly once after the restart', async () => {
    const rec = await add('call mum', T0)
    await store.claim(rec.id) // "firing" written, then the process died
    host.reconcile = 'not-sent'
    const r = runner()
    await r.start()
    await r.tick()
    expect(host.sends.map((s) => s.text)).to.deep.equal(['call mum'])
    expect((await store.get(rec.id))!.status).to.equal('sent')
  })

  it('a crash-left record the host cannot check yet (imsg starting) stays firing and is checked at the next pass', async () => {
    const rec = await add('call mum', T0)
    await store.claim(rec.id)
    let calls = 0
    Object.defineProperty(host, 'reconcileScheduled', {
      value: async () => {
        calls++
        if (calls === 1) throw new Error('imsg is not running yet')
        return 'not-sent'
      },
    })
    const r = runner()
    await r.start()
    expect(host.sends).to.have.length(0)
    expect((await store.get(rec.id))!.status).to.equal('firing')
    await r.tick()
    expect(host.sends.map((s) => s.text)).to.deep.equal(['call mum'])
    expect((await store.get(rec.id))!.status).to.equal('sent')
    expect(records.filter((x) => x.msg.includes('cannot check yet'))).to.have.length(1)
  })

  it('an outcome nobody can confirm is marked unknown and logged, not resent blind', async () => {
    const rec = await add('call mum', T0)
    await store.claim(rec.id)
    host.reconcile = undefined // a host that cannot check
    await runner().start()
    expect(host.sends).to.have.length(0)
    expect((await store.get(rec.id))!.status).to.equal('unknown')
    expect(records.some((r) => r.level === 'warn' && r.msg.includes('not resent so the chat does not get it twice'))).to.equal(true)
  })

  it('missed while the gateway was down: sent late with a note (missed: send)', async () => {
    await add('check the oven', T0 - 3 * 60 * MIN)
    await add('just due', T0 - 5 * MIN) // within the grace period: no note
    await runner().start()
    const texts = host.sends.map((s) => s.text)
    expect(texts).to.have.length(2)
    expect(texts[0]).to.equal('check the oven\n\n(Scheduled for Sat 5 Dec, 09:00 UTC; sent late because the gateway was offline.)')
    expect(texts[1]).to.equal('just due')
  })

  it('missed while the gateway was down: dropped with a log line naming the key (missed: drop)', async () => {
    config = {...config, missed: 'drop'}
    const rec = await add('check the oven', T0 - 3 * 60 * MIN)
    await runner().start()
    expect(host.sends).to.have.length(0)
    expect((await store.get(rec.id))!.status).to.equal('dropped')
    const line = records.find((r) => r.msg.includes(`schedule ${rec.id}: dropped`))
    expect(line?.fields.admit).to.contain('schedules.missed')
  })

  it('quiet hours hold a schedule until they end, without a "late" note', async () => {
    config = {...config, quietHours: {start: '22:00', end: '07:00'}}
    const due = Date.UTC(2026, 11, 5, 23, 30)
    await add('good morning', due)
    const r = runner()
    await r.start()
    clock.now = due + 10 * MIN
    await r.tick()
    expect(host.sends).to.have.length(0)
    clock.now = Date.UTC(2026, 11, 6, 6, 59)
    await r.tick()
    expect(host.sends).to.have.length(0)
    clock.now = Date.UTC(2026, 11, 6, 7, 0)
    await r.tick()
    expect(host.sends.map((s) => s.text)).to.deep.equal(['good morning'])
  })

  it('a cancel between due time and firing wins (CLI and gateway share the lock)', async () => {
    const rec = await add('never', T0)
    const res = await store.cancel(rec.id, 'cancelled with remoteclaw schedule cancel')
    expect(res?.cancelled).to.equal(true)
    await runner().start()
    expect(host.sends).to.have.length(0)
    expect(await store.claim(rec.id)).to.equal(undefined)
  })

  it('a failed send is settled failed with a log line', async () => {
    host.sendResult = async () => ({status: 'failed', detail: 'chat not found'})
    const rec = await add('x', T0)
    await runner().start()
    expect((await store.get(rec.id))!).to.include({status: 'failed', detail: 'chat not found'})
    expect(records.some((r) => r.level === 'warn' && r.msg === `schedule ${rec.id}: not sent: chat not found`)).to.equal(true)
  })

  it('a corrupt schedules file is an error with a fix, and is not overwritten', async () => {
    fs.writeFileSync(store.file, '{not json', {mode: 0o600})
    let err: {message: string; fix?: string} | undefined
    await add('x', T0).catch((error: {message: string; fix?: string}) => (err = error))
    expect(err?.message).to.contain('not valid JSON')
    expect(err?.fix).to.contain('mv ')
    expect(fs.readFileSync(store.file, 'utf8')).to.equal('{not json')
  })
})

describe('quiet hours', () => {
  const q = {start: '22:00', end: '07:00'}
  it('spans midnight and ends at the end time', () => {
    expect(isQuiet(Date.UTC(2026, 0, 1, 21, 59), q, 'UTC')).to.equal(false)
    expect(isQuiet(Date.UTC(2026, 0, 1, 22, 0), q, 'UTC')).to.equal(true)
    expect(isQuiet(Date.UTC(2026, 0, 2, 6, 59), q, 'UTC')).to.equal(true)
    expect(isQuiet(Date.UTC(2026, 0, 2, 7, 0), q, 'UTC')).to.equal(false)
    expect(nextAllowed(Date.UTC(2026, 0, 1, 23, 15, 30), q, 'UTC')).to.equal(Date.UTC(2026, 0, 2, 7, 0))
    expect(nextAllowed(Date.UTC(2026, 0, 1, 12, 0), q, 'UTC')).to.equal(Date.UTC(2026, 0, 1, 12, 0))
  })
  it('reads the window in the configured time zone', () => {
    // 21:30 UTC is 22:30 in Berlin (winter)
    expect(isQuiet(Date.UTC(2026, 0, 1, 21, 30), q, 'Europe/Berlin')).to.equal(true)
    expect(nextAllowed(Date.UTC(2026, 0, 1, 21, 30), q, 'Europe/Berlin')).to.equal(Date.UTC(2026, 0, 2, 6, 0))
    expect(isQuiet(Date.UTC(2026, 0, 1, 12, 0), {start: '09:00', end: '17:00'}, 'UTC')).to.equal(true)
  })
})
