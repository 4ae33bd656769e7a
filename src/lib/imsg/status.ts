import {NOT_CONFIGURED_FIX, NOT_CONFIGURED_MESSAGE, type ResolvedAccount} from '../config/accounts.js'
import type {AccountHealthView, GatewayHealthView} from '../core/health-view.js'
import {CAPABILITY_LABELS, CAPABILITY_NAMES, type CapabilitySet} from './capabilities.js'
import {probeExitCode, type ProbeCheck, type ProbeResult, type ProbeStatus} from './probe-result.js'

/**
 * The `channels status --json` document. schemaVersion 1 is a contract (docs/setup-and-doctor.md,
 * "channels status"): add fields, never rename or remove them without bumping the version.
 */
export const STATUS_SCHEMA_VERSION = 1

export type AccountStatus = ProbeStatus | 'configured'

export interface AccountStatusJson {
  id: string
  name?: string
  enabled: boolean
  /** healthy | unhealthy | unreachable (with --probe), configured (without), disabled. */
  status: AccountStatus
  cliPath: string
  dbPath?: string
  remoteHost?: string
  service: string
  region: string
  dmPolicy: string
  groupPolicy: string
  /** With --probe: every check in order. */
  checks?: ProbeCheck[]
  version?: string
  protocol?: 'lenient' | 'strict'
  methods?: string[]
  capabilities?: Record<string, unknown>
  /**
   * With --probe: each capability beyond send/receive (typing, read, tapback, emojiTapback,
   * threadedReply, trackedSend) as {usable, reason?, fix?}, plus where it was detected from.
   */
  capabilitySet?: CapabilitySet
  latencyMs?: number
  /** The running gateway's view of this account, when a gateway has written its health file. */
  gateway?: {
    running: boolean
    state: string
    degraded: boolean
    problems: string[]
    childPid?: number
    imsgVersion?: string
    /** When the current imsg child started (ISO). */
    startedAt?: string
    lastInboundAt?: string
    lastStreamEventAt?: string
    lastSendAt?: string
    lastSendOutcome?: string
    /** Delivery state of the last send per chat: pending | sent | delivered | failed | unknown, readAt where known. */
    lastDeliveries?: Record<string, {state: string; at: string; readAt?: string; guid?: string}>
    restarts: number
    lastError?: string
  }
}

export interface StatusJson {
  schemaVersion: 1
  /** True when --probe ran live checks. */
  probed: boolean
  /** True when the exit code is 0. */
  healthy: boolean
  exitCode: 0 | 5 | 6
  configPath: string
  /** Non-fatal config findings. */
  warnings: string[]
  /** Set when no iMessage account is configured (then `accounts` is empty). */
  problem?: {message: string; fix: string}
  gateway: {state: string; pid?: number; updatedAt?: string; summary: string}
  accounts: AccountStatusJson[]
}

function gatewayView(a: AccountHealthView): NonNullable<AccountStatusJson['gateway']> {
  return {
    running: a.running,
    state: a.state,
    degraded: a.degraded,
    problems: a.problems,
    childPid: a.childPid,
    imsgVersion: a.imsgVersion,
    startedAt: a.startedAt,
    lastInboundAt: a.lastInboundAt,
    lastStreamEventAt: a.lastStreamEventAt,
    lastSendAt: a.lastSendAt,
    lastSendOutcome: a.lastSendOutcome,
    lastDeliveries: a.lastDeliveries,
    restarts: a.restarts,
    lastError: a.lastError,
  }
}

/** Builds the status document from accounts, optional probe results and the gateway's health. */
export function buildStatus(input: {
  configPath: string
  warnings: string[]
  accounts: ResolvedAccount[]
  probes?: Map<string, ProbeResult>
  gateway: GatewayHealthView
}): StatusJson {
  const {accounts, probes, gateway} = input
  const out: AccountStatusJson[] = accounts.map((a) => {
    const p = probes?.get(a.id)
    const gw = gateway.accounts.find((g) => g.accountId === a.id)
    let status: AccountStatus = a.enabled ? (p ? p.status : 'configured') : 'disabled'
    // A running gateway that reports this account degraded makes it unhealthy even without --probe.
    if (gw?.degraded && (status === 'configured' || status === 'healthy')) status = 'unhealthy'
    const row: AccountStatusJson = {
      id: a.id,
      name: a.name,
      enabled: a.enabled,
      status,
      cliPath: a.cliPath,
      dbPath: a.dbPath,
      remoteHost: a.remoteHost,
      service: a.service,
      region: a.region,
      dmPolicy: a.dmPolicy,
      groupPolicy: a.groupPolicy,
    }
    if (p) {
      row.checks = p.checks
      row.version = p.version
      row.protocol = p.protocol
      row.methods = p.methods
      row.capabilities = p.capabilities
      row.capabilitySet = p.capabilitySet
      row.latencyMs = p.latencyMs
    }
    if (gw) row.gateway = gatewayView(gw)
    return row
  })
  let exitCode = probeExitCode(out.map((r) => ({status: r.status === 'configured' ? 'healthy' : r.status})) as Array<{status: ProbeStatus}>)
  let problem: StatusJson['problem']
  if (accounts.length === 0) {
    exitCode = 5
    problem = {
      message: NOT_CONFIGURED_MESSAGE,
      fix: NOT_CONFIGURED_FIX,
    }
  } else if (gateway.gateway === 'dead' || gateway.gateway === 'stale') {
    if (exitCode === 0) exitCode = 5
  }
  return {
    schemaVersion: STATUS_SCHEMA_VERSION,
    probed: probes !== undefined,
    healthy: exitCode === 0,
    exitCode,
    configPath: input.configPath,
    warnings: input.warnings,
    ...(problem ? {problem} : {}),
    gateway: {state: gateway.gateway, pid: gateway.pid, updatedAt: gateway.updatedAt, summary: gateway.summary},
    accounts: out,
  }
}

/** One line per capability; each distinct fix once, after them (the bridge fix would repeat otherwise). */
export function renderCapabilities(set: CapabilitySet, indent = '  '): string[] {
  const lines = [`${indent}capabilities (everything else works without them):`]
  const fixes: string[] = []
  for (const name of CAPABILITY_NAMES) {
    const c = set[name]
    lines.push(`${indent}  ${c.usable ? '✓' : '-'} ${CAPABILITY_LABELS[name]}${c.usable ? '' : `: not usable, ${c.reason ?? 'unknown reason'}`}`)
    if (!c.usable && c.fix && !fixes.includes(c.fix)) fixes.push(c.fix)
  }
  for (const f of fixes) lines.push(`${indent}    Fix: ${f}`)
  return lines
}

const MARK: Record<string, string> = {pass: '✓', fail: '✗', skip: '-', warn: '!'}

/** Human rendering (stdout lines). */
export function renderStatus(s: StatusJson): string[] {
  const lines: string[] = []
  if (s.problem) {
    lines.push(`iMessage: ${s.problem.message}`, `  Fix: ${s.problem.fix}`)
  }
  for (const a of s.accounts) {
    const label = a.name ? `${a.id} (${a.name})` : a.id
    const extra = [a.version ? `imsg ${a.version}` : undefined, a.latencyMs === undefined ? undefined : `${a.latencyMs} ms`].filter(Boolean).join(', ')
    lines.push(`iMessage account ${label}: ${a.status}${extra ? ` (${extra})` : ''}`)
    lines.push(`  cliPath ${a.cliPath}${a.dbPath ? `, dbPath ${a.dbPath}` : ''}${a.remoteHost ? `, remoteHost ${a.remoteHost}` : ''}`)
    for (const c of a.checks ?? []) {
      lines.push(`  ${MARK[c.status] ?? '?'} ${c.id}: ${c.message}`)
      if (c.fix && (c.status === 'fail' || c.status === 'warn')) lines.push(`      Fix: ${c.fix}`)
    }
    if (a.capabilitySet) lines.push(...renderCapabilities(a.capabilitySet))
    if (a.gateway) {
      const g = a.gateway
      const facts = [
        g.childPid === undefined ? undefined : `imsg pid ${g.childPid}`,
        g.imsgVersion ? `imsg ${g.imsgVersion}` : undefined,
        g.startedAt ? `started ${g.startedAt}` : undefined,
        `${g.restarts} restart${g.restarts === 1 ? '' : 's'}`,
      ].filter(Boolean)
      lines.push(`  gateway: ${g.running ? 'running' : g.state} (${facts.join(', ')})`)
      lines.push(
        `  last inbound ${g.lastInboundAt ?? 'none yet'}; last send ${g.lastSendAt ? `${g.lastSendAt} (${g.lastSendOutcome ?? 'unknown'})` : 'none yet'}`,
      )
      const deliveries = Object.entries(g.lastDeliveries ?? {})
      if (deliveries.length > 0) {
        lines.push('  last send per chat:')
        for (const [chat, d] of deliveries.slice(-5)) {
          lines.push(`    ${chat}: ${d.state} at ${d.at}${d.readAt ? `, read ${d.readAt}` : ''}${d.state === 'pending' ? ' (sending, or its outcome is being settled)' : ''}`)
        }
      }
      if (g.lastError) lines.push(`  last error: ${g.lastError}`)
      for (const p of g.problems) lines.push(`  ! ${p}`)
    }
  }
  lines.push(`gateway: ${s.gateway.summary}`)
  if (!s.probed && s.accounts.length > 0) lines.push('Run with --probe to check imsg live (permissions, rpc, latency).')
  return lines
}
