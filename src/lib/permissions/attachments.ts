import type {Context} from '../context.js'
import type {ResolvedAccount} from '../config/accounts.js'
import {resolvedValue} from '../config/resolved.js'
import type {RemoteclawConfig} from '../config/schema.js'
import {shellQuote} from '../config/validate.js'
import type {RemoteclawError} from '../errors.js'
import {resolveRemoteMac, type RemoteMac} from '../attachments/remote.js'
import {attachmentRootsSetting} from '../attachments/roots-setting.js'
import type {WrapperInfo} from './process-context.js'
import type {DoctorCheck, HostKeySummary} from './report.js'

/**
 * The doctor's remote_host and attachments checks. Both start from the gateway's own answers:
 * resolveRemoteMac (remoteHost, else a plain `exec ssh user@host imsg "$@"` wrapper at cliPath)
 * and attachmentRootsSetting (which roots, under which key), so the doctor cannot disagree with
 * what the gateway will do with an attachment.
 */

export type RemoteMacResult = {remote?: RemoteMac; error?: RemoteclawError}

/** The gateway's remote Mac for this account; an unreadable wrapper is an error to report, not to throw. */
export async function remoteMacFor(ctx: Context, account: ResolvedAccount): Promise<RemoteMacResult> {
  try {
    return {remote: await resolveRemoteMac(ctx, account)}
  } catch (error) {
    return {error: error as RemoteclawError}
  }
}

/** "bot@mac-mini (channels.imessage.remoteHost)" or "bot@mac-mini (from the wrapper /path)". */
export function describeRemoteHost(account: ResolvedAccount, remote: RemoteMac): string {
  return `${remote.remoteHost} (${remote.derived ? `from the wrapper ${account.cliPath}` : `${account.keyPrefix}.remoteHost`})`
}

export async function checkRemoteHost(
  ctx: Context,
  account: ResolvedAccount,
  r: RemoteMacResult,
  wrapper: WrapperInfo | undefined,
  hostKey: ((ctx: Context, remoteHost: string) => Promise<HostKeySummary>) | undefined,
): Promise<DoctorCheck | undefined> {
  const title = 'remoteHost'
  const unset = (message: string): DoctorCheck => ({
    id: 'remote_host',
    title,
    status: account.includeAttachments ? 'fail' : 'warn',
    severity: account.includeAttachments ? 'unhealthy' : undefined,
    message,
    fix: `remoteclaw config set ${account.keyPrefix}.remoteHost ${wrapper?.target ?? '<user>@<host>'}`,
  })
  if (r.error) return unset(`${r.error.message}; until remoteHost is set, attachments on the Mac cannot be fetched.`)
  const remote = r.remote
  if (!remote) {
    // The doctor sees SSH in a wrapper the gateway does not read (a bare name on PATH, or too large).
    if (wrapper) return unset(`${account.keyPrefix}.remoteHost is unset while cliPath is an SSH wrapper: attachments on the Mac cannot be fetched.`)
    return undefined
  }
  const details = {remoteHost: remote.remoteHost, from: remote.derived ? 'wrapper' : 'remoteHost'}
  if (!hostKey) return {id: 'remote_host', title, status: 'info', message: `remote host ${describeRemoteHost(account, remote)}; host key not checked`, details}
  const hk = await hostKey(ctx, remote.remoteHost)
  return {
    id: 'remote_host',
    title,
    status: hk.state === 'trusted' ? 'pass' : 'fail',
    severity: hk.state === 'unreachable' ? 'unreachable' : hk.state === 'trusted' ? undefined : 'unhealthy',
    message: `remote host ${describeRemoteHost(account, remote)}: ${hk.message}`,
    fix: hk.fix,
    details: {...details, state: hk.state, fingerprint: hk.fingerprint},
  }
}

/** Which roots inbound attachments must lie under, where that list comes from, and roots that can never match. */
export function checkAttachments(ctx: Pick<Context, 'home'>, config: RemoteclawConfig, account: ResolvedAccount, r: RemoteMacResult): DoctorCheck {
  const setting = attachmentRootsSetting(account, r.remote, ctx.home)
  const from = originOf(config, account, setting.key)
  const roots = setting.configured.join(', ') || '(none)'
  const where = r.remote ? `on ${r.remote.remoteHost}, fetched over SCP` : 'on this machine'
  const details = {
    includeAttachments: account.includeAttachments,
    rootsKey: setting.key,
    roots: setting.configured,
    from,
    keyToExtend: setting.keyPath,
    remoteHost: r.remote?.remoteHost,
    attachmentRoots: account.attachmentRoots,
    remoteAttachmentRoots: account.remoteAttachmentRoots,
  }
  const base = {id: 'attachments', title: 'attachments', details}
  if (!account.includeAttachments) {
    return {...base, status: 'info', message: `inbound attachments are not handed to the agent (${account.keyPrefix}.includeAttachments is false); ${setting.key}: ${roots}.`}
  }
  if (setting.unusable.length > 0) {
    const noUser = r.remote && !r.remote.user
    return {
      ...base,
      status: 'warn',
      message:
        `${setting.key} ${setting.unusable.map((u) => JSON.stringify(u)).join(', ')} (${from === 'default' ? 'the default' : `from ${from}`}) can never match: ` +
        (noUser ? `\`~\` needs the user on the Mac, and ${r.remote!.remoteHost} names none.` : 'roots must be absolute paths.') +
        (setting.roots.length === 0 ? ' No attachment will reach the agent.' : ''),
      fix: noUser
        ? `remoteclaw config set ${account.keyPrefix}.remoteHost <user>@${r.remote!.host}   (or write the roots as /Users/<user>/...)`
        : `Write them as absolute paths: remoteclaw config set ${shellQuote(setting.keyPath)} ${shellQuote(JSON.stringify(setting.roots.length > 0 ? setting.roots : ['/Users/*/Library/Messages/Attachments']))}`,
    }
  }
  return {
    ...base,
    status: 'info',
    message: `inbound attachments are handed to the agent when they lie under ${roots} ${where} (${setting.key}, ${from === 'default' ? 'the default' : `from ${from}`}); max ${account.mediaMaxMb} MB.`,
  }
}

/** The config key the effective list came from (config/resolved.ts), or "default". */
function originOf(config: RemoteclawConfig, account: ResolvedAccount, key: string): string {
  try {
    const v = resolvedValue(config, key, {accountId: account.id, home: ''})
    return v.from || 'default'
  } catch {
    return account.keyPrefix + '.' + key
  }
}
