import fs from 'node:fs'
import path from 'node:path'
import {execa} from 'execa'
import type {ResolvedAccount} from '../config/accounts.js'
import type {Context} from '../context.js'
import {errorMessage} from '../errors.js'
import {capabilitiesFromCliStatus, capabilitiesFromStatus, noCapabilities, type CapabilitySet} from './capabilities.js'
import {classifyText, isStrictVersion, parseVersion, rpcHelpSupported} from './classify.js'
import {ImsgClient, trackDetachedChild} from './client.js'
import {FIXES, ImsgError, ImsgMethodNotFoundError, ImsgTimeoutError, type FixContext} from './errors.js'
import type {CheckId, ProbeCheck, ProbeResult, ProbeStatus} from './probe-result.js'
import type {ImsgStatus} from './types.js'

export {probeExitCode, type CheckId, type CheckStatus, type ProbeCheck, type ProbeResult, type ProbeStatus} from './probe-result.js'

export type ProbeContext = Pick<Context, 'env' | 'home' | 'platform' | 'log'> & {now?: () => number}

/** Resolves a bare name on PATH; returns the path and why it is unusable, if it is. */
export function resolveExecutable(cliPath: string, env: NodeJS.ProcessEnv): {path?: string; problem?: 'not_found' | 'not_executable'} {
  const check = (p: string): 'ok' | 'not_found' | 'not_executable' => {
    try {
      const st = fs.statSync(p)
      if (!st.isFile()) return 'not_found'
      fs.accessSync(p, fs.constants.X_OK)
      return 'ok'
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EACCES' ? 'not_executable' : 'not_found'
    }
  }
  if (cliPath.includes('/')) {
    const r = check(cliPath)
    return r === 'ok' ? {path: cliPath} : {path: cliPath, problem: r}
  }
  let sawNotExec: string | undefined
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue
    const p = path.join(dir, cliPath)
    const r = check(p)
    if (r === 'ok') return {path: p}
    if (r === 'not_executable') sawNotExec ??= p
  }
  return sawNotExec ? {path: sawNotExec, problem: 'not_executable'} : {problem: 'not_found'}
}

/**
 * Runs a short command (`rpc --help`, `--version`) that must end by `ms`. A plain execa timeout
 * kills only the direct child, and a wrapper that did not `exec` leaves its child (ssh, imsg)
 * holding stdout open, so the result would wait for that child. Here the command gets its own
 * process group and the whole group is killed at the deadline.
 */
export async function runBounded(file: string, args: string[], ms: number, env: NodeJS.ProcessEnv): Promise<{all?: unknown; stdout?: unknown; exitCode?: number; timedOut: boolean}> {
  const group = process.platform !== 'win32'
  const sub = execa(file, args, {reject: false, stdin: 'ignore', env, extendEnv: false, all: true, detached: group})
  const killGroup = () => {
    try {
      if (group && sub.pid !== undefined) process.kill(-sub.pid, 'SIGKILL')
      else sub.kill('SIGKILL')
    } catch {
      // already gone
    }
  }
  // Detached children are outside execa's cleanup and the terminal's Ctrl-C: killed like imsg rpc
  // children when we exit or die of a signal.
  const untrack = trackDetachedChild({kill: killGroup})
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    killGroup()
  }, Math.min(ms, 2_147_483_647)) // Node fires a longer delay after 1 ms
  try {
    const r = await sub
    return {all: r.all, stdout: r.stdout, exitCode: r.exitCode, timedOut: timedOut || r.timedOut}
  } finally {
    clearTimeout(timer)
    untrack()
  }
}

/** `<cliPath> status --json` (imsg 0.6+; rpc_methods 0.7.3+), parsed; undefined when it fails or prints no JSON. */
export async function readCliStatus(cliPath: string, env: NodeJS.ProcessEnv, ms: number): Promise<unknown> {
  const r = await runBounded(cliPath, ['status', '--json'], ms, env)
  if (r.timedOut || r.exitCode !== 0) return undefined
  for (const line of String(r.stdout ?? '').split('\n').reverse()) {
    const t = line.trim()
    if (!t.startsWith('{')) continue
    try {
      return JSON.parse(t) as unknown
    } catch {
      // not the JSON line
    }
  }
  return undefined
}

/** Kinds of failure that mean "we could not reach imsg at all" (exit 6), not "imsg is unhealthy" (exit 5). */
const UNREACHABLE_CODES = new Set(['imsg_not_found', 'imsg_not_executable', 'imsg_timeout', 'imsg_unreachable'])

/**
 * Probes one account end to end and never takes longer than `timeoutMs` (a hung imsg or wrapper
 * is killed). Each failed check carries a message and a fix.
 */
/**
 * `opts.remoteHost` is the Mac imsg runs on when the caller knows it better than the account's
 * own key: read from an `exec ssh ... imsg "$@"` wrapper (attachments/remote.ts), as the gateway
 * and the doctor do.
 */
export async function probeAccount(account: ResolvedAccount, ctx: ProbeContext, opts: {timeoutMs?: number; remoteHost?: string} = {}): Promise<ProbeResult> {
  const remoteHost = opts.remoteHost ?? account.remoteHost
  const now = ctx.now ?? Date.now
  const timeoutMs = opts.timeoutMs ?? account.rpcTimeoutMs
  const deadline = now() + timeoutMs
  const remaining = () => Math.max(1, deadline - now())
  const checks: ProbeCheck[] = []
  const result: ProbeResult = {accountId: account.id, status: 'healthy', checks}
  const fixCtx: FixContext = {cliPath: account.cliPath, remoteHost}
  const log = ctx.log.child('probe')
  let worst: ProbeStatus = 'healthy'
  const fail = (c: Omit<ProbeCheck, 'status'>, severity: 'unhealthy' | 'unreachable') => {
    checks.push({...c, status: 'fail'})
    if (severity === 'unreachable' || worst === 'healthy') worst = severity
  }
  const finish = () => {
    result.status = worst
    return result
  }
  const skipRest = (from: CheckId[], why: string) => {
    for (const id of from) checks.push({id, status: 'skip', message: why})
  }

  if (!account.enabled) {
    checks.push({id: 'configured', status: 'skip', message: `account "${account.id}" is disabled (${account.keyPrefix}.enabled = false)`})
    result.status = 'disabled'
    return result
  }
  checks.push({id: 'configured', status: 'pass', message: `account "${account.id}" is configured (cliPath ${account.cliPath})`})

  // cliPath found and executable
  const exe = resolveExecutable(account.cliPath, ctx.env)
  if (exe.problem) {
    fail(
      exe.problem === 'not_found'
        ? {id: 'cli_found', code: 'imsg_not_found', message: `imsg not found: ${account.cliPath}${account.cliPath.includes('/') ? '' : ' (not on PATH)'}`, fix: FIXES.notFound(account.cliPath)}
        : {id: 'cli_found', code: 'imsg_not_executable', message: `${exe.path} is not executable`, fix: FIXES.notExecutable(exe.path ?? account.cliPath)},
      'unreachable',
    )
    skipRest(['rpc_supported', 'db_readable', 'rpc_session', 'version'], 'skipped: imsg not found')
    return finish()
  }
  result.resolvedCliPath = exe.path
  checks.push({id: 'cli_found', status: 'pass', message: `found ${exe.path}`})

  // rpc supported, judged by the help text (a binary without rpc prints root help with exit 0)
  const t0 = now()
  const help = await runBounded(exe.path!, ['rpc', '--help'], remaining(), ctx.env)
  const helpText = String(help.all ?? '')
  const helpMs = now() - t0
  if (help.timedOut) {
    fail(
      {id: 'rpc_supported', code: 'imsg_timeout', message: `\`${account.cliPath} rpc --help\` did not finish within ${timeoutMs} ms`, fix: FIXES.timeout('rpc --help', timeoutMs), durationMs: helpMs},
      'unreachable',
    )
    skipRest(['db_readable', 'rpc_session', 'version'], 'skipped: imsg did not answer')
    return finish()
  }
  if (!rpcHelpSupported(helpText)) {
    const kind = classifyText(helpText)
    const first = helpText.trim().split('\n')[0] ?? ''
    if (kind === 'ssh' || help.exitCode === 255) {
      fail({id: 'rpc_supported', code: 'imsg_unreachable', message: `the cliPath wrapper could not reach imsg: ${first}`, fix: FIXES.ssh(), durationMs: helpMs}, 'unreachable')
    } else {
      fail(
        {
          id: 'rpc_supported',
          code: 'imsg_rpc_unsupported',
          message: `RPC unsupported: \`${account.cliPath} rpc --help\` does not describe the rpc command${first ? ` (it printed: ${first.slice(0, 120)})` : ''}`,
          fix: FIXES.rpcUnsupported(account.cliPath),
          durationMs: helpMs,
        },
        'unhealthy',
      )
    }
    skipRest(['db_readable', 'rpc_session', 'version'], 'skipped: rpc unsupported')
    return finish()
  }
  checks.push({id: 'rpc_supported', status: 'pass', message: '`rpc --help` describes the rpc command', durationMs: helpMs})

  // dbPath readable when imsg runs here (Full Disk Access)
  if (remoteHost) {
    checks.push({id: 'db_readable', status: 'skip', message: `imsg runs on ${remoteHost}; the live session checks the database there`})
  } else {
    const db = account.dbPath ?? (ctx.platform === 'darwin' ? path.join(ctx.home, 'Library', 'Messages', 'chat.db') : undefined)
    if (!db) {
      checks.push({id: 'db_readable', status: 'skip', message: 'no dbPath set and not on macOS; the live session checks the database'})
    } else {
      try {
        fs.accessSync(db, fs.constants.R_OK)
        const fd = fs.openSync(db, 'r')
        fs.closeSync(fd)
        checks.push({id: 'db_readable', status: 'pass', message: `${db} is readable by this process`})
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        if (code === 'ENOENT') {
          fail(
            {
              id: 'db_readable',
              code: 'db_not_found',
              message: `${db} does not exist on this machine`,
              fix: `Set ${account.keyPrefix}.dbPath to the Messages database (usually ~/Library/Messages/chat.db of the Messages user), or set ${account.keyPrefix}.remoteHost if cliPath runs imsg on another Mac.`,
            },
            'unhealthy',
          )
        } else {
          fail({id: 'db_readable', code: 'imsg_full_disk_access', message: `cannot read ${db} (${code ?? errorMessage(error)}): Full Disk Access missing`, fix: FIXES.fullDiskAccess(fixCtx)}, 'unhealthy')
        }
      }
    }
  }

  // live rpc session: initialize (strict) / -32601 (lenient), then chats.list {limit:1}
  const client = ImsgClient.spawn({
    cliPath: exe.path!,
    dbPath: account.dbPath,
    requestTimeoutMs: remaining(),
    log: ctx.log,
    remoteHost,
    env: ctx.env as Record<string, string>,
  })
  let status: ImsgStatus | undefined
  try {
    const s0 = now()
    try {
      status = await client.initialize({timeoutMs: remaining()})
      result.protocol = 'strict'
    } catch (error) {
      if (!(error instanceof ImsgMethodNotFoundError)) throw error
      result.protocol = 'lenient'
    }
    if (status?.database?.ready === false && /does not exist/i.test(status.database.error ?? '')) {
      fail(
        {
          id: 'rpc_session',
          code: 'db_not_found',
          message: `imsg cannot open the Messages database: ${status.database.error}`,
          fix: `Set ${account.keyPrefix}.dbPath to the Messages database${remoteHost ? ` on ${remoteHost}` : ''} (usually /Users/<user>/Library/Messages/chat.db of the user signed in to Messages), or remove it to use imsg's default.`,
          durationMs: now() - s0,
        },
        'unhealthy',
      )
    } else if (status?.database?.ready === false) {
      const text = status.database.error ?? 'database not ready'
      fail(
        {id: 'rpc_session', code: 'imsg_full_disk_access', message: `imsg cannot read the Messages database (Full Disk Access missing): ${text}`, fix: FIXES.fullDiskAccess(fixCtx), durationMs: now() - s0},
        'unhealthy',
      )
    } else {
      const c0 = performance.now()
      await client.chatsList({limit: 1}, {timeoutMs: remaining()})
      result.latencyMs = Math.round((performance.now() - c0) * 10) / 10
      checks.push({id: 'rpc_session', status: 'pass', message: `chats.list answered in ${result.latencyMs} ms (${result.protocol} protocol)`, durationMs: now() - s0})
    }
  } catch (error) {
    const e = error instanceof ImsgError ? error : undefined
    const code = e?.code ?? 'imsg_error'
    const unreachable = UNREACHABLE_CODES.has(code)
    let message = errorMessage(error)
    let fix = e?.fix
    if (error instanceof ImsgTimeoutError) {
      // Name the probe's own limit, not the time left when this request started.
      message = `imsg did not answer ${error.method} within the ${timeoutMs} ms probe timeout (killed it)`
      fix = FIXES.timeout(error.method ?? 'chats.list', timeoutMs)
    }
    fail({id: 'rpc_session', code, message, fix}, unreachable ? 'unreachable' : 'unhealthy')
    log.debug('rpc session failed', {code, diagnostics: e?.diagnostics})
  } finally {
    const d = client.diagnostics()
    if (d.stdoutLineCount > 0 && d.kind !== 'full_disk_access' && d.kind !== 'rpc_unsupported') {
      checks.push({
        id: 'rpc_output',
        status: 'warn',
        code: 'imsg_non_json_output',
        message: `imsg printed ${d.stdoutLineCount} non-JSON line${d.stdoutLineCount === 1 ? '' : 's'} on stdout (ignored), e.g.: ${d.stdoutLines[0]!.slice(0, 160)}`,
        fix: 'Only JSON belongs on stdout of `imsg rpc`: make the cliPath wrapper print nothing itself (no echo, no shell banner/motd; use ssh -T and a non-interactive shell).',
      })
    }
    if ((worst as ProbeStatus) === 'unreachable') client.kill('SIGKILL')
    else await client.close({graceMs: Math.min(1000, remaining())})
  }

  // version and capabilities
  if (status) {
    result.version = status.version
    result.methods = status.methods
    if (status.capabilities) result.capabilities = status.capabilities
    result.capabilitySet = capabilitiesFromStatus(status)
  } else if ((worst as ProbeStatus) !== 'unreachable') {
    const v = await runBounded(exe.path!, ['--version'], Math.min(remaining(), 3000), ctx.env)
    if (!v.timedOut) result.version = parseVersion(String(v.stdout ?? ''))
    if (result.protocol === 'lenient') {
      const cli = await readCliStatus(exe.path!, ctx.env, Math.min(remaining(), 5000))
      result.capabilitySet = cli === undefined
        ? noCapabilities(`\`${account.cliPath} status --json\` failed, and this imsg predates RPC status (0.14)`, 'Update imsg (brew upgrade steipete/tap/imsg).')
        : capabilitiesFromCliStatus(cli)
    }
  }
  if (result.version && !result.protocol) result.protocol = isStrictVersion(result.version) ? 'strict' : 'lenient'
  if (result.version) {
    checks.push({id: 'version', status: 'pass', message: `imsg ${result.version} (${result.protocol ?? 'unknown'} protocol)${result.methods ? `, ${result.methods.length} methods` : ''}`})
  } else {
    checks.push({id: 'version', status: 'skip', message: 'imsg did not report its version'})
  }
  return finish()
}
