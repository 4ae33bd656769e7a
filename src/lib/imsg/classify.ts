/**
 * Classifies what imsg (or a wrapper around it) prints outside the JSON protocol, and the text
 * of RPC errors. imsg writes its own failures as plain text on stdout (protocol §7.4, §7.5), so
 * this is how a permission problem becomes an actionable error. Shared with the doctor.
 */
export type OutputKind = 'full_disk_access' | 'automation' | 'rpc_unsupported' | 'ssh' | 'other'

/** Full Disk Access markers, by version (protocol §3.9, §7.4). Matched case-insensitively. */
const FDA_MARKERS = [
  /full disk access/i,
  /permission error/i,
  /authorization denied/i,
  /unable to open database/i,
  /permissionDenied\(/,
  /out of memory \(14\)/i,
  /database unavailable/i,
]

/** Automation (Apple Events) denied (protocol §7.5). */
const AUTOMATION_MARKERS = [/-1743\b/, /not authori[sz]ed to send apple events/i]

/** A binary without `rpc`, or a wrapper running the wrong thing. */
const RPC_UNSUPPORTED_MARKERS = [/^unknown command\b/im, /\bunknown command:?\s+rpc\b/i]

/** An SSH wrapper that cannot reach the Mac. */
const SSH_MARKERS = [
  /^ssh: /im,
  /connection (refused|timed out|closed by)/i,
  /could not resolve hostname/i,
  /host key verification failed/i,
  /permission denied \((publickey|password|keyboard-interactive)/i,
  /no route to host/i,
]

export function classifyText(text: string): OutputKind {
  if (FDA_MARKERS.some((re) => re.test(text))) return 'full_disk_access'
  if (AUTOMATION_MARKERS.some((re) => re.test(text))) return 'automation'
  if (RPC_UNSUPPORTED_MARKERS.some((re) => re.test(text))) return 'rpc_unsupported'
  if (SSH_MARKERS.some((re) => re.test(text))) return 'ssh'
  return 'other'
}

const SEVERITY: Record<OutputKind, number> = {full_disk_access: 4, automation: 3, rpc_unsupported: 2, ssh: 1, other: 0}

/** The more specific of two kinds (a specific diagnosis beats "other"). */
export function worseKind(a: OutputKind | undefined, b: OutputKind): OutputKind {
  if (a === undefined) return b
  return SEVERITY[b] > SEVERITY[a] ? b : a
}

/**
 * Does `imsg rpc --help` output show rpc support? Judged by content, never by exit code:
 * a binary without rpc prints its root help and exits 0 (protocol §7.2).
 */
export function rpcHelpSupported(helpText: string): boolean {
  const firstLine = helpText.replace(/^\s+/, '').split('\n', 1)[0]?.trim() ?? ''
  return firstLine === 'imsg rpc' || helpText.includes('Run JSON-RPC over stdin/stdout')
}

/** The first version-looking token (`0.9.0`, `v0.14.1`) of `imsg --version` output. */
export function parseVersion(text: string): string | undefined {
  const m = /\b[vV]?(\d+\.\d+(?:\.\d+)?(?:[-+][0-9A-Za-z.-]+)?)\b/.exec(text)
  return m?.[1]
}

/** Compares dotted versions numerically: negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0)
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0)
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

/** Strict protocol ("v1") starts at imsg 0.14.0. */
export function isStrictVersion(version: string): boolean {
  return compareVersions(version, '0.14.0') >= 0
}
