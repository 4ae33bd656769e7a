import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {serviceNames} from '../../src/lib/service/spec.js'
import {parseUnit, splitSystemdWords} from '../../src/lib/service/systemd.js'
import {IMSG_SIM, REPO_ROOT, runCli, tempDir} from '../helpers/cli.js'
import {FakeServiceManager} from '../helpers/fake-service-manager.js'
import {GatewayHarness} from '../lib/gateway/harness.js'

/**
 * `gateway install|start|stop|restart|uninstall|status` on Linux through the built CLI, with
 * systemctl and loginctl replaced by recording fakes on PATH (CI has no systemd user session).
 */
describe('gateway service commands (systemd, fake systemctl/loginctl)', function () {
  this.timeout(180_000)
  let tmp: ReturnType<typeof tempDir>
  let fake: FakeServiceManager
  let unit: string
  let unitFile: string
  const uid = String(process.getuid!())

  const showInactive = {cmd: 'systemctl' as const, args: ['--user', 'show'], stdout: 'LoadState=not-found\nActiveState=inactive\nSubState=dead\nMainPID=0\nUnitFileState=\n'}
  const lingerNo = {cmd: 'loginctl' as const, args: ['show-user'], stdout: 'Linger=no\n'}

  beforeEach(() => {
    tmp = tempDir('rc-svc-')
    fake = new FakeServiceManager(path.join(tmp.dir, 'fake'))
    fs.writeFileSync(
      path.join(tmp.dir, 'remoteclaw.json'),
      JSON.stringify({channels: {imessage: {cliPath: IMSG_SIM, dbPath: path.join(tmp.dir, 'chat.db')}}, agents: {list: [{id: 'main', runtime: 'echo'}]}}),
    )
    unit = `${serviceNames({stateDir: tmp.dir, home: tmp.dir}).unitName}.service`
    unitFile = path.join(tmp.dir, '.config', 'systemd', 'user', unit)
  })
  afterEach(() => tmp.cleanup())

  const cli = (args: string[], env: Record<string, string | undefined> = {}) =>
    runCli(args, {stateDir: tmp.dir, env: {...fake.env(), XDG_CONFIG_HOME: undefined, USER: 'botuser', ...env}})

  it('install --dry-run prints the unit and the commands and changes nothing', async () => {
    fake.rules([showInactive, lingerNo])
    const r = await cli(['gateway', 'install', '--dry-run'])
    expect(r.exitCode, r.stderr).to.equal(0)
    expect(r.stdout).to.include(`Would write ${unitFile}:`)
    expect(r.stdout).to.include('Restart=on-failure')
    expect(r.stdout).to.include(`Would run:\n  systemctl --user daemon-reload\n  systemctl --user enable --now ${unit}`)
    expect(fs.existsSync(unitFile)).to.equal(false)
    expect(fake.changes()).to.deep.equal([])
  })

  it('install writes the unit, runs daemon-reload + enable --now, and says lingering is off with the command', async () => {
    fake.rules([showInactive, lingerNo])
    const r = await cli(['gateway', 'install'])
    expect(r.exitCode, r.stderr).to.equal(0)
    expect(fake.changes()).to.deep.equal([
      ['systemctl', '--user', 'daemon-reload'],
      ['systemctl', '--user', 'enable', '--now', unit],
    ])
    expect(fake.calls()).to.deep.include(['loginctl', 'show-user', uid, '--property=Linger'])
    expect(r.stdout).to.include(`Wrote ${unitFile}`)
    expect(r.stdout).to.include('Lingering is off for botuser: the service stops when you log out')
    expect(r.stdout).to.include('  loginctl enable-linger botuser')
    expect(fs.statSync(unitFile).mode & 0o777).to.equal(0o644)
    expect(fs.statSync(path.join(tmp.dir, 'logs')).mode & 0o777).to.equal(0o700)

    // Every directive, parsed back.
    const u = parseUnit(fs.readFileSync(unitFile, 'utf8'))
    expect(Object.keys(u)).to.deep.equal(['Unit', 'Service', 'Install'])
    expect(Object.keys(u.Unit!)).to.deep.equal(['Description'])
    expect(u.Unit!.Description![0]).to.include(tmp.dir)
    const s = u.Service!
    expect(Object.keys(s).sort()).to.deep.equal(
      ['Environment', 'ExecStart', 'KillMode', 'Restart', 'RestartSec', 'StandardError', 'StandardOutput', 'TimeoutStopSec', 'Type', 'UMask', 'WorkingDirectory'].sort(),
    )
    expect(s.Type).to.deep.equal(['simple'])
    expect(s.Restart).to.deep.equal(['on-failure'])
    expect(s.RestartSec).to.deep.equal(['10'])
    expect(s.KillMode).to.deep.equal(['mixed'])
    expect(s.TimeoutStopSec).to.deep.equal(['45'])
    expect(s.UMask).to.deep.equal(['0077'])
    expect(s.WorkingDirectory).to.deep.equal([tmp.dir])
    expect(s.StandardOutput).to.deep.equal([`append:${path.join(tmp.dir, 'logs', 'service.out.log')}`])
    expect(s.StandardError).to.deep.equal([`append:${path.join(tmp.dir, 'logs', 'service.err.log')}`])
    const exec = splitSystemdWords(s.ExecStart![0]!)
    expect(exec.every((w, i) => i >= 2 || path.isAbsolute(w))).to.equal(true)
    expect(fs.realpathSync(exec[0]!)).to.equal(fs.realpathSync(process.execPath))
    expect(exec.slice(1)).to.deep.equal([fs.realpathSync(path.join(REPO_ROOT, 'bin', 'run.js')), 'gateway'])
    const env = Object.fromEntries(s.Environment!.map((e) => splitSystemdWords(e)[0]!).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
    expect(env.REMOTECLAW_STATE_DIR).to.equal(tmp.dir)
    expect(env.REMOTECLAW_SERVICE).to.equal('systemd')
    expect(env.PATH!.split(':')).to.include(path.dirname(IMSG_SIM))
    expect(env.PATH!.split(':')).to.include(path.dirname(exec[0]!))
    expect(u.Install).to.deep.equal({WantedBy: ['default.target']})
  })

  it('install --account passes the accounts; an unknown account is exit 4', async () => {
    fake.rules([showInactive])
    const bad = await cli(['gateway', 'install', '--account', 'nope'])
    expect(bad.exitCode).to.equal(4)
    expect(bad.stderr).to.include('no iMessage account "nope"')
    const r = await cli(['gateway', 'install', '--account', 'default', '--json'])
    expect(r.exitCode, r.stderr).to.equal(0)
    const doc = JSON.parse(r.stdout) as {programArguments: string[]; manager: string; linger?: boolean}
    expect(doc.manager).to.equal('systemd')
    expect(doc.programArguments.slice(2)).to.deep.equal(['gateway', '--account', 'default'])
  })

  it('a unit remoteclaw did not write is not replaced without --force', async () => {
    fs.mkdirSync(path.dirname(unitFile), {recursive: true})
    fs.writeFileSync(unitFile, '[Service]\nExecStart=/usr/bin/true\n')
    fake.rules([showInactive])
    const r = await cli(['gateway', 'install'])
    expect(r.exitCode).to.equal(1)
    expect(r.stderr).to.include('was not written by remoteclaw; not replacing it')
    expect(r.stderr).to.include('remoteclaw gateway install --force')
    expect(fs.readFileSync(unitFile, 'utf8')).to.equal('[Service]\nExecStart=/usr/bin/true\n')
    expect(fake.changes()).to.deep.equal([])
    const u = await cli(['gateway', 'uninstall'])
    expect(u.exitCode).to.equal(1)
    expect(fs.existsSync(unitFile)).to.equal(true)

    const f = await cli(['gateway', 'install', '--force'])
    expect(f.exitCode, f.stderr).to.equal(0)
    expect(f.stdout).to.include(`Replaced ${unitFile}`)
    expect(fs.readFileSync(unitFile, 'utf8')).to.include('Written by remoteclaw gateway install')
  })

  it('a reinstall stops the running unit first', async () => {
    fs.mkdirSync(path.dirname(unitFile), {recursive: true})
    fs.writeFileSync(unitFile, '# Written by remoteclaw gateway install\n[Service]\n')
    fake.rules([{cmd: 'systemctl', args: ['--user', 'show'], stdout: 'LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=999999\nUnitFileState=enabled\n'}])
    const r = await cli(['gateway', 'install'])
    expect(r.exitCode, r.stderr).to.equal(0)
    expect(fake.changes()).to.deep.equal([
      ['systemctl', '--user', 'disable', '--now', unit],
      ['systemctl', '--user', 'daemon-reload'],
      ['systemctl', '--user', 'enable', '--now', unit],
    ])
  })

  it('a unit that fails to start: exit 1 naming the command, systemctl output and where to look', async () => {
    fake.rules([
      showInactive,
      {cmd: 'systemctl', args: ['--user', 'enable'], exitCode: 1, stderr: `Job for ${unit} failed because the control process exited with error code.\nSee "systemctl --user status ${unit}" and "journalctl --user -xeu ${unit}" for details.\n`},
    ])
    const r = await cli(['gateway', 'install'])
    expect(r.exitCode).to.equal(1)
    expect(r.stderr).to.include(`\`systemctl --user enable --now ${unit}\` failed (exit 1): Job for ${unit} failed`)
    expect(r.stderr).to.include(`Fix: See why: systemctl --user status ${unit} ; remoteclaw logs`)
    expect(r.stderr).to.not.match(/\n\s+at /)
  })

  it('no user bus (su, cron, plain ssh without a session): the fix says how to get one', async () => {
    fake.rules([{cmd: 'systemctl', exitCode: 1, stderr: 'Failed to connect to bus: No medium found\n'}])
    const r = await cli(['gateway', 'install'])
    expect(r.exitCode).to.equal(1)
    expect(r.stderr).to.include('Failed to connect to bus')
    expect(r.stderr).to.include('loginctl enable-linger $USER')
  })

  it('start, stop, restart, uninstall: the exact systemctl calls; not installed is exit 4', async () => {
    fake.rules([showInactive])
    for (const verb of ['start', 'stop', 'restart', 'uninstall', 'status']) {
      const r = await cli(['gateway', verb])
      expect(r.exitCode, `${verb}: ${r.stderr}`).to.equal(4)
      if (verb !== 'status') expect(r.stderr).to.include('the gateway service is not installed')
      else expect(r.stdout).to.include('Service: not installed')
    }
    const js = await cli(['gateway', 'status', '--json'])
    expect(js.exitCode).to.equal(4)
    expect(JSON.parse(js.stdout)).to.include({installed: false, running: false, exitCode: 4, schemaVersion: 1})
    const stopJson = await cli(['gateway', 'stop', '--json'])
    expect(stopJson.exitCode).to.equal(4)
    expect(JSON.parse(stopJson.stdout).error.code).to.equal('service_not_installed')

    fake.rules([showInactive, lingerNo])
    expect((await cli(['gateway', 'install'])).exitCode).to.equal(0)
    fake.rules([{cmd: 'systemctl', args: ['--user', 'show'], stdout: 'LoadState=loaded\nActiveState=inactive\nSubState=dead\nMainPID=0\nUnitFileState=enabled\nExecMainCode=1\nExecMainStatus=7\n'}])
    const st = await cli(['gateway', 'start'])
    expect(st.exitCode, st.stderr).to.equal(0)
    expect(fake.changes()).to.deep.equal([['systemctl', '--user', 'start', unit]])
    fake.rules([{cmd: 'systemctl', args: ['--user', 'show'], stdout: 'LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=4242\nUnitFileState=enabled\n'}])
    expect((await cli(['gateway', 'restart'])).exitCode).to.equal(0)
    expect(fake.changes()).to.deep.equal([['systemctl', '--user', 'restart', unit]])
    fake.rules([{cmd: 'systemctl', args: ['--user', 'show'], stdout: 'LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=4242\nUnitFileState=enabled\n'}])
    const sp = await cli(['gateway', 'stop'])
    expect(sp.exitCode).to.equal(0)
    expect(fake.changes()).to.deep.equal([['systemctl', '--user', 'stop', unit]])
    fake.rules([{cmd: 'systemctl', args: ['--user', 'show'], stdout: 'LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=4242\nUnitFileState=enabled\n'}])
    const un = await cli(['gateway', 'uninstall'])
    expect(un.exitCode, un.stderr).to.equal(0)
    expect(fake.changes()).to.deep.equal([
      ['systemctl', '--user', 'disable', '--now', unit],
      ['systemctl', '--user', 'daemon-reload'],
    ])
    expect(fs.existsSync(unitFile)).to.equal(false)
  })

  it('a failing start is reported with the command and exit 1', async () => {
    fake.rules([showInactive, lingerNo])
    expect((await cli(['gateway', 'install'])).exitCode).to.equal(0)
    fake.rules([
      {cmd: 'systemctl', args: ['--user', 'show'], stdout: 'LoadState=loaded\nActiveState=failed\nSubState=failed\nMainPID=0\nUnitFileState=enabled\nExecMainCode=1\nExecMainStatus=7\n'},
      {cmd: 'systemctl', args: ['--user', 'start'], exitCode: 1, stderr: `Job for ${unit} failed.\n`},
    ])
    const r = await cli(['gateway', 'start'])
    expect(r.exitCode).to.equal(1)
    expect(r.stderr).to.include(`\`systemctl --user start ${unit}\` failed (exit 1): Job for ${unit} failed.`)
    const st = await cli(['gateway', 'status'])
    expect(st.exitCode).to.equal(5)
    expect(st.stdout).to.include('not running, state failed (failed), last exit status 7')
  })

  it('status: 0 while the service pid is a healthy gateway; 5 once it is not running', async () => {
    const h = new GatewayHarness()
    try {
      await h.init()
      h.writeConfig({dmPolicy: 'open', allowFrom: ['*']}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
      const hf = new FakeServiceManager(path.join(h.dir, 'fake'))
      const unitH = `${serviceNames({stateDir: h.dir, home: h.dir}).unitName}.service`
      const file = path.join(h.dir, '.config', 'systemd', 'user', unitH)
      fs.mkdirSync(path.dirname(file), {recursive: true})
      fs.writeFileSync(file, '# Written by remoteclaw gateway install\n')
      h.start()
      await h.ready()
      await h.waitFor(() => fs.existsSync(path.join(h.dir, 'gateway', 'health.json')) && h.healthFile().accounts.default?.running, 'health: running')
      const pid = h.child!.pid!
      hf.rules([{cmd: 'systemctl', args: ['--user', 'show'], stdout: `LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=${pid}\nUnitFileState=enabled\n`}, {cmd: 'loginctl', stdout: 'Linger=yes\n'}])
      const env = {...hf.env(), XDG_CONFIG_HOME: undefined}
      const ok = await runCli(['gateway', 'status'], {stateDir: h.dir, env})
      expect(ok.exitCode, ok.stdout + ok.stderr).to.equal(0)
      expect(ok.stdout).to.include(`Service: systemd ${unitH}: loaded, running (pid ${pid}), state active (running)`)
      expect(ok.stdout).to.include(`gateway: the gateway is running (pid ${pid})`)
      const js = JSON.parse((await runCli(['gateway', 'status', '--json'], {stateDir: h.dir, env})).stdout)
      expect(js).to.include({running: true, pid, healthy: true, exitCode: 0, linger: true})
      expect(js.health.state).to.equal('running')

      // A gateway that is not the service's process (started by hand) is not the service being healthy.
      hf.rules([{cmd: 'systemctl', args: ['--user', 'show'], stdout: `LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=1\nUnitFileState=enabled\n`}])
      const other = await runCli(['gateway', 'status'], {stateDir: h.dir, env})
      expect(other.exitCode).to.equal(5)
      expect(other.stdout).to.include(`the gateway writing the health file is pid ${pid}, not the service's pid 1`)

      expect(await h.stop()).to.equal(0)
      hf.rules([{cmd: 'systemctl', args: ['--user', 'show'], stdout: 'LoadState=loaded\nActiveState=inactive\nSubState=dead\nMainPID=0\nUnitFileState=enabled\nExecMainCode=1\nExecMainStatus=0\n'}])
      const down = await runCli(['gateway', 'status', '--json'], {stateDir: h.dir, env})
      expect(down.exitCode).to.equal(5)
      expect(JSON.parse(down.stdout)).to.include({installed: true, running: false, lastExitStatus: 0, exitCode: 5})
    } finally {
      await h.dispose()
    }
  })

  it('other platforms: a clear "not supported" with what to do instead', async () => {
    // The platform comes from the injectable Context; the lib-level check covers it.
    const {serviceBackend} = await import('../../src/lib/service/service.js')
    const {createContext} = await import('../../src/lib/context.js')
    expect(() => serviceBackend(createContext({platform: 'win32', home: tmp.dir, stateDir: tmp.dir}))).to.throw(/not supported on win32/)
    try {
      serviceBackend(createContext({platform: 'freebsd', home: tmp.dir, stateDir: tmp.dir}))
    } catch (error) {
      expect((error as {fix: string}).fix).to.include('remoteclaw gateway')
      expect((error as {fix: string}).fix).to.include('restart it on failure only')
    }
  })
})
