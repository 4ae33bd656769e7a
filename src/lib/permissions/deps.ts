import type {Context} from '../context.js'
import type {ResolvedAccount} from '../config/accounts.js'
import {RemoteclawError} from '../errors.js'
import {createLogger} from '../log.js'
import {probeAccount} from '../imsg/probe.js'
import {remoteHostInUse} from '../attachments/remote.js'
import {sshConfigFor} from '../ssh/config.js'
import {fetchAndLookupHostKey, knownHostName} from '../ssh/known-hosts.js'
import {parseRemoteHost} from '../ssh/validate.js'
import type {DoctorDeps} from './doctor.js'
import type {HostKeySummary, ProbeSummary} from './report.js'

/** The doctor's collaborators from other areas: the imsg RPC client and the ssh library. */
export function defaultDoctorDeps(opts: {sshConfigFile?: string} = {}): DoctorDeps {
  return {probe: rpcProbe, hostKey: (ctx, remoteHost) => hostKeyState(ctx, remoteHost, opts)}
}

/**
 * The shared probe (src/lib/imsg/probe.ts, also behind `channels status --probe`): starts
 * `imsg rpc` exactly as the gateway does (same cliPath, --db) and makes one read, bounded by
 * timeoutMs so a hung imsg or wrapper is killed.
 */
export async function rpcProbe(ctx: Context, account: ResolvedAccount, timeoutMs = 10_000): Promise<ProbeSummary> {
  // imsg's non-JSON output is what the doctor reports; do not log it twice.
  const r = await probeAccount(account, {...ctx, log: createLogger({level: 'error'})}, {timeoutMs, remoteHost: await remoteHostInUse(ctx, account)})
  const failed = r.checks.find((c) => c.status === 'fail')
  if (r.status === 'healthy' || r.status === 'disabled' || !failed) {
    return {
      ok: true,
      message: `\`imsg rpc\` answered chats.list${r.latencyMs === undefined ? '' : ` in ${r.latencyMs} ms`}${r.protocol ? ` (${r.protocol} protocol${r.version ? `, imsg ${r.version}` : ''})` : ''}`,
      details: {status: r.status, version: r.version, protocol: r.protocol},
    }
  }
  return {
    ok: false,
    severity: r.status === 'unreachable' ? 'unreachable' : 'unhealthy',
    message: `${failed.message} [probe: ${failed.id}]`,
    fix: failed.fix,
    details: {status: r.status, check: failed.id, code: failed.code},
  }
}

/** Host key of remoteHost against the known_hosts files ssh would use (never writes). */
export async function hostKeyState(ctx: Context, remoteHost: string, opts: {sshConfigFile?: string} = {}): Promise<HostKeySummary> {
  let host: string
  let port: number | undefined = 22
  let connect: {host: string; port: number}
  let files: string[] = []
  try {
    host = parseRemoteHost(remoteHost).host
    const c = await sshConfigFor(host, {home: ctx.home, configFile: opts.sshConfigFile})
    connect = {host: c.hostname || host, port: c.port || 22}
    // known_hosts names: the HostKeyAlias as it is (ssh adds no port to it), else [HostName]:Port
    const alias = c.raw.hostkeyalias?.[0]
    host = alias ?? connect.host
    port = alias ? undefined : connect.port
    // ssh trusts a key found in either the user's or the system-wide files
    files = [...c.userKnownHostsFiles, ...(c.raw.globalknownhostsfile ?? []).flatMap((v) => v.split(/\s+/)).filter(Boolean)]
  } catch (error) {
    return {state: 'unknown', message: (error as Error).message, fix: (error as RemoteclawError).fix}
  }
  let key
  let r
  try {
    ;({key, found: r} = await fetchAndLookupHostKey(files, host, port, {...connect, timeoutMs: 10_000}))
  } catch (error) {
    return {state: 'unreachable', message: (error as Error).message, fix: (error as RemoteclawError).fix}
  }
  if (r.status === 'match') return {state: 'trusted', fingerprint: key.fingerprint, message: `reachable; host key ${key.fingerprint} trusted (${r.file}:${r.line})`}
  if (r.status === 'mismatch' || r.status === 'revoked') {
    return {
      state: 'mismatch',
      fingerprint: key.fingerprint,
      message: `host key CHANGED: ${knownHostName(host, port)} offers ${key.fingerprint}, ${r.file}:${r.line} has ${r.knownFingerprint ?? 'a revoked key'}`,
      fix: 'Check the fingerprint on the Mac itself (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) before changing known_hosts.',
    }
  }
  return {
    state: 'unknown',
    fingerprint: key.fingerprint,
    message: `reachable, but its host key ${key.fingerprint} is not in known_hosts: SCP attachment fetches (StrictHostKeyChecking=yes) will fail`,
    fix: 'Trust it after comparing the fingerprint: remoteclaw setup imessage (or ssh <remoteHost> true once in a terminal).',
  }
}
