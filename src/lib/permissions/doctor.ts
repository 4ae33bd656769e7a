import {realpath} from 'node:fs/promises'
import path from 'node:path'
import type {Context} from '../context.js'
import {expandHome} from '../context.js'
import {resolveAccount, type ResolvedAccount} from '../config/accounts.js'
import {loadConfig} from '../config/load.js'
import type {RemoteclawConfig} from '../config/schema.js'
import {ExitCode} from '../errors.js'
import {classifyText, parseVersion, rpcHelpSupported} from '../imsg/classify.js'
import {launchAgentContext, type LaunchAgentContext} from '../service/launch-agent.js'
import {dmPolicySentence, findFootguns, groupPolicySentence} from './policy.js'
import {resolveAgents} from '../agents/resolve.js'
import {listApproved} from '../pairing/store.js'
import {sharedDmSessionWarning} from '../sessions/scope-warning.js'
import {
  describeLocalContext,
  inspectWrapper,
  readSqliteHeader,
  resolveBinary,
  showPath,
  type ResolvedBinary,
  type WrapperInfo,
} from './process-context.js'

/** Bump when a field of DoctorReport changes meaning or goes away (additions keep it). */
export const DOCTOR_SCHEMA_VERSION = 1

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip' | 'info'

export interface DoctorCheck {
  /** Stable id: binary, version, rpc_support, rpc_probe, full_disk_access, automation, remote_host, attachments, dm_policy, group_policy, footgun.<id> */
  id: string
  title: string
  status: CheckStatus
  message: string
  fix?: string
  /** For failures: does it make imsg unreachable (exit 6) or merely unhealthy (exit 5)? */
  severity?: 'unreachable' | 'unhealthy'
  details?: Record<string, unknown>
}

export interface DoctorReport {
  schemaVersion: number
  account: string
  keyPrefix: string
  context: {
    /** local: imsg runs as this user on this machine; wrapper: cliPath is an SSH wrapper. */
    mode: 'local' | 'wrapper'
    platform: string
    cliPath: string
    resolvedCliPath?: string
    sshTarget?: string
    remoteImsg?: string
    remoteHost?: string
    dbPath?: string
  }
  checks: DoctorCheck[]
  summary: {passed: number; warnings: number; failed: number; skipped: number}
  /** 0 every check passed (warnings allowed), 5 a check failed, 6 imsg or the Mac is unreachable. */
  exitCode: 0 | 5 | 6
}

/** Result shape of the shared RPC probe (src/lib/imsg), reduced to what the doctor reports. */
export interface ProbeSummary {
  ok: boolean
  /** unreachable: spawn failed, timeout, hang; unhealthy: reachable but a check failed. */
  severity?: 'unreachable' | 'unhealthy'
  message: string
  fix?: string
  details?: Record<string, unknown>
}

export interface HostKeySummary {
  state: 'trusted' | 'unknown' | 'mismatch' | 'unreachable'
  fingerprint?: string
  message: string
  fix?: string
}

export interface DoctorDeps {
  /** Starts `imsg rpc` the way the gateway does and makes one read. */
  probe?: (ctx: Context, account: ResolvedAccount) => Promise<ProbeSummary>
  /** Compares the remote host's key with known_hosts (never writes). */
  hostKey?: (ctx: Context, remoteHost: string) => Promise<HostKeySummary>
}

export interface DoctorOptions {
  accountId?: string
  /** Handle to send a real test message to (the only way to test Automation). */
  sendTest?: string
  sendText?: string
  /** Per-command timeout; SSH round trips included. */
  timeoutMs?: number
  /** The LaunchAgent that runs the gateway (default: read from this state dir's installed plist). */
  service?: LaunchAgentContext | null
}

const DEFAULT_TIMEOUT_MS = 20_000
const SSH_KEYGEN_WRAPPER = '/usr/libexec/sshd-keygen-wrapper'

interface RunResult {
  exitCode?: number
  stdout: string
  stderr: string
  timedOut: boolean
  spawnError?: string
}

async function run(ctx: Context, cmd: string, args: string[], timeoutMs: number): Promise<RunResult> {
  try {
    const r = await ctx.spawn(cmd, args, {reject: false, timeout: timeoutMs, stdin: 'ignore', env: ctx.env, extendEnv: false})
    const spawnError = r.exitCode === undefined && !r.timedOut ? (r as {shortMessage?: string}).shortMessage ?? 'could not start' : undefined
    return {exitCode: r.exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), timedOut: Boolean(r.timedOut), spawnError}
  } catch (error) {
    return {stdout: '', stderr: '', timedOut: false, spawnError: (error as Error).message}
  }
}

function excerpt(text: string, max = 300): string {
  const t = text.trim().replace(/\s+\n/g, '\n')
  return t.length > max ? `${t.slice(0, max)}…` : t
}

/** Loads the config and diagnoses one account. Config problems throw (exit 7). */
export async function runDoctor(ctx: Context, opts: DoctorOptions = {}, deps: DoctorDeps = {}): Promise<DoctorReport> {
  const loaded = await loadConfig(ctx)
  const account = resolveAccount(loaded.config, opts.accountId, ctx)
  return diagnoseAccount(ctx, loaded.config, account, opts, deps)
}

export async function diagnoseAccount(
  ctx: Context,
  _config: RemoteclawConfig,
  account: ResolvedAccount,
  opts: DoctorOptions = {},
  deps: DoctorDeps = {},
): Promise<DoctorReport> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const checks: DoctorCheck[] = []
  const add = (c: DoctorCheck) => checks.push(c)

  const bin = await resolveBinary(account.cliPath, ctx.env)
  const wrapper = await inspectWrapper(bin.found)
  const mode: 'local' | 'wrapper' = wrapper ? 'wrapper' : 'local'
  const isMac = ctx.platform === 'darwin'
  const macOk = mode === 'wrapper' || isMac
  const sshUser = (wrapper?.target ?? account.remoteHost)?.split('@')[0]
  const where = mode === 'wrapper' ? `on ${wrapper?.target ?? account.remoteHost ?? 'the remote Mac'} through ${bin.found}` : `locally (${showPath(bin)})`
  const dbPath = account.dbPath ?? (mode === 'local' ? path.join(ctx.home, 'Library/Messages/chat.db') : undefined)
  const dbArgs = account.dbPath ? ['--db', account.dbPath] : []
  // Local imsg under the LaunchAgent: the grants belong to the binary in its ProgramArguments.
  const service = mode === 'local' && isMac ? (opts.service === undefined ? await launchAgentContext(ctx) : opts.service ?? undefined) : undefined

  // 1. The binary (or wrapper) the gateway will spawn.
  let reachable = true
  if (!bin.found) {
    reachable = false
    add({
      id: 'binary',
      title: 'imsg binary',
      status: 'fail',
      severity: 'unreachable',
      message: `${account.cliPath} not found${account.cliPath.includes('/') ? '' : ' on PATH'} (${account.keyPrefix}.cliPath)`,
      fix: account.cliPath.includes('/')
        ? `Install imsg (brew install steipete/tap/imsg) or fix ${account.keyPrefix}.cliPath; for SSH run: remoteclaw setup imessage`
        : `brew install steipete/tap/imsg, or set ${account.keyPrefix}.cliPath to its full path (launchd's PATH lacks /opt/homebrew/bin).`,
    })
  } else {
    add({
      id: 'binary',
      title: 'imsg binary',
      status: 'pass',
      message: mode === 'wrapper' ? `SSH wrapper ${bin.found} -> ${wrapper?.target ?? '?'} ${wrapper?.remoteImsg ?? ''}`.trim() : `imsg at ${showPath(bin)}`,
      details: {found: bin.found, real: bin.real},
    })
  }

  // 2. Version: also the first round trip through SSH.
  let version: string | undefined
  if (reachable) {
    const r = await run(ctx, bin.found!, ['--version'], timeoutMs)
    const out = `${r.stdout}\n${r.stderr}`
    version = r.exitCode === 0 ? parseVersion(r.stdout) : undefined
    if (version) {
      add({id: 'version', title: 'imsg version', status: 'pass', message: `imsg ${version} ${where}`, details: {version}})
    } else {
      reachable = false
      add(unreachableCheck('version', 'imsg version', r, out, mode, wrapper, account, timeoutMs))
    }
  }

  // 3. rpc support, by help content (a binary without rpc prints root help and exits 0).
  if (reachable) {
    const r = await run(ctx, bin.found!, ['rpc', '--help'], timeoutMs)
    const text = `${r.stdout}\n${r.stderr}`
    if (rpcHelpSupported(text)) {
      add({id: 'rpc_support', title: 'rpc support', status: 'pass', message: `imsg ${version} supports \`imsg rpc\``})
    } else {
      add({
        id: 'rpc_support',
        title: 'rpc support',
        status: 'fail',
        severity: 'unhealthy',
        message: `imsg ${version ?? ''} ${where} has no \`rpc\` command (\`imsg rpc --help\` printed ${r.timedOut ? 'nothing before the timeout' : 'the root help'}).`.replace(/\s+/g, ' '),
        fix: 'Upgrade imsg on the Mac that runs it: brew upgrade steipete/tap/imsg (rpc needs 0.3.0 or later; 0.9.0+ recommended).',
      })
    }
  } else {
    add(skipped('rpc_support', 'rpc support', 'imsg is not reachable'))
  }

  // 4. Full Disk Access in the context the gateway uses.
  if (!macOk) {
    add(skipped('full_disk_access', 'Full Disk Access', 'skipped (not macOS): imsg runs locally on ' + ctx.platform))
  } else if (!reachable) {
    add(skipped('full_disk_access', 'Full Disk Access', 'imsg is not reachable'))
  } else {
    add(await checkFullDiskAccess(ctx, account, bin, wrapper, mode, dbPath, dbArgs, timeoutMs, sshUser, service))
  }

  // 5. The RPC server itself, started as the gateway starts it.
  if (!reachable) {
    add(skipped('rpc_probe', 'rpc probe', 'imsg is not reachable'))
  } else if (!deps.probe) {
    add(skipped('rpc_probe', 'rpc probe', 'not run (no probe available)'))
  } else if (checks.some((c) => c.id === 'rpc_support' && c.status === 'fail')) {
    add(skipped('rpc_probe', 'rpc probe', 'imsg has no rpc'))
  } else {
    const p = await deps.probe(ctx, account)
    add({
      id: 'rpc_probe',
      title: 'rpc probe',
      status: p.ok ? 'pass' : 'fail',
      severity: p.ok ? undefined : p.severity ?? 'unhealthy',
      message: p.message,
      fix: p.fix,
      details: p.details,
    })
  }

  // 6. Automation: only a real send proves it.
  if (!opts.sendTest) {
    add(
      skipped(
        'automation',
        'Automation (sending)',
        `not tested: pass --send-test <handle> to send a real test message${service ? `; the LaunchAgent's program ${service.program} is what needs Automation for Messages` : ''}`,
      ),
    )
  } else if (!macOk) {
    add(skipped('automation', 'Automation (sending)', 'skipped (not macOS): imsg runs locally on ' + ctx.platform))
  } else if (!reachable) {
    add(skipped('automation', 'Automation (sending)', 'imsg is not reachable'))
  } else {
    add(await checkAutomation(ctx, account, bin, wrapper, mode, opts, dbArgs, timeoutMs, sshUser, service))
  }

  // 7. remoteHost: reachability and host key, for SCP attachment transfers.
  if (account.remoteHost) {
    if (deps.hostKey) {
      const hk = await deps.hostKey(ctx, account.remoteHost)
      add({
        id: 'remote_host',
        title: 'remoteHost',
        status: hk.state === 'trusted' ? 'pass' : 'fail',
        severity: hk.state === 'unreachable' ? 'unreachable' : hk.state === 'trusted' ? undefined : 'unhealthy',
        message: `${account.remoteHost}: ${hk.message}`,
        fix: hk.fix,
        details: {state: hk.state, fingerprint: hk.fingerprint},
      })
    } else {
      add({id: 'remote_host', title: 'remoteHost', status: 'info', message: `${account.remoteHost} (host key not checked)`})
    }
  } else if (mode === 'wrapper') {
    add({
      id: 'remote_host',
      title: 'remoteHost',
      status: account.includeAttachments ? 'fail' : 'warn',
      severity: account.includeAttachments ? 'unhealthy' : undefined,
      message: `${account.keyPrefix}.remoteHost is unset while cliPath is an SSH wrapper: attachments on the Mac cannot be fetched.`,
      fix: `remoteclaw config set ${account.keyPrefix}.remoteHost ${wrapper?.target ?? '<user>@<host>'}`,
    })
  }

  // 8. Attachment roots.
  const roots = mode === 'wrapper' ? account.remoteAttachmentRoots : account.attachmentRoots
  add({
    id: 'attachments',
    title: 'attachments',
    status: 'info',
    message: account.includeAttachments
      ? `inbound attachments are handed to the agent when they lie under ${roots.join(', ')} (${mode === 'wrapper' ? 'remoteAttachmentRoots, fetched over SCP' : 'attachmentRoots'}); max ${account.mediaMaxMb} MB.`
      : `inbound attachments are not handed to the agent (${account.keyPrefix}.includeAttachments is false); roots: ${roots.join(', ')}.`,
    details: {includeAttachments: account.includeAttachments, attachmentRoots: account.attachmentRoots, remoteAttachmentRoots: account.remoteAttachmentRoots},
  })

  // 9. Who can reach the bot right now, and footguns.
  add({id: 'dm_policy', title: 'DM policy', status: 'info', message: dmPolicySentence(account)})
  add({id: 'group_policy', title: 'group policy', status: 'info', message: groupPolicySentence(account)})
  for (const f of findFootguns(account, mode)) {
    add({id: `footgun.${f.id}`, title: 'footgun', status: 'warn', message: f.message, fix: f.fix})
  }
  // One DM session shared by several people (session.dmScope "main"): they can read each other's context.
  const approvedHandles = await listApproved(ctx, account.id).then(
    (l) => l.map((x) => x.handle),
    () => [],
  )
  const shared = sharedDmSessionWarning(account, resolveAgents(_config), approvedHandles)
  if (shared) add({id: 'footgun.dm_session_shared', title: 'footgun', status: 'warn', message: shared.message, fix: shared.fix})

  const failed = checks.filter((c) => c.status === 'fail')
  const exitCode = failed.some((c) => c.severity === 'unreachable') ? ExitCode.UNREACHABLE : failed.length > 0 ? ExitCode.UNHEALTHY : ExitCode.OK
  return {
    schemaVersion: DOCTOR_SCHEMA_VERSION,
    account: account.id,
    keyPrefix: account.keyPrefix,
    context: {
      mode,
      platform: ctx.platform,
      cliPath: account.cliPath,
      resolvedCliPath: bin.real ?? bin.found,
      sshTarget: wrapper?.target,
      remoteImsg: wrapper?.remoteImsg,
      remoteHost: account.remoteHost,
      dbPath,
    },
    checks,
    summary: {
      passed: checks.filter((c) => c.status === 'pass').length,
      warnings: checks.filter((c) => c.status === 'warn').length,
      failed: failed.length,
      skipped: checks.filter((c) => c.status === 'skip').length,
    },
    exitCode: exitCode as 0 | 5 | 6,
  }
}

function skipped(id: string, title: string, message: string): DoctorCheck {
  return {id, title, status: 'skip', message}
}

function unreachableCheck(
  id: string,
  title: string,
  r: RunResult,
  out: string,
  mode: 'local' | 'wrapper',
  wrapper: WrapperInfo | undefined,
  account: ResolvedAccount,
  timeoutMs: number,
): DoctorCheck {
  const target = wrapper?.target ?? account.remoteHost ?? 'the Mac'
  if (r.timedOut) {
    return {
      id,
      title,
      status: 'fail',
      severity: 'unreachable',
      message: `\`${account.cliPath} --version\` did not finish within ${timeoutMs / 1000}s${mode === 'wrapper' ? ` (SSH to ${target})` : ''}.`,
      fix: mode === 'wrapper' ? `Check that ${target} is awake and reachable: ssh ${target} true` : 'Run it by hand to see where it stops.',
    }
  }
  if (r.spawnError) {
    return {id, title, status: 'fail', severity: 'unreachable', message: `could not run ${account.cliPath}: ${r.spawnError}`, fix: `Check ${account.keyPrefix}.cliPath and that the file is executable.`}
  }
  const kind = classifyText(out)
  if (mode === 'wrapper' && (r.exitCode === 255 || kind === 'ssh')) {
    const hostKey = /host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/i.test(out)
    const auth = /permission denied \(/i.test(out)
    return {
      id,
      title,
      status: 'fail',
      severity: 'unreachable',
      message: `SSH to ${target} failed: ${excerpt(r.stderr || r.stdout, 200)}`,
      fix: hostKey
        ? `Trust the host key first: remoteclaw setup imessage --deployment remote --host ${target.split('@')[1] ?? target}  (shows the fingerprint)`
        : auth
          ? `Install your key on the Mac: ssh-copy-id ${target}   (the wrapper runs with BatchMode=yes: no password prompts)`
          : `Check that ${target} is up and Remote Login is on (System Settings → General → Sharing): ssh ${target} true`,
    }
  }
  if (r.exitCode === 127 || /command not found|no such file or directory/i.test(out)) {
    return {
      id,
      title,
      status: 'fail',
      severity: 'unreachable',
      message: `imsg not found ${mode === 'wrapper' ? `on ${target} (${wrapper?.remoteImsg ?? 'remote path'})` : `at ${account.cliPath}`}: ${excerpt(out, 200)}`,
      fix:
        mode === 'wrapper'
          ? `Install imsg on ${target} (brew install steipete/tap/imsg) and regenerate the wrapper with its full path: remoteclaw setup imessage --remote-imsg-path <path>`
          : 'brew install steipete/tap/imsg',
    }
  }
  return {
    id,
    title,
    status: 'fail',
    severity: 'unreachable',
    message: `\`${account.cliPath} --version\` exited ${r.exitCode} without a version: ${excerpt(out, 200)}`,
    fix: `Check that ${account.keyPrefix}.cliPath runs imsg.`,
  }
}

async function checkFullDiskAccess(
  ctx: Context,
  account: ResolvedAccount,
  bin: ResolvedBinary,
  wrapper: WrapperInfo | undefined,
  mode: 'local' | 'wrapper',
  dbPath: string | undefined,
  dbArgs: string[],
  timeoutMs: number,
  sshUser: string | undefined,
  service?: LaunchAgentContext,
): Promise<DoctorCheck> {
  const title = 'Full Disk Access'
  const details: Record<string, unknown> = {}
  const fdaFix = (grantTo: string[]) =>
    `System Settings → Privacy & Security → Full Disk Access: add ${grantTo.join('; ')}. Toggle stale entries off and on after a Homebrew, Node or imsg upgrade (grants are keyed to the versioned path), then restart the terminal or LaunchAgent.`

  // Local: can THIS process (node, in the context the gateway will have) read chat.db?
  if (mode === 'local' && dbPath) {
    const h = await readSqliteHeader(expandHome(dbPath, ctx.home))
    details.header = h.ok ? 'ok' : h.reason
    if (!h.ok) {
      if (h.reason === 'permission') {
        const lc = describeLocalContext(ctx.env, await realNode(), bin, service)
        return {
          id: 'full_disk_access',
          title,
          status: 'fail',
          severity: 'unhealthy',
          message: `Full Disk Access missing: ${lc.who} cannot read ${dbPath} (${h.detail})${lc.gateway ? `; ${lc.gateway}` : ''}.`,
          fix: fdaFix(lc.grantTo),
          details,
        }
      }
      if (h.reason === 'missing') {
        return {
          id: 'full_disk_access',
          title,
          status: 'fail',
          severity: 'unhealthy',
          message: `${dbPath} does not exist: Messages has never run for this user, or ${account.keyPrefix}.dbPath points elsewhere.`,
          fix: `Open Messages and sign in, or set ${account.keyPrefix}.dbPath to /Users/<you>/Library/Messages/chat.db`,
          details,
        }
      }
      return {id: 'full_disk_access', title, status: 'fail', severity: 'unhealthy', message: h.detail, fix: `Check ${account.keyPrefix}.dbPath.`, details}
    }
  }

  // imsg itself, as the gateway runs it (through the wrapper for SSH).
  const r = await run(ctx, bin.found!, ['chats', '--limit', '1', '--json', ...dbArgs], timeoutMs)
  const out = `${r.stdout}\n${r.stderr}`
  details.exitCode = r.exitCode
  if (r.timedOut) {
    return {
      id: 'full_disk_access',
      title,
      status: 'fail',
      severity: 'unreachable',
      message: `\`imsg chats --limit 1 --json\` ${mode === 'wrapper' ? `through ${bin.found}` : ''} did not finish within ${timeoutMs / 1000}s: a headless imsg may be waiting on a permission prompt.`,
      fix: firstRunFix(mode, wrapper, sshUser, undefined),
      details,
    }
  }
  // Exit 0 is success even with no output: `imsg chats --json` prints one line per chat, none for none.
  if (r.exitCode === 0 && classifyText(out) !== 'full_disk_access' && (r.stdout.trim() === '' || isJsonOutput(r.stdout))) {
    const note = service ? ` (checked from here); the gateway runs as the LaunchAgent ${service.label}, whose program ${service.program} needs its own grant (remoteclaw gateway status shows whether it reads)` : ''
    return {id: 'full_disk_access', title, status: 'pass', message: `imsg can read the Messages database ${mode === 'wrapper' ? `on ${wrapper?.target ?? 'the Mac'}` : ''}`.trim() + note, details}
  }
  const kind = classifyText(out)
  details.kind = kind
  if (kind === 'full_disk_access') {
    if (mode === 'wrapper') {
      const target = wrapper?.target ?? account.remoteHost ?? 'the Mac'
      return {
        id: 'full_disk_access',
        title,
        status: 'fail',
        severity: 'unhealthy',
        message: `Full Disk Access missing for imsg ${wrapper?.remoteImsg ?? ''} run by the sshd session of ${sshUser ?? 'the SSH user'} on ${target} (macOS attributes it to ${SSH_KEYGEN_WRAPPER}): ${firstLine(out)}`.replace(/\s+/g, ' '),
        fix:
          `On ${target}: System Settings → General → Sharing → Remote Login (i) → "Allow full disk access for remote users", ` +
          `or add ${SSH_KEYGEN_WRAPPER} under Privacy & Security → Full Disk Access. Toggle stale entries off and on after an imsg or Homebrew upgrade.`,
        details,
      }
    }
    const lc = describeLocalContext(ctx.env, await realNode(), bin, service)
    return {
      id: 'full_disk_access',
      title,
      status: 'fail',
      severity: 'unhealthy',
      message: `Full Disk Access missing for imsg ${bin.real ?? bin.found} started from ${lc.who}${lc.gateway ? ` (${lc.gateway})` : ''}: ${firstLine(out)}`,
      fix: fdaFix(lc.grantTo),
      details,
    }
  }
  if (mode === 'wrapper' && (r.exitCode === 255 || kind === 'ssh')) {
    return {
      id: 'full_disk_access',
      title,
      status: 'fail',
      severity: 'unreachable',
      message: `SSH failed while reading chats: ${excerpt(r.stderr || r.stdout, 200)}`,
      fix: `Check: ssh ${wrapper?.target ?? account.remoteHost ?? '<user>@<host>'} true`,
      details,
    }
  }
  return {
    id: 'full_disk_access',
    title,
    status: 'fail',
    severity: 'unhealthy',
    message: `\`imsg chats --limit 1 --json\` failed (exit ${r.exitCode}): ${excerpt(out, 200)}`,
    fix: firstRunFix(mode, wrapper, sshUser, undefined),
    details,
  }
}

async function checkAutomation(
  ctx: Context,
  account: ResolvedAccount,
  bin: ResolvedBinary,
  wrapper: WrapperInfo | undefined,
  mode: 'local' | 'wrapper',
  opts: DoctorOptions,
  dbArgs: string[],
  timeoutMs: number,
  sshUser: string | undefined,
  service?: LaunchAgentContext,
): Promise<DoctorCheck> {
  const title = 'Automation (sending)'
  const handle = opts.sendTest!
  const text = opts.sendText ?? 'remoteclaw doctor: test message'
  const r = await run(ctx, bin.found!, ['send', '--to', handle, '--text', text, '--json', ...dbArgs], timeoutMs)
  const out = `${r.stdout}\n${r.stderr}`
  if (r.exitCode === 0) {
    return {id: 'automation', title, status: 'pass', message: `sent a test message to ${handle} ${mode === 'wrapper' ? `through ${bin.found}` : ''}`.trim()}
  }
  if (r.timedOut) {
    return {
      id: 'automation',
      title,
      status: 'fail',
      severity: 'unreachable',
      message: `\`imsg send\` did not finish within ${timeoutMs / 1000}s: Messages may be showing an Automation prompt nobody can answer.`,
      fix: firstRunFix(mode, wrapper, sshUser, handle),
    }
  }
  const kind = classifyText(out)
  if (kind === 'automation') {
    if (mode === 'wrapper') {
      const target = wrapper?.target ?? account.remoteHost ?? 'the Mac'
      return {
        id: 'automation',
        title,
        status: 'fail',
        severity: 'unhealthy',
        message:
          `Automation denied: Messages refused Apple events from imsg run over SSH on ${target} (-1743). ` +
          `macOS attributes them to ${SSH_KEYGEN_WRAPPER}, which has no usable Automation toggle; reads keep working.`,
        fix: firstRunFix(mode, wrapper, sshUser, handle),
        details: {kind},
      }
    }
    const lc = describeLocalContext(ctx.env, await realNode(), bin, service)
    return {
      id: 'automation',
      title,
      status: 'fail',
      severity: 'unhealthy',
      message: `Automation denied: ${lc.who} may not send Apple events to Messages (-1743)${lc.gateway ? ` (${lc.gateway})` : ''}: ${firstLine(out)}`,
      fix: `System Settings → Privacy & Security → Automation → ${lc.grantTo[0]} → enable Messages. ${firstRunFix(mode, wrapper, sshUser, handle)}`,
      details: {kind},
    }
  }
  return {
    id: 'automation',
    title,
    status: 'fail',
    severity: kind === 'ssh' ? 'unreachable' : 'unhealthy',
    message: `test send to ${handle} failed (exit ${r.exitCode}): ${excerpt(out, 200)}`,
    fix: kind === 'full_disk_access' ? 'Grant Full Disk Access first (see the Full Disk Access check).' : `Check the handle and that Messages is signed in${mode === 'wrapper' ? ` for ${sshUser ?? 'the SSH user'}` : ''}.`,
    details: {kind},
  }
}

/** The seeds' first-run procedure, for the context that needs it. */
function firstRunFix(mode: 'local' | 'wrapper', wrapper: WrapperInfo | undefined, sshUser: string | undefined, handle: string | undefined): string {
  const imsg = wrapper?.remoteImsg ?? 'imsg'
  const steps = `\`${imsg} chats --limit 1\` and \`${imsg} send ${handle ?? '<handle>'} "test"\``
  if (mode === 'wrapper') {
    return (
      `Log in to the GUI session of ${sshUser ?? 'the bot user'} (Screen Sharing), run ${steps} in Terminal there and approve the prompts; ` +
      `sends must come from that user's own session (run imsg from a LaunchAgent of ${sshUser ?? 'that user'}), then re-run: remoteclaw channels doctor --send-test ${handle ?? '<handle>'}`
    )
  }
  return `Run ${steps} once in the same context that runs the gateway (the same terminal app, or the LaunchAgent) and approve the prompts.`
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '' && !/^[{}[\]]$/.test(l)) ?? ''
  ).slice(0, 200)
}

function isJsonOutput(stdout: string): boolean {
  const t = stdout.trim()
  if (t === '') return false
  try {
    JSON.parse(t)
    return true
  } catch {
    // imsg may print one JSON object per line
    return t.split('\n').every((l) => {
      try {
        JSON.parse(l)
        return true
      } catch {
        return false
      }
    })
  }
}

async function realNode(): Promise<string> {
  return realpath(process.execPath).catch(() => process.execPath)
}

/** Human rendering: one line per check, fix indented under failures and warnings. */
export function renderDoctorReport(report: DoctorReport): string[] {
  const mark: Record<CheckStatus, string> = {pass: 'ok  ', warn: 'warn', fail: 'FAIL', skip: 'skip', info: 'info'}
  const lines: string[] = []
  const c = report.context
  lines.push(
    `Account ${report.account} (${report.keyPrefix}): ${c.mode === 'wrapper' ? `through SSH wrapper ${c.cliPath}${c.sshTarget ? ` -> ${c.sshTarget}` : ''}` : `local imsg ${c.resolvedCliPath ?? c.cliPath}`}`,
  )
  for (const check of report.checks) {
    lines.push(`  ${mark[check.status]}  ${check.title}: ${check.message}`)
    if (check.fix && (check.status === 'fail' || check.status === 'warn')) lines.push(`        Fix: ${check.fix}`)
  }
  const s = report.summary
  lines.push(`${s.passed} passed, ${s.warnings} warnings, ${s.failed} failed, ${s.skipped} skipped`)
  return lines
}
