import chalk from 'chalk'

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
  /** Also receives every record as a JSON line, whatever `format` is (the gateway's log file). */
  tee?: (jsonLine: string) => void
  /** Colour the text format (level, time); decided by the caller (a TTY, no NO_COLOR). */
  color?: boolean
  now?: () => number
  scope?: string
  fields?: LogFields
}

function renderValue(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v
  if (v instanceof Error) return JSON.stringify(v.message)
  return JSON.stringify(v)
}

const LEVEL_COLOR: Record<LogLevel, (s: string) => string> = {
  debug: (s) => chalk.dim(s),
  info: (s) => chalk.green(s),
  warn: (s) => chalk.yellow(s),
  error: (s) => chalk.red(s),
}

/** The human line (foreground gateway and `remoteclaw logs`); `color` only for a terminal. */
export function formatText(r: LogRecord, opts: {color?: boolean} = {}): string {
  const scope = r.scope ? ` [${r.scope}]` : ''
  const extra = Object.entries(r.fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${renderValue(v)}`)
    .join(' ')
  const level = r.level.toUpperCase().padEnd(5)
  if (!opts.color) return `${r.time} ${level}${scope} ${r.msg}${extra ? ' ' + extra : ''}`
  const paint = LEVEL_COLOR[r.level] ?? ((s: string) => s)
  return `${chalk.dim(r.time)} ${paint(level)}${chalk.cyan(scope)} ${r.msg}${extra ? ' ' + chalk.dim(extra) : ''}`
}

/** The JSON line of a record (the log file's format and --log-format json). */
export function formatJson(r: LogRecord): string {
  const fieldsOut: LogFields = {}
  for (const [k, v] of Object.entries(r.fields)) fieldsOut[k] = v instanceof Error ? v.message : v
  return JSON.stringify({time: r.time, level: r.level, scope: r.scope, msg: r.msg, ...fieldsOut})
}

export function isLogLevel(v: unknown): v is LogLevel {
  return typeof v === 'string' && v in ORDER
}

export function levelAtLeast(level: LogLevel, min: LogLevel): boolean {
  return ORDER[level] >= ORDER[min]
}

/** Parses one JSON log line back into a record, or undefined for anything else. */
export function parseJsonLine(line: string): LogRecord | undefined {
  let v: unknown
  try {
    v = JSON.parse(line)
  } catch {
    return undefined
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined
  const {time, level, scope, msg, ...fields} = v as Record<string, unknown>
  if (typeof time !== 'string' || !isLogLevel(level) || typeof msg !== 'string') return undefined
  return {time, level, scope: typeof scope === 'string' ? scope : undefined, msg, fields}
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
    const json = format === 'json' || options.tee ? formatJson(record) : undefined
    if (options.tee) options.tee(json!)
    write(format === 'json' ? json! : formatText(record, {color: options.color}))
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
