import type {Context} from '../context.js'
import {RemoteclawError} from '../errors.js'

export interface CommandResult {
  exitCode: number
  stdout: string
  stderr: string
}

/**
 * Runs the service manager's commands (launchctl, systemctl, loginctl) argv-style, and records
 * each one so the command can show what it ran. Under --dry-run, changing commands are only
 * recorded; read-only queries (`query`) still run so the plan matches the current state.
 */
export class CommandRunner {
  readonly ran: string[][] = []

  constructor(
    private readonly ctx: Pick<Context, 'spawn' | 'env'>,
    readonly dryRun = false,
  ) {}

  /** A read-only query: runs even under --dry-run, not recorded. */
  async query(argv: string[]): Promise<CommandResult> {
    return this.exec(argv)
  }

  /** A change: recorded; skipped (reported as success) under --dry-run. */
  async change(argv: string[]): Promise<CommandResult> {
    this.ran.push(argv)
    if (this.dryRun) return {exitCode: 0, stdout: '', stderr: ''}
    return this.exec(argv)
  }

  /** A change that must succeed: a failure throws with the command, its output and `fix`. */
  async must(argv: string[], fix: string | ((r: CommandResult) => string)): Promise<CommandResult> {
    const r = await this.change(argv)
    if (r.exitCode !== 0) {
      const out = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(0, 3).join(' ').slice(0, 300)
      throw new RemoteclawError(`\`${argv.join(' ')}\` failed (exit ${r.exitCode})${out ? `: ${out}` : ''}`, {
        code: 'service_command_failed',
        fix:
          r.exitCode === 127
            ? `${argv[0]} is not on PATH: this host has no ${argv[0] === 'launchctl' ? 'launchd' : 'systemd'} to run the service. Run \`remoteclaw gateway\` in the foreground under your own supervisor instead (restart it on failure only).`
            : typeof fix === 'string'
              ? fix
              : fix(r),
        details: {argv, exitCode: r.exitCode, stderr: r.stderr},
      })
    }
    return r
  }

  private async exec(argv: string[]): Promise<CommandResult> {
    const [cmd, ...args] = argv
    try {
      const r = await this.ctx.spawn(cmd!, args, {reject: false, env: this.ctx.env, extendEnv: false, stdin: 'ignore', timeout: 120_000})
      if (r.exitCode === undefined && (r as {code?: string}).code === 'ENOENT') {
        return {exitCode: 127, stdout: '', stderr: `${cmd}: command not found on PATH`}
      }
      return {exitCode: r.exitCode ?? 1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '')}
    } catch (error) {
      return {exitCode: 127, stdout: '', stderr: (error as Error).message}
    }
  }
}
