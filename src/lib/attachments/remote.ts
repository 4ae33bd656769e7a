import fsp from 'node:fs/promises'
import path from 'node:path'
import type {ResolvedAccount} from '../config/accounts.js'
import type {Context} from '../context.js'
import {RemoteclawError} from '../errors.js'
import {parseRemoteHost} from '../ssh/validate.js'
import {parseTransparentWrapper} from '../ssh/wrapper.js'

export interface RemoteMac {
  /** `user@host` or host alias, for ssh/scp */
  remoteHost: string
  user?: string
  host: string
  /** true when derived from a transparent wrapper at cliPath rather than set in remoteHost */
  derived: boolean
  /** extra ssh/scp options (from REMOTECLAW_SSH_CONFIG: ['-F', file]) */
  sshOptions: string[]
}

/** ssh/scp options from the environment: REMOTECLAW_SSH_CONFIG=<file> adds `-F <file>` (tests, unusual setups). */
export function sshOptionsFromEnv(env: NodeJS.ProcessEnv): string[] {
  const f = env.REMOTECLAW_SSH_CONFIG
  return f && f.trim() !== '' ? ['-F', f] : []
}

/**
 * The host imsg runs on as the gateway sees it (remoteHost, or read from the wrapper), for the
 * probes: undefined when imsg is local or the host cannot be derived (the doctor reports why).
 */
export async function remoteHostInUse(ctx: Pick<Context, 'env'>, account: ResolvedAccount): Promise<string | undefined> {
  return (await resolveRemoteMac(ctx, account).catch(() => undefined))?.remoteHost
}

/**
 * The Mac imsg runs on, or undefined when imsg is local. remoteHost wins; otherwise a
 * transparent wrapper at cliPath (`exec ssh [user@]host imsg "$@"`) gives the host. A cliPath
 * script that uses ssh in any other way is an error: the host cannot be derived safely.
 */
export async function resolveRemoteMac(ctx: Pick<Context, 'env'>, account: ResolvedAccount, sshOptions?: string[]): Promise<RemoteMac | undefined> {
  const opts = sshOptions ?? sshOptionsFromEnv(ctx.env)
  if (account.remoteHost) {
    let parsed
    try {
      parsed = parseRemoteHost(account.remoteHost)
    } catch (error) {
      throw new RemoteclawError(`${account.keyPrefix}.remoteHost: ${(error as Error).message}`, {
        code: 'invalid_remote_host',
        fix: `Set ${account.keyPrefix}.remoteHost to user@host, e.g. bot@mac-mini.local.`,
      })
    }
    return {remoteHost: account.remoteHost, ...parsed, derived: false, sshOptions: opts}
  }
  if (!account.cliPath.includes('/')) return undefined
  let text: string
  try {
    const st = await fsp.stat(account.cliPath)
    if (!st.isFile() || st.size > 64 * 1024) return undefined
    text = await fsp.readFile(account.cliPath, 'utf8')
  } catch {
    return undefined
  }
  if (text.includes('\u0000') || !text.startsWith('#!')) return undefined
  const parsed = parseTransparentWrapper(text)
  if (parsed) {
    return {remoteHost: parsed.user ? `${parsed.user}@${parsed.host}` : parsed.host, ...parsed, derived: true, sshOptions: opts}
  }
  if (/\bssh\b/.test(text)) {
    throw new RemoteclawError(
      `${account.keyPrefix}.cliPath (${path.basename(account.cliPath)}) runs imsg over SSH, but it is not a plain \`exec ssh user@host imsg "$@"\` wrapper, so the Mac for attachments cannot be derived from it`,
      {code: 'remote_host_required', fix: `Set it explicitly: remoteclaw config set ${account.keyPrefix}.remoteHost user@host`},
    )
  }
  return undefined
}
