import fs from 'node:fs'
import path from 'node:path'
import {REPO_ROOT} from './cli.js'

export const FAKE_CLI_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'agent-clis')
export const FAKE_CLIS = ['claude', 'codex', 'gemini', 'opencode'] as const
export type FakeCli = (typeof FAKE_CLIS)[number]

/**
 * Puts the fake agent CLIs on a PATH of their own in `dir`: bin/<cli> links to
 * test/fixtures/agent-clis/<cli>.mjs; `store` keeps their per-session memory, `log` one JSON
 * line per run ({cli, argv, cwd, ...}).
 */
export function installFakeClis(dir: string): {bin: string; store: string; log: string; env: Record<string, string>; runs: () => Array<{cli: string; argv: string[]; cwd: string}>} {
  const bin = path.join(dir, 'bin')
  const store = path.join(dir, 'fake-agent-store')
  const log = path.join(dir, 'fake-agent-log.jsonl')
  fs.mkdirSync(bin, {recursive: true})
  for (const cli of FAKE_CLIS) {
    const link = path.join(bin, cli)
    if (!fs.existsSync(link)) fs.symlinkSync(path.join(FAKE_CLI_DIR, `${cli}.mjs`), link)
  }
  const PATH = [bin, path.dirname(process.execPath), '/usr/bin', '/bin'].join(path.delimiter)
  return {
    bin,
    store,
    log,
    env: {PATH, FAKE_AGENT_STORE: store, FAKE_AGENT_LOG: log},
    runs: () =>
      fs.existsSync(log)
        ? fs
            .readFileSync(log, 'utf8')
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => JSON.parse(l) as {cli: string; argv: string[]; cwd: string})
        : [],
  }
}
