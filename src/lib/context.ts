import {createRequire} from 'node:module'
import os from 'node:os'
import type {execa} from 'execa'
import {resolveConfigPath, resolveStateDir} from './core/state-dir.js'
import {createLogger, type Logger} from './log.js'

export {expandHome, resolveConfigPath, resolveStateDir} from './core/state-dir.js'

/** The process spawner. Always argv-style (execa, no shell): user and message data never reach a shell. */
export type Spawner = typeof execa

let loadedExeca: Spawner | undefined

async function loadExeca(): Promise<Spawner> {
  return (loadedExeca ??= (await import('execa')).execa)
}

/**
 * The default spawner: execa, imported on the first call. execa and its dependencies are over a
 * hundred modules that commands like `pairing list` never use (docs/performance.md). Until then
 * a call returns only the awaitable result, which is how every caller but the agent runner uses
 * it; code that needs the live subprocess (its pid and streams) resolves it with liveSpawner().
 */
const spawnOnFirstUse = ((file: string, args?: readonly string[], options?: Record<string, unknown>) =>
  loadedExeca ? loadedExeca(file, args, options) : loadExeca().then((run) => run(file, args, options))) as unknown as Spawner

/** A spawner whose result is the live subprocess: the injected one, or execa once loaded. */
export async function liveSpawner(spawn: Spawner): Promise<Spawner> {
  return spawn === spawnOnFirstUse ? loadExeca() : spawn
}

/**
 * Everything that touches the outside world, injectable so tests run in temp dirs with a
 * fixed clock and never see the real home directory.
 */
export interface Context {
  env: NodeJS.ProcessEnv
  home: string
  /** ~/.remoteclaw, or REMOTECLAW_STATE_DIR. Mode 0700 when we create it. */
  stateDir: string
  /** REMOTECLAW_CONFIG_PATH, else <stateDir>/remoteclaw.json. */
  configPath: string
  /** Milliseconds since the Unix epoch. */
  now: () => number
  /** Cryptographically strong random bytes. */
  random: (size: number) => Buffer
  spawn: Spawner
  log: Logger
  platform: NodeJS.Platform
  /** The user id (launchd's gui/<uid> domain, loginctl); from process.getuid() by default. */
  uid?: number
}

// node:crypto is some twenty modules to load; most commands never draw a random byte.
const randomBytesOnFirstUse = (size: number): Buffer => (createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')).randomBytes(size)

export function createContext(overrides: Partial<Context> = {}): Context {
  const env = overrides.env ?? process.env
  const home = overrides.home ?? (env.HOME && env.HOME !== '' ? env.HOME : os.homedir())
  return {
    env,
    home,
    stateDir: overrides.stateDir ?? resolveStateDir(env, home),
    configPath: overrides.configPath ?? resolveConfigPath(env, home),
    now: overrides.now ?? (() => Date.now()),
    random: overrides.random ?? randomBytesOnFirstUse,
    spawn: overrides.spawn ?? spawnOnFirstUse,
    log: overrides.log ?? createLogger({level: 'info', format: 'text'}),
    platform: overrides.platform ?? process.platform,
    uid: overrides.uid ?? process.getuid?.(),
  }
}
