import {expect} from 'chai'
import {execa} from 'execa'
import fs from 'node:fs'
import path from 'node:path'
import type {ResolvedAccount} from '../../../src/lib/config/accounts.js'
import {ACCOUNT_DEFAULTS} from '../../../src/lib/config/schema.js'
import {probeAccount, probeExitCode} from '../../../src/lib/imsg/probe.js'
import {buildStatus} from '../../../src/lib/imsg/status.js'
import {createLogger} from '../../../src/lib/log.js'
import {IMSG_SIM, REPO_ROOT, tempDir} from '../../helpers/cli.js'

const FAKE = path.join(REPO_ROOT, 'test', 'fixtures', 'fake-imsg.mjs')

function account(over: Partial<ResolvedAccount>): ResolvedAccount {
  return {
    ...ACCOUNT_DEFAULTS,
    id: 'default',
    allowFrom: [],
    groupAllowFrom: [],
    groupAllowFromInherited: true,
    groups: {},
    attachmentRoots: [],
    remoteAttachmentRoots: [],
    keyPrefix: 'channels.imessage',
    ...over,
  } as ResolvedAccount
}

describe('probeAccount', function () {
  this.timeout(30_000)
  let dir: string
  let cleanup: () => void
  const ctx = (env: Record<string, string> = {}) => ({
    env: {...process.env, ...env},
    home: dir,
    platform: 'linux' as NodeJS.Platform,
    log: createLogger({level: 'error', write: () => {}}),
  })
  const script = (name: string, body: string) => {
    const p = path.join(dir, name)
    fs.writeFileSync(p, body, {mode: 0o755})
    return p
  }

  beforeEach(() => {
    ;({dir, cleanup} = tempDir('rc-probe-'))
  })
  afterEach(() => cleanup())

  it('an SSH wrapper that cannot connect is unreachable, with the SSH fix', async () => {
    const cli = script('imsg-ssh', '#!/bin/sh\necho "ssh: connect to host mac-mini port 22: Connection refused" >&2\nexit 255\n')
    const r = await probeAccount(account({cliPath: cli}), ctx(), {timeoutMs: 5000})
    expect(r.status).to.equal('unreachable')
    const c = r.checks.find((x) => x.status === 'fail')!
    expect(c).to.deep.include({id: 'rpc_supported', code: 'imsg_unreachable'})
    expect(c.message).to.equal('the cliPath wrapper could not reach imsg: ssh: connect to host mac-mini port 22: Connection refused')
    expect(c.fix).to.include('BatchMode=yes').and.include('known_hosts')
  })

  it('a wrapper that does not exec (its child keeps the pipes open) and hangs: unreachable at the timeout, child killed', async () => {
    const pidFile = path.join(dir, 'grandchild.pid')
    // The shell waits on `sleep`, which inherits stdout: killing only the shell would leave the pipe open.
    const cli = script('imsg-wrap', `#!/bin/sh\nsleep 30 &\necho $! > ${pidFile}\nwait\n`)
    const t0 = Date.now()
    const r = await probeAccount(account({cliPath: cli}), ctx(), {timeoutMs: 1000})
    expect(Date.now() - t0, 'returns near its timeout, not when the grandchild exits').to.be.below(10_000)
    expect(r.status).to.equal('unreachable')
    expect(r.checks.find((x) => x.status === 'fail')).to.deep.include({id: 'rpc_supported', code: 'imsg_timeout'})
    const pid = Number(fs.readFileSync(pidFile, 'utf8'))
    // gone, or a zombie waiting for init to reap it
    const alive = () => fs.existsSync(`/proc/${pid}/stat`) && !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))
    for (let i = 0; i < 50 && alive(); i++) await new Promise((res) => setTimeout(res, 100))
    expect(alive(), 'the wrapper\'s child was left running').to.equal(false)
  })

  it('Ctrl-C (SIGINT) during a hung rpc --help kills the wrapper\'s whole group and the process still dies of the signal', async () => {
    const pidFile = path.join(dir, 'grandchild.pid')
    const cli = script('imsg-wrap', `#!/bin/sh\nsleep 30 &\necho $! > ${pidFile}\nwait\n`)
    const code = `import {probeAccount} from ${JSON.stringify(path.join(REPO_ROOT, 'src/lib/imsg/probe.ts'))}
      import {createLogger} from ${JSON.stringify(path.join(REPO_ROOT, 'src/lib/log.ts'))}
      import {ACCOUNT_DEFAULTS} from ${JSON.stringify(path.join(REPO_ROOT, 'src/lib/config/schema.ts'))}
      await probeAccount({...ACCOUNT_DEFAULTS, id: 'default', keyPrefix: 'channels.imessage', cliPath: ${JSON.stringify(cli)}}, {env: process.env, home: ${JSON.stringify(dir)}, platform: 'linux', log: createLogger({level: 'error', write: () => {}})}, {timeoutMs: 60000})`
    const sub = execa(process.execPath, ['--import=tsx', '--input-type=module', '-e', code], {cwd: REPO_ROOT, reject: false})
    for (let i = 0; i < 100 && !fs.existsSync(pidFile); i++) await new Promise((res) => setTimeout(res, 100))
    await new Promise((res) => setTimeout(res, 200))
    sub.kill('SIGINT')
    const r = await sub
    expect(r.signal, r.stderr).to.equal('SIGINT')
    const pid = Number(fs.readFileSync(pidFile, 'utf8'))
    const alive = () => fs.existsSync(`/proc/${pid}/stat`) && !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))
    for (let i = 0; i < 50 && alive(); i++) await new Promise((res) => setTimeout(res, 100))
    expect(alive(), 'the wrapper\'s child was left running').to.equal(false)
  })

  it('a --timeout above the timer maximum (~24.8 days) does not time out at once', async () => {
    const r = await probeAccount(account({cliPath: FAKE}), ctx(), {timeoutMs: 3_000_000_000})
    expect(r.checks.filter((x) => x.status === 'fail')).to.deep.equal([])
    expect(r.status).to.equal('healthy')
  })

  it('a cliPath that is not executable', async () => {
    const cli = path.join(dir, 'imsg')
    fs.writeFileSync(cli, '#!/bin/sh\n', {mode: 0o644})
    const r = await probeAccount(account({cliPath: cli}), ctx(), {timeoutMs: 2000})
    expect(r.status).to.equal('unreachable')
    expect(r.checks.find((x) => x.status === 'fail')).to.deep.include({id: 'cli_found', code: 'imsg_not_executable'})
  })

  it('a dbPath that does not exist here is unhealthy and names the keys to set', async () => {
    const r = await probeAccount(account({cliPath: FAKE, dbPath: path.join(dir, 'missing.db')}), ctx(), {timeoutMs: 5000})
    expect(r.status).to.equal('unhealthy')
    const c = r.checks.find((x) => x.status === 'fail')!
    expect(c).to.deep.include({id: 'db_readable', code: 'db_not_found'})
    expect(c.fix).to.include('channels.imessage.dbPath').and.include('channels.imessage.remoteHost')
  })

  it('with remoteHost the local database check is skipped', async () => {
    const r = await probeAccount(account({cliPath: FAKE, dbPath: '/Users/bot/Library/Messages/chat.db', remoteHost: 'bot@mac'}), ctx(), {timeoutMs: 5000})
    expect(r.status).to.equal('healthy')
    expect(r.checks.find((x) => x.id === 'db_readable')!.status).to.equal('skip')
  })

  it('a remote host the caller read from the SSH wrapper skips the local database check too', async () => {
    const r = await probeAccount(account({cliPath: FAKE, dbPath: '/Users/bot/Library/Messages/chat.db'}), ctx(), {timeoutMs: 5000, remoteHost: 'bot@mac-mini'})
    const db = r.checks.find((x) => x.id === 'db_readable')!
    expect(db.status).to.equal('skip')
    expect(db.message).to.include('bot@mac-mini')
    const local = await probeAccount(account({cliPath: FAKE, dbPath: '/Users/bot/Library/Messages/chat.db'}), ctx(), {timeoutMs: 5000})
    expect(local.checks.find((x) => x.id === 'db_readable')!.status).to.equal('fail')
  })

  it('strict server with database.ready:false in initialize is Full Disk Access', async () => {
    const r = await probeAccount(account({cliPath: FAKE}), ctx({FAKE_STRICT: '1', FAKE_DB_DOWN: '1'}), {timeoutMs: 5000})
    expect(r.status).to.equal('unhealthy')
    expect(r.protocol).to.equal('strict')
    expect(r.checks.find((x) => x.status === 'fail')).to.deep.include({id: 'rpc_session', code: 'imsg_full_disk_access'})
  })

  it('strict imsg reporting a dbPath that does not exist (imsg on another Mac) names dbPath, not Full Disk Access', async () => {
    const db = path.join(dir, 'missing.db')
    const r = await probeAccount(account({cliPath: IMSG_SIM, dbPath: db, remoteHost: 'bot@mac'}), ctx({IMSG_SIM_VERSION: '0.14.0'}), {timeoutMs: 5000})
    expect(r.status).to.equal('unhealthy')
    const c = r.checks.find((x) => x.status === 'fail')!
    expect(c).to.deep.include({id: 'rpc_session', code: 'db_not_found'})
    expect(c.message).to.equal('imsg cannot open the Messages database: The configured Messages database does not exist. Create or copy chat.db at this path, then retry.')
    expect(c.fix).to.include('channels.imessage.dbPath').and.not.include('Full Disk Access')
  })

  it('strict server reports capabilities and methods', async () => {
    const r = await probeAccount(account({cliPath: FAKE}), ctx({FAKE_STRICT: '1'}), {timeoutMs: 5000})
    expect(r.status).to.equal('healthy')
    expect(r.capabilities).to.deep.equal({features: {'tapback.emoji': 2}})
    expect(r.methods).to.deep.equal(['chats.list', 'send'])
  })

  it('a hang behind a wrapper that does not exec: killed at the timeout, and the grandchild exits too', async () => {
    const db = path.join(dir, 'chat.db')
    await execa(IMSG_SIM, ['init', '--db', db])
    const pidFile = path.join(dir, 'pid')
    // no `exec`: the shell stays the parent of imsg and holds nothing but the pipes
    const cli = script('imsg-wrapper', `#!/bin/sh\n"${IMSG_SIM}" "$@" &\necho $! > "${pidFile}"\nwait\n`)
    const t0 = Date.now()
    const r = await probeAccount(account({cliPath: cli, dbPath: db}), ctx({IMSG_SIM_HANG: '1'}), {timeoutMs: 1500})
    expect(r.status).to.equal('unreachable')
    expect(r.checks.find((x) => x.status === 'fail')).to.deep.include({code: 'imsg_timeout'})
    // generous bound: the probe must not wait for the grandchild's pipes
    expect(Date.now() - t0).to.be.below(8000)
    const pid = Number(fs.readFileSync(pidFile, 'utf8'))
    const alive = () => {
      try {
        process.kill(pid, 0)
        return true
      } catch {
        return false
      }
    }
    for (let i = 0; i < 50 && alive(); i++) await new Promise((res) => setTimeout(res, 100))
    expect(alive(), 'imsg behind the wrapper was left running').to.equal(false)
  })
})

describe('status exit codes', () => {
  it('unreachable beats unhealthy beats healthy; disabled counts as fine', () => {
    expect(probeExitCode([{status: 'healthy'}, {status: 'disabled'}])).to.equal(0)
    expect(probeExitCode([{status: 'healthy'}, {status: 'unhealthy'}])).to.equal(5)
    expect(probeExitCode([{status: 'unhealthy'}, {status: 'unreachable'}])).to.equal(6)
  })

  it('a dead gateway makes an otherwise fine status exit 5', () => {
    const s = buildStatus({
      configPath: '/x',
      warnings: [],
      accounts: [account({})],
      gateway: {gateway: 'dead', file: '/x', accounts: [], summary: 'gone', pid: 1},
    })
    expect(s.exitCode).to.equal(5)
    expect(s.accounts[0]!.status).to.equal('configured')
  })
})
