import * as Flags from '@oclif/core/flags'
import {Command} from '@oclif/core/command'
import type {Interfaces} from '@oclif/core'
import chalk from 'chalk'
import {createContext, type Context} from '../lib/context.js'
import {ExitCode, RemoteclawError} from '../lib/errors.js'
import {createLogger} from '../lib/log.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>

export const EXIT_CODES_HELP = `EXIT CODES
  0    success (probes: every check passed)
  1    runtime failure
  2    usage error (bad flag, argument or value)
  3    declined a confirmation
  4    not found (pairing code, config path, account)
  5    probe/doctor: reachable but unhealthy
  6    probe/doctor: unreachable (imsg not found, SSH unreachable, timeout)
  7    config file invalid
  130  interrupted`

interface ErrorJson {
  error: {code: string; message: string; fix?: string; exitCode: number; details?: unknown}
}

/**
 * Every remoteclaw command extends this. It owns error rendering and exit codes so they are
 * the same with and without --json (oclif 4 alone turns every custom code into 1 under --json).
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    'no-color': Flags.boolean({description: 'Disable colour (also NO_COLOR=1 or TERM=dumb).', helpGroup: 'GLOBAL'}),
    verbose: Flags.boolean({description: 'Show stack traces and debug logs.', helpGroup: 'GLOBAL'}),
  }

  private _ctx?: Context

  /** The injectable context, built from the environment on first use. */
  protected get ctx(): Context {
    if (!this._ctx) {
      const verbose = this.argv.includes('--verbose')
      this._ctx = createContext({log: createLogger({level: verbose ? 'debug' : 'info'})})
    }
    return this._ctx
  }

  protected get isVerbose(): boolean {
    return this.argv.includes('--verbose') || Boolean(process.env.DEBUG)
  }

  /** Prompts are allowed only with a TTY on both ends and no --json. */
  protected canPrompt(): boolean {
    return Boolean(process.stdin.isTTY && process.stdout.isTTY) && !this.jsonEnabled()
  }

  /** Human output on stdout, suppressed under --json (which prints only the returned document). */
  protected out(line = ''): void {
    if (!this.jsonEnabled()) process.stdout.write(line + '\n')
  }

  /** Warnings and progress go to stderr, also under --json. */
  protected note(line: string): void {
    process.stderr.write(line + '\n')
  }

  override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}; code?: string}): Promise<void> {
    const exitCode = exitCodeFor(err)
    process.exitCode = exitCode
    if (exitCode === ExitCode.INTERRUPTED) {
      // Ctrl-C at a prompt: quiet, nothing written.
      if (!this.jsonEnabled()) process.stderr.write('\n')
      return
    }
    const json = toErrorJson(err, exitCode, `${this.config.bin} ${(this.id ?? '').split(':').join(' ')}`.trim())
    if (this.jsonEnabled()) {
      process.stdout.write(JSON.stringify(json, null, 2) + '\n')
    } else {
      const red = chalk.red
      process.stderr.write(`${red('Error:')} ${json.error.message}\n`)
      if (json.error.fix) process.stderr.write(`${chalk.yellow('Fix:')} ${json.error.fix}\n`)
      if (this.isVerbose && err.stack) process.stderr.write(chalk.dim(err.stack) + '\n')
      else if (!(err instanceof RemoteclawError) && !isOclifUserError(err)) {
        process.stderr.write(chalk.dim('Run again with --verbose for the stack trace.') + '\n')
      }
    }
  }
}

function isOclifUserError(err: {oclif?: {exit?: number}}): boolean {
  return typeof err.oclif?.exit === 'number'
}

export function exitCodeFor(err: Error & {exitCode?: number; oclif?: {exit?: number}}): number {
  if (err.name === 'ExitPromptError' || err.name === 'AbortPromptError') return ExitCode.INTERRUPTED
  if (err instanceof RemoteclawError) return err.exitCode
  if (typeof err.oclif?.exit === 'number') return err.oclif.exit
  if (typeof err.exitCode === 'number') return err.exitCode
  return ExitCode.FAILURE
}

function toErrorJson(err: Error & {code?: string}, exitCode: number, command: string): ErrorJson {
  if (err instanceof RemoteclawError) {
    return {error: {code: err.code, message: err.message, fix: err.fix, exitCode, details: err.details}}
  }
  if (exitCode === ExitCode.USAGE) {
    // oclif parse errors end with "See more help with --help": the fix says it as a command.
    const message = err.message.replace(/\n?See more help with --help\s*$/, '').trim()
    return {error: {code: 'usage', message, fix: `Run \`${command} --help\` for the flags and arguments it takes.`, exitCode}}
  }
  return {error: {code: 'error', message: err.message, exitCode}}
}
