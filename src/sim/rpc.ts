// `imsg rpc`: JSON-RPC 2.0 over stdio, one compact JSON object per line (protocol §3–§6), in the
// lenient (≤0.13) or strict (0.14+) era, plus the failure knobs of the contract.
import {isUtf8} from 'node:buffer'
import fs from 'node:fs'
import {Bridge, bridgeConfig, bridgeMethods, bridgeStatus, notStarted} from './bridge.js'
import {type DB, localAccount, openExisting, openReadonly, Writer} from './db.js'
import {
  isoToApple, lBool, lInt, lStr, lStrArray, pick, validateStrict,
} from './params.js'
import {encodeChatRpc, type Json, type JsonObject, Reader} from './query.js'
import {internalError, invalidParams, performSend, RpcError, type SendParams} from './send.js'
import {
  BRIDGE_NOT_STARTED, DB_DETAIL_MISSING, DB_DETAIL_UNREADABLE, DEFAULT_GARBAGE, permissionBanner,
  rawPermissionDenied,
} from './texts.js'
import {atLeast, compiledMethods, DB_METHODS, type Emulation, SERVED_METHODS, truthy} from './version.js'
import {handleTracked, TRACKED_METHODS, trackedMethodsListed} from './tracked.js'

type Id = string | number | null | boolean | JsonObject | Json[]

interface Sub {
  id: number
  chatId?: number
  cursor: number
  participants?: Set<string>
  startNs?: bigint
  endNs?: bigint
  attachments: boolean
  includeReactions: boolean
  debounceMs: number
  bufferLimit: number
  emitted: number
  ended: boolean
  timer?: NodeJS.Timeout
}

/** The single FIFO mutation lane (0.14+): sends, bridge mutations, typing and read (§3.4). */
const MUTATION = /^(send(\..+)?|tapback|typing|read|message\.(edit|unsend|delete|notifyAnyways)|chats\.(create|delete|markUnread)|group\..+|poll\.(send|vote|unvote)|messages\.poll\..+|polls\.unvote|contacts\.shareContactCard)$/

const PARSE_ERROR_TEXT = 'The data couldn\u2019t be read because it isn\u2019t in the correct format.'
const MAX_OUTSTANDING = 128
const MAX_SUBSCRIPTIONS = 64

export interface RpcOptions {
  dbPath: string
  env: NodeJS.ProcessEnv
  em: Emulation
}

function envInt(env: NodeJS.ProcessEnv, key: string): number | undefined {
  const v = env[key]
  if (v === undefined || v.trim() === '') return undefined
  const n = Number.parseInt(v, 10)
  return Number.isFinite(n) ? n : undefined
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

function shuffleKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shuffleKeys)
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
    for (let i = entries.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1))
      ;[entries[i], entries[j]] = [entries[j]!, entries[i]!]
    }
    return Object.fromEntries(entries.map(([k, x]) => [k, shuffleKeys(x)]))
  }
  return v
}

/** Runs the server until stdin EOF; resolves with the exit code. */
export function runRpc(o: RpcOptions): Promise<number> {
  return new Server(o).start()
}

class Server {
  private readonly env: NodeJS.ProcessEnv
  private readonly em: Emulation
  private readonly strict: boolean
  private lines = 0
  private readonly crashAfter?: number
  private readonly delayMs: number
  private readonly escape: boolean
  private readonly shuffle: boolean
  private readonly hang: boolean
  private readonly watchErrorAfter?: number
  private readonly watchBatch: number
  private readonly fallbackMs: number
  private readonly drain: boolean

  private db?: DB
  private reader?: Reader
  private writer?: Writer
  private watchDb?: DB
  private dataVersion?: number
  private poller?: NodeJS.Timeout
  private fallback?: NodeJS.Timeout
  /** lenient 0.8.2–0.13 without a readable DB: answer every line with the banner, exit 1 at EOF */
  private startupError?: string
  /** strict degraded start: why the DB is unavailable */
  private dbCause?: 'fda' | 'missing'

  private readonly subs = new Map<number, Sub>()
  private nextSub = 1
  private outstanding = 0
  /** The operation that is still in flight: every later mutation gets -32004 until the child restarts. */
  private mutationStuck?: string
  private readonly bridgeCfg
  private bridgeImpl?: Bridge
  private readonly inflight = new Set<Promise<void>>()
  private mutationChain: Promise<void> = Promise.resolve()
  private queue: Buffer[] = []
  private processing = false
  private eof = false
  private done?: (code: number) => void

  constructor(private readonly o: RpcOptions) {
    this.env = o.env
    this.em = o.em
    this.strict = o.em.strict
    this.crashAfter = envInt(o.env, 'IMSG_SIM_CRASH_AFTER')
    this.delayMs = envInt(o.env, 'IMSG_SIM_DELAY_MS') ?? 0
    this.escape = truthy(o.env.IMSG_SIM_ESCAPE_SLASHES)
    this.shuffle = truthy(o.env.IMSG_SIM_SHUFFLE_KEYS)
    this.hang = truthy(o.env.IMSG_SIM_HANG)
    this.watchErrorAfter = envInt(o.env, 'IMSG_SIM_WATCH_ERROR_AFTER')
    this.watchBatch = Math.max(1, envInt(o.env, 'IMSG_SIM_WATCH_BATCH') ?? 100)
    this.fallbackMs = Math.max(10, envInt(o.env, 'IMSG_SIM_FALLBACK_POLL_MS') ?? 5000)
    this.drain = truthy(o.env.IMSG_SIM_WATCH_DRAIN)
    this.bridgeCfg = bridgeConfig(o.env)
  }

  /** Bridge methods; rebuilt when the DB opens (degraded start) so chat lookups see it. */
  private get bridge(): Bridge {
    if (!this.bridgeImpl) {
      this.bridgeImpl = new Bridge(this.bridgeCfg, {strict: this.strict, db: this.db, writer: this.writer,
        region: this.env.IMSG_SIM_REGION || 'US'})
    }
    return this.bridgeImpl
  }

  start(): Promise<number> {
    return new Promise<number>((resolve) => {
      this.done = resolve
      if (this.crashAfter === 0) this.crash()
      const garbage = envInt(this.env, 'IMSG_SIM_GARBAGE') ?? 0
      const gtext = this.env.IMSG_SIM_GARBAGE_TEXT || DEFAULT_GARBAGE
      for (let i = 0; i < garbage; i++) this.writeLine(gtext)

      const cause = this.openCause()
      if (cause) {
        const v = this.em.v
        if (!atLeast(v, '0.7.0')) {
          this.writeLine(rawPermissionDenied(this.o.dbPath, cause))
          resolve(1)
          return
        }
        if (!atLeast(v, '0.8.2')) {
          this.writeLine(permissionBanner(this.o.dbPath, cause))
          resolve(1)
          return
        }
        if (this.strict) this.dbCause = cause
        else this.startupError = permissionBanner(this.o.dbPath, cause)
      } else {
        this.openDb()
      }
      // the client went away: imsg would die of SIGPIPE
      process.stdout.on('error', () => process.exit(0))
      if (this.hang && truthy(this.env.IMSG_SIM_IGNORE_SIGTERM)) process.on('SIGTERM', () => {})
      // A hung imsg outlives every client timeout, but not forever: behind sshd nobody is left
      // to kill it, and test runs must not leave processes behind.
      if (this.hang) setTimeout(() => process.exit(1), Number(this.env.IMSG_SIM_HANG_MAX_MS ?? 120_000)).unref()
      this.readStdin()
    })
  }

  /** Why chat.db cannot be opened, or undefined when it can. */
  private openCause(): 'fda' | 'missing' | undefined {
    if (this.env.IMSG_SIM_FDA === 'missing') return 'fda'
    if (!fs.existsSync(this.o.dbPath)) return 'missing'
    return undefined
  }

  private openDb(): void {
    this.db = openExisting(this.o.dbPath)
    this.reader = new Reader(this.db, this.em.v)
    this.writer = new Writer(this.db, localAccount(this.env))
    this.bridgeImpl = undefined
  }

  /** Strict degraded mode retries the DB on every request and status (§3.9). */
  private dbReady(): boolean {
    if (this.reader) return true
    if (this.startupError) return false
    const cause = this.openCause()
    this.dbCause = cause
    if (cause) return false
    this.openDb()
    return true
  }

  private dbUnavailable(): RpcError {
    return new RpcError(-32002, 'Database unavailable', {
      path: this.o.dbPath,
      detail: this.dbCause === 'missing' ? DB_DETAIL_MISSING : DB_DETAIL_UNREADABLE,
      retryable: true,
    })
  }

  // ------------------------------------------------------------------ output

  private writeLine(s: string): void {
    process.stdout.write(s + '\n')
    this.lines++
    if (this.crashAfter !== undefined && this.lines >= this.crashAfter) this.crash()
  }

  private crash(): never {
    process.stderr.write('imsg/RPCServer.swift:212: Fatal error: simulated crash (IMSG_SIM_CRASH_AFTER)\n')
    process.exit(134)
  }

  private send(obj: JsonObject): void {
    let s = JSON.stringify(this.shuffle ? shuffleKeys(obj) : obj)
    if (this.escape) s = s.replaceAll('/', '\\/')
    this.writeLine(s)
  }

  private respond(id: Id, result: Json): void {
    if (this.writeFailed(id)) return
    this.send({jsonrpc: '2.0', id: id as Json, result})
  }

  /** IMSG_SIM_WRITE_FAILURE=<id>: that response fails to serialize; imsg writes the id-less line instead (§3.2). */
  private writeFailed(id: Id): boolean {
    const target = this.env.IMSG_SIM_WRITE_FAILURE
    if (target === undefined || target === '' || String(id) !== target) return false
    this.send({jsonrpc: '2.0', error: {code: -32603, message: 'write failed'}})
    return true
  }

  private respondError(id: Id, e: RpcError): void {
    if (this.writeFailed(id)) return
    const error: JsonObject = {code: e.code, message: e.rpcMessage}
    if (e.data !== undefined) error.data = e.data as Json
    this.send({jsonrpc: '2.0', id: id as Json, error})
  }

  private notify(method: string, params: JsonObject): void {
    this.send({jsonrpc: '2.0', method, params})
  }

  // ------------------------------------------------------------------ input

  private readStdin(): void {
    let partial: Buffer = Buffer.alloc(0)
    process.stdin.on('data', (chunk: Buffer) => {
      let buf = partial.length > 0 ? Buffer.concat([partial, chunk]) : chunk
      let nl: number
      while ((nl = buf.indexOf(0x0a)) >= 0) {
        this.accept(buf.subarray(0, nl))
        buf = buf.subarray(nl + 1)
      }
      partial = Buffer.from(buf)
    })
    process.stdin.on('end', () => {
      if (partial.length > 0) this.accept(partial)
      this.eof = true
      if (this.hang) {
        setInterval(() => {}, 1 << 30) // a hung imsg never notices EOF
        return
      }
      if (this.strict) void this.finishStrict()
      else this.pump()
    })
  }

  private accept(raw: Buffer): void {
    if (this.hang) return
    if (this.strict) this.handleStrict(raw)
    else {
      this.queue.push(raw)
      this.pump()
    }
  }

  /** Lenient: one request at a time, in order (§3.3 rule 11). */
  private pump(): void {
    if (this.processing) return
    const next = this.queue.shift()
    if (next === undefined) {
      if (this.eof) this.finish(this.startupError ? 1 : 0)
      return
    }
    this.processing = true
    void this.handleLenient(next).finally(() => {
      this.processing = false
      this.pump()
    })
  }

  private finish(code: number): void {
    for (const s of this.subs.values()) this.cancel(s)
    this.subs.clear()
    if (this.poller) clearInterval(this.poller)
    if (this.fallback) clearInterval(this.fallback)
    this.done?.(code)
  }

  private async finishStrict(): Promise<void> {
    // stop admission, cancel watches, drain accepted requests, flush (§3.1)
    for (const s of this.subs.values()) this.cancel(s)
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight])
    this.finish(0)
  }

  private parse(raw: Buffer): {ok: true; value: unknown} | {ok: false; error: RpcError} | undefined {
    if (!isUtf8(raw)) return {ok: false, error: new RpcError(-32700, 'Parse error', 'invalid utf8')}
    const text = raw.toString('utf8').trim()
    if (text === '') return undefined
    try {
      return {ok: true, value: JSON.parse(text)}
    } catch {
      return {ok: false, error: new RpcError(-32700, 'Parse error', PARSE_ERROR_TEXT)}
    }
  }

  private async handleLenient(raw: Buffer): Promise<void> {
    const parsed = this.parse(raw)
    if (parsed === undefined) return
    if (this.startupError) {
      const v = parsed.ok ? parsed.value : undefined
      const id = v && typeof v === 'object' && !Array.isArray(v) && 'id' in v ? (v as {id: Id}).id : null
      await this.delay()
      this.respondError(id, internalError(this.startupError))
      return
    }
    if (!parsed.ok) return this.delayed(() => this.respondError(null, parsed.error))
    const req = parsed.value
    if (!req || typeof req !== 'object' || Array.isArray(req)) {
      return this.delayed(() => this.respondError(null, new RpcError(-32600, 'Invalid Request', 'request must be an object')))
    }
    const r = req as Record<string, unknown>
    const hasId = 'id' in r
    const id: Id = hasId ? (r.id as Id) : null
    try {
      if ('jsonrpc' in r && r.jsonrpc !== '2.0') throw new RpcError(-32600, 'Invalid Request', 'jsonrpc must be 2.0')
      if (typeof r.method !== 'string' || r.method === '') throw new RpcError(-32600, 'Invalid Request', 'method is required')
      const params = r.params && typeof r.params === 'object' && !Array.isArray(r.params) ? (r.params as Record<string, unknown>) : {}
      const method = r.method
      if (!compiledMethods(this.em.v).includes(method)) throw new RpcError(-32601, 'Method not found', method)
      let early: (() => void) | undefined
      const result = await this.dispatch(method, params, (fn) => (early = fn))
      await this.delay()
      if (hasId) this.respond(id, result)
      early?.()
    } catch (e) {
      await this.delay()
      this.respondError(id, toRpcError(e))
    }
  }

  private handleStrict(raw: Buffer): void {
    const parsed = this.parse(raw)
    if (parsed === undefined) return
    if (!parsed.ok) return void this.track(this.delayed(() => this.respondError(null, parsed.error)))
    const req = parsed.value
    if (!req || typeof req !== 'object' || Array.isArray(req)) {
      return void this.track(this.delayed(() => this.respondError(null, new RpcError(-32600, 'Invalid Request', 'request must be an object'))))
    }
    const r = req as Record<string, unknown>
    const hasId = 'id' in r
    const id = r.id
    if (hasId && id !== null && typeof id !== 'string' && typeof id !== 'number') {
      return void this.track(this.delayed(() => this.respondError(null, new RpcError(-32600, 'Invalid Request', 'id must be a string, number, or null'))))
    }
    // a notification (no id key) never gets any response (§3.4)
    const reply = (fn: () => void) => {
      if (hasId) fn()
    }
    const fail = (e: RpcError) => void this.track(this.delayed(() => reply(() => this.respondError(id as Id, e))))
    if (r.jsonrpc !== '2.0') return fail(new RpcError(-32600, 'Invalid Request', 'jsonrpc must be exactly 2.0'))
    if (typeof r.method !== 'string' || r.method === '') return fail(new RpcError(-32600, 'Invalid Request', 'method is required'))
    if (this.outstanding >= MAX_OUTSTANDING) {
      if (hasId) this.respondError(id as Id, new RpcError(-32000, 'Server busy', 'outstanding request limit exceeded'))
      return
    }
    const method = r.method
    this.outstanding++
    const run = async () => {
      try {
        if ('params' in r && (r.params === null || typeof r.params !== 'object' || Array.isArray(r.params))) {
          throw invalidParams('params must be an object when present')
        }
        const params = (r.params ?? {}) as Record<string, unknown>
        if (!compiledMethods(this.em.v).includes(method)) throw new RpcError(-32601, 'Method not found', method)
        validateStrict(method, params)
        if (this.mutationStuck !== undefined && MUTATION.test(method)) {
          throw new RpcError(-32004, 'Mutation lane blocked', {retry_safe: false, disposition: 'not_started',
            transport: 'bridge_v2', operation: method,
            detail: `A prior ${this.mutationStuck} remains in flight. Restart the RPC child before sending another mutation.`})
        }
        await this.delay()
        let after: (() => void) | undefined
        const result = await this.dispatch(method, params, (fn) => (after = fn))
        reply(() => this.respond(id as Id, result))
        after?.() // the subscribe response always precedes its first notification
      } catch (e) {
        reply(() => this.respondError(id as Id, toRpcError(e)))
      } finally {
        this.outstanding--
      }
    }
    if (MUTATION.test(method)) {
      // the single mutation lane: FIFO, one at a time (sends, tracked sends, bridge mutations, typing and read)
      const p = this.mutationChain.then(run)
      this.mutationChain = p
      this.track(p)
    } else this.track(run())
  }

  private track(p: Promise<void>): void {
    this.inflight.add(p)
    void p.finally(() => this.inflight.delete(p))
  }

  private async delay(): Promise<void> {
    if (this.hang) await new Promise(() => {})
    if (this.delayMs > 0) await sleep(this.delayMs)
  }

  private async delayed(fn: () => void): Promise<void> {
    await this.delay()
    fn()
  }

  // ------------------------------------------------------------------ methods

  private async dispatch(method: string, p: Record<string, unknown>, afterResponse: (fn: () => void) => void): Promise<Json> {
    if (TRACKED_METHODS.has(method)) {
      return handleTracked(method, p, {strict: this.strict, env: this.env, em: this.em, db: this.db, writer: this.writer,
        dbReady: () => this.dbReady(), dbUnavailable: () => this.dbUnavailable()})
    }
    switch (method) {
      case 'typing':
        return this.typing(p)
      case 'read':
        return this.bridge.read(p)
      case 'tapback':
        return this.bridge.tapback(p)
      case 'send.rich':
        return this.sendRich(p)
    }
    if (!SERVED_METHODS.has(method)) {
      // bridge mutations answer not_started; -32003 is only for non-mutating bridge calls (addendum §8.1)
      if (this.strict && MUTATION.test(method)) throw notStarted(method)
      if (this.strict) throw new RpcError(-32003, 'Bridge unavailable', {detail: BRIDGE_NOT_STARTED, retryable: true})
      throw internalError(BRIDGE_NOT_STARTED)
    }
    if (method === 'initialize') {
      const pv = p.protocol_version
      if (pv !== undefined && pv !== 1) throw invalidParams(`unsupported protocol_version ${String(pv)}; this server speaks 1`)
      return this.status()
    }
    if (method === 'status') return this.status()
    if (DB_METHODS.has(method) && this.strict && !this.dbReady()) throw this.dbUnavailable()
    switch (method) {
      case 'chats.list':
        return this.chatsList(p)
      case 'messages.history':
        return this.history(p)
      case 'messages.after':
        return this.messagesAfter(p)
      case 'watch.subscribe':
        return this.subscribe(p, afterResponse)
      case 'watch.unsubscribe':
        return this.unsubscribe(p)
      case 'send':
        return this.doSend(p)
    }
    throw new RpcError(-32601, 'Method not found', method)
  }

  private status(): JsonObject {
    const ready = this.dbReady()
    const compiled = compiledMethods(this.em.v)
    const database: JsonObject = ready
      ? {path: this.o.dbPath, ready: true, features: {unread_state: true, scheduled_messages: true, reactions: true,
          reply_context: true, routing_metadata: true, balloon_payloads: true}}
      : {path: this.o.dbPath, ready: false,
          error: this.dbCause === 'missing' ? DB_DETAIL_MISSING : DB_DETAIL_UNREADABLE}
    const out: JsonObject = {
      version: this.em.display,
      protocol_version: 1,
      database,
      bridge: bridgeStatus(this.bridgeCfg),
      contacts: {available: true},
      methods: [...compiled.filter((m) => (SERVED_METHODS.has(m) && (ready || !DB_METHODS.has(m))) ||
        bridgeMethods(this.bridgeCfg).includes(m)),
        ...trackedMethodsListed(this.env, this.em, ready)].filter((m, i, all) => all.indexOf(m) === i),
      supported_methods: compiled,
    }
    if (atLeast(this.em.v, '0.15.0')) {
      out.capabilities = {engine: {version: this.em.display, commit: 'imsg-sim', built_at: '2026-01-01T00:00:00Z'},
        features: this.bridgeCfg.emoji ? {'tapback.emoji': 2} : {}}
    }
    return out
  }

  private limitParam(p: Record<string, unknown>, def: number): number {
    if (this.strict) {
      if (p.limit === undefined) return def
      const n = p.limit as number
      if (n < 1) throw invalidParams('limit must be a positive integer')
      return n
    }
    return Math.max(1, lInt(p.limit) ?? def)
  }

  private chatIdParam(p: Record<string, unknown>): number | undefined {
    if (this.strict) {
      if (p.chat_id === undefined) return undefined
      if ((p.chat_id as number) < 1) throw invalidParams('chat_id must be a positive integer')
      return p.chat_id as number
    }
    return lInt(p.chat_id)
  }

  private bool(p: Record<string, unknown>, ...keys: string[]): boolean {
    const v = pick(p, ...keys)
    return this.strict ? v === true : lBool(v) ?? false
  }

  private chatsList(p: Record<string, unknown>): JsonObject {
    const limit = this.limitParam(p, 20)
    const unread = atLeast(this.em.v, '0.13.0') && this.bool(p, 'unread_only', 'unreadOnly')
    const chats = this.reader!.listChats(limit, unread)
    return {chats: chats.map((c) => encodeChatRpc(c, this.em.v))}
  }

  private dateRange(p: Record<string, unknown>): {startNs?: bigint; endNs?: bigint} {
    const start = this.strict ? (p.start as string | undefined) : lStr(p.start)
    const end = this.strict ? (p.end as string | undefined) : lStr(p.end)
    return {
      startNs: start === undefined ? undefined : isoToApple(start, this.strict),
      endNs: end === undefined ? undefined : isoToApple(end, this.strict),
    }
  }

  private participantsParam(p: Record<string, unknown>): string[] | undefined {
    return this.strict ? (p.participants as string[] | undefined) : lStrArray(p.participants)
  }

  private history(p: Record<string, unknown>): JsonObject {
    const chatId = this.chatIdParam(p)
    if (chatId === undefined) throw invalidParams('chat_id is required')
    const limit = this.limitParam(p, 50)
    const participants = this.participantsParam(p)
    const {startNs, endNs} = this.dateRange(p)
    const attachments = this.bool(p, 'attachments')
    const rows = this.reader!.history({chatId, limit, participants, startNs, endNs})
    return {messages: rows.map((r) => this.reader!.encodeMessage(r, {attachments, reactions: true, chatId}))}
  }

  private messagesAfter(p: Record<string, unknown>): JsonObject {
    if (p.since_rowid === undefined) throw invalidParams('since_rowid is required')
    const since = p.since_rowid as number
    if (since < 0) throw invalidParams('since_rowid must be a non-negative integer')
    const limit = p.limit === undefined ? 100 : (p.limit as number)
    if (limit < 1 || limit > 500) throw invalidParams('limit must be between 1 and 500')
    const chatId = this.chatIdParam(p)
    const includeReactions = this.bool(p, 'include_reactions')
    const attachments = this.bool(p, 'attachments')
    const rows = this.reader!.watchBatch(since, chatId, includeReactions, limit + 1)
    const page = rows.slice(0, limit)
    const next = page.length > 0 ? page[page.length - 1]!.id : since
    return {
      messages: page.map((r) => this.reader!.encodeMessage(r, {attachments, reactions: includeReactions})),
      next_rowid: next,
      has_more: rows.length > limit,
    }
  }

  // ------------------------------------------------------------------ watch

  private subscribe(p: Record<string, unknown>, afterResponse: (fn: () => void) => void): JsonObject {
    if (this.strict && this.subs.size >= MAX_SUBSCRIPTIONS) {
      throw new RpcError(-32000, 'Server busy', 'subscription limit exceeded')
    }
    const chatId = this.chatIdParam(p)
    const debounceRaw = pick(p, 'debounce_ms', 'debounceMs')
    let debounceMs = 500
    if (debounceRaw !== undefined) {
      const n = this.strict ? (debounceRaw as number) : lInt(debounceRaw)
      if (n === undefined || n < 0) throw invalidParams('debounce_ms must be a non-negative integer')
      debounceMs = n
    }
    let bufferLimit = 256
    if (this.strict) {
      const b = pick(p, 'buffer_limit', 'bufferLimit') as number | undefined
      if (b !== undefined) {
        if (b < 1 || b > 4096) throw invalidParams('buffer_limit must be between 1 and 4096')
        bufferLimit = b
      }
    }
    const since = this.strict ? (p.since_rowid as number | undefined) : lInt(p.since_rowid)
    const participants = this.participantsParam(p)
    const {startNs, endNs} = this.dateRange(p)
    const sub: Sub = {
      id: this.nextSub++,
      chatId,
      cursor: since === undefined || since === 0 ? this.reader!.maxRowid() : since < 0 ? 0 : since,
      participants: participants && participants.length > 0 ? new Set(participants.map((x) => x.toLowerCase())) : undefined,
      startNs,
      endNs,
      attachments: this.bool(p, 'attachments'),
      includeReactions: this.bool(p, 'include_reactions'),
      debounceMs,
      bufferLimit,
      emitted: 0,
      ended: false,
    }
    this.subs.set(sub.id, sub)
    this.ensurePoller()
    const backlog = since !== undefined && since !== 0
    if (!this.strict && backlog && truthy(this.env.IMSG_SIM_EARLY_NOTIFY)) {
      this.poll(sub) // ≤0.13 race: backlog notification before the subscribe response (§4.3)
    } else {
      afterResponse(() => this.poll(sub))
    }
    return this.strict ? {subscription: sub.id, buffer_limit: bufferLimit} : {subscription: sub.id}
  }

  private unsubscribe(p: Record<string, unknown>): JsonObject {
    const raw = this.strict ? (p.subscription as number | undefined) : lInt(p.subscription)
    if (raw === undefined) throw invalidParams('subscription is required')
    if (this.strict && raw < 1) throw invalidParams('subscription must be a positive integer')
    const sub = this.subs.get(raw)
    if (sub) {
      this.cancel(sub)
      this.subs.delete(raw)
    }
    return {ok: true}
  }

  private cancel(sub: Sub): void {
    sub.ended = true
    if (sub.timer) clearTimeout(sub.timer)
    sub.timer = undefined
  }

  /** One poller per process: PRAGMA data_version every 10 ms on its own connection, plus the 5 s fallback. */
  private ensurePoller(): void {
    if (this.poller) return
    this.watchDb = openReadonly(this.o.dbPath)
    const stmt = this.watchDb.prepare('PRAGMA data_version')
    stmt.pluck()
    this.dataVersion = stmt.get() as number
    this.poller = setInterval(() => {
      let dv: number
      try {
        dv = stmt.get() as number
      } catch {
        return
      }
      if (dv === this.dataVersion) return
      this.dataVersion = dv
      for (const s of this.subs.values()) this.schedule(s)
    }, 10)
    this.fallback = setInterval(() => {
      for (const s of this.subs.values()) this.schedule(s)
    }, this.fallbackMs)
  }

  /** Debounce: a delay from the first event; later events merge into the pending poll (§6.3). */
  private schedule(sub: Sub): void {
    if (sub.ended || sub.timer) return
    sub.timer = setTimeout(() => {
      sub.timer = undefined
      this.poll(sub)
    }, sub.debounceMs)
  }

  private poll(sub: Sub): void {
    if (sub.ended) return
    const reader = this.reader!
    try {
      const overflow = this.strict && truthy(this.env.IMSG_SIM_BUFFER_OVERFLOW) &&
        reader.countAfter(sub.cursor) > sub.bufferLimit
      const rows = reader.watchBatch(sub.cursor, sub.chatId, sub.includeReactions,
        overflow ? sub.bufferLimit : this.watchBatch)
      for (const row of rows) {
        if (sub.ended) return
        if (this.watchErrorAfter !== undefined && sub.emitted >= this.watchErrorAfter) break
        sub.cursor = Math.max(sub.cursor, row.id)
        // 0.10+ drops rows that never got a chat join (fail-closed); before, they went out with chat_id 0
        if (row.chat_id === null && atLeast(this.em.v, '0.10.0')) continue
        if (!this.matches(sub, row.sender, row.destination_caller_id, row.date)) continue
        const msg = reader.encodeMessage(row, {attachments: sub.attachments, reactions: sub.includeReactions})
        if (this.strict) msg.cursor = row.id
        this.notify('message', {subscription: sub.id, message: msg})
        sub.emitted++
      }
      if (this.watchErrorAfter !== undefined && sub.emitted >= this.watchErrorAfter) {
        this.notify('error', {subscription: sub.id, error: {message: 'SQLite error 11: database disk image is malformed (simulated by IMSG_SIM_WATCH_ERROR_AFTER)'}})
        this.cancel(sub)
        return
      }
      if (overflow) {
        this.notify('watch.overflow', {subscription: sub.id, resume_after_rowid: sub.cursor,
          reason: 'buffer_limit_exceeded', terminal: true})
        this.cancel(sub)
        return
      }
      if (this.drain && rows.length >= this.watchBatch) this.schedule(sub)
    } catch (e) {
      this.notify('error', {subscription: sub.id, error: {message: e instanceof Error ? e.message : String(e)}})
      this.cancel(sub)
    }
  }

  private matches(sub: Sub, sender: string | null, dest: string | null, date: number | null): boolean {
    if (sub.participants) {
      const who = (sender || dest || '').toLowerCase()
      if (!sub.participants.has(who)) return false
    }
    if (sub.startNs !== undefined || sub.endNs !== undefined) {
      const d = BigInt(Math.round(date ?? 0))
      if (sub.startNs !== undefined && d < sub.startNs) return false
      if (sub.endNs !== undefined && d >= sub.endNs) return false
    }
    return true
  }

  // ------------------------------------------------------------------ send

  private doSend(p: Record<string, unknown>): JsonObject {
    const s = this.strict
    const str = (k: string) => (s ? (p[k] as string | undefined) : lStr(p[k]))
    const text = str('text')
    const file = str('file')
    if ((text ?? '') === '' && (file ?? '') === '') throw invalidParams('text or file is required')
    const to = str('to')
    const chatId = s ? (p.chat_id as number | undefined) : lInt(p.chat_id)
    const chatIdentifier = str('chat_identifier')
    const chatGuid = str('chat_guid')
    const selectors = [chatId !== undefined && (s || chatId !== 0), (chatIdentifier ?? '') !== '', (chatGuid ?? '') !== '']
    const hasChat = selectors.some(Boolean)
    if (s) {
      if (to !== undefined && to.trim() === '') throw invalidParams('to must be a non-empty string')
      if (to !== undefined && hasChat) throw invalidParams('use to or exactly one chat selector; not both')
      if (chatId !== undefined && chatId < 1) throw invalidParams('chat_id must be a positive integer')
      if (chatIdentifier === '') throw invalidParams('chat_identifier must be a non-empty string')
      if (chatGuid === '') throw invalidParams('chat_guid must be a non-empty string')
      if (selectors.filter(Boolean).length > 1) throw invalidParams('use exactly one of chat_id, chat_identifier, chat_guid')
    } else if ((to ?? '') !== '' && hasChat) {
      throw invalidParams('use to or chat_*; not both')
    }
    if (!hasChat && (to ?? '') === '') throw invalidParams('to is required for direct sends')
    const service = str('service') ?? 'auto'
    if (service !== 'auto' && service !== 'imessage' && service !== 'sms') throw invalidParams('invalid service')
    const v = this.em.v
    if (atLeast(v, '0.8.1')) {
      const transport = (str('transport') ?? 'auto').toLowerCase()
      if (!['auto', 'bridge', 'applescript'].includes(transport)) throw invalidParams('invalid transport')
      if (transport === 'bridge') {
        if (!hasChat) throw invalidParams('bridge transport requires an existing chat target')
        if (!this.bridgeCfg.ready) throw this.bridgeError('send')
      }
    }
    const replyTo = atLeast(v, '0.12.0') ? str('reply_to') ?? str('replyTo') ?? str('reply_to_guid') ?? str('message_guid') : undefined
    if (replyTo !== undefined) {
      if ((file ?? '') !== '') throw invalidParams('reply_to with file: use send.attachment')
      return this.threaded('send', p, text!, replyTo)
    }
    if (atLeast(v, '0.12.0') && pick(p, 'text_formatting', 'textFormatting', 'formatting') !== undefined && !this.bridgeCfg.ready) {
      throw this.bridgeError('send')
    }
    if (s && truthy(this.env.IMSG_SIM_MUTATION_BLOCKED)) {
      // the first send never settles; every later mutation is refused until the child restarts (-32004)
      const delivery = {retry_safe: false, transport: 'applescript', operation: 'send'}
      this.mutationStuck = 'send'
      throw new RpcError(-32001, 'Delivery outcome unknown', {...delivery, disposition: 'still_in_flight',
        detail: 'The send did not finish before its deadline and may still complete. Do not retry.'})
    }
    const needsDb = chatId !== undefined
    if (s && needsDb && !this.dbReady()) throw this.dbUnavailable()
    const params: SendParams = {
      to: hasChat ? undefined : to,
      chatId: selectors[0] ? chatId : undefined,
      chatIdentifier: selectors[1] ? chatIdentifier : undefined,
      chatGuid: selectors[2] ? chatGuid : undefined,
      text,
      file,
      service,
      region: str('region') || 'US',
      strict: s,
    }
    const out = performSend(params, {writer: this.writer, reader: this.reader, env: this.env, now: () => Date.now()})
    return sendResult(v, out)
  }

  private bridgeError(operation: string): RpcError {
    if (this.strict) return notStarted(operation)
    return internalError(BRIDGE_NOT_STARTED)
  }

  // ------------------------------------------------------------------ bridge

  private async typing(p: Record<string, unknown>): Promise<JsonObject> {
    const stuckMs = this.bridgeCfg.typingStuckMs
    if (stuckMs !== undefined && this.strict) {
      // the helper never answers: the call holds the mutation lane, then poisons it (addendum §1, §8.5)
      this.bridge.typing(p) // validation and target checks first
      await sleep(stuckMs)
      this.mutationStuck = 'typing'
      throw this.bridge.stuckTypingError()
    }
    return this.bridge.typing(p)
  }

  private sendRich(p: Record<string, unknown>): JsonObject {
    const text = (this.strict ? p.text ?? p.message : lStr(p.text) ?? lStr(p.message)) as string | undefined
    if ((text ?? '') === '') throw invalidParams('text is required')
    const replyTo = (this.strict ? pick(p, 'reply_to', 'replyTo', 'reply_to_guid', 'message_guid') : lStr(pick(p, 'reply_to', 'replyTo', 'reply_to_guid', 'message_guid'))) as string | undefined
    if (replyTo === undefined) {
      if (!this.bridgeCfg.ready) throw this.bridgeError('send.rich')
      throw invalidParams('the simulator serves send.rich only with reply_to')
    }
    return this.threaded('send.rich', p, text!, replyTo)
  }

  private threaded(method: string, p: Record<string, unknown>, text: string, replyTo: string): JsonObject {
    const row = this.bridge.threadedSend(method, p, text, replyTo)
    const r = sendResult(this.em.v, row)
    if ('transport' in r) r.transport = 'bridge'
    return r
  }
}

/** `send` result shape of the emulated version (§4.5). */
export function sendResult(v: readonly [number, number, number], o: {id?: number; guid?: string; chatGuid: string; service: string}): JsonObject {
  const r: JsonObject = {ok: true}
  if (!atLeast(v, '0.6.0')) return r
  if (atLeast(v, '0.8.1')) r.transport = 'applescript'
  if (o.id !== undefined) r.id = o.id
  if (o.guid !== undefined) r.guid = o.guid
  if (atLeast(v, '0.10.0')) {
    if (o.guid !== undefined) r.message_id = o.guid
    if (o.chatGuid) r.chat_guid = o.chatGuid
    r.service = o.service
  }
  return r
}

function toRpcError(e: unknown): RpcError {
  if (e instanceof RpcError) return e
  return internalError(e instanceof Error ? e.message : String(e))
}
