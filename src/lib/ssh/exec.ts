import {execa} from 'execa'
import {ExitCode, RemoteclawError} from '../errors.js'
import {shJoin} from './quote.js'
import {formatDestination, parseRemoteHost, validatePort} from './validate.js'
import {SYSTEM_SSH, wrapperSshArgs} from './wrapper.js'

/** Options every non-interactive ssh/scp we run gets: never prompt, never accept an unknown or changed key. */
export const STRICT_BATCH_OPTIONS = ['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes'] as const

export interface SshTarget {
  /** `user@host` or a host alias, as in the remoteHost key */
  remoteHost: string
  port?: number
  /** extra ssh/scp options before the destination, e.g. ['-F', '/path/ssh_config'] */
  sshOptions?: string[]
  timeoutMs?: number
}

/**
 * Turns ssh/scp stderr into a RemoteclawError with cause and fix. Host key problems fail
 * closed and name known_hosts and the offered fingerprint.
 */
export function classifySshFailure(stderr: string, what: string, dest: string): RemoteclawError {
  const s = stderr
  const last = s.trim().split('\n').filter(Boolean).pop() ?? 'no output'
  const fp = /(SHA256:[A-Za-z0-9+/]{43})/.exec(s)?.[1]
  const offending = /Offending \S+ key in (\S+?):(\d+)/.exec(s)
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed|differs from the key for/i.test(s)) {
    const loc = offending ? `${offending[1]}:${offending[2]}` : 'known_hosts'
    return new RemoteclawError(
      `${what}: the host key of ${dest} does not match known_hosts (${loc})${fp ? `: the server now offers ${fp}` : ''}; refusing to connect`,
      {
        code: 'host_key_mismatch',
        fix: `Check the fingerprint on the Mac itself (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub). Only if the Mac was reinstalled: remove the old entry (ssh-keygen -R <host>) and trust the new key (remoteclaw setup imessage).`,
        details: {fingerprint: fp, knownHosts: offending ? {file: offending[1], line: Number(offending[2])} : undefined},
      },
    )
  }
  if (/revoked/i.test(s) && /key/i.test(s)) {
    return new RemoteclawError(`${what}: the host key of ${dest} is revoked in known_hosts; refusing to connect`, {
      code: 'host_key_mismatch',
      fix: 'Find out why the key was revoked before connecting; the Mac may not be the machine you think it is.',
    })
  }
  if (/Host key verification failed|No \S+ host key is known|host key is not known/i.test(s)) {
    return new RemoteclawError(`${what}: the host key of ${dest} is not in known_hosts (StrictHostKeyChecking=yes)`, {
      code: 'host_key_unknown',
      fix: `Trust it after checking its fingerprint: remoteclaw setup imessage, or ssh ${dest} true once in a terminal.`,
    })
  }
  // "Permission denied (publickey,...)" is a refused login; a bare "scp: <path>: Permission denied" is a file
  if (/Permission denied \(|Too many authentication failures/i.test(s)) {
    return new RemoteclawError(`${what}: ${dest} refused key login (${last})`, {
      code: 'ssh_auth_failed',
      fix: `Install your public key on the Mac: ssh-copy-id ${dest}   (then check: ssh -o BatchMode=yes ${dest} true)`,
    })
  }
  if (/Connection refused|timed out|Could not resolve|Name or service not known|No route to host|Network is unreachable|Connection closed|Connection reset/i.test(s)) {
    return new RemoteclawError(`${what}: cannot reach ${dest} (${last})`, {
      code: 'ssh_unreachable',
      exitCode: ExitCode.UNREACHABLE,
      fix: 'Check that the Mac is awake and Remote Login is on (System Settings > General > Sharing), the host name, and the network or Tailscale path.',
    })
  }
  return new RemoteclawError(`${what} failed: ${last}`, {code: 'ssh_failed', fix: `Run the same by hand to see details: ssh -v ${dest} true`})
}

/**
 * Runs argv on the remote host. The remote login shell parses the command line, so every
 * element is single-quoted (shJoin): data never becomes code. Returns stdout.
 */
export async function runRemote(target: SshTarget, argv: string[], opts: {input?: string} = {}): Promise<string> {
  const {user, host} = parseRemoteHost(target.remoteHost)
  const port = validatePort(target.port)
  const dest = formatDestination(user, host)
  const r = await execa(
    'ssh',
    [...STRICT_BATCH_OPTIONS, '-o', 'ConnectTimeout=5', ...(port ? ['-p', String(port)] : []), ...(target.sshOptions ?? []), '-T', '--', dest, shJoin(argv)],
    {reject: false, input: opts.input ?? '', timeout: target.timeoutMs ?? 30_000, stripFinalNewline: false},
  )
  if (r.exitCode === 255 || r.timedOut) throw classifySshFailure(String(r.stderr) + (r.timedOut ? '\ntimed out' : ''), 'ssh', dest)
  if (r.exitCode !== 0) {
    throw new RemoteclawError(`remote command ${argv[0]} on ${dest} exited ${r.exitCode}: ${String(r.stderr).trim().split('\n').pop() ?? ''}`, {
      code: 'remote_command_failed',
    })
  }
  return String(r.stdout)
}

export interface VerifyBatchLoginOptions {
  identityFile?: string
  knownHostsFile?: string
  timeoutMs?: number
  /** ssh binary; default /usr/bin/ssh as in the wrapper */
  sshBinary?: string
}

/**
 * Runs `<ssh> <the wrapper's exact options> user@host true`. Throws a RemoteclawError whose fix
 * says how to install a key (ssh-copy-id) or trust the host key when it fails.
 */
export async function verifyBatchLogin(user: string, host: string, port: number | undefined, opts: VerifyBatchLoginOptions = {}): Promise<void> {
  const args = wrapperSshArgs({user, host, port, identityFile: opts.identityFile, knownHostsFile: opts.knownHostsFile})
  const dest = args.at(-1)!
  const r = await execa(opts.sshBinary ?? SYSTEM_SSH, [...args, 'true'], {reject: false, stdin: 'ignore', timeout: opts.timeoutMs ?? 20_000})
  if (r.exitCode === 0) return
  const err = classifySshFailure(String(r.stderr) + (r.timedOut ? '\ntimed out' : ''), 'non-interactive SSH login', dest)
  if (err.code === 'ssh_auth_failed') {
    const portArg = port && port !== 22 ? ` -p ${port}` : ''
    const keyArg = opts.identityFile ? ` -i ${opts.identityFile}.pub` : ''
    throw new RemoteclawError(err.message, {
      code: err.code,
      fix: `Install your key on the Mac: ssh-copy-id${keyArg}${portArg} ${dest}   (Remote Login must be on for that user), then retry.`,
    })
  }
  throw err
}
