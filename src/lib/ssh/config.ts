import {execa} from 'execa'
import path from 'node:path'
import {RemoteclawError} from '../errors.js'
import {validateHost} from './validate.js'

export interface SshResolvedConfig {
  hostname: string
  port: number
  user: string
  /** HashKnownHosts yes/no: how appendKnownHost should write new entries */
  hashKnownHosts: boolean
  /** UserKnownHostsFile entries, `~` expanded; the first is where new keys go */
  userKnownHostsFiles: string[]
  strictHostKeyChecking: string
  /** every `ssh -G` line: lower-case key -> values (keys like identityfile repeat) */
  raw: Record<string, string[]>
}

/**
 * What the system ssh would use for `host` (`ssh -G`, which evaluates ~/.ssh/config and
 * /etc/ssh/ssh_config without connecting). Run via execa argv; `configFile` maps to -F.
 */
export async function sshConfigFor(host: string, opts: {configFile?: string; home?: string; sshBinary?: string} = {}): Promise<SshResolvedConfig> {
  validateHost(host)
  const args = ['-G', ...(opts.configFile ? ['-F', opts.configFile] : []), '--', host]
  const r = await execa(opts.sshBinary ?? 'ssh', args, {reject: false, stdin: 'ignore', timeout: 10_000})
  if (r.exitCode !== 0) {
    throw new RemoteclawError(`ssh -G ${host} failed: ${String(r.stderr).trim().split('\n').pop() ?? ''}`, {
      code: 'ssh_config_error',
      fix: 'Check ~/.ssh/config for syntax errors (ssh -G <host> shows the problem), and that OpenSSH is installed.',
    })
  }
  return parseSshG(String(r.stdout), opts.home)
}

export function parseSshG(text: string, home?: string): SshResolvedConfig {
  const raw: Record<string, string[]> = {}
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(.*)$/.exec(line.trim())
    if (!m) continue
    const k = m[1]!.toLowerCase()
    ;(raw[k] ??= []).push(m[2]!)
  }
  const expand = (p: string) => (home && (p === '~' || p.startsWith('~/')) ? path.join(home, p.slice(1)) : p)
  return {
    hostname: raw.hostname?.[0] ?? '',
    port: Number(raw.port?.[0] ?? 22),
    user: raw.user?.[0] ?? '',
    hashKnownHosts: (raw.hashknownhosts?.[0] ?? 'no').toLowerCase() === 'yes',
    userKnownHostsFiles: (raw.userknownhostsfile ?? []).flatMap((v) => v.split(/\s+/)).filter(Boolean).map(expand),
    strictHostKeyChecking: raw.stricthostkeychecking?.[0] ?? 'ask',
    raw,
  }
}
