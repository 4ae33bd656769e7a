import {expect} from 'chai'
import {runCli, tempDir} from '../../helpers/cli.js'
import {ScheduleStore} from '../../../src/lib/tools/schedule-store.js'

describe('remoteclaw schedule list / cancel (built CLI)', function () {
  this.timeout(60_000)
  let tmp: {dir: string; cleanup: () => void}
  let id: string
  beforeEach(async () => {
    tmp = tempDir('rc-sched-cli-')
    const store = new ScheduleStore(tmp.dir, Date.now)
    const rec = await store.add(
      (i) => ({
        id: i,
        accountId: 'default',
        agentId: 'main',
        sessionKey: 'agent:main:main',
        chat: {target: 'chat_id:4', chatId: 4, isGroup: false, label: 'DM'},
        text: 'Remember the dentist at 3',
        dueAt: Date.now() + 2 * 3600_000,
        createdAt: Date.now(),
        status: 'pending',
      }),
      () => 'ab12cd34',
    )
    id = rec.id
  })
  afterEach(() => tmp.cleanup())

  it('lists waiting schedules as a table and as JSON', async () => {
    const r = await runCli(['schedule', 'list'], {stateDir: tmp.dir})
    expect(r.exitCode, r.stderr).to.equal(0)
    expect(r.stdout).to.match(/^ID\s+CHAT\s+DUE\s+STATUS\s+TEXT/)
    expect(r.stdout).to.contain('ab12cd34').and.contain('chat_id:4').and.contain('in 1 hour').and.contain('Remember the dentist at 3')
    const j = await runCli(['schedule', 'list', '--json'], {stateDir: tmp.dir})
    expect(j.exitCode).to.equal(0)
    const doc = JSON.parse(j.stdout) as {schemaVersion: number; schedules: Array<Record<string, unknown>>}
    expect(doc.schemaVersion).to.equal(1)
    expect(doc.schedules[0]).to.include({id, chat: 'chat_id:4', status: 'pending', sessionKey: 'agent:main:main', text: 'Remember the dentist at 3'})
  })

  it('cancels by id (exit 0), then says it is already cancelled (exit 1); an unknown id is exit 4', async () => {
    const r = await runCli(['schedule', 'cancel', id], {stateDir: tmp.dir})
    expect(r.exitCode, r.stderr).to.equal(0)
    expect(r.stdout).to.contain(`Cancelled ${id}`)
    expect((await new ScheduleStore(tmp.dir, Date.now).get(id))!.status).to.equal('cancelled')
    expect((await runCli(['schedule', 'list'], {stateDir: tmp.dir})).stdout).to.contain('No scheduled messages waiting')
    expect((await runCli(['schedule', 'list', '--all'], {stateDir: tmp.dir})).stdout).to.contain('cancelled')

    const again = await runCli(['schedule', 'cancel', id, '--json'], {stateDir: tmp.dir})
    expect(again.exitCode).to.equal(1)
    expect(JSON.parse(again.stdout).error).to.include({code: 'schedule_not_pending'})
    const missing = await runCli(['schedule', 'cancel', 'nope'], {stateDir: tmp.dir})
    expect(missing.exitCode).to.equal(4)
    expect(missing.stderr).to.contain('no scheduled message with id "nope"').and.contain('Fix: List them with: remoteclaw schedule list --all')
  })

  it('has help with examples under the schedule topic', async () => {
    const r = await runCli(['schedule', '--help'], {stateDir: tmp.dir})
    expect(r.stdout).to.contain('List and cancel the messages agents have scheduled')
    const c = await runCli(['schedule', 'cancel', '--help'], {stateDir: tmp.dir})
    expect(c.stdout).to.contain('schedule cancel 3f9a1c2d').and.contain('EXIT CODES')
  })
})
