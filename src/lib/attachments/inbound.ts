import fsp from 'node:fs/promises'
import path from 'node:path'
import type {ResolvedAccount} from '../config/accounts.js'
import type {Context} from '../context.js'
import {RemoteclawError} from '../errors.js'
import type {EnvelopeAttachment} from '../core/envelope.js'
import type {Logger} from '../log.js'
import {fetchRemoteFile} from '../ssh/transfer.js'
import {ensureDir700} from '../util/files.js'
import {cacheFileName, cleanAttachmentCache, sessionCacheDir} from './cache.js'
import {formatMb, mimeTypeFor} from './mime.js'
import {resolveRemoteMac, type RemoteMac} from './remote.js'
import {matchingRoot, normalizeAttachmentPath, realpathRoots} from './roots.js'
import {admitRootCommand, attachmentRootsSetting} from './roots-setting.js'

export interface InboundAttachmentItem {
  /** Local path the agent can read (the original file locally, a cached copy for a remote Mac). */
  path: string
  mimeType: string
  name: string
  size: number
}

export interface ResolveInboundOptions {
  sessionKey: string
  chatId?: number | string
  log?: Logger
  /** extra ssh/scp options; default from REMOTECLAW_SSH_CONFIG */
  sshOptions?: string[]
  /** a file still being written is retried: `attempts` tries, delay doubling from `delayMs` (cap 5 s) */
  retry?: {attempts?: number; delayMs?: number}
}

export interface ResolvedInbound {
  items: InboundAttachmentItem[]
  /** Short texts for the agent's input (what was left out and why). */
  notes: string[]
}

/** The key that turns attachment hand-over on for this account (for the gateway's once-per-chat log line). */
export function includeAttachmentsKey(account: Pick<ResolvedAccount, 'keyPrefix'>): string {
  return `${account.keyPrefix}.includeAttachments`
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
let lastCacheClean = 0
const CACHE_CLEAN_INTERVAL_MS = 10 * 60 * 1000

function tooLarge(bytes: number, capMb: number, name: string): string {
  return `attachment too large (${formatMb(bytes)} MB > ${capMb} MB): ${name}`
}

/** Is the file complete? Size known from imsg: reached it. Unknown: non-zero and unchanged since the last look. */
function complete(size: number, expected: number, previous: number | undefined): boolean {
  if (size <= 0) return false
  if (expected > 0) return size >= expected
  return previous === size
}

/**
 * Turns an envelope's attachments into files the agent can read, with notes for everything
 * left out. Never throws for one bad attachment: each problem becomes a note and a log line
 * naming the key or command that would change it.
 */
export async function resolveInboundAttachments(
  ctx: Context,
  account: ResolvedAccount,
  attachments: EnvelopeAttachment[],
  opts: ResolveInboundOptions,
): Promise<ResolvedInbound> {
  const log = (opts.log ?? ctx.log).child('attachments', {account: account.id, chatId: opts.chatId})
  const items: InboundAttachmentItem[] = []
  const notes: string[] = []
  if (attachments.length === 0) return {items, notes}
  if (!account.includeAttachments) {
    notes.push(`${attachments.length} attachment(s) left out`)
    return {items, notes}
  }
  let remote: RemoteMac | undefined
  try {
    remote = await resolveRemoteMac(ctx, account, opts.sshOptions)
  } catch (error) {
    const e = error as RemoteclawError
    log.error(e.message, {fix: e.fix})
    notes.push(`${attachments.length} attachment(s) could not be fetched (remote Mac not configured)`)
    return {items, notes}
  }
  const capBytes = account.mediaMaxMb * 1024 * 1024
  const attempts = Math.max(1, opts.retry?.attempts ?? 6)
  const baseDelay = opts.retry?.delayMs ?? 300
  const setting = attachmentRootsSetting(account, remote, ctx.home)
  const {keyPath: rootsKey, home} = setting
  const roots = remote ? setting.roots : await realpathRoots(setting.roots)
  let hostKeyFailed = false
  let fetched = false

  for (const att of attachments) {
    const name = att.name || path.posix.basename(att.originalPath) || 'attachment'
    // notes are one line each: control characters in a (hostile) file name are shown as "?"
    // eslint-disable-next-line no-control-regex
    const shown = name.replace(/[\u0000-\u001f\u007f]/g, '?')
    if (att.missing || !att.originalPath) {
      log.info('attachment missing on the Mac; not fetched', {name, path: att.originalPath})
      notes.push(`attachment missing (not downloaded to the Mac yet, or deleted): ${shown}`)
      continue
    }
    if (att.size > capBytes) {
      log.info('attachment over mediaMaxMb; not fetched', {name, bytes: att.size, key: `${account.keyPrefix}.mediaMaxMb`})
      notes.push(tooLarge(att.size, account.mediaMaxMb, shown))
      continue
    }
    const norm = normalizeAttachmentPath(att.originalPath, home)
    if (!norm.ok) {
      log.warn(`attachment refused: ${norm.reason}`, {name, path: att.originalPath, key: rootsKey})
      notes.push(`attachment refused (${norm.reason}): ${shown}`)
      continue
    }
    let sourcePath = norm.path
    if (!remote) {
      try {
        sourcePath = await fsp.realpath(norm.path)
      } catch {
        log.info('attachment file does not exist locally', {name, path: norm.path})
        notes.push(`attachment missing (file not found): ${shown}`)
        continue
      }
    }
    if (!matchingRoot(sourcePath, roots)) {
      const admit = admitRootCommand(setting, sourcePath)
      log.warn(`attachment refused: outside the allowed roots; add its directory to ${rootsKey} to admit it${admit ? `: ${admit}` : ''}`, {
        name,
        path: sourcePath,
        roots,
        key: rootsKey,
        fix: admit,
      })
      notes.push(`attachment refused (outside the allowed attachment roots): ${shown}`)
      continue
    }
    if (remote && hostKeyFailed) {
      notes.push(`attachment not fetched (host key problem, see log): ${shown}`)
      continue
    }

    try {
      const item = remote
        ? await fetchOne(ctx, account, remote, sourcePath, att, name, opts.sessionKey, {attempts, baseDelay})
        : await checkLocal(sourcePath, att, name, {attempts, baseDelay})
      if (!item) {
        log.warn(`attachment still being written after ${attempts} tries; not fetched`, {name, path: sourcePath})
        notes.push(`attachment not ready (still being written): ${shown}`)
        continue
      }
      if (item.size > capBytes) {
        if (remote) await fsp.rm(item.path, {force: true})
        log.info('attachment over mediaMaxMb after transfer; dropped', {name, bytes: item.size, key: `${account.keyPrefix}.mediaMaxMb`})
        notes.push(tooLarge(item.size, account.mediaMaxMb, shown))
        continue
      }
      if (remote) fetched = true
      items.push(item)
    } catch (error) {
      const e = error as RemoteclawError
      if (e.code === 'remote_file_missing') {
        log.info('attachment file does not exist on the Mac', {name, path: sourcePath})
        notes.push(`attachment missing (file not found): ${shown}`)
        continue
      }
      if (e.code === 'host_key_mismatch' || e.code === 'host_key_unknown') hostKeyFailed = true
      log.error(`attachment fetch failed: ${e.message}`, {name, fix: e.fix, code: e.code})
      notes.push(`attachment could not be fetched (${e.code === 'host_key_mismatch' ? 'host key mismatch' : e.code ?? 'error'}): ${shown}`)
    }
  }
  if (fetched && ctx.now() - lastCacheClean > CACHE_CLEAN_INTERVAL_MS) {
    lastCacheClean = ctx.now()
    await cleanAttachmentCache(ctx).catch((error) => log.warn('attachment cache cleanup failed', {error}))
  }
  return {items, notes}
}

async function checkLocal(
  file: string,
  att: EnvelopeAttachment,
  name: string,
  r: {attempts: number; baseDelay: number},
): Promise<InboundAttachmentItem | undefined> {
  let previous: number | undefined
  for (let i = 0; i < r.attempts; i++) {
    if (i > 0) await sleep(Math.min(5000, r.baseDelay * 2 ** (i - 1)))
    const st = await fsp.stat(file)
    if (!st.isFile()) return undefined
    if (complete(st.size, att.size, previous)) return {path: file, mimeType: mimeTypeFor(name, att.mimeType), name, size: st.size}
    previous = st.size
  }
  return undefined
}

async function fetchOne(
  ctx: Context,
  account: ResolvedAccount,
  remote: RemoteMac,
  remotePath: string,
  att: EnvelopeAttachment,
  name: string,
  sessionKey: string,
  r: {attempts: number; baseDelay: number},
): Promise<InboundAttachmentItem | undefined> {
  const dir = sessionCacheDir(ctx.stateDir, account.id, sessionKey)
  await ensureDir700(dir)
  const target = path.join(dir, cacheFileName(remotePath, name))
  const item = (size: number): InboundAttachmentItem => ({path: target, mimeType: mimeTypeFor(name, att.mimeType), name, size})
  // Already fetched complete (same remote path, same session): reuse.
  try {
    const st = await fsp.stat(target)
    if (att.size > 0 && st.size === att.size) return item(st.size)
  } catch {
    // not cached
  }
  // Unique per call: two handlers fetching the same attachment must not share a partial file.
  const part = `${target}.${ctx.random(6).toString('hex')}.part`
  let previous: number | undefined
  try {
    for (let i = 0; i < r.attempts; i++) {
      if (i > 0) await sleep(Math.min(5000, r.baseDelay * 2 ** (i - 1)))
      await fsp.rm(part, {force: true})
      await fetchRemoteFile({remoteHost: remote.remoteHost, remotePath, localPath: part, sshOptions: remote.sshOptions})
      const st = await fsp.stat(part)
      if (complete(st.size, att.size, previous)) {
        await fsp.chmod(part, 0o600)
        await fsp.rename(part, target)
        return item(st.size)
      }
      previous = st.size
    }
    return undefined
  } finally {
    await fsp.rm(part, {force: true})
  }
}
