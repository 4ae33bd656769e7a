import {createHash} from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import {resolveAccounts} from '../config/accounts.js'
import type {RemoteclawConfig} from '../config/schema.js'
import {resolveAgents} from '../agents/resolve.js'
import {isPreset, PRESETS} from '../agents/presets/index.js'
import type {Context} from '../context.js'
import {logDir} from '../logs/file.js'
import {resolveBinary} from '../permissions/process-context.js'

/**
 * What the login service runs, the same for launchd and systemd: absolute program arguments
 * with a stable Node path, the environment (a PATH that finds imsg and the agent CLIs as they
 * are found now), and where its stdout/stderr go.
 */
export interface ServiceSpec {
  /** launchd label; systemd unit name without ".service". */
  label: string
  unitName: string
  stateDir: string
  /** Absolute: [node, <cli entry>, 'gateway', ...]. */
  programArguments: string[]
  node: NodePath
  env: Record<string, string>
  stdoutPath: string
  stderrPath: string
  /** Executables the gateway needs and where they were found now (or not). */
  binaries: Array<{name: string; role: string; found?: string}>
  warnings: string[]
}

export interface NodePath {
  /** The path written into the service (a Homebrew symlink when there is one). */
  path: string
  /** What it resolves to today. */
  real: string
  /** True when `path` names a version (Cellar, nvm, ...): a grant to it goes stale at the next upgrade. */
  versioned: boolean
}

export const DEFAULT_LABEL = 'com.remoteclaw.gateway'
export const DEFAULT_UNIT = 'remoteclaw-gateway'

/** One service per state dir: the default state dir keeps the plain name. */
export function serviceNames(ctx: Pick<Context, 'stateDir' | 'home'>): {label: string; unitName: string} {
  if (path.resolve(ctx.stateDir) === path.join(ctx.home, '.remoteclaw')) return {label: DEFAULT_LABEL, unitName: DEFAULT_UNIT}
  const slug =
    path
      .basename(ctx.stateDir)
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 24) || 'state'
  const hash = createHash('sha256').update(path.resolve(ctx.stateDir)).digest('hex').slice(0, 8)
  return {label: `${DEFAULT_LABEL}.${slug}-${hash}`, unitName: `${DEFAULT_UNIT}-${slug}-${hash}`}
}

const VERSIONED = [/\/Cellar\//, /\/\.nvm\/versions\//, /\/fnm\//, /\/\.volta\//, /\/\.asdf\/installs\//, /\/mise\/installs\//, /\/v?\d+\.\d+\.\d+\//]

export function looksVersioned(p: string): boolean {
  return VERSIONED.some((re) => re.test(p))
}

async function realpathOr(p: string): Promise<string | undefined> {
  try {
    const st = await fs.stat(p)
    if (!st.isFile()) return undefined
    return await fs.realpath(p)
  } catch {
    return undefined
  }
}

/**
 * The Node path to put in the service: Homebrew's unversioned symlink (<prefix>/bin/node or
 * <prefix>/opt/<formula>/bin/node) when it resolves to the node running now, because macOS keys
 * Full Disk Access and Automation grants to the program path and the Cellar path changes at every
 * `brew upgrade node`.
 */
export async function stableNodePath(execPath: string): Promise<NodePath> {
  const real = (await realpathOr(execPath)) ?? execPath
  const candidates: string[] = []
  const cellar = /^(.*)\/Cellar\/([^/]+)\/[^/]+\/bin\/node$/.exec(real)
  if (cellar) candidates.push(`${cellar[1]}/bin/node`, `${cellar[1]}/opt/${cellar[2]}/bin/node`)
  candidates.push('/opt/homebrew/bin/node', '/usr/local/bin/node', execPath)
  for (const c of candidates) {
    if ((await realpathOr(c)) === real && !looksVersioned(c)) return {path: c, real, versioned: false}
  }
  return {path: execPath, real, versioned: looksVersioned(execPath)}
}

const SYSTEM_PATH = ['/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin']

export interface SpecOptions {
  /** The CLI entry (bin/run.js of this install). */
  entry: string
  /** The running node (process.execPath), or --node. */
  execPath: string
  accounts?: string[]
  config?: RemoteclawConfig
  kind: 'launchd' | 'systemd'
}

export async function buildServiceSpec(ctx: Pick<Context, 'stateDir' | 'home' | 'env' | 'configPath' | 'platform'>, o: SpecOptions): Promise<ServiceSpec> {
  const {label, unitName} = serviceNames(ctx)
  const warnings: string[] = []
  const node = await stableNodePath(o.execPath)
  if (node.versioned) {
    warnings.push(
      `Node at ${node.path} is a versioned path: a Full Disk Access grant to it goes stale when that Node is upgraded or removed. Install Node with Homebrew (brew install node) and reinstall, or pass --node <stable path>.`,
    )
  }
  const entry = (await realpathOr(o.entry)) ?? o.entry

  // What the gateway will execute: every account's imsg (or wrapper) and every agent CLI.
  const binaries: ServiceSpec['binaries'] = []
  if (o.config) {
    for (const a of resolveAccounts(o.config, ctx).accounts) {
      if (!a.enabled || (o.accounts && o.accounts.length > 0 && !o.accounts.includes(a.id))) continue
      const b = await resolveBinary(a.cliPath, ctx.env)
      binaries.push({name: a.cliPath, role: `imsg for account ${a.id}`, found: b.found})
    }
    for (const ag of resolveAgents(o.config).agents) {
      const bin = ag.command?.[0] ?? (isPreset(ag.runtime) ? PRESETS[ag.runtime].bin : undefined)
      if (!bin) continue
      const b = await resolveBinary(bin, ctx.env)
      binaries.push({name: bin, role: `agent ${ag.id} (${ag.runtime})`, found: b.found})
    }
  }
  for (const b of binaries) {
    if (!b.found) warnings.push(`${b.role}: ${b.name} is not found on PATH now, so the service will not find it either; install it or use its full path in the config.`)
  }
  const dirs: string[] = []
  const add = (d: string) => {
    if (path.isAbsolute(d) && !dirs.includes(d)) dirs.push(d)
  }
  for (const b of binaries) if (b.found) add(path.dirname(b.found))
  add(path.dirname(node.path))
  if (ctx.platform === 'darwin') add('/opt/homebrew/bin')
  for (const d of SYSTEM_PATH) add(d)

  const env: Record<string, string> = {PATH: dirs.join(':'), REMOTECLAW_SERVICE: o.kind}
  if (ctx.env.REMOTECLAW_STATE_DIR?.trim()) env.REMOTECLAW_STATE_DIR = ctx.stateDir
  if (ctx.env.REMOTECLAW_CONFIG_PATH?.trim()) env.REMOTECLAW_CONFIG_PATH = ctx.configPath
  const logs = logDir(ctx.stateDir)
  return {
    label,
    unitName,
    stateDir: ctx.stateDir,
    programArguments: [node.path, entry, 'gateway', ...(o.accounts ?? []).flatMap((a) => ['--account', a])],
    node,
    env,
    stdoutPath: path.join(logs, 'service.out.log'),
    stderrPath: path.join(logs, 'service.err.log'),
    binaries,
    warnings,
  }
}
