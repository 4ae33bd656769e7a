import fsp from 'node:fs/promises'
import path from 'node:path'
import type {Context} from '../context.js'
import {RemoteclawError} from '../errors.js'
import {readIfExists, withFileLock, writeFileAtomic600} from '../util/files.js'
import {isPidAlive} from './health.js'

/**
 * One gateway per state dir: <stateDir>/gateway/gateway.lock names the pid that runs it.
 * Check-and-claim happens under a short proper-lockfile guard (gateway.lock.lock), so two
 * gateways started in the same millisecond cannot both win. A lock whose pid is gone (kill -9,
 * a crash, a reboot) or now belongs to another process (pid reuse: the process start time
 * differs) is stale and taken over at once; no waiting for an mtime to age.
 */
export const LOCK_SCHEMA_VERSION = 1

export interface GatewayLockInfo {
  schemaVersion: number
  pid: number
  /** When the holder took the lock (ISO). */
  startedAt: string
  /** The holder's process start identity (pid reuse check); absent when the platform gives none. */
  processStart?: string
  /** Set when the holder runs under the service manager (launchd or systemd). */
  service?: string
  stateDir: string
}

export function gatewayLockPath(stateDir: string): string {
  return path.join(stateDir, 'gateway', 'gateway.lock')
}

/**
 * A string that differs between two processes that had the same pid: Linux boot id plus the
 * start time in clock ticks; elsewhere `ps -o lstart=`. undefined when it cannot be told.
 */
export async function processStartOf(pid: number, ctx: Pick<Context, 'spawn' | 'platform'>): Promise<string | undefined> {
  if (ctx.platform === 'linux') {
    try {
      const stat = await fsp.readFile(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const boot = (await fsp.readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim()
      return `${boot}:${fields[19]}`
    } catch {
      return undefined
    }
  }
  try {
    const r = await ctx.spawn('ps', ['-o', 'lstart=', '-p', String(pid)], {reject: false, timeout: 5000, stdin: 'ignore'})
    const out = String(r.stdout ?? '').trim()
    return r.exitCode === 0 && out !== '' ? out : undefined
  } catch {
    return undefined
  }
}

export async function readGatewayLock(stateDir: string): Promise<GatewayLockInfo | undefined> {
  const text = await readIfExists(gatewayLockPath(stateDir)).catch(() => undefined)
  if (!text) return undefined
  try {
    const v = JSON.parse(text) as GatewayLockInfo
    return Number.isInteger(v.pid) ? v : undefined
  } catch {
    return undefined
  }
}

/** The live holder of the state dir's lock, or undefined when it is free or stale. */
export async function liveLockHolder(ctx: Pick<Context, 'stateDir' | 'spawn' | 'platform'>): Promise<GatewayLockInfo | undefined> {
  const info = await readGatewayLock(ctx.stateDir)
  if (!info || !isPidAlive(info.pid)) return undefined
  if (info.processStart) {
    const now = await processStartOf(info.pid, ctx)
    if (now !== undefined && now !== info.processStart) return undefined
  }
  return info
}

export class GatewayLockedError extends RemoteclawError {
  constructor(
    readonly holder: GatewayLockInfo,
    stateDir: string,
  ) {
    super(`another gateway (pid ${holder.pid}, started ${holder.startedAt}${holder.service ? ` by ${holder.service}` : ''}) is running with state dir ${stateDir}`, {
      code: 'gateway_running',
      fix: holder.service
        ? `It runs as the service: stop it with \`remoteclaw gateway stop\` (or see it: remoteclaw gateway status). To run a second gateway, give it its own state dir: REMOTECLAW_STATE_DIR=<dir> remoteclaw gateway`
        : `Stop it first (Ctrl-C in its terminal, or kill ${holder.pid}), or give this one its own state dir: REMOTECLAW_STATE_DIR=<dir> remoteclaw gateway`,
      details: {pid: holder.pid, service: holder.service},
    })
    this.name = 'GatewayLockedError'
  }
}

export interface GatewayLock {
  /** The stale holder this start took the lock over from, if any. */
  readonly tookOverFrom?: number
  release(): Promise<void>
}

/** Claims the state dir for this process, or throws GatewayLockedError naming the holder. */
export async function acquireGatewayLock(ctx: Pick<Context, 'stateDir' | 'spawn' | 'platform' | 'now' | 'env'>): Promise<GatewayLock> {
  const file = gatewayLockPath(ctx.stateDir)
  const self = await processStartOf(process.pid, ctx)
  let tookOverFrom: number | undefined
  await withFileLock(
    file,
    async () => {
      const previous = await readGatewayLock(ctx.stateDir)
      if (previous && previous.pid !== process.pid) {
        const live = await liveLockHolder(ctx)
        if (live) throw new GatewayLockedError(live, ctx.stateDir)
        tookOverFrom = previous.pid
      }
      const info: GatewayLockInfo = {
        schemaVersion: LOCK_SCHEMA_VERSION,
        pid: process.pid,
        startedAt: new Date(ctx.now()).toISOString(),
        processStart: self,
        service: ctx.env.REMOTECLAW_SERVICE || undefined,
        stateDir: ctx.stateDir,
      }
      await writeFileAtomic600(file, JSON.stringify(info, null, 2) + '\n')
    },
    {timeoutMs: 15_000},
  )
  let released = false
  return {
    tookOverFrom,
    async release() {
      if (released) return
      released = true
      await withFileLock(file, async () => {
        const cur = await readGatewayLock(ctx.stateDir)
        if (cur?.pid === process.pid) await fsp.rm(file, {force: true})
      }).catch(() => {})
    },
  }
}
