import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {parse} from 'plist'
import {createContext, type Context} from '../../../src/lib/context.js'
import {createLogger} from '../../../src/lib/log.js'
import {CommandRunner} from '../../../src/lib/service/exec.js'
import {LaunchdService, parseLaunchctlPrint, renderPlist} from '../../../src/lib/service/launchd.js'
import {describeControl, grantLines, serviceStatusReport} from '../../../src/lib/service/report.js'
import {controlService, installService, uninstallService} from '../../../src/lib/service/service.js'
import {buildServiceSpec, DEFAULT_LABEL, serviceNames, stableNodePath} from '../../../src/lib/service/spec.js'
import {configSchema} from '../../../src/lib/config/schema.js'
import {IMSG_SIM, REPO_ROOT, tempDir} from '../../helpers/cli.js'
import {FakeServiceManager} from '../../helpers/fake-service-manager.js'

/** Keys launchd.plist(5) documents for a LaunchAgent; the plist must use nothing else. */
const LAUNCHD_KEYS = new Set([
  'Label', 'Disabled', 'UserName', 'GroupName', 'inetdCompatibility', 'LimitLoadToHosts', 'LimitLoadFromHosts', 'LimitLoadToSessionType',
  'LimitLoadToHardware', 'LimitLoadFromHardware', 'Program', 'ProgramArguments', 'EnableGlobbing', 'EnableTransactions', 'EnablePressuredExit',
  'OnDemand', 'ServiceIPC', 'KeepAlive', 'RunAtLoad', 'RootDirectory', 'WorkingDirectory', 'EnvironmentVariables', 'Umask', 'TimeOut',
  'ExitTimeOut', 'ThrottleInterval', 'InitGroups', 'WatchPaths', 'QueueDirectories', 'StartOnMount', 'StartInterval', 'StartCalendarInterval',
  'StandardInPath', 'StandardOutPath', 'StandardErrorPath', 'Debug', 'WaitForDebugger', 'SoftResourceLimits', 'HardResourceLimits', 'Nice',
  'ProcessType', 'AbandonProcessGroup', 'LowPriorityIO', 'LowPriorityBackgroundIO', 'MaterializeDatalessFiles', 'LaunchOnlyOnce', 'MachServices',
  'Sockets', 'AssociatedBundleIdentifiers',
])

const PRINT_RUNNING = `gui/501/${DEFAULT_LABEL} = {
\tactive count = 1
\tpath = /Users/bot/Library/LaunchAgents/${DEFAULT_LABEL}.plist
\ttype = LaunchAgent
\tstate = running

\tprogram = /opt/homebrew/bin/node
\targuments = {
\t\t/opt/homebrew/bin/node
\t\tgateway
\t}

\tenvironment = {
\t\tPATH => /opt/homebrew/bin:/usr/bin:/bin
\t\tpid = 77
\t}

\truns = 3
\tpid = 4321
\timmediate reason = speculative
\tlast exit code = 1
}
`

describe('launchd LaunchAgent (plist + fake launchctl)', function () {
  this.timeout(60_000)
  let tmp: ReturnType<typeof tempDir>
  let fake: FakeServiceManager
  let ctx: Context

  beforeEach(() => {
    tmp = tempDir('rc-launchd-')
    fake = new FakeServiceManager(path.join(tmp.dir, 'fake'))
    const home = path.join(tmp.dir, 'home')
    fs.mkdirSync(home)
    ctx = createContext({
      env: {...process.env, ...fake.env(), HOME: home},
      home,
      stateDir: path.join(home, '.remoteclaw'),
      configPath: path.join(home, '.remoteclaw', 'remoteclaw.json'),
      platform: 'darwin',
      uid: 501,
      log: createLogger({level: 'error', write: () => {}}),
    })
  })
  afterEach(() => tmp.cleanup())

  const config = () => configSchema.parse({channels: {imessage: {cliPath: IMSG_SIM}}, agents: {list: [{id: 'main', runtime: 'echo'}]}})
  const spec = () => buildServiceSpec(ctx, {entry: path.join(REPO_ROOT, 'bin', 'run.js'), execPath: process.execPath, config: config(), kind: 'launchd'})

  it('the plist parses back (plist) with launchd keys only: RunAtLoad, KeepAlive on failure, ThrottleInterval, logs, environment', async () => {
    const s = await spec()
    const text = renderPlist(s)
    expect(text).to.include('<!-- Written by remoteclaw gateway install')
    const p = parse(text) as Record<string, unknown>
    for (const k of Object.keys(p)) expect(LAUNCHD_KEYS.has(k), `unknown launchd key ${k}`).to.equal(true)
    expect(p.Label).to.equal(DEFAULT_LABEL)
    expect(p.RunAtLoad).to.equal(true)
    expect(p.KeepAlive).to.deep.equal({SuccessfulExit: false})
    expect(p.ThrottleInterval).to.equal(10)
    expect(p.ExitTimeOut).to.equal(45)
    expect(p.Umask).to.equal(0o077)
    expect(p.StandardOutPath).to.equal(path.join(ctx.stateDir, 'logs', 'service.out.log'))
    expect(p.StandardErrorPath).to.equal(path.join(ctx.stateDir, 'logs', 'service.err.log'))
    const args = p.ProgramArguments as string[]
    expect(args.slice(0, 2).every((a) => path.isAbsolute(a))).to.equal(true)
    expect(args.slice(2)).to.deep.equal(['gateway'])
    const env = p.EnvironmentVariables as Record<string, string>
    expect(env.PATH!.split(':')).to.include(path.dirname(IMSG_SIM))
    expect(env.REMOTECLAW_SERVICE).to.equal('launchd')
    // the default state dir and config path are not pinned
    expect(env).to.not.have.property('REMOTECLAW_STATE_DIR')
    expect(env).to.not.have.property('REMOTECLAW_CONFIG_PATH')
  })

  it('a non-default state dir gets its own label and its env vars', async () => {
    ctx.stateDir = path.join(tmp.dir, 'work state')
    ctx.configPath = path.join(tmp.dir, 'elsewhere.json')
    ctx.env = {...ctx.env, REMOTECLAW_STATE_DIR: ctx.stateDir, REMOTECLAW_CONFIG_PATH: ctx.configPath}
    const {label} = serviceNames(ctx)
    expect(label).to.match(/^com\.remoteclaw\.gateway\.work-state-[0-9a-f]{8}$/)
    expect(serviceNames({stateDir: path.join(tmp.dir, 'other', 'work state'), home: ctx.home}).label).to.not.equal(label)
    const p = parse(renderPlist(await spec())) as {Label: string; EnvironmentVariables: Record<string, string>}
    expect(p.Label).to.equal(label)
    expect(p.EnvironmentVariables.REMOTECLAW_STATE_DIR).to.equal(ctx.stateDir)
    expect(p.EnvironmentVariables.REMOTECLAW_CONFIG_PATH).to.equal(ctx.configPath)
  })

  it('install: enable + bootstrap gui/<uid>; a reinstall boots the loaded one out first', async () => {
    const backend = new LaunchdService(ctx, DEFAULT_LABEL)
    fake.rules([{cmd: 'launchctl', args: ['print'], exitCode: 113, stderr: 'Could not find service "com.remoteclaw.gateway" in domain for port\n'}])
    const r = await installService(backend, await spec(), new CommandRunner(ctx), {})
    const target = `gui/501/${DEFAULT_LABEL}`
    expect(fake.calls()).to.deep.equal([
      ['launchctl', 'print', target],
      ['launchctl', 'enable', target],
      ['launchctl', 'bootstrap', 'gui/501', backend.file],
    ])
    expect(r.file).to.equal(path.join(ctx.home, 'Library', 'LaunchAgents', `${DEFAULT_LABEL}.plist`))
    expect((parse(fs.readFileSync(r.file, 'utf8')) as {Label: string}).Label).to.equal(DEFAULT_LABEL)
    expect(fs.statSync(path.join(ctx.stateDir, 'logs')).mode & 0o777).to.equal(0o700)

    fake.rules([{cmd: 'launchctl', args: ['print'], stdout: PRINT_RUNNING}])
    const again = await installService(backend, await spec(), new CommandRunner(ctx), {})
    expect(again.replaced).to.equal(true)
    expect(fake.changes()).to.deep.equal([
      ['launchctl', 'bootout', target],
      ['launchctl', 'enable', target],
      ['launchctl', 'bootstrap', 'gui/501', backend.file],
    ])
  })

  it('--dry-run: the commands are listed, nothing is written or run', async () => {
    const backend = new LaunchdService(ctx, DEFAULT_LABEL)
    fake.rules([{cmd: 'launchctl', args: ['print'], exitCode: 113}])
    const r = await installService(backend, await spec(), new CommandRunner(ctx, true), {})
    expect(r.commands).to.deep.equal([
      ['launchctl', 'enable', `gui/501/${DEFAULT_LABEL}`],
      ['launchctl', 'bootstrap', 'gui/501', backend.file],
    ])
    expect(fake.changes()).to.deep.equal([])
    expect(fs.existsSync(backend.file)).to.equal(false)
  })

  it('a bootstrap error is a one-line failure with the launchctl message and a fix that works', async () => {
    const backend = new LaunchdService(ctx, DEFAULT_LABEL)
    fake.rules([
      {cmd: 'launchctl', args: ['print'], exitCode: 113},
      {cmd: 'launchctl', args: ['bootstrap'], exitCode: 5, stderr: 'Bootstrap failed: 5: Input/output error\n'},
    ])
    try {
      await installService(backend, await spec(), new CommandRunner(ctx), {})
      expect.fail('should throw')
    } catch (error) {
      const e = error as {message: string; fix: string; exitCode: number}
      expect(e.message).to.equal(`\`launchctl bootstrap gui/501 ${backend.file}\` failed (exit 5): Bootstrap failed: 5: Input/output error`)
      expect(e.fix).to.include(`plutil -lint ${backend.file}`)
      expect(e.fix).to.include(`launchctl bootout gui/501/${DEFAULT_LABEL}`)
      expect(e.exitCode).to.equal(1)
    }
  })

  it('a plist remoteclaw did not write is not replaced or removed without --force', async () => {
    const backend = new LaunchdService(ctx, DEFAULT_LABEL)
    fs.mkdirSync(path.dirname(backend.file), {recursive: true})
    fs.writeFileSync(backend.file, '<plist><dict><key>Label</key><string>mine</string></dict></plist>')
    fake.rules([{cmd: 'launchctl', args: ['print'], exitCode: 113}])
    let err: unknown
    await installService(backend, await spec(), new CommandRunner(ctx), {}).catch((error) => (err = error))
    expect((err as Error).message).to.include('was not written by remoteclaw')
    err = undefined
    await uninstallService(backend, new CommandRunner(ctx), {}).catch((error) => (err = error))
    expect((err as Error).message).to.include('was not written by remoteclaw')
    expect(fake.changes()).to.deep.equal([])
    expect(fs.readFileSync(backend.file, 'utf8')).to.include('mine')
    await installService(backend, await spec(), new CommandRunner(ctx), {force: true})
    expect(fs.readFileSync(backend.file, 'utf8')).to.include('Written by remoteclaw')
  })

  it('status parses launchctl print (state, pid, last exit code; nested blocks ignored)', async () => {
    expect(parseLaunchctlPrint(PRINT_RUNNING)).to.deep.equal({state: 'running', pid: 4321, lastExit: '1'})
    expect(parseLaunchctlPrint(PRINT_RUNNING.replace('\tstate = running', '\tstate = not running').replace('\tpid = 4321\n', '').replace('last exit code = 1', 'last exit code = (never exited)'))).to.deep.equal({
      state: 'not running',
      pid: undefined,
      lastExit: '(never exited)',
    })
    const backend = new LaunchdService(ctx, DEFAULT_LABEL)
    fake.rules([{cmd: 'launchctl', args: ['print'], exitCode: 113}])
    await installService(backend, await spec(), new CommandRunner(ctx), {})
    fake.rules([{cmd: 'launchctl', args: ['print'], stdout: PRINT_RUNNING}])
    const r = await serviceStatusReport(ctx, backend, new CommandRunner(ctx))
    expect(r).to.include({installed: true, ours: true, loaded: true, running: true, pid: 4321, lastExitStatus: 1, exitCode: 5})
    // pid 4321 is not a gateway with a health file here
    expect(r.problems.join(' ')).to.include('the gateway is not running')
  })

  it('start/stop/restart/uninstall: bootstrap or kickstart, bootout, kickstart -k, bootout + remove', async () => {
    const backend = new LaunchdService(ctx, DEFAULT_LABEL)
    const target = `gui/501/${DEFAULT_LABEL}`
    fake.rules([{cmd: 'launchctl', args: ['print'], exitCode: 113}])
    await installService(backend, await spec(), new CommandRunner(ctx), {})

    fake.rules([{cmd: 'launchctl', args: ['print'], exitCode: 113}])
    await controlService(backend, new CommandRunner(ctx), 'start')
    expect(fake.changes()).to.deep.equal([['launchctl', 'bootstrap', 'gui/501', backend.file]])

    const loadedNotRunning = PRINT_RUNNING.replace('\tstate = running', '\tstate = not running').replace('\tpid = 4321\n', '')
    fake.rules([{cmd: 'launchctl', args: ['print'], stdout: loadedNotRunning}])
    await controlService(backend, new CommandRunner(ctx), 'start')
    expect(fake.changes()).to.deep.equal([['launchctl', 'kickstart', target]])

    fake.rules([{cmd: 'launchctl', args: ['print'], stdout: PRINT_RUNNING}])
    const same = await controlService(backend, new CommandRunner(ctx), 'start')
    expect(same.changed).to.equal(false)
    expect(describeControl(same)).to.deep.equal(['The gateway service already runs (pid 4321).'])

    fake.rules([{cmd: 'launchctl', args: ['print'], stdout: PRINT_RUNNING}])
    await controlService(backend, new CommandRunner(ctx), 'restart')
    expect(fake.changes()).to.deep.equal([['launchctl', 'kickstart', '-k', target]])

    fake.rules([{cmd: 'launchctl', args: ['print'], stdout: PRINT_RUNNING}])
    await controlService(backend, new CommandRunner(ctx), 'stop')
    expect(fake.changes()).to.deep.equal([['launchctl', 'bootout', target]])

    fake.rules([{cmd: 'launchctl', args: ['print'], stdout: PRINT_RUNNING}])
    await uninstallService(backend, new CommandRunner(ctx), {})
    expect(fake.changes()).to.deep.equal([['launchctl', 'bootout', target]])
    expect(fs.existsSync(backend.file)).to.equal(false)
  })

  it('names the stable Homebrew node (not the Cellar path) as the binary that needs the grants', async () => {
    // A Homebrew layout: <prefix>/Cellar/node/22.1.0/bin/node and the <prefix>/bin/node symlink.
    const prefix = path.join(tmp.dir, 'homebrew')
    const cellarNode = path.join(prefix, 'Cellar', 'node', '22.1.0', 'bin', 'node')
    fs.mkdirSync(path.dirname(cellarNode), {recursive: true})
    fs.writeFileSync(cellarNode, '#!/bin/sh\n', {mode: 0o755})
    fs.mkdirSync(path.join(prefix, 'bin'))
    fs.symlinkSync('../Cellar/node/22.1.0/bin/node', path.join(prefix, 'bin', 'node'))
    const n = await stableNodePath(cellarNode)
    expect(n).to.deep.equal({path: path.join(prefix, 'bin', 'node'), real: fs.realpathSync(cellarNode), versioned: false})

    const s = await buildServiceSpec(ctx, {entry: path.join(REPO_ROOT, 'bin', 'run.js'), execPath: cellarNode, config: config(), kind: 'launchd'})
    expect(s.programArguments[0]).to.equal(path.join(prefix, 'bin', 'node'))
    const lines = grantLines(s, 'launchd').join('\n')
    expect(lines).to.include(`the LaunchAgent runs ${path.join(prefix, 'bin', 'node')} (today -> ${fs.realpathSync(cellarNode)})`)
    expect(lines).to.include('Full Disk Access')
    expect(lines).to.include('Automation')

    // Only a versioned node (nvm): used, with a warning that its grant goes stale.
    const nvm = path.join(tmp.dir, '.nvm', 'versions', 'node', 'v20.11.0', 'bin', 'node')
    fs.mkdirSync(path.dirname(nvm), {recursive: true})
    fs.writeFileSync(nvm, '', {mode: 0o755})
    const v = await buildServiceSpec(ctx, {entry: path.join(REPO_ROOT, 'bin', 'run.js'), execPath: nvm, config: config(), kind: 'launchd'})
    expect(v.node.versioned).to.equal(true)
    expect(v.warnings.join(' ')).to.include('goes stale')
  })

  it('an agent CLI not found now is a warning (the service would not find it either)', async () => {
    const cfg = configSchema.parse({channels: {imessage: {cliPath: IMSG_SIM}}, agents: {list: [{id: 'main', runtime: 'claude', command: ['no-such-agent-cli-xyz']}]}})
    const s = await buildServiceSpec(ctx, {entry: path.join(REPO_ROOT, 'bin', 'run.js'), execPath: process.execPath, config: cfg, kind: 'launchd'})
    expect(s.warnings.join('\n')).to.include('agent main (claude): no-such-agent-cli-xyz is not found on PATH now')
  })
})
