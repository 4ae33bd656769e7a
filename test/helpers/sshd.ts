/**
 * A real OpenSSH server on loopback for tests: throwaway host key, user key, known_hosts and
 * ssh_config in a temp dir. Nothing here reads or writes the real ~/.ssh: clients must use
 * `sshOptions` (`-F <temp ssh_config>`) or the explicit -p/-i/UserKnownHostsFile values.
 *
 * The "remote Mac" is this machine. sshd is told (SetEnv HOME=...) to give the session a temp
 * home, so remote `$HOME` paths (outbound staging) stay inside the temp dir.
 */
import {execa, type ResultPromise} from 'execa'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

export const SSHD_PATH = '/usr/sbin/sshd'

export interface TestSshd {
  dir: string
  port: number
  host: '127.0.0.1'
  /** Host alias defined in `configFile` (HostName/Port/User/IdentityFile/UserKnownHostsFile set). */
  alias: string
  user: string
  /** `$HOME` of remote sessions (a temp dir, not the user's real home). */
  remoteHome: string
  identityFile: string
  knownHostsFile: string
  configFile: string
  /** ['-F', configFile]: pass to ssh/scp/sftp (and to the library's sshOptions). */
  sshOptions: string[]
  hostKeyFile: string
  /** "ssh-ed25519 AAAA..." of the server */
  hostPublicKey: string
  /** sshd's stderr so far (for failure messages). */
  logs(): string
  stop(): Promise<void>
}

/** Why tests must skip, or undefined when sshd can run. In CI a missing sshd is a failure, never a skip. */
export function sshdUnavailableReason(): string | undefined {
  if (fs.existsSync(SSHD_PATH)) return undefined
  if (process.env.CI) throw new Error(`${SSHD_PATH} is missing in CI: .ci/run must install openssh-server`)
  return `${SSHD_PATH} not installed (apt-get install openssh-server); SSH tests skipped outside CI`
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address() as net.AddressInfo
      srv.close(() => resolve(addr.port))
    })
  })
}

async function waitForBanner(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1')
      let buf = ''
      const done = (v: boolean) => {
        sock.destroy()
        resolve(v)
      }
      sock.setTimeout(500, () => done(false))
      sock.on('data', (d) => {
        buf += d.toString('latin1')
        if (buf.includes('SSH-2.0')) done(true)
      })
      sock.on('error', () => done(false))
    })
    if (ok) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return false
}

export interface StartSshdOptions {
  /** Extra `SetEnv` for remote sessions (e.g. IMSG_SIM_* knobs for a remote simulator). */
  env?: Record<string, string>
}

export async function startSshd(opts: StartSshdOptions = {}): Promise<TestSshd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-sshd-'))
  fs.chmodSync(dir, 0o700)
  const user = os.userInfo().username
  const hostKeyFile = path.join(dir, 'host_ed25519')
  const identityFile = path.join(dir, 'id_ed25519')
  const remoteHome = path.join(dir, 'remote-home')
  fs.mkdirSync(remoteHome, {mode: 0o700})
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'rc-test-host', '-f', hostKeyFile])
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'rc-test-user', '-f', identityFile])
  fs.copyFileSync(identityFile + '.pub', path.join(dir, 'authorized_keys'))
  const hostPublicKey = fs.readFileSync(hostKeyFile + '.pub', 'utf8').trim().split(/\s+/).slice(0, 2).join(' ')
  // sshd refuses to start without its privilege separation dir (absent in minimal containers).
  if (process.getuid?.() === 0) fs.mkdirSync('/run/sshd', {recursive: true, mode: 0o755})

  let lastError = ''
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort()
    const sshdConfig = path.join(dir, 'sshd_config')
    const setEnv = {HOME: remoteHome, ...opts.env}
    fs.writeFileSync(
      sshdConfig,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKeyFile}`,
        `PidFile ${path.join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PubkeyAuthentication yes',
        'StrictModes no',
        'UsePAM no',
        'PrintMotd no',
        'PrintLastLog no',
        'AcceptEnv IMSG_SIM_*',
        `SetEnv ${Object.entries(setEnv)
          .map(([k, v]) => {
            if (/["\n]/.test(v) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`startSshd: unsupported env ${k}`)
            return `"${k}=${v}"`
          })
          .join(' ')}`,
        'Subsystem sftp internal-sftp',
        'LogLevel VERBOSE',
        '',
      ].join('\n'),
      {mode: 0o600},
    )
    const knownHostsFile = path.join(dir, 'known_hosts')
    fs.writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${hostPublicKey}\n`, {mode: 0o600})
    const configFile = path.join(dir, 'ssh_config')
    const alias = 'rc-test-mac'
    fs.writeFileSync(
      configFile,
      [
        `Host ${alias}`,
        '  HostName 127.0.0.1',
        `  Port ${port}`,
        `  User ${user}`,
        'Host *',
        `  IdentityFile ${identityFile}`,
        '  IdentitiesOnly yes',
        `  UserKnownHostsFile ${knownHostsFile}`,
        '  GlobalKnownHostsFile /dev/null',
        '  StrictHostKeyChecking yes',
        '  BatchMode yes',
        '  LogLevel ERROR',
        '',
      ].join('\n'),
      {mode: 0o600},
    )

    let stderr = ''
    const child: ResultPromise = execa(SSHD_PATH, ['-D', '-e', '-f', sshdConfig], {reject: false, stdin: 'ignore'})
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    const exited = child.then(() => true)
    const ready = await Promise.race([waitForBanner(port, 10_000), exited.then(() => false)])
    if (!ready) {
      lastError = stderr
      child.kill('SIGTERM')
      await exited
      continue
    }
    return {
      dir,
      port,
      host: '127.0.0.1',
      alias,
      user,
      remoteHome,
      identityFile,
      knownHostsFile,
      configFile,
      sshOptions: ['-F', configFile],
      hostKeyFile,
      hostPublicKey,
      logs: () => stderr,
      async stop() {
        child.kill('SIGTERM')
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))])
        if (child.exitCode === null) child.kill('SIGKILL')
        fs.rmSync(dir, {recursive: true, force: true})
      },
    }
  }
  fs.rmSync(dir, {recursive: true, force: true})
  throw new Error(`sshd did not start: ${lastError}`)
}
