import path from 'node:path'
import type {Context} from '../context.js'
import {readIfExists, writeFileAtomic600} from '../util/files.js'
import type {AccountHealth, AccountHealthView, GatewayHealthView, GatewayState} from '../core/health-view.js'

// The view types live in core/ so readers below the gateway (imsg/status.ts) need not import it.
export type {AccountHealth, AccountHealthView, AccountRunState, GatewayHealthView, GatewayState} from '../core/health-view.js'

/**
 * The gateway's health file, <stateDir>/gateway/health.json (0600). The gateway rewrites it on
 * every state change and at least every HEARTBEAT_MS; `channels status` reads it through
 * readGatewayHealth(), which also decides "degraded" and notices a dead gateway.
 */
export const HEALTH_SCHEMA_VERSION = 1
export const HEARTBEAT_MS = 5_000
/**
 * Changes made without a write (last inbound, stream events) reach the file within this long:
 * checked on a timer and written only when something changed, so a burst of messages costs one
 * write, and a kill -9 loses at most this much activity.
 */
export const CHANGE_FLUSH_MS = 1_000
/** No health update for this long while the pid is alive: the gateway is wedged. */
export const HEALTH_STALE_MS = 60_000

export interface GatewayHealthFile {
  schemaVersion: number
  pid: number
  startedAt: string
  updatedAt: string
  /** Set when the gateway stopped cleanly. */
  stoppedAt?: string
  accounts: Record<string, AccountHealth>
}

export function healthFilePath(stateDir: string): string {
  return path.join(stateDir, 'gateway', 'health.json')
}

export async function writeGatewayHealth(stateDir: string, data: GatewayHealthFile): Promise<void> {
  await writeFileAtomic600(healthFilePath(stateDir), JSON.stringify(data, null, 2) + '\n')
}

export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Silence on the stream longer than this, with a failing probe or errors, is degraded. */
export const STREAM_SILENT_MS = 10 * 60_000

function age(now: number, iso?: string): number {
  if (!iso) return Number.POSITIVE_INFINITY
  const t = Date.parse(iso)
  return Number.isFinite(t) ? now - t : Number.POSITIVE_INFINITY
}

/**
 * Reads the health file and judges it. Never throws for a missing or unreadable file: that is
 * reported as gateway "not-running" (unreadable adds a problem line).
 */
export async function readGatewayHealth(ctx: Pick<Context, 'stateDir' | 'now'>): Promise<GatewayHealthView> {
  const file = healthFilePath(ctx.stateDir)
  const now = ctx.now()
  let text: string | undefined
  try {
    text = await readIfExists(file)
  } catch (error) {
    return {gateway: 'not-running', file, accounts: [], summary: `cannot read ${file}: ${(error as Error).message}`}
  }
  if (text === undefined) return {gateway: 'not-running', file, accounts: [], summary: 'the gateway is not running (start it: remoteclaw gateway)'}
  let data: GatewayHealthFile
  try {
    data = JSON.parse(text) as GatewayHealthFile
  } catch {
    return {gateway: 'not-running', file, accounts: [], summary: `${file} is not valid JSON (the gateway rewrites it when it runs)`}
  }
  const alive = isPidAlive(data.pid)
  let gateway: GatewayState
  if (data.stoppedAt) gateway = 'stopped'
  else if (!alive) gateway = 'dead'
  else if (age(now, data.updatedAt) > HEALTH_STALE_MS) gateway = 'stale'
  else gateway = 'running'

  const accounts = Object.values(data.accounts ?? {}).map((raw): AccountHealthView => {
    // A gateway that is gone runs nothing, whatever its last write said (kill -9 leaves
    // running: true behind); its last activity times stay.
    const a: AccountHealth = gateway === 'dead' ? {...raw, running: false, state: 'stopped', childPid: undefined} : raw
    const problems: string[] = []
    if (gateway === 'running' || gateway === 'stale') {
      if (gateway === 'stale') problems.push(`the gateway (pid ${data.pid}) has not updated its health for ${Math.round(age(now, data.updatedAt) / 1000)}s`)
      if (!a.running) {
        problems.push(
          a.state === 'restarting'
            ? `imsg is restarting (${a.consecutiveFailures} failed start${a.consecutiveFailures === 1 ? '' : 's'} in a row)${a.lastError ? `: ${a.lastError}` : ''}`
            : `imsg is not running (${a.state})${a.lastError ? `: ${a.lastError}` : ''}`,
        )
      }
      if (a.running && a.lastProbeOk === false) problems.push(`imsg did not answer the last liveness probe${a.lastError ? `: ${a.lastError}` : ''}`)
      if (a.stalled) problems.push('the watch stream missed messages that are in the database (stalled); the gateway is restarting imsg')
      if (a.running && a.lastSendOutcome && a.lastSendOutcome !== 'sent' && age(now, a.lastSendAt) < STREAM_SILENT_MS) {
        problems.push(`the last send ${a.lastSendOutcome === 'unknown' ? 'has an unknown outcome' : 'failed'}${a.lastError ? `: ${a.lastError}` : ''}`)
      }
    }
    return {...a, degraded: problems.length > 0, problems}
  })
  let summary: string
  switch (gateway) {
    case 'running': {
      const bad = accounts.filter((a) => a.degraded).length
      summary = `the gateway is running (pid ${data.pid})${bad > 0 ? `; ${bad} account${bad === 1 ? '' : 's'} degraded` : ''}`
      break
    }
    case 'stopped': {
      summary = `the gateway stopped at ${data.stoppedAt} (start it: remoteclaw gateway)`
      break
    }
    case 'dead': {
      summary = `the gateway (pid ${data.pid}) is gone without a clean stop (last update ${data.updatedAt}); restart it: remoteclaw gateway`
      break
    }
    default: {
      summary = `the gateway (pid ${data.pid}) is alive but has not updated ${file} since ${data.updatedAt}; it may be wedged (restart it)`
    }
  }
  return {gateway, pid: data.pid, startedAt: data.startedAt, updatedAt: data.updatedAt, file, accounts, summary}
}

/**
 * Holds the gateway's health in memory and writes it: immediately for state changes (coalesced),
 * and on a heartbeat so readers can tell a live gateway from a wedged one.
 */
export class HealthRecorder {
  private readonly data: GatewayHealthFile
  private writing: Promise<void> | undefined
  private dirty = false
  private timer: NodeJS.Timeout | undefined
  private changeTimer: NodeJS.Timeout | undefined
  private written = ''

  constructor(
    private readonly stateDir: string,
    private readonly now: () => number,
    private readonly onError: (err: unknown) => void = () => {},
    private readonly timings: {heartbeatMs: number; changeFlushMs: number} = {heartbeatMs: HEARTBEAT_MS, changeFlushMs: CHANGE_FLUSH_MS},
  ) {
    const t = new Date(now()).toISOString()
    this.data = {schemaVersion: HEALTH_SCHEMA_VERSION, pid: process.pid, startedAt: t, updatedAt: t, accounts: {}}
  }

  account(id: string): AccountHealth {
    let a = this.data.accounts[id]
    if (!a) {
      a = {accountId: id, running: false, state: 'starting', restarts: 0, consecutiveFailures: 0}
      this.data.accounts[id] = a
    }
    return a
  }

  /** Applies a patch; written now unless `quiet` (then with the next write or heartbeat). */
  update(id: string, patch: Partial<AccountHealth>, opts: {quiet?: boolean} = {}): void {
    Object.assign(this.account(id), patch)
    if (!opts.quiet) void this.flush()
  }

  remove(id: string): void {
    delete this.data.accounts[id]
    void this.flush()
  }

  iso(t = this.now()): string {
    return new Date(t).toISOString()
  }

  snapshot(): GatewayHealthFile {
    return JSON.parse(JSON.stringify(this.data)) as GatewayHealthFile
  }

  start(): void {
    void this.flush()
    this.timer = setInterval(() => void this.flush(), this.timings.heartbeatMs)
    this.timer.unref()
    this.changeTimer = setInterval(() => {
      if (!this.writing && this.content() !== this.written) void this.flush()
    }, this.timings.changeFlushMs)
    this.changeTimer.unref()
  }

  /** The file's content apart from updatedAt (which every write changes). */
  private content(): string {
    return JSON.stringify({...this.data, updatedAt: undefined})
  }

  /** Schedules a write; concurrent calls coalesce into one more write. */
  flush(): Promise<void> {
    this.dirty = true
    if (!this.writing) {
      this.writing = (async () => {
        while (this.dirty) {
          this.dirty = false
          this.data.updatedAt = this.iso()
          this.written = this.content()
          try {
            await writeGatewayHealth(this.stateDir, this.data)
          } catch (error) {
            this.onError(error)
          }
        }
      })().finally(() => {
        this.writing = undefined
      })
    }
    return this.writing
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    if (this.changeTimer) clearInterval(this.changeTimer)
    for (const a of Object.values(this.data.accounts)) {
      a.running = false
      a.state = 'stopped'
      a.childPid = undefined
    }
    this.data.stoppedAt = this.iso()
    while (this.writing) await this.writing
    await this.flush()
  }
}
