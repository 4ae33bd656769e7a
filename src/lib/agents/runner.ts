import fs from 'node:fs'
import path from 'node:path'
import type {AgentConfig} from '../config/schema.js'
import type {Context} from '../context.js'
import {ExitCode, RemoteclawError} from '../errors.js'
import {isPreset, PRESETS, presetPrompt} from './presets.js'
import {resolveAgent, type ResolvedAgent} from './resolve.js'
import type {AgentInput, AgentResult, AgentRunner, AgentRunOptions} from './types.js'

export type AgentRunnerContext = Pick<Context, 'env' | 'spawn' | 'log'>

/** stdout beyond this is an agent bug, not a reply. */
const MAX_OUTPUT_BYTES = 8 * 1024 * 1024
/** SIGTERM at timeoutMs, SIGKILL this long after if it is still there. */
const FORCE_KILL_AFTER_MS = 2000
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
  })
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
  stdin: string
  /** How to name the program in errors. */
  label: string
  install?: string
}

function invocationFor(agent: ResolvedAgent, input: AgentInput): Invocation {
  if (isPreset(agent.runtime)) {
    const preset = PRESETS[agent.runtime]
    const base = agent.command ?? [preset.bin]
    const built = preset.build(presetPrompt(input), agent.args)
    return {file: base[0]!, args: [...base.slice(1), ...built.argv], stdin: built.stdin, label: `the ${preset.label} CLI (${base[0]})`, install: preset.install}
  }
  const command = agent.command!
  const stdin = agent.input === 'text' ? input.text : JSON.stringify(serialiseInput(input)) + '\n'
  return {file: command[0]!, args: [...command.slice(1), ...agent.args], stdin, label: `command ${command[0]}`}
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

function parseJsonOutput(stdout: string, cwd: string): {text?: string; files?: string[]} | string {
  if (stdout.trim() === '') return {}
  let doc: unknown
  try {
    doc = JSON.parse(stdout)
  } catch (error) {
    return `output "json" but stdout is not JSON (${(error as Error).message})`
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return 'output "json" but stdout is not a JSON object'
  const {text, files} = doc as {text?: unknown; files?: unknown}
  if (text !== undefined && text !== null && typeof text !== 'string') return 'output "json": "text" must be a string'
  if (files !== undefined && files !== null && !(Array.isArray(files) && files.every((f) => typeof f === 'string'))) {
    return 'output "json": "files" must be an array of paths'
  }
  const out: {text?: string; files?: string[]} = {}
  const t = typeof text === 'string' ? text.trim() : ''
  if (t !== '') out.text = t
  const fl = Array.isArray(files) ? (files as string[]).filter((f) => f !== '').map((f) => path.resolve(cwd, f)) : []
  if (fl.length > 0) out.files = fl
  return out
}

/**
 * A runner for one agent. run() never throws and never puts an error, stack or stderr in the
 * reply: failures (non-zero exit, timeout, crash, bad output) are logged with the stderr tail
 * and give `{error}` plus `text: errorReply` when the agent has one.
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

  const fail = (input: AgentInput, error: string, fields: Record<string, unknown> = {}): AgentResult => {
    log.warn(`agent run failed: ${error}`, {sessionKey: input.sessionKey, ...fields, reply: a.errorReply === undefined ? 'none' : 'errorReply'})
    return a.errorReply === undefined || a.errorReply === '' ? {error} : {error, text: a.errorReply}
  }

  return {
    id: a.id,
    runtime: a.runtime,
    async run(input: AgentInput, opts: AgentRunOptions = {}): Promise<AgentResult> {
      if (a.runtime === 'command' && (!a.command || a.command.length === 0)) {
        return fail(input, `${a.keyPath} has runtime command but no command`)
      }
      const inv = invocationFor(a, input)
      const env: NodeJS.ProcessEnv = {
        ...ctx.env,
        ...a.env,
        REMOTECLAW_SESSION_KEY: input.sessionKey,
        REMOTECLAW_CHANNEL: input.channel,
        REMOTECLAW_ACCOUNT_ID: input.accountId,
        REMOTECLAW_CHAT: input.chat.target,
        REMOTECLAW_SENDER: input.sender.handle,
        ...(opts.mcp ? {REMOTECLAW_MCP_SERVER: JSON.stringify(opts.mcp)} : {}),
      }
      const started = Date.now()
      const sub = ctx.spawn(inv.file, inv.args, {
        input: inv.stdin,
        cwd: a.cwd,
        env,
        extendEnv: false,
        reject: false,
        detached: true,
        maxBuffer: MAX_OUTPUT_BYTES,
        stripFinalNewline: false,
        encoding: 'utf8',
      })
      const pid = sub.pid
      let timedOut = false
      let term: NodeJS.Timeout | undefined
      let force: NodeJS.Timeout | undefined
      if (pid !== undefined) {
        trackGroup(pid)
        // capped: setTimeout fires at once for delays beyond 2^31-1 ms (about 24.8 days)
        term = setTimeout(() => {
          timedOut = true
          killGroup(pid, 'SIGTERM')
          force = setTimeout(() => {
            killGroup(pid, 'SIGKILL')
            // A descendant that left the group (setsid, detached) can hold our pipes open for
            // ever, and execa waits for them: stop reading so the run settles.
            sub.stdout?.destroy()
            sub.stderr?.destroy()
          }, FORCE_KILL_AFTER_MS)
        }, Math.min(a.timeoutMs, MAX_TIMER_MS))
      }
      const r = await sub
      clearTimeout(term)
      clearTimeout(force)
      if (pid !== undefined) {
        // After a timeout, take down anything the agent left behind in its group.
        if (timedOut) killGroup(pid, 'SIGKILL')
        liveGroups.delete(pid)
      }
      const stderr = tail(typeof r.stderr === 'string' ? r.stderr : '')
      const stdout = typeof r.stdout === 'string' ? r.stdout : ''
      const ms = Date.now() - started
      if (timedOut) return fail(input, `timed out after ${a.timeoutMs} ms (${a.keyPath}.timeoutMs); killed`, {stderr, ms})
      if ((r as {code?: string}).code === 'ENOENT') {
        const e = notInstalled(a)
        return fail(input, `${e.message}. ${e.fix}`)
      }
      if (r.isMaxBuffer) return fail(input, `printed more than ${MAX_OUTPUT_BYTES} bytes`, {stderr, ms})
      if (r.exitCode !== 0 || r.signal) {
        const how = r.signal ? `killed by ${r.signal}` : r.exitCode === undefined ? `failed to start (${r.shortMessage})` : `exited with code ${r.exitCode}`
        return fail(input, `${inv.label} ${how}`, {stderr, ms})
      }
      if (a.output === 'json' && !isPreset(a.runtime)) {
        const parsed = parseJsonOutput(stdout, a.cwd ?? process.cwd())
        if (typeof parsed === 'string') return fail(input, parsed, {stderr, stdout: tail(stdout), ms})
        log.debug('agent run ok', {sessionKey: input.sessionKey, ms})
        return parsed
      }
      const text = stdout.trim()
      log.debug('agent run ok', {sessionKey: input.sessionKey, ms, reply: text !== ''})
      return text === '' ? {} : {text}
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
