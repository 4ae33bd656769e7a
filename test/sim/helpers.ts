// Drives the BUILT simulator (bin/imsg-sim -> dist/sim) as a child process, as the product does.
import {execa} from 'execa'
import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import path from 'node:path'
import {IMSG_SIM, tempDir} from '../helpers/cli.js'

export {IMSG_SIM, tempDir}

export interface SimEnv {
  dir: string
  db: string
  env: Record<string, string>
  cleanup: () => void
}

/** A temp HOME with an initialised chat.db. */
export async function simEnv(extra: Record<string, string> = {}): Promise<SimEnv> {
  const {dir, cleanup} = tempDir('imsg-sim-')
  const db = path.join(dir, 'chat.db')
  const env = {HOME: dir, IMSG_SIM_DB: db, ...extra}
  await sim(['init'], env)
  return {dir, db, env, cleanup}
}

export interface RunResult {
  stdout: string
  stderr: string
  exitCode: number
}

/** Runs `imsg-sim <args>` to completion. Knob variables not given are removed from the env. */
export async function sim(args: string[], env: Record<string, string>, input = ''): Promise<RunResult> {
  const r = await execa(IMSG_SIM, args, {reject: false, input, env: cleanEnv(env), extendEnv: false, timeout: 20_000})
  return {stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1}
}

function cleanEnv(env: Record<string, string>): Record<string, string> {
  const base: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('IMSG_')) base[k] = v
  }
  return {...base, ...env}
}

/** inject with --json; returns {id, guid, chat_id}. */
export async function inject(env: Record<string, string>, ...args: string[]): Promise<{id: number; guid: string; chat_id: number}> {
  const r = await sim(['inject', '--json', ...args], env)
  if (r.exitCode !== 0) throw new Error(`inject failed: ${r.stdout}${r.stderr}`)
  return JSON.parse(r.stdout) as {id: number; guid: string; chat_id: number}
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Line = any

/** A live `imsg-sim rpc` child with a line collector. */
export class RpcChild {
  readonly child: ChildProcessWithoutNullStreams
  readonly raw: string[] = []
  readonly lines: Line[] = []
  stderr = ''
  private buf = ''
  private waiters: Array<() => void> = []
  readonly exited: Promise<number | null>

  constructor(env: Record<string, string>, args: string[] = []) {
    this.child = spawn(IMSG_SIM, ['rpc', ...args], {env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe']})
    this.child.stdout.setEncoding('utf8')
    this.child.stdout.on('data', (d: string) => {
      this.buf += d
      let nl: number
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl)
        this.buf = this.buf.slice(nl + 1)
        this.raw.push(line)
        try {
          this.lines.push(JSON.parse(line))
        } catch {
          this.lines.push({__nonJson: line})
        }
      }
      for (const w of this.waiters.splice(0)) w()
    })
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()))
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => {
      for (const w of this.waiters.splice(0)) w()
      resolve(code)
    }))
    this.child.stdin.on('error', () => {})
  }

  write(obj: unknown): void {
    this.child.stdin.write((typeof obj === 'string' ? obj : JSON.stringify(obj)) + '\n')
  }

  request(id: number | string, method: string, params?: unknown, jsonrpc = true): void {
    const o: Record<string, unknown> = jsonrpc ? {jsonrpc: '2.0', id, method} : {id, method}
    if (params !== undefined) o.params = params
    this.write(o)
  }

  /** Resolves with the first line matching pred (already received or future); rejects after ms. */
  async waitFor(pred: (l: Line) => boolean, ms = 5000): Promise<Line> {
    const deadline = Date.now() + ms
    for (;;) {
      const hit = this.lines.find(pred)
      if (hit !== undefined) return hit
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting; got:\n${this.raw.join('\n')}\nstderr:${this.stderr}`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  response(id: number | string, ms = 5000): Promise<Line> {
    return this.waitFor((l) => l && l.id === id && ('result' in l || 'error' in l), ms)
  }

  notifications(sub?: number): Line[] {
    return this.lines.filter((l) => l && l.method === 'message' && (sub === undefined || l.params.subscription === sub))
  }

  /** Ends stdin and waits for the exit code. */
  async close(): Promise<number | null> {
    this.child.stdin.end()
    return this.exited
  }

  kill(): void {
    this.child.kill('SIGKILL')
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
