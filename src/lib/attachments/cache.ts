import {createHash} from 'node:crypto'
import fsp from 'node:fs/promises'
import path from 'node:path'
import type {Context} from '../context.js'

/** Default bounds of the inbound attachment cache. */
export const CACHE_MAX_BYTES = 512 * 1024 * 1024
export const CACHE_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000

export function cacheRoot(stateDir: string): string {
  return path.join(stateDir, 'attachments')
}

/** File-system-safe, collision-resistant name part: readable prefix + short hash of the original. */
export function safeSegment(s: string, max = 80): string {
  const clean = s.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_').slice(0, max) || '_'
  return `${clean}-${createHash('sha256').update(s).digest('hex').slice(0, 8)}`
}

/** <stateDir>/attachments/<account>/<sessionKey-safe>/ */
export function sessionCacheDir(stateDir: string, accountId: string, sessionKey: string): string {
  return path.join(cacheRoot(stateDir), safeSegment(accountId, 40), safeSegment(sessionKey))
}

/** Cached file name for one remote path: hash of the path (dedupes refetches) + sanitised name. */
export function cacheFileName(remotePath: string, name: string): string {
  const hash = createHash('sha256').update(remotePath).digest('hex').slice(0, 12)
  const clean = name.replace(/[^A-Za-z0-9._ -]/g, '_').replace(/^[.\s-]+/, '').slice(-100) || 'attachment'
  return `${hash}-${clean}`
}

interface CachedFile {
  file: string
  size: number
  mtimeMs: number
}

async function walk(dir: string, out: CachedFile[]): Promise<void> {
  let entries
  try {
    entries = await fsp.readdir(dir, {withFileTypes: true})
  } catch {
    return
  }
  for (const e of entries) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) await walk(p, out)
    else if (e.isFile()) {
      try {
        const st = await fsp.stat(p)
        out.push({file: p, size: st.size, mtimeMs: st.mtimeMs})
      } catch {
        // vanished meanwhile
      }
    }
  }
}

async function removeEmptyDirs(dir: string, keep: string): Promise<void> {
  let entries
  try {
    entries = await fsp.readdir(dir, {withFileTypes: true})
  } catch {
    return
  }
  for (const e of entries) if (e.isDirectory()) await removeEmptyDirs(path.join(dir, e.name), keep)
  if (dir !== keep) await fsp.rmdir(dir).catch(() => {})
}

/**
 * Bounds the cache: removes files older than maxAgeMs, then the oldest files until the total
 * is at most maxBytes, then empty directories. Returns what was removed.
 */
export async function cleanAttachmentCache(
  ctx: Pick<Context, 'stateDir' | 'now'>,
  opts: {maxBytes?: number; maxAgeMs?: number} = {},
): Promise<{removedFiles: number; freedBytes: number; keptBytes: number}> {
  const root = cacheRoot(ctx.stateDir)
  const maxBytes = opts.maxBytes ?? CACHE_MAX_BYTES
  const maxAgeMs = opts.maxAgeMs ?? CACHE_MAX_AGE_MS
  const files: CachedFile[] = []
  await walk(root, files)
  files.sort((a, b) => a.mtimeMs - b.mtimeMs)
  const now = ctx.now()
  let total = files.reduce((n, f) => n + f.size, 0)
  let removedFiles = 0
  let freedBytes = 0
  for (const f of files) {
    // a partial file younger than an hour may be a transfer in progress
    if (f.file.endsWith('.part') && now - f.mtimeMs < 3_600_000) continue
    if (now - f.mtimeMs <= maxAgeMs && total <= maxBytes) continue
    try {
      await fsp.rm(f.file, {force: true})
      removedFiles++
      freedBytes += f.size
      total -= f.size
    } catch {
      // keep going
    }
  }
  await removeEmptyDirs(root, root)
  return {removedFiles, freedBytes, keptBytes: total}
}
