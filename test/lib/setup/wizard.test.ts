import {expect} from 'chai'
import {execa} from 'execa'
import fs from 'node:fs'
import path from 'node:path'
import JSON5 from 'json5'
import type {AddressInfo} from 'node:net'
import ssh2, {type ParsedKey} from 'ssh2'
import {exitCodeFor} from '../../../src/cli/base-command.js'
import {createContext, type Context} from '../../../src/lib/context.js'
import {RemoteclawError} from '../../../src/lib/errors.js'
import {createLogger} from '../../../src/lib/log.js'
import {rpcProbe} from '../../../src/lib/permissions/deps.js'
import {scriptedPrompter, type ScriptedAnswer} from '../../../src/lib/setup/prompter.js'
import {runSetup, type SetupFlags, type SetupResult} from '../../../src/lib/setup/wizard.js'
import {hostKeyFromPublicLine} from '../../../src/lib/ssh/hostkey.js'
import {IMSG_SIM, tempDir} from '../../helpers/cli.js'
import {hostKeyFixture} from '../../helpers/hostkeys.js'
import {sshdUnavailableReason, startSshd, type TestSshd} from '../../helpers/sshd.js'

/**
 * The wizard's flows with scripted answers, against a real OpenSSH server on loopback with the
 * imsg simulator as the "remote" imsg.
 */
describe('setup imessage wizard', function () {
  this.timeout(90_000)
  let sshd: TestSshd
  let tmp: ReturnType<typeof tempDir>
  let db: string
  let remoteImsg: string
  let home: string
  let knownHosts: string
  let fingerprint: string

  before(async function () {
    const why = sshdUnavailableReason()
    if (why) this.skip()
    sshd = await startSshd()
    tmp = tempDir('rc-setup-')
    db = path.join(tmp.dir, 'chat.db')
    await execa(IMSG_SIM, ['init', '--db', db])
    // The "remote imsg": the simulator on this DB (the sshd session's PATH may lack node).
    remoteImsg = path.join(tmp.dir, 'remote-imsg')
    fs.writeFileSync(remoteImsg, `#!/bin/sh\nIMSG_SIM_DB=${db} exec ${process.execPath} ${IMSG_SIM} "$@"\n`, {mode: 0o755})
    fingerprint = String((await execa('ssh-keygen', ['-lf', sshd.hostKeyFile + '.pub'])).stdout).split(/\s+/)[1]!
  })
  after(async () => {
    await sshd?.stop()
    tmp?.cleanup()
  })

  beforeEach(() => {
    home = fs.mkdtempSync(path.join(tmp.dir, 'home-'))
    knownHosts = path.join(home, 'known_hosts')
  })

  function ctxFor(): Context {
    return createContext({
      env: {...process.env, HOME: home, PATH: '/usr/bin:/bin'},
      home,
      stateDir: path.join(home, '.remoteclaw'),
      configPath: path.join(home, '.remoteclaw', 'remoteclaw.json'),
      platform: 'linux',
      log: createLogger({level: 'error'}),
    })
  }

  const sshFlags = (): SetupFlags => ({
    host: '127.0.0.1',
    port: sshd.port,
    identityFile: sshd.identityFile,
    knownHosts,
    dbPath: db,
  })

  async function setup(flags: SetupFlags, answers?: ScriptedAnswer[]) {
    const ctx = ctxFor()
    const prompter = answers ? scriptedPrompter(answers) : undefined
    const out: string[] = []
    const promise = runSetup(ctx, flags, {prompter, out: (l) => out.push(l), note: (l) => out.push(l)}, {doctor: {probe: (c, a) => rpcProbe(c, a)}, timeoutMs: 15_000})
    return {ctx, prompter, out, promise}
  }

  function readConfig(ctx: Context): any {
    return JSON5.parse(fs.readFileSync(ctx.configPath, 'utf8'))
  }

  async function rejectionOf(p: Promise<unknown>): Promise<RemoteclawError & Error> {
    try {
      await p
    } catch (error) {
      return error as RemoteclawError
    }
    throw new Error('expected a rejection')
  }

  it('bot-user: asks only what it cannot detect, trusts the key, writes wrapper + known_hosts + flat config, doctor passes', async () => {
    const {ctx, prompter, out, promise} = await setup(sshFlags(), [
      {match: 'Where does Messages run', answer: 'bot-user'},
      {match: 'macOS user name of the bot user', answer: sshd.user},
      {match: 'Path of imsg on the Mac', answer: remoteImsg},
      {match: `Trust ${fingerprint}`, answer: true},
      {match: 'Write these changes', answer: true},
    ])
    const r: SetupResult = await promise
    expect(prompter!.remaining()).to.deep.equal([])
    expect(out.join('\n')).to.include(fingerprint)
    expect(r.hostKey).to.deep.include({fingerprint, state: 'added', host: `[127.0.0.1]:${sshd.port}`})
    // Plain or hashed as the system ssh's HashKnownHosts says (Debian's ssh_config hashes); OpenSSH finds it either way.
    const hashed = /hashknownhosts yes/i.test(String((await execa('ssh', ['-G', '127.0.0.1'])).stdout))
    const line = fs.readFileSync(knownHosts, 'utf8')
    expect(line.startsWith('|1|')).to.equal(hashed)
    expect(line.trim().endsWith(sshd.hostPublicKey)).to.equal(true)
    const found = await execa('ssh-keygen', ['-F', `[127.0.0.1]:${sshd.port}`, '-f', knownHosts], {reject: false})
    expect(found.exitCode).to.equal(0)
    const wrapper = path.join(home, '.remoteclaw', 'scripts', 'imsg-default')
    expect(r.wrapper).to.deep.equal({path: wrapper, changed: true})
    expect(fs.statSync(wrapper).mode & 0o777).to.equal(0o700)
    expect(r.login?.ok).to.equal(true)
    const cfg = readConfig(ctx)
    expect(cfg.channels.imessage).to.deep.equal({
      enabled: true,
      cliPath: wrapper,
      dbPath: db,
      remoteHost: `${sshd.user}@127.0.0.1`,
      remoteAttachmentRoots: [`/Users/${sshd.user}/Library/Messages/Attachments`],
    })
    expect(r.doctor?.context.mode).to.equal('wrapper')
    expect(r.doctor?.checks.find((c) => c.id === 'full_disk_access')?.status).to.equal('pass')
    expect(r.doctor?.checks.find((c) => c.id === 'rpc_probe')?.status).to.equal('pass')
    expect(r.exitCode).to.equal(0)
    expect(r.nextSteps.join('\n')).to.include('remoteclaw gateway')
    expect(r.nextSteps.join('\n')).to.include('remoteclaw pairing approve imessage <CODE>')

    // The generated wrapper carries message text byte for byte through the remote login shell.
    const nasty = `it's $100 "quoted" \`uname\` $(id) \\ back\nnew line; rm -rf / & * ?`
    const sent = await execa(wrapper, ['send', '--to', '+15555550123', '--text', nasty, '--json'], {reject: false})
    expect(sent.exitCode, String(sent.stderr) + String(sent.stdout)).to.equal(0)
    const rows = JSON.parse(String((await execa(IMSG_SIM, ['sent', '--db', db, '--json'])).stdout)) as {text: string}[]
    expect(rows.at(-1)!.text).to.equal(nasty)

    // Re-running with the same answers as flags is idempotent: nothing changes.
    const again = await setup({...sshFlags(), deployment: 'bot-user', sshUser: sshd.user, remoteImsgPath: remoteImsg, yes: true})
    const r2 = await again.promise
    expect(r2.changed).to.equal(false)
    expect(r2.diff).to.equal('')
    expect(r2.wrapper?.changed).to.equal(false)
    expect(r2.hostKey?.state).to.equal('trusted')
    expect(fs.readFileSync(knownHosts, 'utf8').split('\n').filter(Boolean)).to.have.length(1)
  })

  it('remote, flags only with --account: writes channels.imessage.accounts.<id> and never prompts', async () => {
    const {ctx, promise} = await setup({
      ...sshFlags(),
      deployment: 'remote',
      sshUser: sshd.user,
      remoteImsgPath: remoteImsg,
      account: 'mac',
      trustHostKey: fingerprint,
      yes: true,
    })
    const r = await promise
    expect(r.keyPrefix).to.equal('channels.imessage.accounts.mac')
    const cfg = readConfig(ctx)
    expect(cfg.channels.imessage.accounts.mac.cliPath).to.equal(path.join(home, '.remoteclaw', 'scripts', 'imsg-mac'))
    expect(cfg.channels.imessage.accounts.mac.remoteHost).to.equal(`${sshd.user}@127.0.0.1`)
    expect(cfg.channels.imessage.cliPath).to.equal(undefined)
    expect(r.exitCode).to.equal(0)
  })

  it('declining the config diff writes nothing (exit 3)', async () => {
    const {ctx, out, promise} = await setup({...sshFlags(), deployment: 'remote', sshUser: sshd.user, remoteImsgPath: remoteImsg}, [
      {match: 'Trust', answer: true},
      {match: 'Write these changes', answer: false},
    ])
    const err = await rejectionOf(promise)
    expect(err.exitCode).to.equal(3)
    expect(out.join('\n')).to.match(/\+\s+cliPath:/)
    expect(fs.existsSync(ctx.configPath)).to.equal(false)
    expect(fs.existsSync(knownHosts)).to.equal(false)
    expect(fs.existsSync(path.join(home, '.remoteclaw', 'scripts'))).to.equal(false)
  })

  it('declining the host key writes nothing (exit 3)', async () => {
    const {ctx, promise} = await setup({...sshFlags(), deployment: 'remote', sshUser: sshd.user, remoteImsgPath: remoteImsg}, [{match: `Trust ${fingerprint}`, answer: false}])
    const err = await rejectionOf(promise)
    expect(err.exitCode).to.equal(3)
    expect(fs.existsSync(ctx.configPath)).to.equal(false)
    expect(fs.existsSync(knownHosts)).to.equal(false)
  })

  it('a host key differing from known_hosts stops with a warning and never overwrites', async () => {
    const other = path.join(tmp.dir, `other-${Date.now()}`)
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other])
    const otherKey = fs.readFileSync(other + '.pub', 'utf8').trim().split(/\s+/).slice(0, 2).join(' ')
    const before = `[127.0.0.1]:${sshd.port} ${otherKey}\n`
    fs.writeFileSync(knownHosts, before)
    const {ctx, out, promise} = await setup({...sshFlags(), deployment: 'remote', sshUser: sshd.user, remoteImsgPath: remoteImsg, yes: true})
    const err = await rejectionOf(promise)
    expect(err.code).to.equal('host_key_mismatch')
    expect(err.message).to.include(fingerprint)
    expect(out.join('\n')).to.include('WARNING')
    expect(fs.readFileSync(knownHosts, 'utf8')).to.equal(before)
    expect(fs.existsSync(ctx.configPath)).to.equal(false)
  })

  it('a host known under another key type that it no longer offers stops too, even with --yes (never adds a second key)', async () => {
    const other = path.join(tmp.dir, `other-ecdsa-${Date.now()}`)
    await execa('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-f', other])
    const before = `[127.0.0.1]:${sshd.port} ${fs.readFileSync(other + '.pub', 'utf8').trim().split(/\s+/).slice(0, 2).join(' ')}\n`
    fs.writeFileSync(knownHosts, before)
    const {ctx, out, promise} = await setup({...sshFlags(), deployment: 'remote', sshUser: sshd.user, remoteImsgPath: remoteImsg, yes: true})
    const err = await rejectionOf(promise)
    expect(err.code).to.equal('host_key_mismatch')
    expect(out.join('\n')).to.include('WARNING')
    expect(fs.readFileSync(knownHosts, 'utf8')).to.equal(before)
    expect(fs.existsSync(ctx.configPath)).to.equal(false)
  })

  it('a host already trusted by its ecdsa key: used as is, and --trust-host-key may name its ed25519 fingerprint', async () => {
    const ed = hostKeyFixture('ed25519')
    const ecdsa = hostKeyFixture('ecdsa')
    const pub = (k: string) => {
      const p = ssh2.utils.parseKey(k) as ParsedKey
      return `${p.type} ${p.getPublicSSH().toString('base64')}`
    }
    const server = new ssh2.Server({hostKeys: [ed, ecdsa]}, (c) => {
      c.on('error', () => {})
      c.on('authentication', (a) => a.reject())
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const port = (server.address() as AddressInfo).port
      const before = `[127.0.0.1]:${port} ${pub(ecdsa)}\n`
      fs.writeFileSync(knownHosts, before)
      const edFingerprint = hostKeyFromPublicLine(pub(ed)).fingerprint
      const {ctx, out, promise} = await setup({...sshFlags(), port, deployment: 'remote', sshUser: sshd.user, remoteImsgPath: remoteImsg, trustHostKey: edFingerprint, yes: true})
      const err = await rejectionOf(promise)
      // past the host key (already trusted, nothing added), stopped by the login check (this server lets nobody in)
      expect(err.code, err.message).to.equal('ssh_login_failed')
      expect(out.join('\n')).to.include('already trusted')
      expect(fs.readFileSync(knownHosts, 'utf8')).to.equal(before)
      expect(fs.existsSync(ctx.configPath)).to.equal(false)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('--trust-host-key must match the offered fingerprint', async () => {
    const wrong = 'SHA256:' + 'A'.repeat(43)
    const {ctx, promise} = await setup({...sshFlags(), deployment: 'remote', sshUser: sshd.user, remoteImsgPath: remoteImsg, trustHostKey: wrong, yes: true})
    const err = await rejectionOf(promise)
    expect(err.code).to.equal('host_key_mismatch')
    expect(err.message).to.include(fingerprint)
    expect(fs.existsSync(knownHosts)).to.equal(false)
    expect(fs.existsSync(ctx.configPath)).to.equal(false)
  })

  it('without a terminal it never prompts and lists the missing flags (exit 2)', async () => {
    const {ctx, promise} = await setup({})
    const err = await rejectionOf(promise)
    expect(err.exitCode).to.equal(2)
    expect(err.message).to.include('--deployment')
    expect(err.message).to.include('--host')
    expect(err.message).to.include('--ssh-user')
    expect(err.message).to.include('--yes')
    expect(fs.existsSync(ctx.configPath)).to.equal(false)

    const partial = await setup({deployment: 'bot-user', yes: true})
    const err2 = await rejectionOf(partial.promise)
    expect(err2.exitCode).to.equal(2)
    expect((err2.details as {missing: string[]}).missing).to.deep.equal(['--ssh-user'])
  })

  it('a key that is not authorized: stops before writing the config and says how to install one (exit 6)', async () => {
    const stranger = path.join(tmp.dir, `stranger-${Date.now()}`)
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger])
    const {ctx, promise} = await setup({...sshFlags(), identityFile: stranger, deployment: 'remote', sshUser: sshd.user, remoteImsgPath: remoteImsg, yes: true})
    const err = await rejectionOf(promise)
    expect(err.exitCode).to.equal(6)
    expect(err.fix).to.include('ssh-copy-id')
    expect(fs.existsSync(ctx.configPath)).to.equal(false)
  })

  it('a Mac that does not answer: exit 6 before anything is written', async () => {
    const {ctx, promise} = await setup({...sshFlags(), port: 1, deployment: 'remote', sshUser: sshd.user, remoteImsgPath: remoteImsg, yes: true})
    const err = await rejectionOf(promise)
    expect(err.exitCode).to.equal(6)
    expect(err.fix).to.include('Remote Login')
    expect(fs.existsSync(ctx.configPath)).to.equal(false)
    expect(fs.existsSync(knownHosts)).to.equal(false)
  })

  it('Ctrl-C at a prompt (ExitPromptError) writes nothing and maps to exit 130', async () => {
    const ctrlC = Object.assign(new Error('User force closed the prompt with SIGINT'), {name: 'ExitPromptError'})
    const {ctx, promise} = await setup({...sshFlags(), deployment: 'remote'}, [{match: 'SSH user', answer: ctrlC}])
    const err = await rejectionOf(promise)
    expect(err.name).to.equal('ExitPromptError')
    expect(exitCodeFor(err)).to.equal(130)
    expect(fs.existsSync(ctx.configPath)).to.equal(false)
  })

  it('local: asks for imsg when it is not on PATH, writes flat keys, drops stale SSH keys', async () => {
    const {ctx, prompter, promise} = await setup({dbPath: db}, [
      {match: 'Where does Messages run', answer: 'local'},
      {match: 'Path to imsg', answer: IMSG_SIM},
      {match: 'Write these changes', answer: true},
    ])
    const r = await promise
    expect(prompter!.asked).to.have.length(3)
    expect(readConfig(ctx).channels.imessage).to.deep.equal({enabled: true, cliPath: IMSG_SIM, dbPath: db})
    expect(r.doctor?.checks.find((c) => c.id === 'full_disk_access')?.message).to.include('skipped (not macOS)')
    // footgun: pairing replies from what looks like a personal number
    expect(r.doctor?.checks.map((c) => c.id)).to.include('footgun.pairing_reply_personal_number')

    // Switching an SSH account back to local removes remoteHost rather than leaving it stale.
    fs.writeFileSync(ctx.configPath, `{channels: {imessage: {cliPath: "/x", remoteHost: "bot@mac", remoteAttachmentRoots: ["/Users/bot/x"]}}}`)
    const again = await setup({deployment: 'local', cliPath: IMSG_SIM, dbPath: db, yes: true, skipChecks: true})
    await again.promise
    expect(readConfig(ctx).channels.imessage).to.deep.equal({cliPath: IMSG_SIM, enabled: true, dbPath: db})
  })

  it('local with imsg on PATH: asks only where Messages runs and to confirm', async () => {
    const bin = path.join(home, 'bin')
    fs.mkdirSync(bin)
    fs.symlinkSync(IMSG_SIM, path.join(bin, 'imsg'))
    const ctx = createContext({...ctxFor(), env: {...process.env, HOME: home, PATH: `${bin}:/usr/bin:/bin`}})
    const prompter = scriptedPrompter([
      {match: 'Where does Messages run', answer: 'local'},
      {match: 'Write these changes', answer: true},
    ])
    const notes: string[] = []
    await runSetup(ctx, {dbPath: db, skipChecks: true}, {prompter, out: () => {}, note: (l) => notes.push(l)}, {doctor: {}, timeoutMs: 10_000})
    expect(prompter.asked).to.have.length(2)
    expect(notes.join('\n')).to.include('imsg 0.9.0 at')
    expect(readConfig(ctx).channels.imessage.cliPath).to.equal(path.join(bin, 'imsg'))
  })

  it('asks for the account id when an accounts map exists', async () => {
    const ctx = ctxFor()
    fs.mkdirSync(path.dirname(ctx.configPath), {recursive: true})
    fs.writeFileSync(ctx.configPath, `// mine\n{channels: {imessage: {accounts: {home: {cliPath: "/x"}}}}}\n`)
    const {promise} = await setup({deployment: 'local', cliPath: IMSG_SIM, dbPath: db, skipChecks: true}, [
      {match: 'Account id (existing: home)', answer: 'work'},
      {match: 'Write these changes', answer: true},
    ])
    const r = await promise
    expect(r.keyPrefix).to.equal('channels.imessage.accounts.work')
    const text = fs.readFileSync(ctx.configPath, 'utf8')
    expect(text).to.include('// mine')
    expect(JSON5.parse(text).channels.imessage.accounts.home).to.deep.equal({cliPath: '/x'})
  })
})
