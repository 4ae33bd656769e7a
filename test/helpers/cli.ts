import {execa} from 'execa'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const RUN_JS = path.join(REPO_ROOT, 'bin', 'run.js')
/** The imsg simulator executable (built JS). */
export const IMSG_SIM = path.join(REPO_ROOT, 'bin', 'imsg-sim')

/** A fresh temp dir (0700) removed by cleanup(); never the real home. */
export function tempDir(prefix = 'rc-test-'): {dir: string; cleanup: () => void} {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  return {dir, cleanup: () => fs.rmSync(dir, {recursive: true, force: true})}
}

export interface CliResult {
  stdout: string
  stderr: string
  exitCode: number
}

/**
 * Runs the built CLI (bin/run.js) as a child process with a temp state dir and HOME.
 * `npm test` builds first, so dist/ is current.
 */
export async function runCli(
  args: string[],
  opts: {stateDir: string; env?: Record<string, string | undefined>; input?: string; timeout?: number},
): Promise<CliResult> {
  const r = await execa(process.execPath, [RUN_JS, ...args], {
    reject: false,
    input: opts.input ?? '',
    timeout: opts.timeout ?? 60_000,
    env: {
      HOME: opts.stateDir,
      REMOTECLAW_STATE_DIR: opts.stateDir,
      REMOTECLAW_CONFIG_PATH: undefined,
      NO_COLOR: '1',
      CI: '1',
      ...opts.env,
    },
    extendEnv: true,
  })
  return {stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1}
}
