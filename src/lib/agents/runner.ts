import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type {AgentConfig} from '../config/schema.js'
import {liveSpawner, type Context} from '../context.js'
import {ExitCode, RemoteclawError, errorMessage} from '../errors.js'
import {LineSplitter, parseJsonLine} from './json-lines.js'
import {isPreset, PRESETS, presetPrompt, splitAttachments, type TurnParser} from './presets/index.js'
import {killMarked, killMarkedSync, newRunMarker, ownMarkerPrefix, RUN_MARKER_VAR} from './process-sweep.js'
import {parseAgentReact, type AgentReact} from './presence-context.js'
import {resolveAgent, type ResolvedAgent} from './resolve.js'
import type {AgentInput, AgentResult, AgentRunner, AgentRunOptions} from './types.js'

export type AgentRunnerContext = Pick<Context, 'env' | 'spawn' | 'log'>

/** stdout beyond this is an agent bug, not a reply (command runtime; a preset's longest JSON line). */
const MAX_OUTPUT_BYTES = 8 * 1024 * 1024
/** SIGTERM at timeoutMs, SIGKILL this long after if it is still there. */
const FORCE_KILL_AFTER_MS = 2000
/**
 * After the agent process exits, how long to keep reading pipes that a detached descendant
 * still holds open (a `setsid sleep 40 &`). What the agent wrote before exiting is in the pipe
 * already; the descendant must not hold the turn, and so the whole session, hostage.
 */
export const PIPE_GRACE_MS = 300
const STDERR_TAIL_CHARS = 1500
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * Agents run in their own process group so a timeout kills what they spawned too (a wrapper
 * script's `sleep` or model CLI would otherwise keep the pipes open and the run hanging).
 * Detached children are not killed by execa on exit, so we do it: no orphaned agents.
 */
const liveGroups = new Set<number>()
let exitHookInstalled = false
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    // already gone
  }
}
function trackGroup(pid: number): void {
  liveGroups.add(pid)
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const p of liveGroups) killGroup(p, 'SIGKILL')
    killMarkedSync(ownMarkerPrefix())
  })
}

/**
 * Ends every process an agent run of this gateway left behind, including descendants that left
 * the agent's process group. The gateway calls it when it stops; returns how many were killed.
 */
export async function killAgentLeftovers(): Promise<number> {
  for (const p of liveGroups) killGroup(p, 'SIGKILL')
  return killMarked(ownMarkerPrefix(), {exact: false})
}

function asResolved(agent: ResolvedAgent | AgentConfig): ResolvedAgent {
  return 'keyPath' in agent ? agent : resolveAgent(agent, 0, {})
}

/** PATH lookup (or a path check for names with a slash), like execvp would do. */
export function findExecutable(name: string, env: NodeJS.ProcessEnv, cwd?: string): string | undefined {
  const isExec = (p: string) => {
    try {
      fs.accessSync(p, fs.constants.X_OK)
      return fs.statSync(p).isFile()
    } catch {
      return false
    }
  }
  if (name.includes('/')) {
    const p = path.resolve(cwd ?? process.cwd(), name)
    return isExec(p) ? p : undefined
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue
    const p = path.join(dir, name)
    if (isExec(p)) return p
  }
  return undefined
}


interface Invocation {
  file: string
  args: string[]
  /** undefined: stdin is /dev/null */
  stdin?: string
  env?: Record<string, string>
  /** How to name the program in errors. */
  label: string
  parser?: TurnParser
}

async function invocationFor(
  agent: ResolvedAgent,
  input: AgentInput,
  opts: AgentRunOptions,
  env: NodeJS.ProcessEnv,
  cwd: string,
  scratch: () => Promise<string>,
): Promise<Invocation> {
  if (isPreset(agent.runtime)) {
    const preset = PRESETS[agent.runtime]
    const base = agent.command ?? [preset.bin]
    const {images, files} = splitAttachments(input)
    const built = await preset.build({prompt: presetPrompt(input, files), images, args: agent.args, resumeId: input.session?.id, mcp: opts.mcp, cwd, env, scratch})
    return {
      file: base[0]!,
      args: [...base.slice(1), ...built.argv],
      stdin: built.stdin,
      env: built.env,
      label: `the ${preset.label} CLI (${base[0]})`,
      parser: preset.parser((text) => opts.onBlock?.(text)),
    }
  }
  const command = agent.command!
  const stdin = agent.input === 'text' ? input.text : JSON.stringify(serialiseInput(input)) + '\n'
  return {
    file: command[0]!,
    args: [...command.slice(1), ...agent.args],
    stdin,
    env: opts.mcp ? {REMOTECLAW_MCP_SERVER: JSON.stringify(opts.mcp)} : undefined,
    label: `command ${command[0]}`,
  }
}

/** JSON stdin shape: times as ISO strings. */
export function serialiseInput(input: AgentInput): unknown {
  return {...input, history: input.history.map((h) => ({...h, createdAt: new Date(h.createdAt).toISOString()}))}
}

function notInstalled(agent: ResolvedAgent): RemoteclawError {
  if (isPreset(agent.runtime)) {
    const preset = PRESETS[agent.runtime]
    const exe = agent.command?.[0] ?? preset.bin
    return new RemoteclawError(`agent "${agent.id}" uses runtime ${agent.runtime}, but ${preset.label} (${exe}) was not found on PATH`, {
      code: 'agent_not_installed',
      fix: `Install it (${preset.install}) and check \`${preset.bin} --version\` in the gateway's environment, or set ${agent.keyPath}.command to its full path.`,
    })
  }
  const exe = agent.command?.[0] ?? ''
  return new RemoteclawError(`agent "${agent.id}": command ${exe} was not found${exe.includes('/') ? '' : ' on PATH'}`, {
    code: 'agent_not_installed',
    fix: `Install it, or set ${agent.keyPath}.command to the full path of the program (argv array, e.g. ["/usr/bin/node", "bot.js"]).`,
  })
}

/**
 * Startup check of one agent: the command runtime has a command, and the executable of a
 * command or preset agent exists. Throws RemoteclawError naming the CLI and how to install it.
 */
export function checkAgent(agent: ResolvedAgent | AgentConfig, ctx: Pick<Context, 'env'>): void {
  const a = asResolved(agent)
  if (a.runtime === 'echo') return
  if (a.runtime === 'command' && (!a.command || a.command.length === 0)) {
    throw new RemoteclawError(`${a.keyPath} (agent "${a.id}") has runtime command but no command`, {
      code: 'config_invalid',
      exitCode: ExitCode.CONFIG_INVALID,
      fix: `Set the argv to run, e.g.: remoteclaw config set '${a.keyPath}.command' '["node","bot.js"]'`,
    })
  }
  const exe = a.command?.[0] ?? (isPreset(a.runtime) ? PRESETS[a.runtime].bin : '')
  if (!findExecutable(exe, {...ctx.env, ...a.env}, a.cwd)) throw notInstalled(a)
}

function tail(s: string): string {
  const t = s.trimEnd()
  return t.length > STDERR_TAIL_CHARS ? '…' + t.slice(-STDERR_TAIL_CHARS) : t
}

function parseJsonOutput(stdout: string, cwd: string): {text?: string; files?: string[]; sessionId?: string; react?: AgentReact} | string {
  if (stdout.trim() === '') return {}
  let doc: unknown
  try {
    doc = JSON.parse(stdout)
  } catch (error) {
    return `output "json" but stdout is not JSON (${(error as Error).message})`
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return 'output "json" but stdout is not a JSON object'
  const {text, files, sessionId} = doc as {text?: unknown; files?: unknown; sessionId?: unknown}
  const react = parseAgentReact((doc as {react?: unknown}).react)
  if (typeof react === 'string') return react
  if (text !== undefined && text !== null && typeof text !== 'string') return 'output "json": "text" must be a string'
  if (files !== undefined && files !== null && !(Array.isArray(files) && files.every((f) => typeof f === 'string'))) {
    return 'output "json": "files" must be an array of paths'
  }
  if (sessionId !== undefined && sessionId !== null && typeof sessionId !== 'string') return 'output "json": "sessionId" must be a string'
  const out: {text?: string; files?: string[]; sessionId?: string; react?: AgentReact} = {}
  if (react) out.react = react
  const t = typeof text === 'string' ? text.trim() : ''
  if (t !== '') out.text = t
  const fl = Array.isArray(files) ? (files as string[]).filter((f) => f !== '').map((f) => path.resolve(cwd, f)) : []
  if (fl.length > 0) out.files = fl
  if (typeof sessionId === 'string' && sessionId.trim() !== '') out.sessionId = sessionId.trim()
  return out
}

/** How one agent process ended. */
interface ProcessOutcome {
  code?: number
  signal?: string
  /** Whole stdout (command runtime only; presets stream it through their parser). */
  stdout: string
  stderr: string
  timedOut: boolean
  tooMuchOutput: boolean
  /** The process could not be started (ENOENT, EACCES). */
  spawnError?: {code?: string; message: string}
  /** A descendant still held stdout/stderr when the process exited (it left the process group). */
  heldPipes: boolean
}

const STDERR_KEEP_BYTES = 64 * 1024

/**
 * Runs one agent process in its own process group and settles when the process exits: stdout is
 * read as it comes (line by line for presets), pipes still held by detached descendants are
 * given PIPE_GRACE_MS, then the whole group is killed, and, when some descendant escaped the
 * group, every process carrying this run's marker.
 */
async function runProcess(ctx: AgentRunnerContext, inv: Invocation, opts: {cwd?: string; env: NodeJS.ProcessEnv; timeoutMs: number; onLine?: (line: string) => void; onOversize?: (bytes: number) => void}): Promise<ProcessOutcome> {
  const marker = newRunMarker()
  const spawn = await liveSpawner(ctx.spawn)
  const sub = spawn(inv.file, inv.args, {
    cwd: opts.cwd,
    env: {...opts.env, ...inv.env, [RUN_MARKER_VAR]: marker},
    extendEnv: false,
    reject: false,
    detached: true,
    buffer: false,
    stdin: inv.stdin === undefined ? 'ignore' : 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const pid = sub.pid
  return new Promise<ProcessOutcome>((resolve) => {
    const out: ProcessOutcome = {stdout: '', stderr: '', timedOut: false, tooMuchOutput: false, heldPipes: false}
    const stdoutParts: Buffer[] = []
    let stdoutBytes = 0
    let stderrBuf = Buffer.alloc(0)
    let exited = false
    let settled = false
    let openStreams = 2
    const timers: NodeJS.Timeout[] = []
    const splitter = opts.onLine ? new LineSplitter(opts.onLine, {maxLineBytes: MAX_OUTPUT_BYTES, onOversize: opts.onOversize}) : undefined

    const settle = () => {
      if (settled) return
      settled = true
      for (const t of timers) clearTimeout(t)
      splitter?.end()
      if (pid !== undefined) {
        // End of the turn: nothing the agent started may outlive it.
        killGroup(pid, 'SIGKILL')
        liveGroups.delete(pid)
      }
      out.stdout = Buffer.concat(stdoutParts).toString('utf8')
      out.stderr = stderrBuf.toString('utf8')
      if (out.heldPipes) {
        sub.stdout?.destroy()
        sub.stderr?.destroy()
        killMarked(marker, {exact: true}).then(
          (n) => {
            if (n > 0) ctx.log.debug(`killed ${n} process(es) the agent left running outside its process group`, {marker})
            resolve(out)
          },
          () => resolve(out),
        )
        return
      }
      resolve(out)
    }
    const streamEnded = () => {
      openStreams--
      if (openStreams === 0 && exited) settle()
    }
    sub.stdout!.on('data', (chunk: Buffer) => {
      if (splitter) return splitter.push(chunk)
      stdoutBytes += chunk.length
      if (stdoutBytes > MAX_OUTPUT_BYTES) {
        if (!out.tooMuchOutput && pid !== undefined) killGroup(pid, 'SIGKILL')
        out.tooMuchOutput = true
        return
      }
      stdoutParts.push(chunk)
    })
    sub.stderr!.on('data', (chunk: Buffer) => {
      stderrBuf = Buffer.concat([stderrBuf, chunk])
      if (stderrBuf.length > STDERR_KEEP_BYTES) stderrBuf = stderrBuf.subarray(stderrBuf.length - STDERR_KEEP_BYTES)
    })
    for (const s of [sub.stdout!, sub.stderr!]) {
      let done = false
      const once = () => {
        if (!done) {
          done = true
          streamEnded()
        }
      }
      s.once('end', once)
      s.once('close', once)
      s.on('error', () => {})
    }
    if (inv.stdin !== undefined && sub.stdin) {
      // an agent that exits without reading its stdin is fine (EPIPE)
      sub.stdin.on('error', () => {})
      sub.stdin.end(inv.stdin)
    }
    sub.on('exit', (code, signal) => {
      exited = true
      out.code = code ?? undefined
      out.signal = signal ?? undefined
      if (openStreams === 0) return settle()
      timers.push(
        setTimeout(() => {
          out.heldPipes = true
          settle()
        }, PIPE_GRACE_MS),
      )
    })
    // Resolves once everything is over; for a process that never started it is the only signal.
    void sub.then((r) => {
      if (settled) return
      const res = r as {code?: string; exitCode?: number; shortMessage?: string; failed?: boolean}
      if (pid === undefined || (res.failed && res.exitCode === undefined && res.code)) {
        out.spawnError = {code: res.code, message: res.shortMessage ?? 'could not start'}
        settle()
      }
    })
    if (pid !== undefined) {
      trackGroup(pid)
      // capped: setTimeout fires at once for delays beyond 2^31-1 ms (about 24.8 days)
      timers.push(
        setTimeout(() => {
          out.timedOut = true
          killGroup(pid, 'SIGTERM')
          timers.push(setTimeout(() => killGroup(pid, 'SIGKILL'), FORCE_KILL_AFTER_MS))
        }, Math.min(opts.timeoutMs, MAX_TIMER_MS)),
      )
    }
  })
}

/**
 * A runner for one agent. run() never throws and never puts an error, stack or stderr in the
 * reply: failures (non-zero exit, a failure the CLI's stream reports, timeout, crash, bad output)
 * are logged with the stderr tail and give `{error}` plus `text: errorReply` when the agent has
 * one. A refused resume gives `{resumeRefused: true}` without errorReply: the caller runs the
 * turn again as a fresh session.
 */
export function createAgentRunner(agent: ResolvedAgent | AgentConfig, ctx: AgentRunnerContext): AgentRunner {
  const a = asResolved(agent)
  const log = ctx.log.child('agent', {agent: a.id})

  if (a.runtime === 'echo') {
    return {
      id: a.id,
      runtime: 'echo',
      run: async (input) => (input.text.trim() === '' ? {} : {text: input.text}),
    }
  }

  const fail = (input: AgentInput, error: string, fields: Record<string, unknown> = {}, sessionId?: string): AgentResult => {
    log.warn(`agent run failed: ${error}`, {sessionKey: input.sessionKey, ...fields, reply: a.errorReply === undefined ? 'none' : 'errorReply'})
    const base = sessionId ? {error, sessionId} : {error}
    return a.errorReply === undefined || a.errorReply === '' ? base : {...base, text: a.errorReply}
  }

  return {
    id: a.id,
    runtime: a.runtime,
    async run(input: AgentInput, opts: AgentRunOptions = {}): Promise<AgentResult> {
      if (a.runtime === 'command' && (!a.command || a.command.length === 0)) {
        return fail(input, `${a.keyPath} has runtime command but no command`)
      }
      const cwd = path.resolve(a.cwd ?? process.cwd())
      const env: NodeJS.ProcessEnv = {
        ...ctx.env,
        ...a.env,
        REMOTECLAW_SESSION_KEY: input.sessionKey,
        REMOTECLAW_CHANNEL: input.channel,
        REMOTECLAW_ACCOUNT_ID: input.accountId,
        REMOTECLAW_CHAT: input.chat.target,
        REMOTECLAW_SENDER: input.sender.handle,
        ...opts.env,
      }
      let scratchDir: string | undefined
      const scratch = async () => (scratchDir ??= await fsp.mkdtemp(path.join(os.tmpdir(), 'remoteclaw-run-')))
      try {
        let inv: Invocation
        try {
          inv = await invocationFor(a, input, opts, env, cwd, scratch)
        } catch (error) {
          return fail(input, `could not prepare the run: ${errorMessage(error)}`)
        }
        const started = Date.now()
        let badLines = 0
        const p = await runProcess(ctx, inv, {
          cwd: a.cwd,
          env,
          timeoutMs: a.timeoutMs,
          onLine: inv.parser
            ? (line) => {
                const e = parseJsonLine(line)
                if (e) inv.parser!.event(e)
                else if (line.trim() !== '') badLines++
              }
            : undefined,
          onOversize: (bytes) => log.warn(`skipped a stdout line of more than ${bytes} bytes from ${inv.label}`, {sessionKey: input.sessionKey}),
        })
        const stderr = tail(p.stderr)
        const ms = Date.now() - started
        const fields = {stderr, ms, ...(badLines > 0 ? {nonJsonLines: badLines} : {})}
        if (p.heldPipes) log.info(`${inv.label} exited but something it started kept its output open; stopped waiting after ${PIPE_GRACE_MS} ms and ended it`, {sessionKey: input.sessionKey})
        if (p.timedOut) return fail(input, `timed out after ${a.timeoutMs} ms (${a.keyPath}.timeoutMs); killed`, fields)
        if (p.spawnError) {
          if (p.spawnError.code === 'ENOENT') {
            const e = notInstalled(a)
            return fail(input, `${e.message}. ${e.fix}`)
          }
          return fail(input, `${inv.label} failed to start (${p.spawnError.message})`, fields)
        }
        if (p.tooMuchOutput) return fail(input, `printed more than ${MAX_OUTPUT_BYTES} bytes`, fields)
        if (inv.parser) {
          const t = inv.parser.finish({code: p.code, signal: p.signal, stderr: p.stderr})
          if (t.resumeRefused) {
            log.debug(`resume refused: ${t.error}`, {sessionKey: input.sessionKey, stderr})
            return {resumeRefused: true, error: t.error ?? 'resume refused'}
          }
          if (t.error) return fail(input, t.error, fields, t.sessionId)
          const text = (t.text ?? '').trim()
          log.debug('agent run ok', {sessionKey: input.sessionKey, ms, reply: text !== '', sessionId: t.sessionId})
          return {...(text === '' ? {} : {text}), ...(t.sessionId ? {sessionId: t.sessionId} : {})}
        }
        if (p.code !== 0 || p.signal) {
          const how = p.signal ? `killed by ${p.signal}` : `exited with code ${p.code}`
          return fail(input, `${inv.label} ${how}`, fields)
        }
        if (a.output === 'json') {
          const parsed = parseJsonOutput(p.stdout, cwd)
          if (typeof parsed === 'string') return fail(input, parsed, {...fields, stdout: tail(p.stdout)})
          log.debug('agent run ok', {sessionKey: input.sessionKey, ms})
          return parsed
        }
        const text = p.stdout.trim()
        log.debug('agent run ok', {sessionKey: input.sessionKey, ms, reply: text !== ''})
        return text === '' ? {} : {text}
      } finally {
        if (scratchDir) await fsp.rm(scratchDir, {recursive: true, force: true}).catch(() => {})
      }
    },
  }
}

/** checkAgent() for every agent: the problems found (empty when all can run), for startup logging. */
export function checkAgents(agents: Array<ResolvedAgent | AgentConfig>, ctx: Pick<Context, 'env'>): RemoteclawError[] {
  const problems: RemoteclawError[] = []
  for (const a of agents) {
    try {
      checkAgent(a, ctx)
    } catch (error) {
      if (error instanceof RemoteclawError) problems.push(error)
      else throw error
    }
  }
  return problems
}
