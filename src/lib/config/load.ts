import fs from 'node:fs/promises'
import JSON5 from 'json5'
import type {Context} from '../context.js'
import {ExitCode, RemoteclawError} from '../errors.js'
import {configSchema, type RemoteclawConfig} from './schema.js'
import {validateConfig} from './validate.js'

export interface LoadedConfig {
  path: string
  /** False when the file does not exist (an empty config, not an error). */
  exists: boolean
  /** The file's text as read ('' when missing). */
  text: string
  config: RemoteclawConfig
  /** Non-fatal findings (legacy layout, footguns) to print on stderr. */
  warnings: string[]
}

export class ConfigInvalidError extends RemoteclawError {
  constructor(message: string, options: {fix?: string; details?: unknown} = {}) {
    super(message, {code: 'config_invalid', exitCode: ExitCode.CONFIG_INVALID, ...options})
    this.name = 'ConfigInvalidError'
  }
}

/** Parses JSON5 text; syntax errors name file, line and column. */
export function parseConfigText(text: string, file: string): unknown {
  if (text.trim() === '') return {}
  try {
    return JSON5.parse(text)
  } catch (error) {
    const e = error as SyntaxError & {lineNumber?: number; columnNumber?: number}
    const where = e.lineNumber ? `${file}:${e.lineNumber}:${e.columnNumber ?? 1}` : file
    const reason = e.message.replace(/^JSON5: /, '').replace(/ at \d+:\d+$/, '')
    throw new ConfigInvalidError(`${where}: ${reason}`, {
      fix: `Fix the syntax at ${where} (the file is JSON5: comments and trailing commas are fine).`,
      details: {file, line: e.lineNumber, column: e.columnNumber},
    })
  }
}

/** Reads, parses and validates the config file. A missing file is an empty config. */
export async function loadConfig(ctx: Pick<Context, 'configPath'>): Promise<LoadedConfig> {
  const file = ctx.configPath
  let text = ''
  let exists = true
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new RemoteclawError(`cannot read ${file}: ${(error as Error).message}`, {
        fix: `Check the file's permissions (it should be readable by ${process.env.USER ?? 'this user'}, mode 0600).`,
      })
    }
    exists = false
  }
  const data = parseConfigText(text, file)
  const result = validateConfig(data, {file, text})
  if (result.errors.length > 0) {
    const first = result.errors[0]!
    const more = result.errors.length > 1 ? ` (and ${result.errors.length - 1} more; run: remoteclaw config validate)` : ''
    throw new ConfigInvalidError(`${first.where}: ${first.message}${more}`, {fix: first.fix, details: {errors: result.errors}})
  }
  return {path: file, exists, text, config: configSchema.parse(data), warnings: result.warnings.map((w) => w.message)}
}
