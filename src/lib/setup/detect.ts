import fs from 'node:fs/promises'
import path from 'node:path'
import type {Context} from '../context.js'
import {imessageChannel, resolveAccounts} from '../config/accounts.js'
import {loadConfig, type LoadedConfig} from '../config/load.js'
import {parseVersion} from '../imsg/classify.js'
import {resolveBinary, type ResolvedBinary} from '../permissions/process-context.js'
import {sshConfigFor} from '../ssh/config.js'

export interface Detected {
  platform: NodeJS.Platform
  /** imsg on PATH, with its version when `imsg --version` answered. */
  imsg: ResolvedBinary & {version?: string}
  config: LoadedConfig
  /** Ids of configured accounts (the flat layout counts as "default"). */
  accountIds: string[]
  /** channels.imessage.accounts exists and is non-empty: new accounts go there too. */
  hasAccountsMap: boolean
  defaultAccountId: string
  /** Private keys in ~/.ssh that have a .pub next to them. */
  sshKeys: string[]
}

/** Everything the wizard can find out without asking. Read-only; an invalid config throws (exit 7). */
export async function detectEnvironment(ctx: Context): Promise<Detected> {
  const config = await loadConfig(ctx)
  const channel = imessageChannel(config.config)
  const resolved = resolveAccounts(config.config, ctx)
  const imsg: Detected['imsg'] = await resolveBinary('imsg', ctx.env)
  if (imsg.found) {
    try {
      const r = await ctx.spawn(imsg.found, ['--version'], {reject: false, timeout: 5000, stdin: 'ignore', env: ctx.env, extendEnv: false})
      if (r.exitCode === 0) imsg.version = parseVersion(String(r.stdout))
    } catch {
      // version stays unknown
    }
  }
  return {
    platform: ctx.platform,
    imsg,
    config,
    accountIds: channel ? resolved.accounts.map((a) => a.id) : [],
    hasAccountsMap: Object.keys(channel?.accounts ?? {}).length > 0,
    defaultAccountId: resolved.defaultAccountId,
    sshKeys: await listSshKeys(ctx.home),
  }
}

const KEY_ORDER = ['id_ed25519', 'id_ecdsa', 'id_ed25519_sk', 'id_ecdsa_sk', 'id_rsa']

export async function listSshKeys(home: string): Promise<string[]> {
  const dir = path.join(home, '.ssh')
  let names: string[]
  try {
    names = await fs.readdir(dir)
  } catch {
    return []
  }
  const keys = names.filter((n) => n.startsWith('id_') && !n.endsWith('.pub') && names.includes(`${n}.pub`))
  keys.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
  return keys.map((n) => path.join(dir, n))
}

function rank(name: string): number {
  const i = KEY_ORDER.indexOf(name)
  return i === -1 ? KEY_ORDER.length : i
}

export interface SshResolved {
  hostname: string
  port: number
  user?: string
  hostKeyAlias?: string
  hashKnownHosts: boolean
  /** The name differs from the HostName it resolves to (an ~/.ssh/config alias). */
  isAlias: boolean
}

/**
 * `ssh -G <host>` through the ssh library: OpenSSH's own resolution of an alias (HostName,
 * Port, User, HashKnownHosts). Undefined when ssh is missing or refuses the name.
 */
export async function sshResolve(ctx: Context, host: string): Promise<SshResolved | undefined> {
  try {
    const c = await sshConfigFor(host, {home: ctx.home})
    const hostname = c.hostname || host
    return {
      hostname,
      port: c.port || 22,
      user: c.user || undefined,
      hostKeyAlias: c.raw.hostkeyalias?.[0],
      hashKnownHosts: c.hashKnownHosts,
      isAlias: hostname.toLowerCase() !== host.toLowerCase(),
    }
  } catch {
    return undefined
  }
}
