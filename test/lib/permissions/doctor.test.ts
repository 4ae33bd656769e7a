import {expect} from 'chai'
import {execa} from 'execa'
import fs from 'node:fs'
import path from 'node:path'
import {createContext, type Context} from '../../../src/lib/context.js'
import {resolveAccount} from '../../../src/lib/config/accounts.js'
import {configSchema, type RemoteclawConfig} from '../../../src/lib/config/schema.js'
import {createLogger} from '../../../src/lib/log.js'
import {rpcProbe} from '../../../src/lib/permissions/deps.js'
import {diagnoseAccount} from '../../../src/lib/permissions/doctor.js'
import {renderDoctorReport, type DoctorReport} from '../../../src/lib/permissions/report.js'
import {readSqliteHeader} from '../../../src/lib/permissions/process-context.js'
import {IMSG_SIM, tempDir} from '../../helpers/cli.js'

/**
 * Every doctor classification driven by the simulator's failure knobs, locally (platform
 * overridden to darwin so the macOS checks run) and through a wrapper script.
 */
describe('permissions doctor (local imsg, simulator knobs)', function () {
  this.timeout(60_000)
  let tmp: ReturnType<typeof tempDir>
  let db: string

  before(async () => {
    tmp = tempDir('rc-doctor-')
    db = path.join(tmp.dir, 'chat.db')
    await execa(IMSG_SIM, ['init', '--db', db])
  })
  after(() => tmp.cleanup())

  function ctxWith(env: Record<string, string>, platform: NodeJS.Platform = 'darwin'): Context {
    return createContext({
      env: {...process.env, HOME: tmp.dir, TERM_PROGRAM: 'Apple_Terminal', ...env},
      home: tmp.dir,
      stateDir: tmp.dir,
      configPath: path.join(tmp.dir, 'remoteclaw.json'),
      platform,
      log: createLogger({level: 'error'}),
    })
  }

  async function doctor(
    env: Record<string, string>,
    channel: Record<string, unknown> = {},
    opts: {platform?: NodeJS.Platform; sendTest?: string; timeoutMs?: number; rest?: Record<string, unknown>} = {},
  ): Promise<DoctorReport> {
    const ctx = ctxWith(env, opts.platform)
    const config: RemoteclawConfig = configSchema.parse({channels: {imessage: {cliPath: IMSG_SIM, dbPath: db, groupPolicy: 'disabled', pairingReply: 'silent', ...channel}}, ...opts.rest})
    const account = resolveAccount(config, undefined, ctx)
    return diagnoseAccount(ctx, config, account, {sendTest: opts.sendTest, timeoutMs: opts.timeoutMs ?? 15_000}, {probe: (c, a) => rpcProbe(c, a, opts.timeoutMs ?? 10_000)})
  }

  const check = (r: DoctorReport, id: string) => {
    const c = r.checks.find((x) => x.id === id)
    expect(c, `check ${id} in ${JSON.stringify(r.checks.map((x) => x.id))}`).to.not.equal(undefined)
    return c!
  }

  it('passes every check with a healthy imsg (exit 0)', async () => {
    const r = await doctor({})
    expect(r.exitCode, renderDoctorReport(r).join('\n')).to.equal(0)
    expect(check(r, 'version').message).to.include('0.9.0')
    expect(check(r, 'rpc_support').status).to.equal('pass')
    expect(check(r, 'full_disk_access').status).to.equal('pass')
    expect(check(r, 'rpc_probe').status).to.equal('pass')
    expect(check(r, 'automation').status).to.equal('skip')
    expect(check(r, 'automation').message).to.include('--send-test')
    expect(r.schemaVersion).to.equal(1)
    expect(r.context.mode).to.equal('local')
  })

  it('skips macOS-only checks when local on Linux', async () => {
    const r = await doctor({}, {}, {platform: 'linux', sendTest: '+15555550123'})
    expect(check(r, 'full_disk_access').status).to.equal('skip')
    expect(check(r, 'full_disk_access').message).to.include('skipped (not macOS)')
    expect(check(r, 'automation').message).to.include('skipped (not macOS)')
    expect(r.exitCode).to.equal(0)
  })

  for (const version of ['0.5.0', '0.9.0', '0.14.0']) {
    it(`classifies missing Full Disk Access for imsg ${version} and names the binary and context (exit 5)`, async () => {
      const r = await doctor({IMSG_SIM_FDA: 'missing', IMSG_SIM_VERSION: version})
      const fda = check(r, 'full_disk_access')
      expect(fda.status).to.equal('fail')
      expect(fda.message).to.match(/Full Disk Access missing for imsg/)
      expect(fda.message).to.include(fs.realpathSync(IMSG_SIM))
      expect(fda.message).to.include('Terminal.app')
      expect(fda.fix).to.match(/Toggle stale entries/)
      expect(fda.fix).to.include('node binary')
      expect(r.exitCode).to.equal(5)
    })
  }

  it('names a LaunchAgent context when launched by launchd', async () => {
    const r = await doctor({IMSG_SIM_FDA: 'missing', TERM_PROGRAM: '', XPC_SERVICE_NAME: 'com.remoteclaw.gateway'})
    const fda = check(r, 'full_disk_access')
    expect(fda.message).to.include('LaunchAgent')
    expect(fda.fix).to.include(fs.realpathSync(process.execPath))
  })

  it('reports a chat.db that is missing or not SQLite from the header read', async () => {
    const missing = await doctor({}, {dbPath: path.join(tmp.dir, 'nope.db')})
    expect(check(missing, 'full_disk_access').message).to.include('does not exist')
    const bogus = path.join(tmp.dir, 'bogus.db')
    fs.writeFileSync(bogus, 'hello, not sqlite at all')
    const r = await doctor({}, {dbPath: bogus})
    expect(check(r, 'full_disk_access').message).to.include('not a SQLite database')
    expect(r.exitCode).to.equal(5)
    expect(await readSqliteHeader(db)).to.deep.equal({ok: true})
  })

  it('classifies Automation denied (-1743) only with --send-test (exit 5)', async () => {
    const without = await doctor({IMSG_SIM_AUTOMATION: 'denied'})
    expect(check(without, 'automation').status).to.equal('skip')
    expect(without.exitCode).to.equal(0)
    const r = await doctor({IMSG_SIM_AUTOMATION: 'denied'}, {}, {sendTest: '+15555550123'})
    const a = check(r, 'automation')
    expect(a.status).to.equal('fail')
    expect(a.message).to.include('-1743')
    expect(a.fix).to.include('imsg chats --limit 1')
    expect(a.fix).to.include('imsg send +15555550123 "test"')
    expect(r.exitCode).to.equal(5)
  })

  it('passes Automation when the test send goes through', async () => {
    const r = await doctor({}, {}, {sendTest: '+15555550123'})
    expect(check(r, 'automation').status).to.equal('pass')
    const sent = await execa(IMSG_SIM, ['sent', '--db', db, '--json'])
    expect(String(sent.stdout)).to.include('remoteclaw doctor: test message')
  })

  it('detects an imsg without rpc by its help text (exit 5)', async () => {
    const r = await doctor({IMSG_SIM_NO_RPC: '1'})
    expect(check(r, 'rpc_support').status).to.equal('fail')
    expect(check(r, 'rpc_support').fix).to.include('brew upgrade')
    expect(r.exitCode).to.equal(5)
  })

  it('reports a hanging rpc server as unreachable (exit 6)', async () => {
    const r = await doctor({IMSG_SIM_HANG: '1'}, {}, {timeoutMs: 1500})
    const p = check(r, 'rpc_probe')
    expect(p.status).to.equal('fail')
    expect(p.severity).to.equal('unreachable')
    expect(r.exitCode).to.equal(6)
  })

  it('reports a missing binary as unreachable (exit 6)', async () => {
    const r = await doctor({}, {cliPath: path.join(tmp.dir, 'no-such-imsg')})
    expect(check(r, 'binary').status).to.equal('fail')
    expect(check(r, 'rpc_support').status).to.equal('skip')
    expect(r.exitCode).to.equal(6)
  })

  it('states DM and group policy and flags the footguns', async () => {
    const r = await doctor({}, {groupPolicy: 'allowlist', dmPolicy: 'open', allowFrom: ['*'], pairingReply: 'code'})
    expect(check(r, 'dm_policy').message).to.match(/anyone who texts/)
    expect(check(r, 'group_policy').message).to.match(/no group chat can reach the bot/)
    const ids = r.checks.filter((c) => c.id.startsWith('footgun.')).map((c) => c.id)
    expect(ids).to.include('footgun.groups_allowlist_empty')
    expect(ids).to.include('footgun.dm_open')
    // warnings do not fail the doctor
    expect(r.exitCode).to.equal(0)
    const pairing = await doctor({}, {dmPolicy: 'pairing', pairingReply: 'code'})
    expect(pairing.checks.map((c) => c.id)).to.include('footgun.pairing_reply_personal_number')
  })

  it('flags one DM session shared by several people (session.dmScope "main") with the exact fix', async () => {
    const two = await doctor({}, {dmPolicy: 'allowlist', allowFrom: ['+15551230001', '+15551230002']})
    const f = check(two, 'footgun.dm_session_shared')
    expect(f.status).to.equal('warn')
    expect(f.message).to.contain('DMs to agent "main" share one conversation (session.dmScope is "main")')
    expect(f.fix).to.equal('remoteclaw config set session.dmScope per-sender')
    expect(check(await doctor({}, {dmPolicy: 'open', allowFrom: ['*']}), 'footgun.dm_session_shared').message).to.contain('anyone who can DM the bot')
    const ids = async (channel: Record<string, unknown>, rest?: Record<string, unknown>) => (await doctor({}, channel, {rest})).checks.map((c) => c.id)
    expect(await ids({dmPolicy: 'allowlist', allowFrom: ['+15551230001']})).not.to.include('footgun.dm_session_shared')
    expect(await ids({dmPolicy: 'allowlist', allowFrom: ['+15551230001', '+15551230002']}, {session: {dmScope: 'per-sender'}})).not.to.include('footgun.dm_session_shared')
    expect(await ids({dmPolicy: 'disabled', allowFrom: ['*']})).not.to.include('footgun.dm_session_shared')
  })
})
