// What a probe found, apart from how it is found (probe.ts): the status command renders it
// without loading the imsg client and execa.
import type {CapabilitySet} from './capabilities.js'

export type CheckId = 'configured' | 'cli_found' | 'rpc_supported' | 'db_readable' | 'rpc_session' | 'rpc_output' | 'version'
export type CheckStatus = 'pass' | 'fail' | 'skip' | 'warn'

export interface ProbeCheck {
  id: CheckId
  status: CheckStatus
  /** What was found, one sentence. */
  message: string
  /** What to do, when status is fail or warn. */
  fix?: string
  /** Stable machine code of the failure (e.g. imsg_full_disk_access). */
  code?: string
  durationMs?: number
}

/**
 * healthy: every check passed; unhealthy: imsg answers but something is wrong (permissions,
 * rpc unsupported); unreachable: imsg not found, a wrapper that cannot connect, or a timeout;
 * disabled: the account is switched off (not probed).
 */
export type ProbeStatus = 'healthy' | 'unhealthy' | 'unreachable' | 'disabled'

export interface ProbeResult {
  accountId: string
  status: ProbeStatus
  checks: ProbeCheck[]
  /** imsg's version when known (`--version`, or initialize on 0.14+). */
  version?: string
  protocol?: 'lenient' | 'strict'
  /** Methods the server reports as usable (0.14+ initialize), when it reports them. */
  methods?: string[]
  capabilities?: Record<string, unknown>
  /** What this imsg can do beyond send/receive (typing, read, tapbacks, threaded replies, tracked sends). */
  capabilitySet?: CapabilitySet
  /** Round-trip time of chats.list {limit:1} in the live session. */
  latencyMs?: number
  /** The resolved executable (cliPath looked up on PATH). */
  resolvedCliPath?: string
}

/** The process exit code for a set of probe results: 6 if any unreachable, else 5 if any unhealthy, else 0. */
export function probeExitCode(results: Array<{status: ProbeStatus}>): 0 | 5 | 6 {
  if (results.some((r) => r.status === 'unreachable')) return 6
  if (results.some((r) => r.status === 'unhealthy')) return 5
  return 0
}
