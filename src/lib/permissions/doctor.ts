import path from 'node:path'
import type {Context} from '../context.js'
import {resolveAccount, type ResolvedAccount} from '../config/accounts.js'
import {loadConfig} from '../config/load.js'
import type {RemoteclawConfig} from '../config/schema.js'
import {ExitCode} from '../errors.js'
import {classifyText, parseVersion, rpcHelpSupported} from '../imsg/classify.js'
import {launchAgentContext, type LaunchAgentContext} from '../service/launch-agent.js'
import {resolveAgents} from '../agents/resolve.js'
import {listApproved} from '../pairing/store.js'
import {sharedDmSessionWarning} from '../sessions/scope-warning.js'
import {checkAttachments, checkRemoteHost, remoteMacFor} from './attachments.js'
import {checkAutomation, checkFullDiskAccess} from './grants.js'
import {dmPolicySentence, findFootguns, groupPolicySentence} from './policy.js'
import {inspectWrapper, resolveBinary, showPath, type WrapperInfo} from './process-context.js'
import {DOCTOR_SCHEMA_VERSION, skipped, type DoctorCheck, type DoctorReport, type HostKeySummary, type ProbeSummary} from './report.js'
import {excerpt, run, type RunResult} from './run.js'

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

/** Loads the config and diagnoses one account. Config problems throw (exit 7). */
export async function runDoctor(ctx: Context, opts: DoctorOptions = {}, deps: DoctorDeps = {}): Promise<DoctorReport> {
  const loaded = await loadConfig(ctx)
  const account = resolveAccount(loaded.config, opts.accountId, ctx)
  return diagnoseAccount(ctx, loaded.config, account, opts, deps)
}

export async function diagnoseAccount(
  ctx: Context,
  config: RemoteclawConfig,
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
  const remote = await remoteMacFor(ctx, account)
  const remoteHost = remote.remote?.remoteHost
  const sshUser = (wrapper?.target ?? remoteHost)?.split('@')[0]
  const where = mode === 'wrapper' ? `on ${wrapper?.target ?? remoteHost ?? 'the remote Mac'} through ${bin.found}` : `locally (${showPath(bin)})`
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
      add(unreachableCheck('version', 'imsg version', r, out, mode, wrapper, account, remoteHost, timeoutMs))
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

  // 7. remoteHost (set, or read from a plain wrapper as the gateway does): reachability and host key, for SCP.
  const remoteHostCheck = await checkRemoteHost(ctx, account, remote, wrapper, deps.hostKey)
  if (remoteHostCheck) add(remoteHostCheck)

  // 8. Attachment roots: the list the gateway will match, remote or local.
  add(checkAttachments(ctx, config, account, remote))

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
  const shared = sharedDmSessionWarning(account, resolveAgents(config), approvedHandles)
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
      remoteHost,
      remoteHostFrom: remote.remote ? (remote.remote.derived ? 'wrapper' : 'remoteHost') : undefined,
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

function unreachableCheck(
  id: string,
  title: string,
  r: RunResult,
  out: string,
  mode: 'local' | 'wrapper',
  wrapper: WrapperInfo | undefined,
  account: ResolvedAccount,
  remoteHost: string | undefined,
  timeoutMs: number,
): DoctorCheck {
  const target = wrapper?.target ?? remoteHost ?? 'the Mac'
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
