/** The doctor's report: its JSON shape (schemaVersion 1) and its human rendering. */

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
    /** The Mac attachments are fetched from: remoteHost, or read from a plain `exec ssh user@host imsg "$@"` wrapper. */
    remoteHost?: string
    /** Where remoteHost came from: the remoteHost key, or the wrapper at cliPath. */
    remoteHostFrom?: 'remoteHost' | 'wrapper'
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

export function skipped(id: string, title: string, message: string): DoctorCheck {
  return {id, title, status: 'skip', message}
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
