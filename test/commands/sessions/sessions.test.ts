import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {SessionStore, type SessionRecord} from '../../../src/lib/sessions/store.js'
import {runCli, tempDir} from '../../helpers/cli.js'

describe('remoteclaw sessions list / reset (built CLI)', function () {
  this.timeout(120_000)
  let t: ReturnType<typeof tempDir>
  let store: SessionStore
  const now = Date.now()
  const rec = (key: string, extra: Partial<SessionRecord> = {}): SessionRecord => ({
    key,
    agentId: 'main',
    runtime: 'claude',
    sessionId: `sid-${key.length}`,
    cwd: '/srv/bot',
    accountId: 'default',
    createdAt: now - 3 * 3600_000,
    lastUsedAt: now - 3600_000,
    turns: 4,
    epoch: 'e',
    ...extra,
  })

  beforeEach(async () => {
    t = tempDir()
    fs.writeFileSync(
      path.join(t.dir, 'remoteclaw.json'),
      JSON.stringify({
        session: {idleMinutes: 120},
        agents: {list: [{id: 'main', runtime: 'claude'}, {id: 'ops', runtime: 'codex', session: {idleMinutes: 0}}]},
        channels: {imessage: {accounts: {default: {dbPath: "/tmp/a.db"}, bot: {dbPath: "/tmp/b.db"}}}},
      }),
    )
    store = new SessionStore({stateDir: t.dir})
    await store.update('agent:main:main', () => rec('agent:main:main'))
    await store.update('agent:ops:imessage:group:42', () => rec('agent:ops:imessage:group:42', {agentId: 'ops', runtime: 'codex', accountId: 'bot', sessionId: 'thread-1'}))
    await store.update('agent:main:imessage:dm:+15551230001', () => rec('agent:main:imessage:dm:+15551230001', {lastUsedAt: now - 5 * 3600_000, sessionId: undefined}))
  })
  afterEach(() => t.cleanup())

  it('list --json: every field, expiry from the agent\'s idleMinutes (0 = never), newest first', async () => {
    const r = await runCli(['sessions', 'list', '--json'], {stateDir: t.dir})
    expect(r.exitCode, r.stderr).to.equal(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.schemaVersion).to.equal(1)
    const byKey = Object.fromEntries(doc.sessions.map((s: {key: string}) => [s.key, s]))
    expect(byKey['agent:main:main']).to.deep.include({agentId: 'main', runtime: 'claude', sessionId: 'sid-15', turns: 4, accountId: 'default', expired: false})
    expect(Date.parse(byKey['agent:main:main'].expiresAt) - Date.parse(byKey['agent:main:main'].lastUsedAt)).to.equal(120 * 60_000)
    expect(byKey['agent:ops:imessage:group:42']).to.deep.include({expiresAt: null, expired: false, sessionId: 'thread-1'})
    expect(byKey['agent:main:imessage:dm:+15551230001']).to.deep.include({expired: true, sessionId: null})
  })

  it('list (text) shows a table; --account filters; an unknown account is exit 4', async () => {
    const r = await runCli(['sessions', 'list'], {stateDir: t.dir})
    expect(r.stdout).to.match(/SESSION KEY\s+AGENT\s+RUNTIME\s+CLI SESSION ID\s+TURNS\s+LAST USED\s+EXPIRES/)
    expect(r.stdout).to.contain('never').and.contain('expired (next message starts fresh)').and.contain('thread-1')
    const bot = JSON.parse((await runCli(['sessions', 'list', '--account', 'bot', '--json'], {stateDir: t.dir})).stdout)
    expect(bot.sessions.map((s: {key: string}) => s.key)).to.deep.equal(['agent:ops:imessage:group:42'])
    expect((await runCli(['sessions', 'list', '--account', 'nope'], {stateDir: t.dir})).exitCode).to.equal(4)
  })

  it('reset without a terminal and without --yes: exit 2 naming --yes, nothing reset', async () => {
    const r = await runCli(['sessions', 'reset', 'agent:main:main'], {stateDir: t.dir})
    expect(r.exitCode).to.equal(2)
    expect(r.stderr).to.contain('--yes')
    expect(await store.get('agent:main:main')).not.to.equal(undefined)
    const j = await runCli(['sessions', 'reset', '--all', '--json'], {stateDir: t.dir})
    expect(j.exitCode).to.equal(2)
    expect(JSON.parse(j.stdout).error.fix).to.contain('remoteclaw sessions reset --all --yes')
  })

  it('reset <key> --yes forgets that session only; an unknown key is exit 4; --all --account; --all', async () => {
    const r = await runCli(['sessions', 'reset', 'agent:main:main', '--yes', '--json'], {stateDir: t.dir})
    expect(r.exitCode, r.stderr).to.equal(0)
    expect(JSON.parse(r.stdout)).to.deep.equal({schemaVersion: 1, reset: ['agent:main:main']})
    expect((await store.list()).map((x) => x.key).sort()).to.deep.equal(['agent:main:imessage:dm:+15551230001', 'agent:ops:imessage:group:42'])
    const missing = await runCli(['sessions', 'reset', 'agent:main:main', '--yes'], {stateDir: t.dir})
    expect(missing.exitCode).to.equal(4)
    expect(missing.stderr).to.contain('remoteclaw sessions list')
    expect((await runCli(['sessions', 'reset', '--all', '--account', 'bot', '--yes'], {stateDir: t.dir})).stdout).to.contain('Reset 1 session(s): agent:ops:imessage:group:42')
    expect((await runCli(['sessions', 'reset', '--all', '--yes'], {stateDir: t.dir})).exitCode).to.equal(0)
    expect(await store.list()).to.deep.equal([])
    expect((await runCli(['sessions', 'reset', 'a', '--all', '--yes'], {stateDir: t.dir})).exitCode).to.equal(2)
    expect((await runCli(['sessions', 'reset'], {stateDir: t.dir})).exitCode).to.equal(2)
  })

  it('help lists examples and exit codes', async () => {
    const r = await runCli(['sessions', 'reset', '--help'], {stateDir: t.dir})
    expect(r.stdout).to.contain('EXAMPLES').and.contain('sessions reset --all --yes').and.contain('EXIT CODES')
  })
})
