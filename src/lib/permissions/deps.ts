import type {Context} from '../context.js'
import type {ResolvedAccount} from '../config/accounts.js'
import {RemoteclawError} from '../errors.js'
import {createLogger} from '../log.js'
import {ImsgClient, ImsgError, ImsgSpawnError, ImsgTimeoutError} from '../imsg/index.js'
import {sshConfigFor} from '../ssh/config.js'
import {fetchHostKey} from '../ssh/hostkey.js'
import {knownHostName, lookupHostKeyDetailed} from '../ssh/known-hosts.js'
import {parseRemoteHost} from '../ssh/validate.js'
import type {DoctorDeps, HostKeySummary, ProbeSummary} from './doctor.js'

/** The doctor's collaborators from other areas: the imsg RPC client and the ssh library. */
export function defaultDoctorDeps(opts: {sshConfigFile?: string} = {}): DoctorDeps {
  return {probe: rpcProbe, hostKey: (ctx, remoteHost) => hostKeyState(ctx, remoteHost, opts)}
}

/** Starts `imsg rpc` exactly as the gateway does (same cliPath, --db) and makes one read. */
export async function rpcProbe(ctx: Context, account: ResolvedAccount, timeoutMs = 10_000): Promise<ProbeSummary> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(ctx.env)) if (v !== undefined) env[k] = v
  const client = ImsgClient.spawn({
    cliPath: account.cliPath,
    dbPath: account.dbPath,
    remoteHost: account.remoteHost,
    requestTimeoutMs: Math.min(timeoutMs, account.rpcTimeoutMs),
    env,
    spawn: ctx.spawn,
    closeGraceMs: 500,
    // imsg's non-JSON output is what the doctor reports; do not log it twice.
    log: createLogger({level: 'error'}),
  })
  try {
    const r = await client.chatsList({limit: 1})
    return {ok: true, message: `\`imsg rpc\` answered chats.list (${r.chats.length} chat${r.chats.length === 1 ? '' : 's'} returned)`}
  } catch (error) {
    const e = error as Error
    // imsg that started and exited is reachable but unhealthy (bad db, no FDA); a hang or no binary is not.
    const unreachable = e instanceof ImsgTimeoutError || e instanceof ImsgSpawnError
    const kind = e instanceof ImsgError ? e.kind : undefined
    return {
      ok: false,
      severity: unreachable && kind !== 'full_disk_access' ? 'unreachable' : 'unhealthy',
      message: `\`imsg rpc\` ${e instanceof ImsgTimeoutError ? 'did not answer chats.list in time (hung or stalled on a prompt)' : `failed: ${e.message}`}`,
      fix: e instanceof RemoteclawError ? e.fix : undefined,
      details: {error: e.name, kind},
    }
  } finally {
    await client.close().catch(() => {})
  }
}

/** Host key of remoteHost against the known_hosts files ssh would use (never writes). */
export async function hostKeyState(ctx: Context, remoteHost: string, opts: {sshConfigFile?: string} = {}): Promise<HostKeySummary> {
  let host: string
  let port = 22
  let files: string[] = []
  try {
    host = parseRemoteHost(remoteHost).host
    const c = await sshConfigFor(host, {home: ctx.home, configFile: opts.sshConfigFile})
    host = c.raw.hostkeyalias?.[0] ?? (c.hostname || host)
    port = c.port || 22
    files = c.userKnownHostsFiles
  } catch (error) {
    return {state: 'unknown', message: (error as Error).message, fix: (error as RemoteclawError).fix}
  }
  let key
  try {
    key = await fetchHostKey(host, port, {timeoutMs: 10_000})
  } catch (error) {
    return {state: 'unreachable', message: (error as Error).message, fix: (error as RemoteclawError).fix}
  }
  for (const file of files) {
    const r = await lookupHostKeyDetailed(file, host, port, key)
    if (r.status === 'match') return {state: 'trusted', fingerprint: key.fingerprint, message: `reachable; host key ${key.fingerprint} trusted (${file}:${r.line})`}
    if (r.status === 'mismatch' || r.status === 'revoked') {
      return {
        state: 'mismatch',
        fingerprint: key.fingerprint,
        message: `host key CHANGED: ${knownHostName(host, port)} offers ${key.fingerprint}, ${file}:${r.line} has ${r.knownFingerprint ?? 'a revoked key'}`,
        fix: 'Check the fingerprint on the Mac itself (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) before changing known_hosts.',
      }
    }
  }
  return {
    state: 'unknown',
    fingerprint: key.fingerprint,
    message: `reachable, but its host key ${key.fingerprint} is not in known_hosts: SCP attachment fetches (StrictHostKeyChecking=yes) will fail`,
    fix: 'Trust it after comparing the fingerprint: remoteclaw setup imessage (or ssh <remoteHost> true once in a terminal).',
  }
}
