import fs from 'node:fs/promises'
import JSON5 from 'json5'
import type {Context} from '../context.js'
import {ExitCode, RemoteclawError} from '../errors.js'
import {configSchema, type RemoteclawConfig} from './schema.js'
import {formatIssue, validateConfig, type ConfigIssue, type ValidationResult} from './validate.js'

export interface LoadedConfig {
  path: string
  /** False when the file does not exist (an empty config, not an error). */
  exists: boolean
  /** The file's text as read ('' when missing). */
  text: string
  config: RemoteclawConfig
  /** Non-fatal findings (legacy layout, footguns) to print on stderr, one line each. */
  warnings: string[]
  /** The same warnings, structured. */
  issues: ConfigIssue[]
}

export class ConfigInvalidError extends RemoteclawError {
  constructor(message: string, options: {fix?: string; details?: unknown} = {}) {
    super(message, {code: 'config_invalid', exitCode: ExitCode.CONFIG_INVALID, ...options})
    this.name = 'ConfigInvalidError'
  }
}

/** A JSON5 syntax error as a config issue (file:line:col). */
export function syntaxIssue(text: string, file: string): ConfigIssue | undefined {
  if (text.trim() === '') return undefined
  try {
    JSON5.parse(text)
    return undefined
  } catch (error) {
    const e = error as SyntaxError & {lineNumber?: number; columnNumber?: number}
    const reason = e.message.replace(/^JSON5: /, '').replace(/ at \d+:\d+$/, '')
    return {
      path: '',
      where: e.lineNumber ? `${file}:${e.lineNumber}:${e.columnNumber ?? 1}` : file,
      line: e.lineNumber,
      column: e.columnNumber,
      message: `JSON5 syntax error: ${reason}`,
      fix: 'Fix the syntax there (the file is JSON5: comments, unquoted keys and trailing commas are fine).',
    }
  }
}

/** Parses JSON5 text; syntax errors name file, line and column. Empty text is an empty config. */
export function parseConfigText(text: string, file: string): unknown {
  const issue = syntaxIssue(text, file)
  if (issue) {
    throw new ConfigInvalidError(formatIssue(issue), {fix: issue.fix, details: {errors: [issue]}})
  }
  return text.trim() === '' ? {} : JSON5.parse(text)
}

/** The config file's text, or '' with exists=false when there is none. */
export async function readConfigText(file: string): Promise<{text: string; exists: boolean}> {
  try {
    return {text: await fs.readFile(file, 'utf8'), exists: true}
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new RemoteclawError(`cannot read ${file}: ${(error as Error).message}`, {
        fix: `Check the file's permissions (it should be readable by ${process.env.USER ?? 'this user'}, mode 0600).`,
      })
    }
    return {text: '', exists: false}
  }
}

/** The error thrown for a file with errors: the first one inline, all of them in details. */
export function configInvalid(errors: ConfigIssue[]): ConfigInvalidError {
  const first = errors[0]!
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more; run: remoteclaw config validate)` : ''
  return new ConfigInvalidError(`${formatIssue(first)}${more}`, {fix: first.fix, details: {errors}})
}

export interface ConfigCheck extends ValidationResult {
  path: string
  exists: boolean
}

/** Every problem in the config file (syntax, schema, semantics) without throwing on them. */
export async function checkConfigFile(ctx: Pick<Context, 'configPath'> & Partial<Pick<Context, 'home'>>): Promise<ConfigCheck> {
  const file = ctx.configPath
  const {text, exists} = await readConfigText(file)
  const syntax = syntaxIssue(text, file)
  if (syntax) return {path: file, exists, errors: [syntax], warnings: []}
  const data = text.trim() === '' ? {} : JSON5.parse(text)
  return {path: file, exists, ...validateConfig(data, {file, text, home: ctx.home})}
}

/**
 * Reads, parses and validates the config file. A missing file is an empty config.
 * Throws ConfigInvalidError (exit 7) naming file:line:col and the key path of the first error.
 * `warnings` are formatted lines (file:line:col: path: message) for stderr; `issues` has them structured.
 */
export async function loadConfig(ctx: Pick<Context, 'configPath'> & Partial<Pick<Context, 'home'>>): Promise<LoadedConfig> {
  const file = ctx.configPath
  const {text, exists} = await readConfigText(file)
  const data = parseConfigText(text, file)
  const result = validateConfig(data, {file, text, home: ctx.home})
  if (result.errors.length > 0) throw configInvalid(result.errors)
  return {
    path: file,
    exists,
    text,
    config: configSchema.parse(data),
    warnings: result.warnings.map((w) => `${formatIssue(w)}${w.fix ? ` (fix: ${w.fix})` : ''}`),
    issues: result.warnings,
  }
}
