import {expect} from 'chai'
import {execa} from 'execa'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  appendKnownHost,
  fetchHostKey,
  fetchRemoteFile,
  hostKeyFromPublicLine,
  lookupHostKey,
  putRemoteFile,
  renderWrapper,
  runRemote,
  sshConfigFor,
  verifyBatchLogin,
  writeWrapper,
} from '../../../src/lib/ssh/index.js'
import {RemoteclawError} from '../../../src/lib/errors.js'
import {IMSG_SIM} from '../../helpers/cli.js'
import {sshdUnavailableReason, startSshd, type TestSshd} from '../../helpers/sshd.js'

/** Texts that a naive `ssh host imsg $*` would mangle or execute. */
export const HOSTILE_TEXTS = [
  "it's $100 and `date` and $(id) and $HOME",
  'semi;colon && pipe | amp & gt > lt < star * q ?',
  'line one\nline two\n\nlast',
  "'",
  "''",
  '"double" \\back\\slash\\',
  '',
  ' leading and trailing spaces ',
  '-n',
  '--help',
  'tab\there',
  'emoji 👍 ünïcødé',
  '!bang !! ^caret ~tilde #hash {a,b} [x]',
]

describe('ssh through a real sshd on loopback', function () {
  this.timeout(60_000)
  let s: TestSshd

  before(async function () {
    const why = sshdUnavailableReason()
    if (why) this.skip()
    s = await startSshd()
  })
  after(async () => {
    await s?.stop()
  })

  it('fetchHostKey returns the fingerprint ssh-keygen -lf prints for the host key', async () => {
    const key = await fetchHostKey('127.0.0.1', s.port, {timeoutMs: 10_000})
    const lf = await execa('ssh-keygen', ['-lf', s.hostKeyFile + '.pub'])
    expect(lf.stdout.split(/\s+/)[1]).to.equal(key.fingerprint)
    expect(key.fingerprint).to.match(/^SHA256:[A-Za-z0-9+/]{43}$/)
    expect(key.keyType).to.equal('ssh-ed25519')
    expect(`${key.keyType} ${key.keyBase64}`).to.equal(s.hostPublicKey)
  })

  it('fetchHostKey fails with an unreachable error on a closed port', async () => {
    const err = await fetchHostKey('127.0.0.1', 1, {timeoutMs: 3000}).catch((e: unknown) => e)
    expect(err).to.be.instanceOf(RemoteclawError)
    expect((err as RemoteclawError).exitCode).to.equal(6)
  })

  it('a key appended (hashed or plain) is what the system ssh then trusts', async () => {
    const key = await fetchHostKey('127.0.0.1', s.port)
    for (const hashed of [false, true]) {
      const kh = path.join(s.dir, `kh-${hashed}`)
      expect(await lookupHostKey(kh, '127.0.0.1', s.port, key)).to.equal('unknown')
      const r = await appendKnownHost(kh, '127.0.0.1', s.port, key, {hashed})
      expect(r.added).to.equal(true)
      expect(fs.statSync(kh).mode & 0o777).to.equal(0o600)
      expect(await lookupHostKey(kh, '127.0.0.1', s.port, key)).to.equal('match')
      expect((await appendKnownHost(kh, '127.0.0.1', s.port, key, {hashed})).added).to.equal(false)
      expect(fs.readFileSync(kh, 'utf8').trim().split('\n')).to.have.length(1)
      if (hashed) expect(fs.readFileSync(kh, 'utf8')).to.match(/^\|1\|/)
      // OpenSSH itself accepts the entry (StrictHostKeyChecking=yes): our format is right.
      await verifyBatchLogin(s.user, '127.0.0.1', s.port, {identityFile: s.identityFile, knownHostsFile: kh})
      // ... and ssh-keygen -F finds it under the [host]:port name.
      const f = await execa('ssh-keygen', ['-F', `[127.0.0.1]:${s.port}`, '-f', kh], {reject: false})
      expect(f.exitCode).to.equal(0)
    }
  })

  it('a mixed-case host name is recorded and looked up lower-case, as OpenSSH does (hashed entries too)', async () => {
    const key = await fetchHostKey('127.0.0.1', s.port)
    for (const hashed of [true, false]) {
      const kh = path.join(s.dir, `kh-case-${hashed}`)
      expect((await appendKnownHost(kh, 'LocalHost', s.port, key, {hashed})).added).to.equal(true)
      // the system ssh (which lower-cases the name before hashing) accepts what we wrote
      await verifyBatchLogin(s.user, 'LocalHost', s.port, {identityFile: s.identityFile, knownHostsFile: kh})
      expect(await lookupHostKey(kh, 'LOCALHOST', s.port, key)).to.equal('match')
    }
    // an entry ssh itself hashed (lower-case name) is found when asked with capitals
    const kh = path.join(s.dir, 'kh-case-ssh')
    fs.writeFileSync(kh, `[localhost]:${s.port} ${s.hostPublicKey}\n`)
    await execa('ssh-keygen', ['-H', '-f', kh])
    expect(await lookupHostKey(kh, 'LocalHost', s.port, key)).to.equal('match')
  })

  it('a different known key is a mismatch and appendKnownHost refuses to overwrite it', async () => {
    const key = await fetchHostKey('127.0.0.1', s.port)
    const other = path.join(s.dir, 'other_key')
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other])
    const kh = path.join(s.dir, 'kh-mismatch')
    fs.writeFileSync(kh, `[127.0.0.1]:${s.port} ${fs.readFileSync(other + '.pub', 'utf8').split(' ').slice(0, 2).join(' ')}\n`)
    const before = fs.readFileSync(kh, 'utf8')
    expect(await lookupHostKey(kh, '127.0.0.1', s.port, key)).to.equal('mismatch')
    const err = (await appendKnownHost(kh, '127.0.0.1', s.port, key).catch((e: unknown) => e)) as RemoteclawError
    expect(err.code).to.equal('host_key_mismatch')
    expect(err.message).to.include('known_hosts').and.include(key.fingerprint).and.include(`${kh}:1`)
    expect(fs.readFileSync(kh, 'utf8')).to.equal(before)
    // the system ssh fails closed too, and we say so naming known_hosts and the fingerprint
    const e2 = (await verifyBatchLogin(s.user, '127.0.0.1', s.port, {identityFile: s.identityFile, knownHostsFile: kh}).catch((e: unknown) => e)) as RemoteclawError
    expect(e2.code).to.equal('host_key_mismatch')
    expect(e2.message).to.include('known_hosts').and.include(key.fingerprint)
  })

  it('verifyBatchLogin explains ssh-copy-id when the key is not installed', async () => {
    const stranger = path.join(s.dir, 'stranger')
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger])
    const err = (await verifyBatchLogin(s.user, '127.0.0.1', s.port, {identityFile: stranger, knownHostsFile: s.knownHostsFile}).catch((e: unknown) => e)) as RemoteclawError
    expect(err).to.be.instanceOf(RemoteclawError)
    expect(err.code).to.equal('ssh_auth_failed')
    expect(err.fix).to.include(`ssh-copy-id -i ${stranger}.pub -p ${s.port} ${s.user}@127.0.0.1`)
  })

  it('verifyBatchLogin reports an unknown host key (no prompt in batch mode)', async () => {
    const err = (await verifyBatchLogin(s.user, '127.0.0.1', s.port, {identityFile: s.identityFile, knownHostsFile: path.join(s.dir, 'empty-kh')}).catch((e: unknown) => e)) as RemoteclawError
    expect(err.code).to.equal('host_key_unknown')
  })

  it('sshConfigFor reads ssh -G (HashKnownHosts, known_hosts files, port)', async () => {
    const cfg = path.join(s.dir, 'cfg-hash')
    fs.writeFileSync(cfg, `Host hashed-mac\n  HostName 127.0.0.1\n  Port ${s.port}\n  HashKnownHosts yes\n  UserKnownHostsFile ~/kh1 /abs/kh2\n`)
    const c = await sshConfigFor('hashed-mac', {configFile: cfg, home: '/home/x'})
    expect(c.hashKnownHosts).to.equal(true)
    expect(c.port).to.equal(s.port)
    expect(c.hostname).to.equal('127.0.0.1')
    // ssh -G already expands ~ (for the passwd home)
    expect(c.userKnownHostsFiles).to.deep.equal([path.join(os.userInfo().homedir, 'kh1'), '/abs/kh2'])
    const plain = await sshConfigFor(s.alias, {configFile: s.configFile})
    expect(plain.hashKnownHosts).to.equal(false)
    await sshConfigFor('-oProxyCommand=touch /tmp/x', {configFile: cfg}).then(
      () => expect.fail('should reject'),
      (e: Error) => expect(e.message).to.match(/invalid SSH host/),
    )
  })

  it('runRemote passes hostile argv through the remote login shell intact', async () => {
    for (const t of HOSTILE_TEXTS) {
      const out = await runRemote({remoteHost: s.alias, sshOptions: s.sshOptions}, ['printf', '%s', t])
      expect(out).to.equal(t)
    }
  })

  describe('generated wrapper', () => {
    let echoArgv: string
    let wrapper: string
    before(async () => {
      echoArgv = path.join(s.dir, 'echo-argv')
      fs.writeFileSync(echoArgv, `#!${process.execPath}\nprocess.stdout.write(JSON.stringify(process.argv.slice(2)))\n`, {mode: 0o755})
      wrapper = path.join(s.dir, 'scripts', 'imsg-test')
      await writeWrapper(
        wrapper,
        renderWrapper({user: s.user, host: '127.0.0.1', port: s.port, remoteImsgPath: echoArgv, identityFile: s.identityFile, knownHostsFile: s.knownHostsFile}),
      )
    })

    it('delivers every argument byte for byte through the remote shell', async () => {
      const r = await execa(wrapper, ['send', '--to', '+15551234567', ...HOSTILE_TEXTS.flatMap((t) => ['--text', t])], {reject: false})
      expect(r.exitCode, r.stderr).to.equal(0)
      expect(JSON.parse(r.stdout)).to.deep.equal(['send', '--to', '+15551234567', ...HOSTILE_TEXTS.flatMap((t) => ['--text', t])])
    })

    it('runs nothing embedded in arguments', async () => {
      const marker = path.join(s.remoteHome, 'pwned')
      await execa(wrapper, [`$(touch ${marker})`, `\`touch ${marker}\``, `; touch ${marker}`, `' ; touch ${marker} ; '`], {reject: false})
      expect(fs.existsSync(marker)).to.equal(false)
    })

    it('control: the naive `exec ssh host imsg "$@"` wrapper mangles text and runs embedded commands', async () => {
      const naive = path.join(s.dir, 'scripts', 'naive')
      fs.writeFileSync(naive, `#!/bin/sh\nexec ssh -F ${s.configFile} -T ${s.alias} ${echoArgv} "$@"\n`, {mode: 0o700})
      const marker = path.join(s.remoteHome, 'pwned-naive')
      const r = await execa(naive, ["it's", `$(touch ${marker})`], {reject: false})
      expect(r.stdout).not.to.equal(JSON.stringify(["it's", `$(touch ${marker})`]))
      const r2 = await execa(naive, ['$HOME', `x;touch ${marker}`], {reject: false})
      expect(r2.stdout).not.to.include('$HOME')
      expect(fs.existsSync(marker)).to.equal(true)
      fs.rmSync(marker)
    })

    it('passes stdin through unbuffered (rpc-style line exchange)', async () => {
      const cat = path.join(s.dir, 'line-echo')
      fs.writeFileSync(cat, `#!${process.execPath}\nrequire('readline').createInterface({input: process.stdin}).on('line', (l) => process.stdout.write(l + '\\n'))\n`, {mode: 0o755})
      const w = path.join(s.dir, 'scripts', 'line-echo')
      await writeWrapper(w, renderWrapper({user: s.user, host: '127.0.0.1', port: s.port, remoteImsgPath: cat, identityFile: s.identityFile, knownHostsFile: s.knownHostsFile}))
      const child = execa(w, ['rpc'], {stdin: 'pipe', reject: false})
      const first = new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString())))
      child.stdin!.write('{"jsonrpc":"2.0","id":1,"method":"chats.list"}\n')
      expect(await first).to.equal('{"jsonrpc":"2.0","id":1,"method":"chats.list"}\n')
      child.stdin!.end()
      expect((await child).exitCode).to.equal(0)
    })

    it('with the imsg simulator as remote imsg, `send --text` stores hostile text exactly', async function () {
      if (!fs.existsSync(IMSG_SIM) || !fs.existsSync(path.join(path.dirname(IMSG_SIM), '..', 'dist', 'sim', 'main.js'))) this.skip()
      const db = path.join(s.dir, 'sim-chat.db')
      const w = path.join(s.dir, 'scripts', 'imsg-sim')
      await writeWrapper(w, renderWrapper({user: s.user, host: '127.0.0.1', port: s.port, remoteImsgPath: IMSG_SIM, identityFile: s.identityFile, knownHostsFile: s.knownHostsFile}))
      const init = await execa(w, ['init', '--db', db], {reject: false})
      expect(init.exitCode, init.stdout + init.stderr).to.equal(0)
      const texts = HOSTILE_TEXTS.filter((t) => t !== '')
      for (const t of texts) {
        const r = await execa(w, ['send', '--db', db, '--to', '+15551234567', '--text', t], {reject: false})
        expect(r.exitCode, `${JSON.stringify(t)}: ${r.stdout} ${r.stderr}`).to.equal(0)
      }
      const sent = await execa(IMSG_SIM, ['sent', '--db', db, '--json'])
      const got = (JSON.parse(sent.stdout) as Array<{text: string}>).map((m) => m.text)
      expect(got).to.deep.equal(texts)
    })
  })

  it('fetchRemoteFile / putRemoteFile move hostile names intact and run nothing', async () => {
    const mac = path.join(s.dir, 'mac')
    fs.mkdirSync(mac)
    const names = ['sp ace.txt', "q'uote.txt", 'dq".txt', 'dollar $HOME.txt', 'semi;cd;touch pwned.txt', 'tick `cd;touch pwned`.txt', 'sub $(cd;touch pwned).txt', 'new\nline.txt', 'glob*.txt', 'br[a].txt', 'back\\slash.txt', '-dash.txt']
    fs.writeFileSync(path.join(mac, 'globX.txt'), 'decoy')
    for (const n of names) fs.writeFileSync(path.join(mac, n), `content of ${n}`)
    const out = path.join(s.dir, 'local-out')
    fs.mkdirSync(out)
    for (const [i, n] of names.entries()) {
      const local = path.join(out, `f${i}`)
      await fetchRemoteFile({remoteHost: s.alias, sshOptions: s.sshOptions, remotePath: path.join(mac, n), localPath: local})
      expect(fs.readFileSync(local, 'utf8'), JSON.stringify(n)).to.equal(`content of ${n}`)
      const back = path.join(mac, `back-${n}`)
      await putRemoteFile({remoteHost: s.alias, sshOptions: s.sshOptions, localPath: local, remotePath: back})
      expect(fs.readFileSync(back, 'utf8'), JSON.stringify(n)).to.equal(`content of ${n}`)
    }
    expect(fs.existsSync(path.join(s.remoteHome, 'pwned'))).to.equal(false)
    expect(fs.readdirSync(s.remoteHome)).to.deep.equal([])
  })

  it('control: legacy scp (-O, remote shell) DOES run a hostile name, so the marker check above can fail', async () => {
    const mac = path.join(s.dir, 'mac-legacy')
    fs.mkdirSync(mac)
    const n = 'semi;cd;touch pwned-legacy;.txt'
    fs.writeFileSync(path.join(mac, n), 'x')
    await execa('scp', ['-O', ...s.sshOptions, '--', `${s.alias}:${path.join(mac, n)}`, path.join(s.dir, 'legacy-out')], {reject: false})
    expect(fs.existsSync(path.join(s.remoteHome, 'pwned-legacy'))).to.equal(true)
    fs.rmSync(path.join(s.remoteHome, 'pwned-legacy'))
  })

  it('fetchRemoteFile fails closed on a host key mismatch, naming known_hosts and the fingerprint', async () => {
    const key = hostKeyFromPublicLine(s.hostPublicKey)
    const other = path.join(s.dir, 'other_key2')
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other])
    const kh = path.join(s.dir, 'kh-bad')
    fs.writeFileSync(kh, `[127.0.0.1]:${s.port} ${fs.readFileSync(other + '.pub', 'utf8').split(' ').slice(0, 2).join(' ')}\n`)
    const target = path.join(s.dir, 'must-not-exist')
    const err = (await fetchRemoteFile({
      remoteHost: s.alias,
      sshOptions: [...s.sshOptions, '-o', `UserKnownHostsFile=${kh}`],
      remotePath: s.hostKeyFile + '.pub',
      localPath: target,
    }).catch((e: unknown) => e)) as RemoteclawError
    expect(err).to.be.instanceOf(RemoteclawError)
    expect(err.code).to.equal('host_key_mismatch')
    expect(err.message).to.include('known_hosts').and.include(key.fingerprint).and.include(kh)
    expect(fs.existsSync(target)).to.equal(false)
  })
})

describe('test sshd helper', function () {
  this.timeout(60_000)
  it('passes env (e.g. IMSG_SIM_* knobs) to remote sessions and keeps HOME in a temp dir', async function () {
    if (sshdUnavailableReason()) this.skip()
    const s = await startSshd({env: {IMSG_SIM_VERSION: '0.14.0', RC_SPACED: 'a b'}})
    try {
      const out = await runRemote({remoteHost: s.alias, sshOptions: s.sshOptions}, ['sh', '-c', 'printf "%s|%s|%s" "$IMSG_SIM_VERSION" "$RC_SPACED" "$HOME"'])
      expect(out).to.equal(`0.14.0|a b|${s.remoteHome}`)
      expect(s.remoteHome.startsWith(s.dir)).to.equal(true)
    } finally {
      await s.stop()
    }
    expect(fs.existsSync(s.dir)).to.equal(false)
  })
})
