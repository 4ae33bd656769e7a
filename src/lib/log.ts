/**
 * Structured logger. Logs go to stderr (stdout is for command output and --json).
 * Text lines are "LEVEL [scope] message key=value"; json lines are one object each.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFormat = 'text' | 'json'
export type LogFields = Record<string, unknown>

const ORDER: Record<LogLevel, number> = {debug: 10, info: 20, warn: 30, error: 40}

export interface LogRecord {
  time: string
  level: LogLevel
  scope?: string
  msg: string
  fields: LogFields
}

export interface Logger {
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
  child(scope: string, fields?: LogFields): Logger
  readonly level: LogLevel
}

export interface LoggerOptions {
  level?: LogLevel
  format?: LogFormat
  /** Where lines go. Default: process.stderr. */
  write?: (line: string) => void
  /** Receives every record at or above the level (tests, the demo transcript). */
  onRecord?: (record: LogRecord) => void
  now?: () => number
  scope?: string
  fields?: LogFields
}

function renderValue(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v
  if (v instanceof Error) return JSON.stringify(v.message)
  return JSON.stringify(v)
}

export function formatText(r: LogRecord): string {
  const scope = r.scope ? ` [${r.scope}]` : ''
  const extra = Object.entries(r.fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${renderValue(v)}`)
    .join(' ')
  return `${r.time} ${r.level.toUpperCase().padEnd(5)}${scope} ${r.msg}${extra ? ' ' + extra : ''}`
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info'
  const format = options.format ?? 'text'
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'))
  const now = options.now ?? Date.now
  const base = options.fields ?? {}

  const emit = (lvl: LogLevel, msg: string, fields: LogFields = {}) => {
    if (ORDER[lvl] < ORDER[level]) return
    const record: LogRecord = {time: new Date(now()).toISOString(), level: lvl, scope: options.scope, msg, fields: {...base, ...fields}}
    options.onRecord?.(record)
    if (format === 'json') {
      const fieldsOut: LogFields = {}
      for (const [k, v] of Object.entries(record.fields)) fieldsOut[k] = v instanceof Error ? v.message : v
      write(JSON.stringify({time: record.time, level: lvl, scope: record.scope, msg, ...fieldsOut}))
    } else {
      write(formatText(record))
    }
  }

  return {
    level,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (scope, fields) =>
      createLogger({...options, scope: options.scope ? `${options.scope}:${scope}` : scope, fields: {...base, ...fields}}),
  }
}

/** A logger that drops everything (for library calls from commands that render their own output). */
export const silentLogger: Logger = createLogger({level: 'error', write: () => {}})
