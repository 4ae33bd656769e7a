import {expect} from 'chai'
import {execa} from 'execa'
import fs from 'node:fs'
import path from 'node:path'
import {createContext, type Context} from '../../../src/lib/context.js'
import {resolveAccount} from '../../../src/lib/config/accounts.js'
import {configSchema} from '../../../src/lib/config/schema.js'
import {createLogger} from '../../../src/lib/log.js'
import {hostKeyState, rpcProbe} from '../../../src/lib/permissions/deps.js'
import {diagnoseAccount} from '../../../src/lib/permissions/doctor.js'
import type {DoctorReport} from '../../../src/lib/permissions/report.js'
import {inspectWrapper} from '../../../src/lib/permissions/process-context.js'
import {renderWrapper, writeWrapper} from '../../../src/lib/ssh/wrapper.js'
import {IMSG_SIM, tempDir} from '../../helpers/cli.js'
import {sshdUnavailableReason, startSshd, type TestSshd} from '../../helpers/sshd.js'

/**
 * The doctor through a generated SSH wrapper (real sshd on loopback): macOS checks run on the
 * far side even though this machine is Linux, and failures name the sshd session's context.
 */
describe('permissions doctor through an SSH wrapper', function () {
  this.timeout(90_000)
  let sshd: TestSshd
  let tmp: ReturnType<typeof tempDir>
  let db: string
  let ctx: Context

  before(async function () {
    if (sshdUnavailableReason()) this.skip()
    sshd = await startSshd()
    tmp = tempDir('rc-doctor-ssh-')
    db = path.join(tmp.dir, 'chat.db')
    await execa(IMSG_SIM, ['init', '--db', db])
    ctx = createContext({
      env: {...process.env, HOME: tmp.dir},
      home: tmp.dir,
      stateDir: tmp.dir,
      configPath: path.join(tmp.dir, 'remoteclaw.json'),
      platform: 'linux',
      log: createLogger({level: 'error'}),
    })
  })
  after(async () => {
    await sshd?.stop()
    tmp?.cleanup()
  })

  /** A wrapper whose remote imsg is the simulator with the given knobs. */
  async function wrapperFor(name: string, knobs: Record<string, string>, port = sshd.port): Promise<string> {
    const remote = path.join(tmp.dir, `remote-${name}`)
    const env = Object.entries({IMSG_SIM_DB: db, ...knobs})
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')
    fs.writeFileSync(remote, `#!/bin/sh\n${env} exec ${process.execPath} ${IMSG_SIM} "$@"\n`, {mode: 0o755})
    const file = path.join(tmp.dir, 'scripts', `imsg-${name}`)
    await writeWrapper(
      file,
      renderWrapper({user: sshd.user, host: '127.0.0.1', port, remoteImsgPath: remote, identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile}),
    )
    return file
  }

  async function doctor(cliPath: string, opts: {sendTest?: string; timeoutMs?: number} = {}): Promise<DoctorReport> {
    const config = configSchema.parse({channels: {imessage: {cliPath, groupPolicy: 'disabled'}}})
    const account = resolveAccount(config, undefined, ctx)
    return diagnoseAccount(ctx, config, account, {sendTest: opts.sendTest, timeoutMs: opts.timeoutMs ?? 15_000}, {probe: (c, a) => rpcProbe(c, a, opts.timeoutMs ?? 10_000)})
  }
  const check = (r: DoctorReport, id: string) => r.checks.find((c) => c.id === id)!

  it('recognises its own wrapper: target and remote imsg', async () => {
    const w = await wrapperFor('ok', {})
    expect(await inspectWrapper(w)).to.deep.equal({target: `${sshd.user}@127.0.0.1`, remoteImsg: path.join(tmp.dir, 'remote-ok')})
  })

  it('runs the macOS checks remotely and passes with a healthy imsg', async () => {
    const r = await doctor(await wrapperFor('ok', {}), {sendTest: '+15555550123'})
    expect(r.context.mode).to.equal('wrapper')
    expect(check(r, 'full_disk_access').status).to.equal('pass')
    expect(check(r, 'automation').status).to.equal('pass')
    expect(check(r, 'rpc_probe').status).to.equal('pass')
    // no remoteHost with a wrapper: attachments cannot be fetched
    expect(check(r, 'remote_host').status).to.equal('warn')
    expect(r.exitCode).to.equal(0)
  })

  for (const version of ['0.5.0', '0.9.0', '0.14.0']) {
    it(`Full Disk Access missing (imsg ${version}) names the bot user's sshd session (exit 5)`, async () => {
      const r = await doctor(await wrapperFor(`fda-${version.replace(/\./g, '')}`, {IMSG_SIM_FDA: 'missing', IMSG_SIM_VERSION: version}))
      const fda = check(r, 'full_disk_access')
      expect(fda.status).to.equal('fail')
      expect(fda.message).to.include(`sshd session of ${sshd.user}`)
      expect(fda.message).to.include('/usr/libexec/sshd-keygen-wrapper')
      expect(fda.fix).to.include('Allow full disk access for remote users')
      expect(fda.fix).to.match(/Toggle stale entries/)
      expect(r.exitCode).to.equal(5)
    })
  }

  it('Automation denied over SSH explains sshd-keygen-wrapper and the first-run procedure (exit 5)', async () => {
    const r = await doctor(await wrapperFor('auto', {IMSG_SIM_AUTOMATION: 'denied'}), {sendTest: '+15555550123'})
    const a = check(r, 'automation')
    expect(a.status).to.equal('fail')
    expect(a.message).to.include('sshd-keygen-wrapper')
    expect(a.message).to.include('-1743')
    expect(a.fix).to.include(`GUI session of ${sshd.user}`)
    expect(a.fix).to.include('chats --limit 1')
    expect(a.fix).to.include('send +15555550123 "test"')
    expect(r.exitCode).to.equal(5)
  })

  it('no rpc on the remote imsg (exit 5)', async () => {
    const r = await doctor(await wrapperFor('norpc', {IMSG_SIM_NO_RPC: '1'}))
    expect(check(r, 'rpc_support').status).to.equal('fail')
    expect(r.exitCode).to.equal(5)
  })

  it('a hanging remote rpc is unreachable (exit 6)', async () => {
    const r = await doctor(await wrapperFor('hang', {IMSG_SIM_HANG: '1'}), {timeoutMs: 2000})
    expect(check(r, 'rpc_probe').severity).to.equal('unreachable')
    expect(r.exitCode).to.equal(6)
  })

  it('an SSH host that does not answer is unreachable (exit 6)', async () => {
    const r = await doctor(await wrapperFor('down', {}, 1))
    const v = check(r, 'version')
    expect(v.status).to.equal('fail')
    expect(v.message).to.include('SSH to')
    expect(r.exitCode).to.equal(6)
  })

  it('remoteHost: reachable with a trusted, unknown or changed host key', async () => {
    const trusted = await hostKeyState(ctx, `${sshd.user}@${sshd.alias}`, {sshConfigFile: sshd.configFile})
    expect(trusted.state).to.equal('trusted')
    const cfgText = fs.readFileSync(sshd.configFile, 'utf8')
    const emptyKh = path.join(tmp.dir, 'kh-empty')
    fs.writeFileSync(emptyKh, '')
    const unknownCfg = path.join(tmp.dir, 'ssh_config_unknown')
    fs.writeFileSync(unknownCfg, cfgText.replace(sshd.knownHostsFile, emptyKh))
    const unknown = await hostKeyState(ctx, `${sshd.user}@${sshd.alias}`, {sshConfigFile: unknownCfg})
    expect(unknown.state).to.equal('unknown')
    expect(unknown.message).to.include('SHA256:')
    const other = path.join(tmp.dir, 'otherkey')
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other])
    const changedKh = path.join(tmp.dir, 'kh-changed')
    fs.writeFileSync(changedKh, `[127.0.0.1]:${sshd.port} ${fs.readFileSync(other + '.pub', 'utf8').trim().split(/\s+/).slice(0, 2).join(' ')}\n`)
    const changedCfg = path.join(tmp.dir, 'ssh_config_changed')
    fs.writeFileSync(changedCfg, cfgText.replace(sshd.knownHostsFile, changedKh))
    const changed = await hostKeyState(ctx, `${sshd.user}@${sshd.alias}`, {sshConfigFile: changedCfg})
    expect(changed.state).to.equal('mismatch')
    expect(fs.readFileSync(changedKh, 'utf8')).to.include('[127.0.0.1]')

    // The doctor turns these into its remote_host check.
    const config = configSchema.parse({channels: {imessage: {cliPath: await wrapperFor('ok', {}), remoteHost: `${sshd.user}@${sshd.alias}`, groupPolicy: 'disabled'}}})
    const account = resolveAccount(config, undefined, ctx)
    const r = await diagnoseAccount(ctx, config, account, {}, {hostKey: (c, h) => hostKeyState(c, h, {sshConfigFile: changedCfg})})
    expect(check(r, 'remote_host')).to.include({status: 'fail', severity: 'unhealthy'})
    expect(r.exitCode).to.equal(5)
  })
})
