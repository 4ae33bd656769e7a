/**
 * Exit codes are a contract with operators' shell scripts: keep them stable and identical
 * with and without --json (see docs/exit-codes.md).
 */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  DECLINED: 3,
  NOT_FOUND: 4,
  UNHEALTHY: 5,
  UNREACHABLE: 6,
  CONFIG_INVALID: 7,
  INTERRUPTED: 130,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

export interface RemoteclawErrorOptions {
  /** What to do about it: a command to run or a key to set. Printed as "Fix: ...". */
  fix?: string
  /** Stable machine-readable identifier, e.g. "config_invalid". Part of --json output. */
  code?: string
  exitCode?: ExitCode
  details?: unknown
  cause?: unknown
}

/**
 * The one error type the CLI renders without a stack trace: cause in `message`, remedy in `fix`.
 * Anything else reaching the top level is a bug and shows its stack only with --verbose.
 */
export class RemoteclawError extends Error {
  readonly fix?: string
  readonly code: string
  readonly exitCode: ExitCode
  readonly details?: unknown

  constructor(message: string, options: RemoteclawErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'RemoteclawError'
    this.fix = options.fix
    this.code = options.code ?? 'error'
    this.exitCode = options.exitCode ?? ExitCode.FAILURE
    this.details = options.details
  }
}

export class UsageError extends RemoteclawError {
  constructor(message: string, options: Omit<RemoteclawErrorOptions, 'exitCode'> = {}) {
    super(message, {code: 'usage', ...options, exitCode: ExitCode.USAGE})
    this.name = 'UsageError'
  }
}

export class NotFoundError extends RemoteclawError {
  constructor(message: string, options: Omit<RemoteclawErrorOptions, 'exitCode'> = {}) {
    super(message, {code: 'not_found', ...options, exitCode: ExitCode.NOT_FOUND})
    this.name = 'NotFoundError'
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}
