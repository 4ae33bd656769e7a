import {randomBytes} from 'node:crypto'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type {ResolvedAccount} from '../config/accounts.js'
import {expandHome, type Context} from '../context.js'
import {NotFoundError, RemoteclawError, UsageError} from '../errors.js'
import {runRemote} from '../ssh/exec.js'
import {putRemoteFile} from '../ssh/transfer.js'
import {formatMb} from './mime.js'
import {resolveRemoteMac} from './remote.js'

export interface PreparedOutboundFile {
  /** The path imsg should send: the local file, or the staged copy on the remote Mac. */
  path: string
  /** true when `path` is on the remote Mac */
  remote: boolean
  /** Removes the staged copy (no-op locally). Safe to call twice; never throws (logs instead). */
  cleanup(): Promise<void>
}

/**
 * What prepareOutboundFile needs from the Context. Only `log` is required so send paths that
 * carry a partial context can call it; home/env/random default to the process's.
 */
export type OutboundContext = Pick<Context, 'log'> & Partial<Pick<Context, 'home' | 'env' | 'random'>>

/** Staging folder on the Mac, under the bot user's home, owner-only. */
export const REMOTE_STAGING_DIR = '.remoteclaw-staging'
const STAGED_DIR_RE = /\/\.remoteclaw-staging\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

// mkdir the staging dir 0700 (umask 077), prune leftovers older than a day from crashed runs,
// and print the absolute dir. $1 is the uuid; the script itself is constant.
const STAGE_SCRIPT =
  'umask 077 && base="$HOME/.remoteclaw-staging" && mkdir -p -- "$base" && chmod 700 -- "$base" && ' +
  '{ find "$base" -mindepth 1 -maxdepth 1 -type d -mmin +1440 -exec rm -rf -- {} + 2>/dev/null || true; } && ' +
  'mkdir -- "$base/$1" && cd -- "$base/$1" && pwd -P'

function uuidFrom(bytes: Buffer): string {
  const b = Buffer.from(bytes.subarray(0, 16))
  b[6] = (b[6]! & 0x0f) | 0x40
  b[8] = (b[8]! & 0x3f) | 0x80
  const h = b.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** The name the file gets on the Mac (recipients see it): basename without control characters or backslashes. */
export function stagedName(localPath: string): string {
  // eslint-disable-next-line no-control-regex
  const n = path.basename(localPath).replace(/[\u0000-\u001f\u007f\\]/g, '_')
  return n === '' || n === '.' || n === '..' ? 'file' : n
}

/**
 * Checks a file before any send (exists, regular, within mediaMaxMb) and, when imsg runs on a
 * remote Mac, copies it to ~/.remoteclaw-staging/<uuid>/<name> there (dir 0700) with scp -s.
 * Callers send `path`, then call cleanup().
 */
export async function prepareOutboundFile(
  ctx: OutboundContext,
  account: ResolvedAccount,
  localPath: string,
  opts: {sshOptions?: string[]} = {},
): Promise<PreparedOutboundFile> {
  const file = path.resolve(expandHome(localPath, ctx.home ?? os.homedir()))
  let st
  try {
    st = await fsp.stat(file)
  } catch {
    throw new NotFoundError(`file not found: ${file}`, {fix: 'Check the path; relative paths are resolved from the current directory.', code: 'file_not_found'})
  }
  if (!st.isFile()) throw new UsageError(`not a regular file: ${file}`, {fix: 'Send a file, not a directory or device.', code: 'not_a_file'})
  if (st.size > account.mediaMaxMb * 1024 * 1024) {
    throw new UsageError(`file too large (${formatMb(st.size)} MB > ${account.mediaMaxMb} MB): ${file}`, {
      code: 'file_too_large',
      fix: `Send a smaller file, or raise the cap: remoteclaw config set ${account.keyPrefix}.mediaMaxMb <MB>`,
    })
  }
  const remote = await resolveRemoteMac({env: ctx.env ?? process.env}, account, opts.sshOptions)
  if (!remote) return {path: file, remote: false, cleanup: async () => {}}

  const target = {remoteHost: remote.remoteHost, sshOptions: remote.sshOptions}
  const uuid = uuidFrom((ctx.random ?? randomBytes)(16))
  const dir = (await runRemote(target, ['sh', '-c', STAGE_SCRIPT, 'sh', uuid])).trim()
  if (!dir.startsWith('/') || dir.includes('\n') || !dir.endsWith(`/${REMOTE_STAGING_DIR}/${uuid}`)) {
    throw new RemoteclawError(`unexpected staging directory from ${remote.remoteHost}: ${JSON.stringify(dir.slice(0, 200))}`, {
      code: 'staging_failed',
      fix: 'The login shell on the Mac printed extra output; remove echo/printf from its startup files for non-interactive shells.',
    })
  }
  let cleaned = false
  const cleanup = async () => {
    if (cleaned) return
    cleaned = true
    if (!STAGED_DIR_RE.test(dir)) return
    try {
      await runRemote(target, ['rm', '-rf', '--', dir])
    } catch (error) {
      ctx.log.warn('could not remove staged file on the Mac', {dir, error: (error as Error).message, fix: `ssh ${remote.remoteHost} rm -rf '${dir}'`})
    }
  }
  const remotePath = `${dir}/${stagedName(file)}`
  try {
    await putRemoteFile({...target, localPath: file, remotePath})
  } catch (error) {
    await cleanup()
    throw error
  }
  return {path: remotePath, remote: true, cleanup}
}
