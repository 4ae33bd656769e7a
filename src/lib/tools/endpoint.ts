import {createHash} from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {RemoteclawError} from '../errors.js'
import type {Logger} from '../log.js'
import {ensureDir700} from '../util/files.js'
import type {ToolDispatcher} from './dispatch.js'
import {MAX_LINE_BYTES, MCP_SERVER_NAME, SOCKET_ENV, TOKEN_ENV, type EndpointRequest, type EndpointResponse} from './protocol.js'
import type {McpServerSpec, TurnScope} from './types.js'

/** sun_path is 104 bytes on macOS (108 on Linux); keep a margin for the NUL. */
const MAX_SOCKET_PATH = 100
/** A connection that has not sent a whole request by then is closed. */
const REQUEST_TIMEOUT_MS = 10_000
const MAX_CONNECTIONS = 32

export interface TurnTools {
  /** The per-turn secret (also inside spec.env). */
  token: string
  /** How the agent CLI starts the MCP server for this turn. */
  spec: McpServerSpec
  /** Ends the turn: the token is refused from now on. Idempotent. */
  close(): void
}

export interface ToolEndpointOptions {
  stateDir: string
  dispatcher: ToolDispatcher
  log: Logger
  random: (size: number) => Buffer
  /** How to start the MCP server (default: this node running dist/mcp-server.js). */
  mcpCommand?: {command: string; args: string[]}
}

/**
 * <stateDir>/tools/gateway.sock, or, when that path is too long for a Unix socket, a 0700 folder
 * in the temp dir named after the state dir (one per state dir, like the gateway itself).
 */
export function toolSocketPath(stateDir: string): string {
  const p = path.join(stateDir, 'tools', 'gateway.sock')
  if (Buffer.byteLength(p) <= MAX_SOCKET_PATH) return p
  const id = createHash('sha256').update(path.resolve(stateDir)).digest('hex').slice(0, 16)
  return path.join(os.tmpdir(), `remoteclaw-${process.getuid?.() ?? 'u'}-${id}`, 'gateway.sock')
}

/**
 * node + the built entry point (dist/mcp-server.js); under tsx (tests from src/) the .ts entry
 * through tsx. Found from the package root, the nearest folder up with a package.json: this
 * code runs from src/lib/tools/, dist/lib/tools/ or the bundle dist/remoteclaw.cjs.
 */
export function defaultMcpCommand(): {command: string; args: string[]} {
  const here = fileURLToPath(import.meta.url)
  let root = path.dirname(here)
  while (!fs.existsSync(path.join(root, 'package.json')) && path.dirname(root) !== root) root = path.dirname(root)
  const js = path.join(root, 'dist', 'mcp-server.js')
  const ts = path.join(root, 'src', 'mcp-server.ts')
  if (here.endsWith('.ts') && fs.existsSync(ts)) {
    try {
      return {command: process.execPath, args: ['--import', import.meta.resolve('tsx'), ts]}
    } catch {
      // no tsx: fall through to the built entry, whose absence the agent CLI reports
    }
  }
  return {command: process.execPath, args: [js]}
}

function tokenId(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/**
 * The gateway's tool socket: one per state dir, 0600 in a 0700 folder. Each agent turn gets a
 * token from openTurn(); a request is answered only while its turn is open, and only within
 * that turn's scope (the dispatcher decides).
 */
export class ToolEndpoint {
  readonly socketPath: string
  private server: net.Server | undefined
  private readonly turns = new Map<string, TurnScope>()
  private readonly sockets = new Set<net.Socket>()
  private mcpCommand: {command: string; args: string[]} | undefined

  constructor(private readonly o: ToolEndpointOptions) {
    this.socketPath = toolSocketPath(o.stateDir)
  }

  get openTurns(): number {
    return this.turns.size
  }

  async start(): Promise<void> {
    const dir = path.dirname(this.socketPath)
    await ensureDir700(dir)
    const st = await fsp.lstat(dir)
    if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0) {
      throw new RemoteclawError(`the tool socket folder ${dir} is not a private folder of this user`, {
        code: 'tools_socket_dir',
        fix: `Remove it (rm -rf ${dir}) and start the gateway again.`,
      })
    }
    await this.clearStale()
    const server = net.createServer((sock) => this.onConnection(sock))
    server.maxConnections = MAX_CONNECTIONS
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      // umask so the socket is never group/world-connectable, even for an instant
      const old = process.umask(0o177)
      try {
        server.listen(this.socketPath, () => {
          server.off('error', reject)
          resolve()
        })
      } finally {
        process.umask(old)
      }
    })
    await fsp.chmod(this.socketPath, 0o600)
    server.on('error', (error) => this.o.log.error(`tool socket: ${error.message}`))
    this.server = server
    this.o.log.debug('agent tools listening', {socket: this.socketPath})
  }

  /** A socket file left by a killed gateway is removed; one that answers belongs to a live gateway. */
  private async clearStale(): Promise<void> {
    let st: fs.Stats
    try {
      st = await fsp.lstat(this.socketPath)
    } catch {
      return
    }
    if (!st.isSocket()) {
      throw new RemoteclawError(`${this.socketPath} exists and is not a socket`, {code: 'tools_socket', fix: `Remove it: rm ${this.socketPath}`})
    }
    const live = await new Promise<boolean>((resolve) => {
      const c = net.createConnection(this.socketPath)
      c.once('connect', () => {
        c.destroy()
        resolve(true)
      })
      c.once('error', () => resolve(false))
    })
    if (live) {
      throw new RemoteclawError(`another gateway serves agent tools on ${this.socketPath}`, {
        code: 'gateway_running',
        fix: 'Stop the other gateway that uses this state dir, or give this one its own: REMOTECLAW_STATE_DIR=<dir> remoteclaw gateway',
      })
    }
    await fsp.unlink(this.socketPath)
  }

  /** Mints the token of one turn. Call close() when the turn ends, whatever its outcome. */
  openTurn(scope: TurnScope): TurnTools {
    if (!this.server) throw new Error('ToolEndpoint.openTurn before start()')
    const token = this.o.random(32).toString('base64url')
    const id = tokenId(token)
    this.turns.set(id, scope)
    this.mcpCommand ??= this.o.mcpCommand ?? defaultMcpCommand()
    const spec: McpServerSpec = {
      name: MCP_SERVER_NAME,
      command: this.mcpCommand.command,
      args: [...this.mcpCommand.args],
      env: {[SOCKET_ENV]: this.socketPath, [TOKEN_ENV]: token},
    }
    return {token, spec, close: () => void this.turns.delete(id)}
  }

  async stop(): Promise<void> {
    const server = this.server
    this.server = undefined
    this.turns.clear()
    if (!server) return
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await fsp.unlink(this.socketPath).catch(() => {})
  }

  private onConnection(sock: net.Socket): void {
    this.sockets.add(sock)
    sock.on('close', () => this.sockets.delete(sock))
    sock.on('error', () => {}) // the peer went away; nothing to answer
    sock.setTimeout(REQUEST_TIMEOUT_MS, () => sock.destroy())
    let buf = Buffer.alloc(0)
    let handled = false
    const reply = (res: EndpointResponse) => {
      if (!sock.destroyed) sock.end(JSON.stringify(res) + '\n')
    }
    sock.on('data', (chunk: Buffer) => {
      if (handled) return
      buf = Buffer.concat([buf, chunk])
      const nl = buf.indexOf(0x0a)
      if (nl < 0) {
        if (buf.length > MAX_LINE_BYTES) {
          handled = true
          reply({ok: false, error: {code: 'too_large', message: `the request is larger than ${MAX_LINE_BYTES} bytes`}})
        }
        return
      }
      handled = true
      sock.setTimeout(0)
      void this.handle(buf.subarray(0, nl).toString('utf8')).then(reply, (error: Error) =>
        reply({ok: false, error: {code: 'internal', message: `the gateway failed on this request: ${error.message}`}}),
      )
    })
  }

  private async handle(line: string): Promise<EndpointResponse> {
    let req: EndpointRequest
    try {
      req = JSON.parse(line) as EndpointRequest
    } catch {
      return {ok: false, error: {code: 'bad_request', message: 'the request is not JSON'}}
    }
    if (!req || typeof req !== 'object' || req.v !== 1 || typeof req.token !== 'string') {
      return {ok: false, error: {code: 'bad_request', message: 'not a remoteclaw tool request (protocol version 1)'}}
    }
    const scope = this.turns.get(tokenId(req.token))
    if (!scope) {
      this.o.log.warn('tool request refused: unknown or expired token', {op: req.op, tool: req.op === 'call' ? req.tool : undefined})
      return {
        ok: false,
        error: {code: 'invalid_token', message: 'this tool token is not valid: the turn it belonged to has ended (tools work only during the turn that received them)'},
      }
    }
    if (req.op === 'list') return {ok: true, tools: this.o.dispatcher.list(scope)}
    if (req.op === 'call' && typeof req.tool === 'string') return {ok: true, result: await this.o.dispatcher.call(scope, req.tool, req.args)}
    return {ok: false, error: {code: 'bad_request', message: 'unknown request'}}
  }
}
