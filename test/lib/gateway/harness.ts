import {execa, type ResultPromise} from 'execa'
import fs from 'node:fs'
import path from 'node:path'
import {IMSG_SIM, RUN_JS, runCli, tempDir} from '../../helpers/cli.js'

export interface SentRow {
  id: number
  guid: string
  chat_id: number
  chat_identifier?: string
  to?: string
  text: string
  created_at: string
}

export interface LogLine {
  time: string
  level: string
  scope?: string
  msg: string
  [k: string]: unknown
}

/** Fast supervisor timings for tests (the defaults suit a real Mac). */
export const TEST_TIMINGS = {debounceMs: 20, backoffBaseMs: 100, maxBackoffMs: 1000, probeIntervalMs: 0, drainTimeoutMs: 5000}

/**
 * A temp state dir with a simulator chat.db and a config, and the BUILT gateway
 * (bin/run.js gateway --log-format json) as a child process: the way operators run it.
 */
export class GatewayHarness {
  readonly dir: string
  readonly db: string
  readonly configPath: string
  readonly cleanup: () => void
  child: ResultPromise | undefined
  logs: LogLine[] = []
  private stderrBuf = ''
  exitCode: number | undefined | null
  exitSignal: string | undefined

  constructor() {
    const t = tempDir('rc-gw-')
    this.dir = t.dir
    this.cleanup = t.cleanup
    this.db = path.join(this.dir, 'chat.db')
    this.configPath = path.join(this.dir, 'remoteclaw.json')
  }

  /** Writes remoteclaw.json: the channel keys given are merged over cliPath/dbPath of the simulator. */
  writeConfig(channel: Record<string, unknown> = {}, rest: Record<string, unknown> = {}): void {
    const config = {channels: {imessage: {cliPath: IMSG_SIM, dbPath: this.db, ...channel}}, ...rest}
    const tmp = this.configPath + '.tmp'
    fs.writeFileSync(tmp, JSON.stringify(config, null, 2), {mode: 0o600})
    fs.renameSync(tmp, this.configPath)
  }

  async sim(args: string[], env: Record<string, string> = {}): Promise<string> {
    const r = await execa(IMSG_SIM, [...args, '--db', this.db], {env: {HOME: this.dir, ...env}, reject: false})
    if (r.exitCode !== 0) throw new Error(`imsg-sim ${args.join(' ')} failed: ${r.stdout} ${r.stderr}`)
    return String(r.stdout)
  }

  async init(): Promise<void> {
    await this.sim(['init'])
  }

  /** Injects an inbound row; returns {id, guid, chat_id}. */
  async inject(from: string, text: string, extra: string[] = []): Promise<{id: number; guid: string; chat_id: number}> {
    return JSON.parse(await this.sim(['inject', '--from', from, '--text', text, ...extra, '--json'])) as {id: number; guid: string; chat_id: number}
  }

  /** Many inbound rows in one transaction (`inject --batch`, JSON lines on stdin). */
  async injectBatch(rows: Array<{from: string; text: string; chat_id?: number}>): Promise<Array<{id: number; guid: string; chat_id: number}>> {
    const r = await execa(IMSG_SIM, ['inject', '--batch', '--json', '--db', this.db], {
      env: {HOME: this.dir},
      input: rows.map((x) => JSON.stringify(x)).join('\n') + '\n',
      reject: false,
    })
    if (r.exitCode !== 0) throw new Error(`imsg-sim inject --batch failed: ${r.stdout} ${r.stderr}`)
    return JSON.parse(String(r.stdout)) as Array<{id: number; guid: string; chat_id: number}>
  }

  async sent(): Promise<SentRow[]> {
    return JSON.parse(await this.sim(['sent', '--json'])) as SentRow[]
  }

  start(env: Record<string, string | undefined> = {}, args: string[] = []): void {
    this.logs = []
    this.stderrBuf = ''
    this.exitCode = undefined
    const child = execa(process.execPath, [RUN_JS, 'gateway', '--log-format', 'json', ...args], {
      reject: false,
      env: {
        HOME: this.dir,
        REMOTECLAW_STATE_DIR: this.dir,
        REMOTECLAW_CONFIG_PATH: undefined,
        NO_COLOR: '1',
        REMOTECLAW_GATEWAY_TIMINGS: JSON.stringify(TEST_TIMINGS),
        ...env,
      },
      extendEnv: true,
      buffer: false,
      stdin: 'ignore',
    })
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (chunk: string) => {
      this.stderrBuf += chunk
      let i: number
      while ((i = this.stderrBuf.indexOf('\n')) >= 0) {
        const line = this.stderrBuf.slice(0, i)
        this.stderrBuf = this.stderrBuf.slice(i + 1)
        try {
          this.logs.push(JSON.parse(line) as LogLine)
        } catch {
          this.logs.push({time: '', level: 'raw', msg: line})
        }
      }
    })
    child.stdout?.resume()
    void child.then((r) => {
      this.exitCode = r.exitCode ?? null
      this.exitSignal = r.signal
    })
    this.child = child
  }

  async waitFor<T>(fn: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
    const end = Date.now() + timeoutMs
    for (;;) {
      const v = await fn()
      if (v) return v
      if (Date.now() > end) {
        throw new Error(`timed out waiting for ${what}\n--- gateway log ---\n${this.logs.map((l) => `${l.level} ${l.scope ?? ''} ${l.msg}`).join('\n')}`)
      }
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  findLog(re: RegExp): LogLine | undefined {
    return this.logs.find((l) => re.test(l.msg))
  }

  countLogs(re: RegExp): number {
    return this.logs.filter((l) => re.test(l.msg)).length
  }

  async waitForLog(re: RegExp, timeoutMs = 15_000): Promise<LogLine> {
    return this.waitFor(() => this.findLog(re), `log ${re}`, timeoutMs)
  }

  /** Started and subscribed to the watch. */
  async ready(): Promise<void> {
    await this.waitForLog(/imsg rpc running/)
  }

  async waitForSent(n: number, timeoutMs = 15_000): Promise<SentRow[]> {
    return this.waitFor(async () => {
      const s = await this.sent()
      return s.length >= n ? s : undefined
    }, `${n} sent rows`, timeoutMs)
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null | undefined> {
    const c = this.child
    if (!c) return this.exitCode
    c.kill(signal)
    await c
    await new Promise((r) => setTimeout(r, 20))
    this.child = undefined
    return this.exitCode
  }

  healthFile(): {pid: number; accounts: Record<string, {childPid?: number; restarts: number; running: boolean}>} {
    return JSON.parse(fs.readFileSync(path.join(this.dir, 'gateway', 'health.json'), 'utf8'))
  }

  cli(args: string[], env: Record<string, string> = {}) {
    return runCli(args, {stateDir: this.dir, env})
  }

  /** Approves a handle directly in the pairing store (as `pairing approve` does). */
  async approve(handles: string[]): Promise<void> {
    const {approveHandle} = await import('../../../src/lib/pairing/store.js')
    const {randomBytes} = await import('node:crypto')
    for (const h of handles) await approveHandle({stateDir: this.dir, now: Date.now, random: randomBytes}, 'default', h)
  }

  async dispose(): Promise<void> {
    if (this.child) await this.stop('SIGKILL')
    this.cleanup()
  }
}
