import {randomBytes} from 'node:crypto'
import os from 'node:os'
import path from 'node:path'
import {execa} from 'execa'
import {resolveConfigPath, resolveStateDir} from './core/state-dir.js'
import {createLogger, type Logger} from './log.js'

export {expandHome, resolveConfigPath, resolveStateDir} from './core/state-dir.js'

/** The process spawner. Always argv-style (execa, no shell): user and message data never reach a shell. */
export type Spawner = typeof execa

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

export function createContext(overrides: Partial<Context> = {}): Context {
  const env = overrides.env ?? process.env
  const home = overrides.home ?? (env.HOME && env.HOME !== '' ? env.HOME : os.homedir())
  return {
    env,
    home,
    stateDir: overrides.stateDir ?? resolveStateDir(env, home),
    configPath: overrides.configPath ?? resolveConfigPath(env, home),
    now: overrides.now ?? (() => Date.now()),
    random: overrides.random ?? ((size: number) => randomBytes(size)),
    spawn: overrides.spawn ?? execa,
    log: overrides.log ?? createLogger({level: 'info', format: 'text'}),
    platform: overrides.platform ?? process.platform,
    uid: overrides.uid ?? process.getuid?.(),
  }
}
