import type {Context} from '../context.js'
import {expandHome} from '../context.js'
import type {ResolvedAccount} from '../config/accounts.js'
import {classifyText} from '../imsg/classify.js'
import type {LaunchAgentContext} from '../service/launch-agent.js'
import {describeLocalContext, readSqliteHeader, type ResolvedBinary, type WrapperInfo} from './process-context.js'
import type {DoctorCheck} from './report.js'
import {excerpt, run} from './run.js'

/**
 * The macOS grants imsg needs, checked in the context the gateway runs it: Full Disk Access
 * (reading chat.db) and Automation (sending through Messages).
 */

export const SSH_KEYGEN_WRAPPER = '/usr/libexec/sshd-keygen-wrapper'

export async function checkFullDiskAccess(
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

export async function checkAutomation(
  ctx: Context,
  account: ResolvedAccount,
  bin: ResolvedBinary,
  wrapper: WrapperInfo | undefined,
  mode: 'local' | 'wrapper',
  opts: {sendTest?: string; sendText?: string},
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
export function firstRunFix(mode: 'local' | 'wrapper', wrapper: WrapperInfo | undefined, sshUser: string | undefined, handle: string | undefined): string {
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
  const {realpath} = await import('node:fs/promises')
  return realpath(process.execPath).catch(() => process.execPath)
}
