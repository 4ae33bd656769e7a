import {execa} from 'execa'
import type {Readable, Writable} from 'node:stream'
import type {Spawner} from '../context.js'
import {createLogger, type Logger} from '../log.js'
import {classifyText, worseKind, type OutputKind} from './classify.js'
import {
  FIXES,
  ImsgError,
  ImsgExitedError,
  ImsgSpawnError,
  ImsgTimeoutError,
  ImsgWatchEndedError,
  isMutation,
  rpcErrorFromWire,
  type FixContext,
  type ImsgDiagnostics,
} from './errors.js'
import type {
  ChatsListParams,
  ImsgChat,
  ImsgMessage,
  ImsgStatus,
  MessagesHistoryParams,
  PresenceTarget,
  SendParams,
  SendResult,
  TapbackParams,
  TapbackResult,
  WatchSubscribeParams,
} from './types.js'
import {LineFramer} from './line-framer.js'

export interface ImsgClientOptions {
  /** imsg, or a wrapper script that runs it (only stdio is needed); a bare name is resolved on PATH. */
  cliPath: string
  /** Passed as `rpc --db <dbPath>`. */
  dbPath?: string
  /** Extra environment for the child (on top of this process's environment). */
  env?: Record<string, string>
  /** Per-request timeout; default 10000 ms. */
  requestTimeoutMs?: number
  log?: Logger
  spawn?: Spawner
  cwd?: string
  /** For fixes that name where imsg runs. */
  remoteHost?: string
  /** close(): how long to wait after ending stdin before SIGTERM, and after SIGTERM before SIGKILL. Default 2000 ms each. */
  closeGraceMs?: number
  /** How many non-JSON stdout / stderr lines to keep (default 20 each). */
  diagnosticLines?: number
  /** A continuing flood of non-JSON lines is summarised (one count line) at most this often; default 60000 ms. */
  floodLogIntervalMs?: number
  /** Longest stdout line accepted, in characters; longer ones are skipped and logged. Default MAX_LINE_CHARS. */
  maxLineChars?: number
}

/**
 * Longest line read from imsg (16 MiB of characters). A message notification carries the whole
 * text, so this bounds one message; a longer line is skipped (logged) and the stream goes on.
 */
export const MAX_LINE_CHARS = 16 * 1024 * 1024
/** stderr lines are diagnostics only: longer ones are skipped. */
const MAX_STDERR_LINE_CHARS = 64 * 1024

export interface RequestOptions {
  timeoutMs?: number
}

export interface ExitInfo {
  code: number | null
  signal: string | null
  /** Set when the child never started (ENOENT, EACCES). */
  spawnError?: string
}

type Json = null | boolean | number | string | Json[] | {[k: string]: Json}

interface Pending {
  method: string
  resolve: (v: unknown) => void
  reject: (e: Error) => void
  timer: NodeJS.Timeout
  /** Runs synchronously when the response line is handled (before later lines), e.g. to register a subscription. */
  onResult?: (result: unknown) => unknown
}

const DEFAULT_TIMEOUT_MS = 10_000
const EARLY_BUFFER_LIMIT = 10_000
const MAX_TIMER_MS = 2_147_483_647

/** Children to kill if this process exits without closing them (no orphaned imsg). */
const live = new Set<{kill(signal: NodeJS.Signals): void}>()
let exitHookInstalled = false
const FATAL_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

/**
 * Each child runs in its own process group (so a wrapper's grandchildren, e.g. ssh, are killed
 * with it). That takes it out of the terminal's Ctrl-C group and out of execa's cleanup, so:
 * on 'exit' we SIGKILL every live group; on a fatal signal that nobody else handles (the
 * process is about to die by default) we kill them and re-raise. When the application has its
 * own handler (the gateway's graceful shutdown), children are left to it and to the 'exit' hook.
 */
function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL')
  })
  for (const sig of FATAL_SIGNALS) {
    const onSignal = () => {
      const others = process.listeners(sig).filter((l) => l !== onSignal)
      if (others.length > 0) return
      for (const c of live) c.kill('SIGKILL')
      process.removeListener(sig, onSignal)
      process.kill(process.pid, sig)
    }
    process.on(sig, onSignal)
  }
}

/**
 * Puts another detached process group (the probe's `rpc --help`) under the same rule: killed
 * when this process exits or dies of a fatal signal. Returns the function that unregisters it.
 */
export function trackDetachedChild(child: {kill(signal: NodeJS.Signals): void}): () => void {
  live.add(child)
  installExitHook()
  return () => {
    live.delete(child)
  }
}

/** Drops undefined and null values: strict imsg rejects `null` (protocol §1). */
function compact(params: Record<string, unknown>): Record<string, Json> {
  const out: Record<string, Json> = {}
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue
    out[k] = v as Json
  }
  return out
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * The one JSON-RPC client for `imsg rpc` (lenient ≤0.13 and strict 0.14+). Spawns the child
 * without a shell, matches responses by id, times out each request, never crashes on non-JSON
 * output (it is classified and kept for error messages), and rejects everything pending when
 * the child dies. See docs/setup-and-doctor.md, "channels status".
 */
export class ImsgClient {
  readonly cliPath: string
  readonly dbPath?: string
  readonly requestTimeoutMs: number
  /** Resolves once when the child has exited (or failed to start). Never rejects. */
  readonly exited: Promise<ExitInfo>

  private readonly log: Logger
  private readonly fixCtx: FixContext
  private readonly closeGraceMs: number
  private readonly diagLines: number
  private readonly child: ReturnType<Spawner>
  private readonly stdin: Writable
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private readonly streams = new Map<number, WatchStream>()
  private readonly early = new Map<number, unknown[]>()
  private earlyCount = 0
  private readonly endedSubs = new Set<number>()
  private readonly stdoutLines: LineFramer
  private readonly nonJson: string[] = []
  private nonJsonCount = 0
  private readonly stderrTail: string[] = []
  private readonly stderrLines: LineFramer
  private kind?: OutputKind
  private readonly floodLogIntervalMs: number
  private floodLoggedAt = 0
  private floodLoggedCount = 0
  private exitInfo?: ExitInfo
  private closing = false
  private resolveExited!: (e: ExitInfo) => void

  private constructor(opts: ImsgClientOptions) {
    this.cliPath = opts.cliPath
    this.dbPath = opts.dbPath
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS
    this.log = (opts.log ?? createLogger({level: 'warn'})).child('imsg')
    this.fixCtx = {cliPath: opts.cliPath, remoteHost: opts.remoteHost}
    this.closeGraceMs = opts.closeGraceMs ?? 2000
    this.diagLines = opts.diagnosticLines ?? 20
    this.floodLogIntervalMs = opts.floodLogIntervalMs ?? 60_000
    const maxLine = opts.maxLineChars ?? MAX_LINE_CHARS
    this.stdoutLines = new LineFramer(maxLine, (line) => this.onLine(line), (chars) => {
      this.log.warn(
        `imsg sent a line of ${(chars / 1048576).toFixed(1)} MiB, more than the ${(maxLine / 1048576).toFixed(1)} MiB limit (a message with a huge text?); skipped it`,
        {chars, limit: maxLine},
      )
    })
    this.stderrLines = new LineFramer(MAX_STDERR_LINE_CHARS, (line) => this.onStderrLine(line), () => this.onStderrLine('(a stderr line over 64 KiB was skipped)'))
    this.exited = new Promise((resolve) => {
      this.resolveExited = resolve
    })
    const args = ['rpc', ...(opts.dbPath ? ['--db', opts.dbPath] : [])]
    const spawn = opts.spawn ?? execa
    // No shell (argv only). cleanup: execa kills the child if we exit on a signal; the 'exit'
    // hook covers a plain process.exit(). If we are SIGKILLed, imsg sees stdin EOF and exits.
    this.child = spawn(opts.cliPath, args, {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      // Own process group (see installExitHook); execa's cleanup does not apply to detached children.
      detached: process.platform !== 'win32',
      cleanup: true,
      env: opts.env,
      extendEnv: true,
      cwd: opts.cwd,
      encoding: 'utf8',
    })
    this.stdin = this.child.stdin as Writable
    // EPIPE after the child died must not crash us; the exit path reports what happened.
    this.stdin.on('error', (err) => this.log.debug('stdin error', {err}))
    const stdout = this.child.stdout as Readable
    const stderr = this.child.stderr as Readable
    stdout.setEncoding('utf8')
    stderr.setEncoding('utf8')
    stdout.on('data', (chunk: string) => this.onStdout(chunk))
    stderr.on('data', (chunk: string) => this.onStderr(chunk))
    this.child.on('error', (err: NodeJS.ErrnoException) => {
      // Spawn failures (ENOENT/EACCES) arrive here, with no 'exit'.
      if (this.child.pid === undefined) this.finish({code: null, signal: null, spawnError: err.code ?? err.message})
    })
    this.child.on('exit', (code: number | null, signal: string | null) => {
      // Give stdout a moment to deliver its last lines, but never wait on a grandchild that
      // still holds the pipe open (e.g. a wrapper that did not `exec`).
      let done = false
      const fin = () => {
        if (done) return
        done = true
        this.finish({code, signal})
      }
      if (stdout.readableEnded) fin()
      else {
        stdout.once('end', fin)
        setTimeout(fin, 200).unref()
      }
    })
    // reject:false: the promise resolves with the result; it is only awaited to avoid an unhandled rejection.
    // It is also the only signal when execa refuses to spawn (e.g. a NUL in cliPath): no 'error' or
    // 'exit' event comes then, and without this requests would wait for their timeout and close() forever.
    void Promise.resolve(this.child).then(
      (r) => {
        if (this.child.pid === undefined) {
          const code = (r as {code?: unknown}).code
          this.finish({code: null, signal: null, spawnError: typeof code === 'string' ? code : 'spawn failed'})
        }
      },
      () => {},
    )
    live.add(this)
    installExitHook()
  }

  /** Spawns `<cliPath> rpc [--db <dbPath>]`. Errors (even "not found") surface on the first request. */
  static spawn(opts: ImsgClientOptions): ImsgClient {
    return new ImsgClient(opts)
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined
  }

  /** Non-JSON stdout lines, last stderr lines and their classification (bounded copies). */
  diagnostics(): ImsgDiagnostics {
    return {
      stdoutLines: [...this.nonJson],
      stdoutLineCount: this.nonJsonCount,
      stderrLines: [...this.stderrTail, ...(this.stderrLines.rest().trim() ? [this.stderrLines.rest().trim().slice(0, 2000)] : [])].slice(-this.diagLines),
      kind: this.kind,
    }
  }

  /** Sends one request; resolves with `result`, rejects with a typed ImsgError. */
  request<T = unknown>(method: string, params: Record<string, unknown> = {}, opts: RequestOptions = {}): Promise<T> {
    return this.requestWith<T>(method, params, opts)
  }

  private requestWith<T>(
    method: string,
    params: Record<string, unknown>,
    opts: RequestOptions,
    onResult?: (result: unknown) => unknown,
  ): Promise<T> {
    if (this.exitInfo) return Promise.reject(this.exitError(method))
    const id = this.nextId++
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs
    return new Promise<T>((resolve, reject) => {
      // Capped: Node fires a delay over 2^31-1 ms after 1 ms, so a huge rpcTimeoutMs would time out at once.
      const timer = setTimeout(() => {
        if (!this.pending.delete(id)) return
        reject(
          new ImsgTimeoutError(`imsg did not answer ${method} within ${timeoutMs} ms`, {
            code: 'imsg_timeout',
            method,
            fix: FIXES.timeout(method, timeoutMs),
            // A send that timed out may still happen: not safe to repeat.
            retrySafe: !isMutation(method),
            diagnostics: this.diagnostics(),
            kind: this.kind,
          }),
        )
      }, Math.min(timeoutMs, MAX_TIMER_MS))
      this.pending.set(id, {method, resolve: resolve as (v: unknown) => void, reject, timer, onResult})
      this.stdin.write(JSON.stringify({jsonrpc: '2.0', id, method, params: compact(params)}) + '\n')
    })
  }

  chatsList(params: ChatsListParams = {}, opts?: RequestOptions): Promise<{chats: ImsgChat[]}> {
    return this.request('chats.list', {...params}, opts)
  }

  /** Newest first (whatever imsg's docs say). */
  messagesHistory(params: MessagesHistoryParams, opts?: RequestOptions): Promise<{messages: ImsgMessage[]}> {
    return this.request('messages.history', {...params}, opts)
  }

  send(params: SendParams, opts?: RequestOptions): Promise<SendResult> {
    return this.request('send', {...params}, opts)
  }

  /**
   * Shows (`on`) or clears the typing indicator in a chat. Bridge only in practice, and in imsg's
   * mutation lane: give it a short timeout, since a stuck call delays later sends (addendum §1).
   */
  typing(target: PresenceTarget, on: boolean, opts?: RequestOptions): Promise<{ok?: boolean}> {
    return this.request('typing', {...target, typing: on}, opts)
  }

  /** Marks the whole chat read (Messages then sends read receipts if enabled). Bridge only. */
  read(target: PresenceTarget, opts?: RequestOptions): Promise<{ok?: boolean}> {
    return this.request('read', {...target}, opts)
  }

  /** Adds (or with `remove`, removes) a tapback on a message. Bridge only; gate emoji on tapback.emoji >= 2. */
  tapback(params: TapbackParams, opts?: RequestOptions): Promise<TapbackResult> {
    return this.request('tapback', {...params}, opts)
  }

  /** Strict servers (0.14+) only; a lenient one answers -32601 (ImsgMethodNotFoundError). */
  initialize(opts?: RequestOptions): Promise<ImsgStatus> {
    return this.request('initialize', {protocol_version: 1}, opts)
  }

  /** Strict servers (0.14+) only; a lenient one answers -32601. */
  status(opts?: RequestOptions): Promise<ImsgStatus> {
    return this.request('status', {}, opts)
  }

  /**
   * Starts a watch. Notifications that arrive before the subscribe response (≤0.13) are
   * buffered and replayed into the stream.
   */
  async subscribe(params: WatchSubscribeParams = {}, opts?: RequestOptions): Promise<WatchStream> {
    const stream = await this.requestWith<WatchStream>('watch.subscribe', {...params}, opts ?? {}, (result) => {
      const sub = isRecord(result) ? result.subscription : undefined
      if (typeof sub !== 'number') {
        return new ImsgError(`imsg watch.subscribe returned no subscription id`, {code: 'imsg_protocol', method: 'watch.subscribe'})
      }
      const s = new WatchStream(this, sub, typeof (result as Record<string, unknown>).buffer_limit === 'number' ? ((result as Record<string, unknown>).buffer_limit as number) : undefined)
      this.streams.set(sub, s)
      const buffered = this.early.get(sub)
      if (buffered) {
        this.early.delete(sub)
        this.earlyCount -= buffered.length
        for (const n of buffered) this.routeNotification(n as Record<string, unknown>)
      }
      return s
    })
    if (stream instanceof Error) throw stream
    return stream
  }

  /** @internal used by WatchStream.unsubscribe */
  async unsubscribeId(subscription: number): Promise<void> {
    this.streams.delete(subscription)
    this.endedSubs.add(subscription)
    if (this.exitInfo) return
    await this.request('watch.unsubscribe', {subscription})
  }

  /**
   * Ends stdin (imsg exits at EOF), waits, then SIGTERM, then SIGKILL after the grace period.
   * Requests still pending when the child exits are rejected.
   */
  async close(opts: {graceMs?: number} = {}): Promise<ExitInfo> {
    const grace = opts.graceMs ?? this.closeGraceMs
    this.closing = true
    if (!this.exitInfo) {
      try {
        this.stdin.end()
      } catch {
        // already closed
      }
      if (!(await this.waitExit(grace))) {
        this.kill('SIGTERM')
        if (!(await this.waitExit(grace))) {
          this.kill('SIGKILL')
          await this.waitExit(grace)
        }
      }
    }
    return this.exited
  }

  /** Immediate signal (default SIGKILL), e.g. for a hung child. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.exitInfo) return
    this.closing = true
    const pid = this.child.pid
    try {
      // The whole group: a wrapper script and what it started (ssh, imsg).
      if (pid !== undefined && process.platform !== 'win32') process.kill(-pid, signal)
      else this.child.kill(signal)
    } catch {
      try {
        this.child.kill(signal)
      } catch {
        // already gone
      }
    }
  }

  private waitExit(ms: number): Promise<boolean> {
    if (this.exitInfo) return Promise.resolve(true)
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms)
      void this.exited.then(() => {
        clearTimeout(t)
        resolve(true)
      })
    })
  }

  // ---- inbound ----

  private onStdout(chunk: string): void {
    this.stdoutLines.push(chunk)
  }

  private onStderr(chunk: string): void {
    this.stderrLines.push(chunk)
  }

  private onStderrLine(raw: string): void {
    const line = raw.trimEnd()
    if (line === '') return
    this.stderrTail.push(line)
    if (this.stderrTail.length > this.diagLines) this.stderrTail.shift()
    this.log.debug('imsg stderr', {line})
  }

  private onLine(raw: string): void {
    const line = raw.trim()
    if (line === '') return
    let msg: unknown
    if (line.startsWith('{')) {
      try {
        msg = JSON.parse(line)
      } catch {
        msg = undefined
      }
    }
    if (!isRecord(msg)) {
      this.onNonJson(line)
      return
    }
    if ('id' in msg && ('result' in msg || 'error' in msg)) {
      this.onResponse(msg)
    } else if (typeof msg.method === 'string' && !('id' in msg)) {
      this.routeNotification(msg)
    } else if ('error' in msg) {
      // The write-failure line (no id key) or an unattributable error.
      this.onUnattributed(msg)
    } else {
      this.onNonJson(line)
    }
  }

  private onNonJson(line: string): void {
    this.nonJsonCount++
    this.nonJson.push(line.length > 2000 ? line.slice(0, 2000) + '…' : line)
    if (this.nonJson.length > this.diagLines) this.nonJson.shift()
    this.kind = worseKind(this.kind, classifyText(line))
    // A flood is logged once, then only counted (the count appears in diagnostics and on exit).
    const now = Date.now()
    if (this.nonJsonCount === 1) {
      this.log.warn('imsg printed non-JSON output on stdout (kept for error messages; further lines are counted, not logged)', {
        line: line.slice(0, 300),
        kind: this.kind,
      })
      this.floodLoggedAt = now
      this.floodLoggedCount = 1
    } else if (now - this.floodLoggedAt >= this.floodLogIntervalMs) {
      this.log.warn('imsg keeps printing non-JSON lines on stdout', {
        count: this.nonJsonCount - this.floodLoggedCount,
        total: this.nonJsonCount,
        last: line.slice(0, 300),
        kind: this.kind,
      })
      this.floodLoggedAt = now
      this.floodLoggedCount = this.nonJsonCount
    }
  }

  private onResponse(msg: Record<string, unknown>): void {
    const id = msg.id
    if (typeof id !== 'number') {
      this.onUnattributed(msg)
      return
    }
    const p = this.pending.get(id)
    if (!p) {
      this.log.debug('response for an unknown or timed-out request', {id})
      return
    }
    this.pending.delete(id)
    clearTimeout(p.timer)
    if ('error' in msg && msg.error !== undefined && msg.error !== null) {
      const err = isRecord(msg.error) ? msg.error : {message: String(msg.error)}
      p.reject(rpcErrorFromWire(p.method, err, this.diagnostics(), this.fixCtx, classifyText))
      return
    }
    let result: unknown = msg.result
    if (p.onResult) result = p.onResult(result)
    p.resolve(result)
  }

  private onUnattributed(msg: Record<string, unknown>): void {
    const err = isRecord(msg.error) ? msg.error : {message: 'unknown error'}
    this.log.warn('imsg sent an error that names no request', {code: err.code, message: err.message, data: err.data})
    // We never send id-less requests, so with exactly one request in flight it must be that one.
    if (this.pending.size === 1) {
      const [id, p] = [...this.pending.entries()][0]!
      this.pending.delete(id)
      clearTimeout(p.timer)
      p.reject(rpcErrorFromWire(p.method, err, this.diagnostics(), this.fixCtx, classifyText))
    }
  }

  private routeNotification(msg: Record<string, unknown>): void {
    const method = msg.method as string
    const params = isRecord(msg.params) ? msg.params : {}
    const sub = params.subscription
    if (typeof sub !== 'number') {
      this.log.debug('notification without subscription', {method})
      return
    }
    const stream = this.streams.get(sub)
    if (!stream) {
      if (this.endedSubs.has(sub)) return // a late notification after unsubscribe (≤0.13)
      if (this.earlyCount >= EARLY_BUFFER_LIMIT) {
        this.log.warn('dropping a notification for an unknown subscription (early buffer full)', {subscription: sub, method})
        return
      }
      // ≤0.13: a backlog notification can precede the subscribe response.
      const list = this.early.get(sub) ?? []
      list.push(msg)
      this.early.set(sub, list)
      this.earlyCount++
      return
    }
    if (method === 'message') {
      if (isRecord(params.message)) stream.push(params.message as ImsgMessage)
    } else if (method === 'error') {
      const e = isRecord(params.error) ? params.error : {}
      const text = typeof e.message === 'string' ? e.message : 'watch error'
      const kind = classifyText(text)
      this.endStream(
        stream,
        new ImsgWatchEndedError(`imsg watch ${sub} ended with an error: ${text}`, {
          code: kind === 'full_disk_access' ? 'imsg_full_disk_access' : 'imsg_watch_error',
          reason: 'error',
          subscription: sub,
          kind,
          fix: kind === 'full_disk_access' ? FIXES.fullDiskAccess(this.fixCtx) : 'Resubscribe with since_rowid set to the last cursor.',
          diagnostics: this.diagnostics(),
        }),
      )
    } else if (method === 'watch.overflow') {
      const resume = typeof params.resume_after_rowid === 'number' ? params.resume_after_rowid : undefined
      this.endStream(
        stream,
        new ImsgWatchEndedError(`imsg watch ${sub} overflowed (${String(params.reason ?? 'buffer_limit_exceeded')})`, {
          code: 'imsg_watch_overflow',
          reason: 'overflow',
          subscription: sub,
          resumeAfterRowid: resume,
          fix: `Resubscribe with since_rowid=${resume ?? 'the last cursor'}.`,
          diagnostics: this.diagnostics(),
        }),
      )
    } else {
      this.log.debug('ignoring notification', {method, subscription: sub})
    }
  }

  /** Terminal notification: end the stream and clean up the server side (protocol §1). */
  private endStream(stream: WatchStream, err: ImsgWatchEndedError): void {
    this.streams.delete(stream.subscription)
    this.endedSubs.add(stream.subscription)
    stream.end(err)
    if (!this.exitInfo && !this.closing) {
      this.request('watch.unsubscribe', {subscription: stream.subscription}).catch((e: Error) =>
        this.log.debug('watch.unsubscribe after terminal notification failed', {err: e}),
      )
    }
  }

  private exitError(method: string): ImsgError {
    const info = this.exitInfo!
    const diagnostics = this.diagnostics()
    const kind = diagnostics.kind
    if (info.spawnError) {
      const notFound = info.spawnError === 'ENOENT'
      return new ImsgSpawnError(
        notFound ? `imsg not found: ${this.cliPath}` : `cannot run ${this.cliPath} (${info.spawnError})`,
        {
          code: notFound ? 'imsg_not_found' : 'imsg_not_executable',
          method,
          fix: notFound ? FIXES.notFound(this.cliPath) : FIXES.notExecutable(this.cliPath),
          diagnostics,
        },
      )
    }
    const how = info.signal ? `was killed by ${info.signal}` : `exited with code ${info.code}`
    const last = diagnostics.stdoutLines.find((l) => l.trim() !== '') ?? diagnostics.stderrLines.at(-1)
    const said = last ? `; it printed: ${last.slice(0, 300)}` : ''
    const base = {method, diagnostics, kind, retrySafe: !isMutation(method), restartRequired: true}
    const prefix = this.closing ? `imsg ${how} after close()` : `imsg ${how} before answering ${method}`
    if (kind === 'full_disk_access') {
      return new ImsgExitedError(`imsg cannot read the Messages database (Full Disk Access missing); ${prefix}${said}`, {
        ...base,
        code: 'imsg_full_disk_access',
        fix: FIXES.fullDiskAccess(this.fixCtx),
      })
    }
    if (kind === 'rpc_unsupported') {
      return new ImsgExitedError(`this imsg does not support \`rpc\`; ${prefix}${said}`, {
        ...base,
        code: 'imsg_rpc_unsupported',
        fix: FIXES.rpcUnsupported(this.cliPath),
      })
    }
    if (kind === 'ssh') {
      return new ImsgExitedError(`${prefix}${said}`, {...base, code: 'imsg_unreachable', fix: FIXES.ssh()})
    }
    return new ImsgExitedError(`${prefix}${said}`, {...base, code: 'imsg_exited', fix: FIXES.exited()})
  }

  private finish(info: ExitInfo): void {
    if (this.exitInfo) return
    const rest = this.stdoutLines.takeRest()
    if (rest.trim() !== '') this.onLine(rest)
    this.exitInfo = info
    live.delete(this)
    // Release our pipe ends: a grandchild still holding them (a wrapper that did not `exec`)
    // then sees EOF and exits like imsg does, instead of lingering.
    this.stdin.destroy()
    ;(this.child.stdout as Readable | null)?.destroy()
    ;(this.child.stderr as Readable | null)?.destroy()
    if (this.nonJsonCount > this.floodLoggedCount) {
      this.log.warn('imsg printed non-JSON lines on stdout', {count: this.nonJsonCount, kind: this.kind})
    }
    if (!this.closing || this.pending.size > 0) {
      this.log.debug('imsg exited', {code: info.code, signal: info.signal, spawnError: info.spawnError})
    }
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer)
      this.pending.delete(id)
      p.reject(this.exitError(p.method))
    }
    for (const s of this.streams.values()) {
      const e = this.exitError('watch.subscribe')
      s.end(
        new ImsgWatchEndedError(e.message, {
          code: e.code,
          reason: 'exited',
          subscription: s.subscription,
          fix: e.fix,
          kind: e.kind,
          diagnostics: e.diagnostics,
          restartRequired: true,
        }),
      )
    }
    this.streams.clear()
    this.resolveExited(info)
  }
}

/**
 * One `watch.subscribe` subscription as an async iterable of messages. Iteration ends quietly
 * after unsubscribe(); it throws ImsgWatchEndedError after an `error` or `watch.overflow`
 * notification or when the child exits (with `resumeAfterRowid` for an overflow).
 */
export class WatchStream implements AsyncIterable<ImsgMessage> {
  /** Highest message `cursor` (0.14+) or `id` seen: the resume point for since_rowid. */
  lastCursor?: number
  private readonly queue: ImsgMessage[] = []
  private waiters: Array<{resolve: (r: IteratorResult<ImsgMessage>) => void; reject: (e: Error) => void}> = []
  private done = false
  private error?: ImsgWatchEndedError

  constructor(
    private readonly client: ImsgClient,
    readonly subscription: number,
    readonly bufferLimit?: number,
  ) {}

  /** Why the stream ended (undefined while running or after a clean unsubscribe). */
  get endCause(): ImsgWatchEndedError | undefined {
    return this.error
  }

  get ended(): boolean {
    return this.done
  }

  /** @internal */
  push(m: ImsgMessage): void {
    if (this.done) return
    const c = typeof m.cursor === 'number' ? m.cursor : m.id
    if (typeof c === 'number' && (this.lastCursor === undefined || c > this.lastCursor)) this.lastCursor = c
    const w = this.waiters.shift()
    if (w) w.resolve({value: m, done: false})
    else this.queue.push(m)
  }

  /** @internal */
  end(err?: ImsgWatchEndedError): void {
    if (this.done) return
    this.done = true
    this.error = err
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) {
      if (err) w.reject(err)
      else w.resolve({value: undefined, done: true})
    }
  }

  async unsubscribe(): Promise<void> {
    if (!this.done) this.end()
    await this.client.unsubscribeId(this.subscription)
  }

  next(): Promise<IteratorResult<ImsgMessage>> {
    const m = this.queue.shift()
    if (m) return Promise.resolve({value: m, done: false})
    if (this.done) return this.error ? Promise.reject(this.error) : Promise.resolve({value: undefined, done: true})
    return new Promise((resolve, reject) => this.waiters.push({resolve, reject}))
  }

  [Symbol.asyncIterator](): AsyncIterator<ImsgMessage> {
    return {
      next: () => this.next(),
      return: async () => {
        if (!this.done) await this.unsubscribe().catch(() => {})
        return {value: undefined, done: true}
      },
    }
  }
}
