import {execa} from 'execa'
import path from 'node:path'
import {RemoteclawError, UsageError} from '../errors.js'
import {classifySshFailure, STRICT_BATCH_OPTIONS, type SshTarget} from './exec.js'
import {formatDestination, parseRemoteHost, validatePort} from './validate.js'

/**
 * File transfer with the system scp in SFTP mode (`scp -s`, OpenSSH 8.7+): file names go to
 * the remote sftp-server as protocol strings, never through a remote shell, so spaces, quotes,
 * `$`, `;`, backticks and newlines cannot run anything. scp still glob-expands REMOTE SOURCE
 * paths in this mode, so `* ? [ ] \` in a source name are backslash-escaped (a file named
 * `a*b` must not fetch `aXb` too). Destination paths are not globbed and go as they are.
 */

// eslint-disable-next-line no-control-regex
const NUL = /\u0000/

export function escapeScpGlob(p: string): string {
  return p.replace(/[\\*?[\]]/g, (c) => `\\${c}`)
}

function checkRemoteAbsolute(p: string): string {
  if (!p.startsWith('/') || NUL.test(p)) throw new UsageError(`remote path must be absolute: ${JSON.stringify(p)}`)
  return p
}

/** A local path scp cannot mistake for host:path (scp treats "a:b" as remote unless a "/" comes first). */
function localArg(p: string): string {
  return path.resolve(p)
}

function scpBase(target: SshTarget): string[] {
  const port = validatePort(target.port)
  return ['-s', ...STRICT_BATCH_OPTIONS, '-o', 'ConnectTimeout=5', ...(port ? ['-P', String(port)] : []), ...(target.sshOptions ?? []), '--']
}

export interface FetchRemoteFileOptions extends SshTarget {
  remotePath: string
  localPath: string
}

export async function fetchRemoteFile(o: FetchRemoteFileOptions): Promise<void> {
  const {user, host} = parseRemoteHost(o.remoteHost)
  const src = `${formatDestination(user, host, true)}:${escapeScpGlob(checkRemoteAbsolute(o.remotePath))}`
  const r = await execa('scp', [...scpBase(o), src, localArg(o.localPath)], {reject: false, stdin: 'ignore', timeout: o.timeoutMs ?? 120_000})
  if (r.exitCode !== 0) throw transferError(String(r.stderr), r.timedOut, 'fetching an attachment', formatDestination(user, host), o.remotePath)
}

export interface PutRemoteFileOptions extends SshTarget {
  localPath: string
  remotePath: string
}

export async function putRemoteFile(o: PutRemoteFileOptions): Promise<void> {
  const {user, host} = parseRemoteHost(o.remoteHost)
  const dst = `${formatDestination(user, host, true)}:${checkRemoteAbsolute(o.remotePath)}`
  const r = await execa('scp', [...scpBase(o), localArg(o.localPath), dst], {reject: false, stdin: 'ignore', timeout: o.timeoutMs ?? 300_000})
  if (r.exitCode !== 0) throw transferError(String(r.stderr), r.timedOut, 'copying a file to the Mac', formatDestination(user, host), o.remotePath)
}

function transferError(stderr: string, timedOut: boolean, what: string, dest: string, remotePath: string) {
  if (/No such file or directory/i.test(stderr) && !/ssh:|Host key|Permission denied \(/.test(stderr)) {
    return classifyMissing(what, dest, remotePath)
  }
  if (/unknown option -- s|illegal option -- s/.test(stderr)) {
    return new UsageError(`${what}: this scp does not support -s (SFTP mode)`, {
      fix: 'Install OpenSSH 8.7 or newer on the gateway host (scp -s keeps file names away from the remote shell).',
      code: 'scp_too_old',
    })
  }
  return classifySshFailure(stderr + (timedOut ? '\ntimed out' : ''), what, dest)
}

function classifyMissing(what: string, dest: string, remotePath: string) {
  return new RemoteclawError(`${what}: ${JSON.stringify(remotePath)} does not exist on ${dest}`, {
    code: 'remote_file_missing',
    fix: 'The file may have been deleted or not written yet; check the path on the Mac.',
  })
}
