import fs from 'node:fs'
import Module, {createRequire} from 'node:module'
import path from 'node:path'
import vm from 'node:vm'
import {resolveStateDir} from '../lib/core/state-dir.js'

/**
 * Loads the CLI bundle (dist/remoteclaw.cjs, scripts/bundle.mjs) with V8's code cache, which
 * saves about a quarter of start-up (docs/performance.md). Node 20 has no
 * compile cache of its own (module.enableCompileCache is Node 22), so the bundle is compiled with
 * vm.Script and its cached data kept in <stateDir>/cache/, 0600 in a 0700 folder, never in a
 * shared temp dir: cached code is code. A stale or foreign cache is rejected by V8 and rewritten.
 * The module is registered in require.cache, so oclif's own require() of the bundle (the
 * explicit command strategy) gets this same instance. vm code cannot call import(): the bundle
 * routes it through globalThis.__rcDynamicImport, which bin/run.js sets.
 */

export type CodeCacheOutcome = 'hit' | 'miss' | 'rejected' | 'off'

interface Loaded {
  exports: Record<string, unknown>
  outcome: CodeCacheOutcome
}

const CACHE_PREFIX = 'cli-'
/** Bounds the rewrites: argv words are free text, and a cache that holds the common commands is enough. */
const MAX_COMMANDS = 40

/**
 * `command` names what this run does (the first words of argv): the cache is written by the
 * first run and again by the first run of each other command, so it comes to hold the code
 * of every command this user runs instead of only the first one's.
 */
export function loadBundle(file: string, command: string, env: NodeJS.ProcessEnv = process.env, home = env.HOME ?? ''): Loaded {
  const require = createRequire(file)
  const cacheDir = env.REMOTECLAW_CODE_CACHE === 'off' || home === '' ? undefined : usableCacheDir(resolveStateDir(env, home))
  if (!cacheDir) return {exports: require(file) as Record<string, unknown>, outcome: 'off'}

  const stat = fs.statSync(file)
  const cacheFile = path.join(cacheDir, `${CACHE_PREFIX}${process.version}-${process.arch}-${stat.size}-${Math.trunc(stat.mtimeMs)}.v8`)
  const commandsFile = `${cacheFile}.commands`
  let cachedData: Buffer | undefined
  let covered: string[] = []
  try {
    cachedData = fs.readFileSync(cacheFile)
    covered = fs.readFileSync(commandsFile, 'utf8').split('\n')
  } catch {
    // first run of this build: compile, and write the cache at exit
  }
  // The bundle is ASCII (scripts/bundle.mjs escapes the rest): latin1 reads it without decoding UTF-8.
  const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'latin1')), {
    filename: file,
    cachedData,
  })
  const outcome: CodeCacheOutcome = cachedData === undefined ? 'miss' : script.cachedDataRejected ? 'rejected' : 'hit'

  const mod = new Module(file)
  mod.filename = file
  mod.paths = (Module as unknown as {_nodeModulePaths(dir: string): string[]})._nodeModulePaths(path.dirname(file))
  require.cache[file] = mod
  try {
    script.runInThisContext()(mod.exports, createRequire(file), mod, file, path.dirname(file))
  } catch (error) {
    delete require.cache[file]
    throw error
  }
  mod.loaded = true
  // Written at exit, so the cache also holds the functions this run compiled lazily.
  if (outcome !== 'hit') {
    process.once('exit', () => writeCache(cacheDir, cacheFile, script, [command]))
  } else if (!covered.includes(command) && covered.length < MAX_COMMANDS) {
    process.once('exit', () => writeCache(cacheDir, cacheFile, script, [...covered, command]))
  }
  return {exports: mod.exports as Record<string, unknown>, outcome}
}

/** <stateDir>/cache, created 0700 when the state dir exists; undefined when it cannot be used. */
function usableCacheDir(stateDir: string): string | undefined {
  if (!fs.existsSync(stateDir)) return undefined
  const dir = path.join(stateDir, 'cache')
  try {
    fs.mkdirSync(dir, {recursive: true, mode: 0o700})
    const st = fs.statSync(dir)
    // Only a folder of our own that no one else can write: cached code runs as code.
    if (!st.isDirectory() || (process.getuid && st.uid !== process.getuid()) || (st.mode & 0o022) !== 0) return undefined
    return dir
  } catch {
    return undefined
  }
}

function writeCache(dir: string, file: string, script: vm.Script, commands: string[]): void {
  const tmp = `${file}.${process.pid}.tmp`
  try {
    fs.writeFileSync(tmp, script.createCachedData(), {mode: 0o600})
    fs.renameSync(tmp, file)
    fs.writeFileSync(tmp, commands.join('\n'), {mode: 0o600})
    fs.renameSync(tmp, `${file}.commands`)
    for (const name of fs.readdirSync(dir)) {
      const stale = name.startsWith(CACHE_PREFIX) && !path.join(dir, name).startsWith(file) && !name.endsWith('.tmp')
      if (stale) fs.rmSync(path.join(dir, name), {force: true})
    }
  } catch {
    // A cache is only an optimisation: a read-only or full disk must not fail the command.
    fs.rmSync(tmp, {force: true})
  }
}
