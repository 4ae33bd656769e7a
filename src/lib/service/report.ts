import {resolveAccounts} from '../config/accounts.js'
import {loadConfig} from '../config/load.js'
import type {Context} from '../context.js'
import {ExitCode} from '../errors.js'
import {readGatewayHealth, type GatewayHealthView} from '../gateway/health.js'
import {buildStatus, renderStatus, type StatusJson} from '../imsg/status.js'
import type {CommandRunner} from './exec.js'
import type {ControlResult, ServiceBackend, ServiceStatus} from './service.js'
import type {ServiceSpec} from './spec.js'

export const SERVICE_SCHEMA_VERSION = 1

/** Which binary macOS asks about, and why: the program launchd runs (ProgramArguments[0]). */
export function grantLines(spec: Pick<ServiceSpec, 'programArguments' | 'node' | 'binaries'>, kind: 'launchd' | 'systemd'): string[] {
  if (kind !== 'launchd') return []
  const program = spec.programArguments[0]!
  const lines = [
    `Permissions: the LaunchAgent runs ${program}${spec.node.real !== program ? ` (today -> ${spec.node.real})` : ''}. Grant it Full Disk Access (reads chat.db) and, at the first send, Automation for Messages:`,
    `  System Settings → Privacy & Security → Full Disk Access → + → ⇧⌘G ${program}`,
  ]
  const imsg = spec.binaries.filter((b) => b.role.startsWith('imsg') && b.found).map((b) => b.found!)
  if (imsg.length > 0) lines.push(`  and imsg as well: ${[...new Set(imsg)].join(', ')}`)
  lines.push('  A grant to Terminal does not cover the LaunchAgent. Check it with: remoteclaw channels doctor')
  return lines
}

/** `gateway status --json`: the service manager's facts (ServiceStatus) plus the gateway's health. */
export interface ServiceStatusJson extends ServiceStatus {
  schemaVersion: number
  /** The gateway's own health (as `channels status` shows it). */
  health: {state: string; pid?: number; updatedAt?: string; summary: string; healthy: boolean}
  /** Why it is not healthy (empty when it is). */
  problems: string[]
  healthy: boolean
  exitCode: 0 | 4 | 5
  channels?: StatusJson
}

/** Service facts plus the gateway's health; exit 0 running and healthy, 5 installed but not, 4 not installed. */
export async function serviceStatusReport(ctx: Context, backend: ServiceBackend, run: CommandRunner): Promise<ServiceStatusJson> {
  const s: ServiceStatus = await backend.status(run)
  const health: GatewayHealthView = await readGatewayHealth(ctx)
  let channels: StatusJson | undefined
  try {
    const loaded = await loadConfig(ctx)
    const all = resolveAccounts(loaded.config, {home: ctx.home})
    channels = buildStatus({configPath: loaded.path, warnings: [...loaded.warnings, ...all.warnings], accounts: all.accounts, gateway: health})
  } catch {
    // the health file alone still says whether the gateway runs
  }
  const problems: string[] = []
  if (!s.installed && !s.loaded) {
    problems.push('the service is not installed')
  } else {
    if (!s.loaded) problems.push(`the service is installed but not loaded (start it: remoteclaw gateway start)`)
    else if (!s.running) problems.push(`the service is not running${s.lastExitStatus !== undefined ? ` (last exit status ${s.lastExitStatus})` : ''}; see: remoteclaw logs --level warn`)
    if (s.running && health.gateway === 'running' && health.pid !== s.pid) {
      problems.push(`the gateway writing the health file is pid ${health.pid}, not the service's pid ${s.pid} (a gateway started by hand?)`)
    }
    if (s.running && health.gateway !== 'running') problems.push(`the gateway's health: ${health.summary}`)
    if (channels && !channels.healthy && health.gateway === 'running') problems.push('an account is unhealthy (see below)')
  }
  const installed = s.installed || s.loaded
  const healthy = installed && problems.length === 0
  const exitCode = !installed ? ExitCode.NOT_FOUND : healthy ? ExitCode.OK : ExitCode.UNHEALTHY
  return {
    schemaVersion: SERVICE_SCHEMA_VERSION,
    manager: s.manager,
    name: s.name,
    file: s.file,
    installed: s.installed,
    ours: s.ours,
    loaded: s.loaded,
    running: s.running,
    pid: s.pid,
    state: s.state,
    lastExitStatus: s.lastExitStatus,
    linger: s.linger,
    health: {state: health.gateway, pid: health.pid, updatedAt: health.updatedAt, summary: health.summary, healthy: channels ? channels.healthy : health.gateway === 'running'},
    problems,
    healthy,
    exitCode: exitCode as 0 | 4 | 5,
    channels,
  }
}

export function renderServiceStatus(r: ServiceStatusJson): string[] {
  const lines: string[] = []
  if (!r.installed && !r.loaded) {
    lines.push(`Service: not installed (${r.file})`, '  Install it: remoteclaw gateway install')
  } else {
    const facts = [
      r.loaded ? 'loaded' : 'not loaded',
      r.running ? `running (pid ${r.pid})` : 'not running',
      r.state ? `state ${r.state}` : undefined,
      r.lastExitStatus === undefined ? undefined : `last exit status ${r.lastExitStatus}`,
    ].filter(Boolean)
    lines.push(`Service: ${r.manager} ${r.name}: ${facts.join(', ')}`, `  file ${r.file}${r.ours === false ? ' (not written by remoteclaw)' : ''}`)
    if (r.linger === false) lines.push('  ! lingering is off: the service stops when you log out (keep it running: loginctl enable-linger $USER)')
  }
  for (const p of r.problems) if (p !== 'the service is not installed') lines.push(`  ! ${p}`)
  if (r.channels) lines.push(...renderStatus(r.channels))
  else lines.push(`gateway: ${r.health.summary}`)
  return lines
}

/** Human lines for start/stop/restart. */
export function describeControl(r: ControlResult): string[] {
  const lines = r.commands.map((c) => `Ran: ${c.join(' ')}`)
  const a = r.after
  if (!r.changed) lines.push(r.action === 'start' ? `The gateway service already runs (pid ${a.pid}).` : 'The gateway service is not running; nothing to stop.')
  else if (r.action === 'stop') lines.push(a.running ? `The service still runs (pid ${a.pid}); check: remoteclaw gateway status` : 'The gateway service is stopped.')
  else if (a.running) lines.push(`The gateway service runs (pid ${a.pid}). Check it: remoteclaw gateway status`)
  else lines.push(`The service was ${r.action === 'start' ? 'started' : 'restarted'} but no gateway process runs yet; check: remoteclaw gateway status (and remoteclaw logs --level warn)`)
  return lines
}
