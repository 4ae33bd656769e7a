import fsp from 'node:fs/promises'
import path from 'node:path'
import {z} from 'zod'
import type {Context} from '../context.js'
import {NotFoundError, RemoteclawError, UsageError} from '../errors.js'
import {ensureDir700, readIfExists, withFileLock, writeFileAtomic600} from '../util/files.js'

/**
 * Pairing store of one iMessage account: pending requests (codes) and approved senders.
 *
 * Two files under <stateDir>/pairing/, both 0600 and replaced atomically:
 *   imessage-<accountId>.json        pending requests (+ recently expired ones, to say "expired")
 *   imessage-<accountId>-allow.json  approved senders
 * Every read-modify-write of either file holds ONE lock (on the pending file), so the gateway
 * (creating requests) and CLI commands (approve/deny/revoke) never lose each other's writes and
 * an approval moves a request to the allowlist in one step.
 *
 * A file that exists but cannot be read or parsed is an error, never an empty list: treating it
 * as empty would turn approved senders into strangers (they would get pairing codes again).
 */

/** No 0/O, 1/I/L: codes are read aloud and retyped from a phone screen. */
export const PAIRING_CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789'
export const PAIRING_CODE_LENGTH = 8
export const PAIRING_TTL_MS = 60 * 60 * 1000
export const PAIRING_MAX_PENDING = 3
/** Expired codes are remembered this long so `approve` can say "expired" rather than "no such code". */
export const PAIRING_EXPIRED_MEMORY_MS = 24 * 60 * 60 * 1000
const MAX_EXPIRED_REMEMBERED = 50

export type PairingContext = Pick<Context, 'stateDir' | 'now' | 'random'>

export interface PairingChat {
  chatId: number
  guid?: string
  identifier?: string
  name?: string
}

export interface PairingRequest {
  code: string
  /** Normalised handle of the sender. */
  sender: string
  senderName?: string
  chat: PairingChat
  /** ms since the epoch */
  requestedAt: number
  expiresAt: number
}

export interface ApprovedSender {
  handle: string
  approvedAt: number
  /** The code that approved it; absent when approved by handle. */
  code?: string
}

export type PairingRequestResult =
  /** New request: send the code (unless pairingReply is "silent"). */
  | {status: 'created'; code: string; request: PairingRequest}
  /** This sender already has a live code: send nothing again. */
  | {status: 'pending'; code: string; request: PairingRequest}
  /** PAIRING_MAX_PENDING live requests already: record nothing, send nothing. */
  | {status: 'capped'; pending: number}
  /** Approved meanwhile (e.g. by a CLI approve racing the gateway): treat as approved. */
  | {status: 'approved'}

const chatSchema = z.object({
  chatId: z.number(),
  guid: z.string().optional(),
  identifier: z.string().optional(),
  name: z.string().optional(),
})
const requestSchema = z.object({
  code: z.string(),
  sender: z.string(),
  senderName: z.string().optional(),
  chat: chatSchema,
  requestedAt: z.number(),
  expiresAt: z.number(),
})
const pendingFileSchema = z.object({
  version: z.literal(1),
  requests: z.array(requestSchema),
  expired: z.array(requestSchema).default([]),
})
const allowFileSchema = z.object({
  version: z.literal(1),
  approved: z.array(z.object({handle: z.string(), approvedAt: z.number(), code: z.string().optional()})),
})
type PendingFile = z.infer<typeof pendingFileSchema>
type AllowFile = z.infer<typeof allowFileSchema>

export function pairingDir(stateDir: string): string {
  return path.join(stateDir, 'pairing')
}

export function pendingFilePath(stateDir: string, accountId: string): string {
  return path.join(pairingDir(stateDir), `imessage-${accountId}.json`)
}

export function allowFilePath(stateDir: string, accountId: string): string {
  return path.join(pairingDir(stateDir), `imessage-${accountId}-allow.json`)
}

function unreadable(file: string, why: string, cause?: unknown): RemoteclawError {
  return new RemoteclawError(`pairing store ${file} cannot be read: ${why}`, {
    code: 'pairing_store_unreadable',
    fix: `Repair the JSON in ${file}, or move it aside (mv '${file}' '${file}.bad') and re-approve senders with: remoteclaw pairing approve imessage <handle>`,
    cause,
  })
}

async function readJson<T>(file: string, schema: z.ZodType<T, z.ZodTypeDef, unknown>, empty: T): Promise<T> {
  let text: string | undefined
  try {
    text = await readIfExists(file)
  } catch (error) {
    throw unreadable(file, (error as Error).message, error)
  }
  if (text === undefined) return empty
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw unreadable(file, `invalid JSON (${(error as Error).message})`, error)
  }
  const parsed = schema.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw unreadable(file, `unexpected content at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`)
  }
  return parsed.data
}

const readPending = (file: string) => readJson(file, pendingFileSchema, {version: 1, requests: [], expired: []} as PendingFile)
const readAllow = (file: string) => readJson(file, allowFileSchema, {version: 1, approved: []} as AllowFile)

async function writeJson(file: string, data: unknown): Promise<void> {
  await writeFileAtomic600(file, JSON.stringify(data, null, 2) + '\n')
}

/** Moves requests past their expiry into `expired`, and forgets expired ones after a day. */
function prune(doc: PendingFile, now: number): PendingFile {
  const live = doc.requests.filter((r) => r.expiresAt > now)
  const newlyExpired = doc.requests.filter((r) => r.expiresAt <= now)
  const expired = [...doc.expired, ...newlyExpired]
    .filter((r) => r.expiresAt + PAIRING_EXPIRED_MEMORY_MS > now)
    .slice(-MAX_EXPIRED_REMEMBERED)
  return {version: 1, requests: live, expired}
}

/** Upper-case, without spaces or dashes: "abcd-efgh" and "ABCDEFGH" are the same code. */
export function canonicalCode(input: string): string {
  return input.replace(/[\s-]/g, '').toUpperCase()
}

/** True when `input` has the shape of a pairing code (used to tell codes from handles). */
export function looksLikeCode(input: string): boolean {
  const c = canonicalCode(input)
  return c.length === PAIRING_CODE_LENGTH && [...c].every((ch) => PAIRING_CODE_ALPHABET.includes(ch))
}

/** Unbiased crypto-random code: bytes >= 248 (8 * 31) are rejected rather than folded. */
export function generateCode(random: (n: number) => Buffer): string {
  const n = PAIRING_CODE_ALPHABET.length
  const limit = Math.floor(256 / n) * n
  let out = ''
  while (out.length < PAIRING_CODE_LENGTH) {
    for (const b of random(PAIRING_CODE_LENGTH * 2)) {
      if (b >= limit) continue
      out += PAIRING_CODE_ALPHABET[b % n]
      if (out.length === PAIRING_CODE_LENGTH) break
    }
  }
  return out
}

async function withStore<T>(ctx: PairingContext, accountId: string, fn: (files: {pending: string; allow: string}) => Promise<T>): Promise<T> {
  const pending = pendingFilePath(ctx.stateDir, accountId)
  const allow = allowFilePath(ctx.stateDir, accountId)
  // the dir is ours: 0700 also when it already existed with a looser mode
  await ensureDir700(pairingDir(ctx.stateDir))
  return withFileLock(pending, () => fn({pending, allow}))
}

/**
 * Records a pairing request from an unknown DM sender. The result tells the caller whether to
 * send a code: only `created` warrants a reply.
 */
export async function requestPairing(
  ctx: PairingContext,
  accountId: string,
  req: {sender: string; senderName?: string; chat: PairingChat},
): Promise<PairingRequestResult> {
  if (req.sender === '') throw new UsageError('a pairing request needs a sender handle')
  return withStore(ctx, accountId, async (files) => {
    const now = ctx.now()
    const allow = await readAllow(files.allow)
    if (allow.approved.some((a) => a.handle === req.sender)) return {status: 'approved'}
    const doc = prune(await readPending(files.pending), now)
    const existing = doc.requests.find((r) => r.sender === req.sender)
    if (existing) return {status: 'pending', code: existing.code, request: existing}
    if (doc.requests.length >= PAIRING_MAX_PENDING) {
      await writeJson(files.pending, doc)
      return {status: 'capped', pending: doc.requests.length}
    }
    const taken = new Set([...doc.requests, ...doc.expired].map((r) => r.code))
    let code = generateCode(ctx.random)
    while (taken.has(code)) code = generateCode(ctx.random)
    const request: PairingRequest = {
      code,
      sender: req.sender,
      ...(req.senderName ? {senderName: req.senderName} : {}),
      chat: req.chat,
      requestedAt: now,
      expiresAt: now + PAIRING_TTL_MS,
    }
    doc.requests.push(request)
    await writeJson(files.pending, doc)
    return {status: 'created', code, request}
  })
}

/** Live (unexpired) requests, oldest first. Read-only: takes no lock (files are replaced atomically). */
export async function listPending(ctx: PairingContext, accountId: string): Promise<PairingRequest[]> {
  const doc = await readPending(pendingFilePath(ctx.stateDir, accountId))
  const now = ctx.now()
  return doc.requests.filter((r) => r.expiresAt > now).sort((a, b) => a.requestedAt - b.requestedAt)
}

/**
 * The account whose store knows this code (pending, or expired recently), so `pairing approve
 * <CODE>` works without --account when several accounts exist. Undefined when none does.
 */
export async function findCodeAccount(ctx: PairingContext, accountIds: string[], codeInput: string): Promise<string | undefined> {
  const code = canonicalCode(codeInput)
  const now = ctx.now()
  let expiredIn: string | undefined
  for (const id of accountIds) {
    const doc = await readPending(pendingFilePath(ctx.stateDir, id))
    if (doc.requests.some((r) => r.code === code && r.expiresAt > now)) return id
    if (expiredIn === undefined && [...doc.requests, ...doc.expired].some((r) => r.code === code)) expiredIn = id
  }
  return expiredIn
}

export async function listApproved(ctx: PairingContext, accountId: string): Promise<ApprovedSender[]> {
  const doc = await readAllow(allowFilePath(ctx.stateDir, accountId))
  return doc.approved
}

export async function isApproved(ctx: PairingContext, accountId: string, handle: string): Promise<boolean> {
  if (handle === '') return false
  return (await listApproved(ctx, accountId)).some((a) => a.handle === handle)
}

function approveCommand(accountId: string, arg: string, accountFlag: boolean): string {
  return `remoteclaw pairing approve imessage ${arg}${accountFlag ? ` --account ${accountId}` : ''}`
}

function minutesAgo(ms: number): string {
  const m = Math.max(0, Math.round(ms / 60_000))
  if (m < 1) return 'just now'
  if (m < 120) return `${m} minute${m === 1 ? '' : 's'} ago`
  return `${Math.round(m / 60)} hours ago`
}

export interface ApproveResult {
  handle: string
  code?: string
  chat?: PairingChat
  /** false when the handle was approved already (approveHandle). */
  added: boolean
}

/**
 * Approves the sender of a live code. Throws NotFoundError (exit 4) with code
 * `pairing_code_expired` or `pairing_code_not_found`, worded differently.
 */
export async function approve(ctx: PairingContext, accountId: string, codeInput: string): Promise<ApproveResult> {
  const code = canonicalCode(codeInput)
  return withStore(ctx, accountId, async (files) => {
    const now = ctx.now()
    const original = await readPending(files.pending)
    const doc = prune(original, now)
    const idx = doc.requests.findIndex((r) => r.code === code)
    if (idx === -1) {
      const old = doc.expired.filter((r) => r.code === code).pop()
      if (doc.requests.length !== original.requests.length) await writeJson(files.pending, doc)
      if (old) {
        throw new NotFoundError(
          `pairing code ${code} expired ${minutesAgo(now - old.expiresAt)} (requested by ${old.sender} for account ${accountId})`,
          {
            code: 'pairing_code_expired',
            fix: `Ask ${old.sender} to send another message for a new code, or approve the sender directly: ${approveCommand(accountId, old.sender, true)}`,
            details: {code, sender: old.sender, expiredAt: new Date(old.expiresAt).toISOString()},
          },
        )
      }
      throw new NotFoundError(`no pairing request with code ${code} for account ${accountId}`, {
        code: 'pairing_code_not_found',
        fix: `List pending codes: remoteclaw pairing list imessage --account ${accountId}`,
        details: {code},
      })
    }
    const request = doc.requests[idx]!
    doc.requests.splice(idx, 1)
    const allow = await readAllow(files.allow)
    const added = !allow.approved.some((a) => a.handle === request.sender)
    if (added) allow.approved.push({handle: request.sender, approvedAt: now, code})
    // Allowlist first: a crash between the two writes leaves an approved sender with a stale
    // request (harmless), never a consumed code without an approval.
    if (added) await writeJson(files.allow, allow)
    await writeJson(files.pending, doc)
    return {handle: request.sender, code, chat: request.chat, added}
  })
}

/** Approves a (normalised) handle directly, and clears any pending request from it. */
export async function approveHandle(ctx: PairingContext, accountId: string, handle: string): Promise<ApproveResult> {
  if (handle === '') throw new UsageError('empty handle', {fix: 'Pass a phone number in E.164 form (+15551234567) or an email address.'})
  return withStore(ctx, accountId, async (files) => {
    const now = ctx.now()
    const allow = await readAllow(files.allow)
    const original = await readPending(files.pending)
    const doc = prune(original, now)
    const request = doc.requests.find((r) => r.sender === handle)
    doc.requests = doc.requests.filter((r) => r.sender !== handle)
    const added = !allow.approved.some((a) => a.handle === handle)
    if (added) {
      allow.approved.push({handle, approvedAt: now})
      await writeJson(files.allow, allow)
    }
    if (request || doc.expired.length !== original.expired.length || doc.requests.length !== original.requests.length) {
      await writeJson(files.pending, doc)
    }
    return {handle, added, ...(request ? {code: request.code, chat: request.chat} : {})}
  })
}

/** Removes a live request. Throws NotFoundError (exit 4) like approve. */
export async function deny(ctx: PairingContext, accountId: string, codeInput: string): Promise<PairingRequest> {
  const code = canonicalCode(codeInput)
  return withStore(ctx, accountId, async (files) => {
    const now = ctx.now()
    const doc = prune(await readPending(files.pending), now)
    const idx = doc.requests.findIndex((r) => r.code === code)
    if (idx === -1) {
      await writeJson(files.pending, doc)
      const old = doc.expired.some((r) => r.code === code)
      throw new NotFoundError(
        old ? `pairing code ${code} already expired; nothing to deny` : `no pairing request with code ${code} for account ${accountId}`,
        {
          code: old ? 'pairing_code_expired' : 'pairing_code_not_found',
          fix: `List pending codes: remoteclaw pairing list imessage --account ${accountId}`,
        },
      )
    }
    const [request] = doc.requests.splice(idx, 1)
    await writeJson(files.pending, doc)
    return request!
  })
}

/** Removes an approved sender. Throws NotFoundError (exit 4) when the handle is not approved. */
export async function revoke(ctx: PairingContext, accountId: string, handle: string): Promise<ApprovedSender> {
  return withStore(ctx, accountId, async (files) => {
    const allow = await readAllow(files.allow)
    const found = allow.approved.find((a) => a.handle === handle)
    if (!found) {
      throw new NotFoundError(`${handle || '(empty handle)'} is not an approved sender of account ${accountId}`, {
        code: 'pairing_sender_not_found',
        fix: `List approved senders: remoteclaw pairing list imessage --approved --account ${accountId}`,
      })
    }
    allow.approved = allow.approved.filter((a) => a.handle !== handle)
    await writeJson(files.allow, allow)
    return found
  })
}

/**
 * The gateway's in-memory view of the approved senders, so access decisions stay synchronous.
 * refresh() re-reads the file only when it changed (one stat per call), so approvals made by
 * `remoteclaw pairing approve` apply to the sender's next message without a restart.
 * A read or parse failure throws (and keeps nothing stale silently): see the file comment.
 */
export class ApprovedSenders {
  private handles = new Set<string>()
  private stamp = ''
  readonly file: string

  constructor(ctx: Pick<Context, 'stateDir'>, readonly accountId: string) {
    this.file = allowFilePath(ctx.stateDir, accountId)
  }

  async refresh(): Promise<void> {
    let stamp: string
    try {
      const st = await fsp.stat(this.file)
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw unreadable(this.file, (error as Error).message, error)
      stamp = 'missing'
    }
    if (stamp === this.stamp) return
    const doc = await readAllow(this.file)
    this.handles = new Set(doc.approved.map((a) => a.handle))
    this.stamp = stamp
  }

  isApproved(handle: string): boolean {
    return handle !== '' && this.handles.has(handle)
  }

  /** Records an approval made in this process without waiting for the next refresh. */
  add(handle: string): void {
    this.handles.add(handle)
  }

  get size(): number {
    return this.handles.size
  }
}
