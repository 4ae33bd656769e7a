import type {ResolvedAccount} from '../config/accounts.js'
import type {Context} from '../context.js'
import {prepareOutboundFile as stageOutboundFile} from '../attachments/outbound.js'
import {RemoteclawError, UsageError} from '../errors.js'
import {requireCapability, type CapabilitySet} from '../imsg/capabilities.js'
import {ImsgClient} from '../imsg/client.js'
import {ImsgError} from '../imsg/errors.js'
import {formatTarget, parseTarget, targetToSendParams, type Target} from '../imsg/targets.js'
import type {SendResult} from '../imsg/types.js'
import {chunkText, chunkTextCapped} from './chunker.js'

/** What one `send` call reported (imsg fills id/guid best-effort only). */
export interface SentPart {
  /** 0-based position in send order. */
  index: number
  kind: 'text' | 'file'
  /** UTF-16 code units of the chunk (text parts). */
  length?: number
  file?: string
  id?: number
  guid?: string
  messageId?: string
  chatGuid?: string
  service?: string
  transport?: string
}

export interface SendMessageResult {
  schemaVersion: 1
  accountId: string
  /** The canonical target (e.g. "+15551234567", "chat_id:12"). */
  target: string
  chunkLimit: number
  chunkMode: 'length' | 'newline'
  parts: SentPart[]
}

export interface PreparedFile {
  /** The path imsg should read (on the machine where imsg runs). */
  path: string
  /** Removes any staged copy after the send. */
  cleanup?: () => Promise<void>
}

/**
 * The outbound-file hook: checks the file (exists, regular, within mediaMaxMb) and, when imsg
 * runs on another Mac (remoteHost, or an SSH wrapper as cliPath), stages it there and returns
 * the remote path. Implemented by the attachments module; kept under this name for callers.
 */
export async function prepareOutboundFile(
  account: ResolvedAccount,
  filePath: string,
  ctx: Pick<Context, 'log'> & Partial<Pick<Context, 'env' | 'home'>>,
): Promise<PreparedFile> {
  const prepared = await stageOutboundFile(ctx, account, filePath)
  return {path: prepared.path, cleanup: () => prepared.cleanup()}
}

/** A send that stopped part-way; `details.parts` lists what went out before it. */
export class SendFailedError extends RemoteclawError {
  readonly retrySafe: boolean
  constructor(message: string, cause: unknown, opts: {fix?: string; code?: string; retrySafe: boolean; parts: SentPart[]; failedIndex: number}) {
    super(message, {
      code: opts.code ?? 'send_failed',
      fix: opts.fix,
      cause,
      details: {
        sentParts: opts.parts,
        failedIndex: opts.failedIndex,
        retrySafe: opts.retrySafe,
        ...(cause instanceof ImsgError ? {imsg: cause.details} : {}),
      },
    })
    this.name = 'SendFailedError'
    this.retrySafe = opts.retrySafe
  }
}

function part(index: number, kind: 'text' | 'file', r: SendResult, extra: Partial<SentPart>): SentPart {
  const p: SentPart = {index, kind, ...extra}
  if (typeof r.id === 'number') p.id = r.id
  if (typeof r.guid === 'string' && r.guid !== '') p.guid = r.guid
  if (typeof r.message_id === 'string' && r.message_id !== '') p.messageId = r.message_id
  if (typeof r.chat_guid === 'string' && r.chat_guid !== '') p.chatGuid = r.chat_guid
  if (typeof r.service === 'string' && r.service !== '') p.service = r.service
  if (typeof r.transport === 'string' && r.transport !== '') p.transport = r.transport
  return p
}

export interface SendMessageOptions {
  account: ResolvedAccount
  /** Target string (parseTarget syntax) or an already parsed target. */
  target: string | Target
  text?: string
  file?: string
  ctx: Pick<Context, 'log' | 'env'>
  /** Reuse a running client (the gateway); otherwise one is spawned and closed. */
  client?: ImsgClient
  /** Called after each part goes out (progress). */
  onPart?: (p: SentPart, total: number) => void
  /**
   * Answer in the thread of this message GUID (the first text part; the rest follow plainly).
   * Bridge only: refused with CapabilityUnavailableError (exit 5) where threaded replies are not usable.
   */
  replyTo?: string
  /** Capabilities already detected for `client`; detected here when replyTo is set and this is absent. */
  capabilities?: CapabilitySet
  /** Detects capabilities of a spawned client (injected to keep this module free of the probe). */
  detect?: (client: ImsgClient) => Promise<CapabilitySet>
}

/**
 * The text's chunks. Text that needs more than maxReplyChunks messages is refused whole (nothing
 * sent): an operator's send is not cut short the way an agent's reply is.
 */
function textChunks(account: ResolvedAccount, text: string): string[] {
  const limit = account.textChunkLimit
  const max = account.maxReplyChunks
  const {chunks, cutChars} = chunkTextCapped(text, {limit, mode: account.chunkMode, maxChunks: max})
  if (cutChars === 0) return chunks
  const needed = chunkText(text, {limit, mode: account.chunkMode}).length
  const key = `${account.keyPrefix}.maxReplyChunks`
  throw new UsageError(`the text needs more than ${max} messages of up to ${limit} characters (${key} is ${max}); nothing was sent`, {
    code: 'text_too_long',
    fix:
      needed <= 1000
        ? `Send it in parts, or raise the cap: remoteclaw config set ${key} ${needed}`
        : `Send it in parts of at most ${(max * limit).toLocaleString('en-US')} characters, or send it as a file with --file.`,
  })
}

/**
 * Sends text (chunked with the account's textChunkLimit/chunkMode, in order, one at a time)
 * and then an optional file. Never retries: a failure stops the rest and says what went out.
 */
export async function sendMessage(o: SendMessageOptions): Promise<SendMessageResult> {
  const {account} = o
  const target = typeof o.target === 'string' ? parseTarget(o.target, {region: account.region}) : o.target
  const chunks = o.text === undefined ? [] : textChunks(account, o.text)
  if (chunks.length === 0 && !o.file) {
    throw new UsageError('nothing to send: the text is empty and no --file was given', {fix: 'Pass --text "...", pipe text on stdin, or add --file <path>.'})
  }
  const prepared = o.file ? await prepareOutboundFile(account, o.file, o.ctx) : undefined
  const base = targetToSendParams(target, {service: account.service, region: account.region})
  const total = chunks.length + (prepared ? 1 : 0)
  const parts: SentPart[] = []
  const client =
    o.client ??
    ImsgClient.spawn({
      cliPath: account.cliPath,
      dbPath: account.dbPath,
      requestTimeoutMs: account.rpcTimeoutMs,
      log: o.ctx.log,
      remoteHost: account.remoteHost,
    })
  let timedOut = false
  try {
    if (o.replyTo !== undefined) {
      if (chunks.length === 0) throw new UsageError('--reply-to needs text: imsg threads text replies only', {fix: 'Add --text "...".'})
      const caps = o.capabilities ?? (o.detect ? await o.detect(client) : undefined)
      if (!caps) throw new Error('sendMessage: replyTo needs capabilities or detect')
      requireCapability(caps, 'threadedReply')
    }
    const steps: Array<{kind: 'text' | 'file'; run: () => Promise<SendResult>; extra: Partial<SentPart>}> = [
      ...chunks.map((c, i) => ({
        kind: 'text' as const,
        run: () => client.send({...base, text: c, ...(i === 0 && o.replyTo !== undefined ? {reply_to: o.replyTo} : {})}),
        extra: {length: c.length},
      })),
      ...(prepared ? [{kind: 'file' as const, run: () => client.send({...base, file: prepared.path}), extra: {file: prepared.path}}] : []),
    ]
    for (const [i, step] of steps.entries()) {
      let r: SendResult
      try {
        r = await step.run()
      } catch (error) {
        const e = error instanceof ImsgError ? error : undefined
        const where = total > 1 ? ` (part ${i + 1} of ${total}; ${parts.length} sent before it${i + 1 < total ? `, ${total - i - 1} not attempted` : ''})` : ''
        const retrySafe = e?.retrySafe ?? false
        timedOut = e?.code === 'imsg_timeout'
        let msg: string
        if (e?.code === 'imsg_delivery_unknown') {
          const detail = e.data && typeof e.data === 'object' ? (e.data as {detail?: unknown}).detail : e.data
          msg = `delivery outcome unknown; not retried${where}${typeof detail === 'string' && detail ? `: imsg said "${detail}"` : ''}`
        } else if (e?.code === 'imsg_timeout' && !retrySafe) {
          msg = `delivery outcome unknown; not retried${where}: ${e.message}`
        } else {
          msg = `${error instanceof Error ? error.message : String(error)}${where}`
        }
        throw new SendFailedError(msg, error, {
          code: e?.code,
          fix: e?.code === 'imsg_timeout' ? `${e.fix} The message may still arrive; check the chat before sending again.` : e?.fix,
          retrySafe,
          parts,
          failedIndex: i,
        })
      }
      const p = part(i, step.kind, r ?? {}, step.extra)
      parts.push(p)
      o.onPart?.(p, total)
    }
  } finally {
    // A child that did not answer gets less grace: it is probably hung.
    if (!o.client) await client.close(timedOut ? {graceMs: 500} : {})
    await prepared?.cleanup?.()
  }
  return {
    schemaVersion: 1,
    accountId: account.id,
    target: formatTarget(target),
    chunkLimit: account.textChunkLimit,
    chunkMode: account.chunkMode,
    parts,
  }
}
