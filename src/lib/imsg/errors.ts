import {ExitCode, RemoteclawError} from '../errors.js'
import type {OutputKind} from './classify.js'

/** What the client saw outside the protocol; every ImsgError carries a copy. */
export interface ImsgDiagnostics {
  /** The last non-JSON stdout lines (bounded). */
  stdoutLines: string[]
  /** How many non-JSON stdout lines were seen in total. */
  stdoutLineCount: number
  /** The last stderr lines (bounded). */
  stderrLines: string[]
  /** The most specific classification of those lines, if any. */
  kind?: OutputKind
}

export const EMPTY_DIAGNOSTICS: ImsgDiagnostics = {stdoutLines: [], stdoutLineCount: 0, stderrLines: []}

/** Where imsg runs, for fixes that must name the exact binary and process context. */
export interface FixContext {
  cliPath: string
  /** Present when imsg is reached through a wrapper on another machine or user. */
  remoteHost?: string
}

export const FIXES = {
  notFound: (cliPath: string) =>
    `Install imsg on the Mac that runs Messages (brew install steipete/tap/imsg), or set channels.imessage.cliPath to its full path (now "${cliPath}"); a bare name is looked up on PATH.`,
  notExecutable: (cliPath: string) => `Make it executable: chmod +x ${cliPath}  (or point channels.imessage.cliPath at the imsg binary).`,
  rpcUnsupported: (cliPath: string) =>
    `This imsg has no \`rpc\` command (it needs imsg 0.3.0 or newer; 0.14+ recommended). Update it: brew upgrade steipete/tap/imsg, then check: ${cliPath} rpc --help`,
  fullDiskAccess: (c: FixContext) =>
    c.remoteHost
      ? `Grant Full Disk Access on ${c.remoteHost} to the process context that runs imsg there (for an SSH wrapper: the imsg binary and sshd / the bot user's session): System Settings → Privacy & Security → Full Disk Access. Toggle stale entries off and on after Homebrew updates, then retry: remoteclaw channels status --probe`
      : `Grant Full Disk Access to the exact process context that runs ${c.cliPath}: System Settings → Privacy & Security → Full Disk Access → add ${c.cliPath} and the app that starts it (Terminal/iTerm, this Node at ${process.execPath}, or the LaunchAgent). Toggle stale entries off and on after Homebrew/Node updates, restart that app, then retry: remoteclaw channels status --probe`,
  dbMissing: (c: FixContext) =>
    `Set channels.imessage.dbPath (or the account's dbPath) to the Messages database${c.remoteHost ? ` on ${c.remoteHost}` : ''}, usually /Users/<user>/Library/Messages/chat.db of the user signed in to Messages, or remove dbPath to use imsg's default; then retry: remoteclaw channels status --probe`,
  automation: () =>
    'Messages refused Apple Events from imsg (Automation, -1743). Run imsg in the logged-in Messages user\'s own session (a GUI login or that user\'s LaunchAgent, not a plain SSH session, which macOS attributes to sshd-keygen-wrapper), approve the "control Messages" prompt (System Settings → Privacy & Security → Automation), then verify a real send: remoteclaw channels doctor --send-test',
  timeout: (method: string, ms: number) =>
    `imsg did not answer ${method} within ${ms} ms. Likely causes: a cliPath wrapper that buffers stdin (it must \`exec ssh -T -o BatchMode=yes -o ConnectTimeout=5 host imsg "$@"\` and nothing else), a macOS Contacts/Full Disk Access prompt waiting in the imsg user's session (log in there and run \`imsg chats --limit 1\` once), or an SSH connection that hangs (host key not in known_hosts, no key auth). Raise channels.imessage.rpcTimeoutMs only if imsg is merely slow.`,
  ssh: () =>
    'The cliPath wrapper could not reach the Mac over SSH. Check that `ssh -T -o BatchMode=yes <host> true` works without a prompt (key auth, host key already in ~/.ssh/known_hosts), and that the wrapper uses ConnectTimeout.',
  exited: () => 'Run the same command by hand to see why it exits: <cliPath> rpc  (then type {"jsonrpc":"2.0","id":1,"method":"chats.list","params":{}}). Check `remoteclaw channels status --probe`.',
  deliveryUnknown: () =>
    'imsg could not confirm whether the message went out, so it was NOT retried (a retry could send it twice). Check the chat in Messages before sending again.',
  laneBlocked: () => 'An earlier send is still in flight inside imsg; the imsg child must be restarted before sending again (the gateway does this automatically).',
} as const

export interface ImsgErrorInit {
  code: string
  exitCode?: ExitCode
  fix?: string
  method?: string
  rpcCode?: number
  rpcMessage?: string
  data?: unknown
  kind?: OutputKind
  /** false when repeating the call could duplicate an effect (a send whose outcome is unknown). */
  retrySafe?: boolean
  /** The imsg child must be restarted before further mutations (-32004), or is gone. */
  restartRequired?: boolean
  diagnostics?: ImsgDiagnostics
  cause?: unknown
}

/** Any failure talking to imsg. `code` is stable for --json; `rpcCode` is the JSON-RPC code when there is one. */
export class ImsgError extends RemoteclawError {
  readonly method?: string
  readonly rpcCode?: number
  readonly rpcMessage?: string
  readonly data?: unknown
  readonly kind?: OutputKind
  readonly retrySafe: boolean
  readonly restartRequired: boolean
  readonly diagnostics: ImsgDiagnostics

  constructor(message: string, init: ImsgErrorInit) {
    const diagnostics = init.diagnostics ?? EMPTY_DIAGNOSTICS
    super(message, {
      code: init.code,
      exitCode: init.exitCode ?? ExitCode.FAILURE,
      fix: init.fix,
      cause: init.cause,
      details: {
        method: init.method,
        rpcCode: init.rpcCode,
        data: init.data,
        kind: init.kind,
        retrySafe: init.retrySafe ?? true,
        imsgOutput: diagnostics.stdoutLines.length > 0 ? diagnostics.stdoutLines : undefined,
        imsgStderr: diagnostics.stderrLines.length > 0 ? diagnostics.stderrLines : undefined,
      },
    })
    this.name = new.target.name
    this.method = init.method
    this.rpcCode = init.rpcCode
    this.rpcMessage = init.rpcMessage
    this.data = init.data
    this.kind = init.kind
    this.retrySafe = init.retrySafe ?? true
    this.restartRequired = init.restartRequired ?? false
    this.diagnostics = diagnostics
  }
}

/** A JSON-RPC error response. Subclasses per code below; `rpcErrorFromWire` picks one. */
export class ImsgRpcError extends ImsgError {}
export class ImsgParseError extends ImsgRpcError {} // -32700
export class ImsgInvalidRequestError extends ImsgRpcError {} // -32600
export class ImsgMethodNotFoundError extends ImsgRpcError {} // -32601
export class ImsgInvalidParamsError extends ImsgRpcError {} // -32602
export class ImsgInternalError extends ImsgRpcError {} // -32603
export class ImsgServerBusyError extends ImsgRpcError {} // -32000
/** -32001: the send may or may not have happened. Never retried. */
export class ImsgDeliveryUnknownError extends ImsgRpcError {}
export class ImsgDatabaseUnavailableError extends ImsgRpcError {} // -32002
export class ImsgBridgeUnavailableError extends ImsgRpcError {} // -32003
/** -32004: restart the child before any further mutation. */
export class ImsgMutationLaneBlockedError extends ImsgRpcError {}

/** No answer within the request timeout. */
export class ImsgTimeoutError extends ImsgError {}
/** The child exited (or crashed) with requests pending, or before the call. */
export class ImsgExitedError extends ImsgError {}
/** The child could not be started (cliPath missing or not executable). */
export class ImsgSpawnError extends ImsgError {}
/** A watch stream ended because of an `error` or `watch.overflow` notification, or the child died. */
export class ImsgWatchEndedError extends ImsgError {
  readonly reason: 'error' | 'overflow' | 'exited'
  readonly subscription?: number
  /** From `watch.overflow`: resubscribe with since_rowid = this. */
  readonly resumeAfterRowid?: number
  constructor(
    message: string,
    init: ImsgErrorInit & {reason: 'error' | 'overflow' | 'exited'; subscription?: number; resumeAfterRowid?: number},
  ) {
    super(message, init)
    this.reason = init.reason
    this.subscription = init.subscription
    this.resumeAfterRowid = init.resumeAfterRowid
  }
}

const MUTATIONS = /^(send(\..+)?|tapback|message\.(edit|unsend|delete|notifyAnyways)|chats\.(create|delete|markUnread)|group\..+|typing|read)$/

/** A mutation whose outcome is unknown after a timeout or crash must not be retried blindly. */
export function isMutation(method: string): boolean {
  return MUTATIONS.test(method)
}

function dataText(data: unknown): string {
  if (typeof data === 'string') return data
  if (data && typeof data === 'object') {
    const o = data as Record<string, unknown>
    const text = [o.detail, o.error, o.message].find((v): v is string => typeof v === 'string')
    if (text === undefined) return JSON.stringify(data)
    return typeof o.path === 'string' ? `${text} (${o.path})` : text
  }
  return ''
}

/** First meaningful line of a (possibly multi-line banner) error text. */
function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? ''
}

/** Builds the typed error for a JSON-RPC error object. */
export function rpcErrorFromWire(
  method: string,
  err: {code?: unknown; message?: unknown; data?: unknown},
  diagnostics: ImsgDiagnostics,
  fixCtx: FixContext,
  classify: (text: string) => OutputKind,
): ImsgRpcError {
  const code = typeof err.code === 'number' ? err.code : -32603
  const rpcMessage = typeof err.message === 'string' ? err.message : 'error'
  const text = dataText(err.data)
  const kind = classify(`${rpcMessage}\n${text}`)
  const dataObj = err.data && typeof err.data === 'object' ? (err.data as Record<string, unknown>) : undefined
  const retrySafeData = typeof dataObj?.retry_safe === 'boolean' ? (dataObj.retry_safe as boolean) : undefined
  const base = {method, rpcCode: code, rpcMessage, data: err.data, diagnostics, kind}
  const detail = text ? `: ${firstLine(text)}` : ''
  const what = `imsg ${method} failed (${code} ${rpcMessage})${detail}`

  // 0.14+ -32002 names two causes; "does not exist" is a wrong dbPath, not a missing permission.
  if (code === -32002 && /does not exist/i.test(text)) {
    return new ImsgDatabaseUnavailableError(`imsg cannot open the Messages database${detail}`, {
      ...base,
      kind: 'other',
      code: 'db_not_found',
      fix: FIXES.dbMissing(fixCtx),
      retrySafe: true,
    })
  }
  if (kind === 'full_disk_access' && (code === -32603 || code === -32002)) {
    const Cls = code === -32002 ? ImsgDatabaseUnavailableError : ImsgInternalError
    return new Cls(`imsg cannot read the Messages database (Full Disk Access missing)${detail}`, {
      ...base,
      code: 'imsg_full_disk_access',
      fix: FIXES.fullDiskAccess(fixCtx),
      retrySafe: true,
    })
  }
  if (kind === 'automation') {
    return new ImsgInternalError(`imsg could not send: Messages refused Apple Events (Automation permission denied)${detail}`, {
      ...base,
      code: 'imsg_automation_denied',
      fix: FIXES.automation(),
      retrySafe: true,
    })
  }
  switch (code) {
    case -32700:
      return new ImsgParseError(what, {...base, code: 'imsg_parse_error'})
    case -32600:
      return new ImsgInvalidRequestError(what, {...base, code: 'imsg_invalid_request'})
    case -32601:
      return new ImsgMethodNotFoundError(`this imsg does not support ${method}${detail}`, {
        ...base,
        code: 'imsg_method_not_found',
        fix: `Update imsg (brew upgrade steipete/tap/imsg); ${method} needs a newer version.`,
      })
    case -32602:
      return new ImsgInvalidParamsError(what, {...base, code: 'imsg_invalid_params'})
    case -32000:
      return new ImsgServerBusyError(what, {...base, code: 'imsg_busy', fix: 'imsg is overloaded or shutting down; retry shortly.'})
    case -32001:
      return new ImsgDeliveryUnknownError(`delivery outcome unknown; not retried (imsg ${method}${detail})`, {
        ...base,
        code: 'imsg_delivery_unknown',
        retrySafe: false,
        fix: FIXES.deliveryUnknown(),
      })
    case -32002:
      return new ImsgDatabaseUnavailableError(`imsg cannot open the Messages database${detail}`, {
        ...base,
        code: 'imsg_database_unavailable',
        fix: FIXES.fullDiskAccess(fixCtx),
      })
    case -32003:
      return new ImsgBridgeUnavailableError(what, {
        ...base,
        code: 'imsg_bridge_unavailable',
        fix: 'Start the imsg bridge (imsg launch) or use a method that works without it.',
      })
    case -32004:
      return new ImsgMutationLaneBlockedError(what, {
        ...base,
        code: 'imsg_lane_blocked',
        retrySafe: false,
        restartRequired: true,
        fix: FIXES.laneBlocked(),
      })
    default:
      return new ImsgInternalError(what, {...base, code: 'imsg_rpc_error', retrySafe: retrySafeData ?? !isMutation(method)})
  }
}
