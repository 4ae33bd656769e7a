import * as Flags from '@oclif/core/flags'
import {chalkStderr} from 'chalk'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {createContext} from '../../lib/context.js'
import {errorMessage, UsageError} from '../../lib/errors.js'
import {Gateway} from '../../lib/gateway/gateway.js'
import type {RunnerTimings} from '../../lib/gateway/account-runner.js'
import {createLogger, formatJson} from '../../lib/log.js'
import {DEFAULT_ROTATE_SIZE, isRotateSize, openLogFile, type LogFileSink} from '../../lib/logs/file.js'

export default class GatewayCommand extends BaseCommand<typeof GatewayCommand> {
  static override enableJsonFlag = false
  static override summary = 'Run the iMessage gateway in the foreground (one supervised imsg rpc child per account)'
  static override description = `Watches each enabled iMessage account through \`imsg rpc\`, applies access control (pairing, allowlists, group policy, mention gating), hands messages to the configured agent and sends its reply to the same chat.

The imsg child is restarted with backoff when it crashes, exits, stalls or ends its stream, and resumes from the cursor persisted under <stateDir>/gateway/. Health for \`remoteclaw channels status\` is written to <stateDir>/gateway/health.json. A valid edit of the config file applies without a restart; an invalid one is logged and the running config stays. Config warnings are logged at start, and after an edit only when they are new or changed.

The log goes to stderr (--log-format) and always, as JSON lines, to <stateDir>/logs/gateway.log (rotated by size; read it with \`remoteclaw logs\`). One gateway runs per state dir: a second one exits 1 naming the pid that holds <stateDir>/gateway/gateway.lock.

To run it as a login service (launchd on macOS, systemd on Linux): \`remoteclaw gateway install\`.

SIGINT/SIGTERM stop it gracefully: no new messages, running agent turns finish, queued replies are sent, imsg children are closed, exit 0.

${EXIT_CODES_HELP}`
  static override examples = [
    '<%= config.bin %> gateway',
    '<%= config.bin %> gateway --account bot --log-format json',
  ]

  static override flags = {
    account: Flags.string({description: 'Run only this account (repeatable); default: every enabled account.', multiple: true}),
    'log-format': Flags.string({description: 'Log line format on stderr.', options: ['text', 'json'], default: 'text'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(GatewayCommand)
    const format = flags['log-format'] as 'text' | 'json'
    // Under the service manager the log file is the log: stderr (the service's err file) then
    // only gets what never reaches it (a crash before the logger, Node's own warnings).
    const service = process.env.REMOTECLAW_SERVICE
    const base = createContext()
    const sink = await this.openSink(base.stateDir)
    const log = createLogger({
      level: flags.verbose ? 'debug' : 'info',
      format,
      color: format === 'text' && Boolean(process.stderr.isTTY) && chalkStderr.level > 0,
      tee: sink ? (line) => sink.write(line) : undefined,
      write: service ? () => {} : undefined,
    })
    const ctx = createContext({log})
    const timings = parseTimings(ctx.env.REMOTECLAW_GATEWAY_TIMINGS)
    let gateway: Gateway
    try {
      gateway = await Gateway.start({ctx, accountIds: flags.account, timings})
    } catch (error) {
      // The reason it did not start belongs in the log file too (stderr gets the rendered error).
      const fix = (error as {fix?: string}).fix
      sink?.write(formatJson({time: new Date(ctx.now()).toISOString(), level: 'error', scope: 'gateway', msg: `gateway not started: ${errorMessage(error)}`, fields: fix ? {fix} : {}}))
      await sink?.close()
      throw error
    }
    await new Promise<void>((resolve) => {
      const onSignal = (sig: NodeJS.Signals) => {
        log.info(`${sig} received`)
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
        // A second signal while draining forces the exit.
        const force = () => process.exit(130)
        process.once('SIGINT', force)
        process.once('SIGTERM', force)
        gateway.stop().then(resolve, resolve)
      }
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
    })
    await sink?.close()
    // State is saved and children closed. An agent turn still running past drainTimeoutMs (it is
    // re-answered after the next start) would keep the process alive: exit, and the exit hooks kill it.
    setTimeout(() => process.exit(process.exitCode ?? 0), 1000).unref()
  }

  /** The log file; a failure to open it is a warning (answering messages matters more). */
  private async openSink(stateDir: string): Promise<LogFileSink | undefined> {
    const size = process.env.REMOTECLAW_LOG_ROTATE_SIZE || DEFAULT_ROTATE_SIZE
    if (!isRotateSize(size)) {
      throw new UsageError(`REMOTECLAW_LOG_ROTATE_SIZE ${JSON.stringify(size)} is not a size`, {fix: 'Use a number and B, K, M or G, e.g. 10M, or unset it.'})
    }
    const warn = (why: string) => process.stderr.write(`Warning: the log file under ${stateDir}/logs is not written: ${why}\n`)
    try {
      return await openLogFile(stateDir, {size, onError: (error) => warn(error.message)})
    } catch (error) {
      warn(errorMessage(error))
      return undefined
    }
  }
}

/** REMOTECLAW_GATEWAY_TIMINGS: JSON overrides of supervisor timings (used by the tests and the demo). */
function parseTimings(raw: string | undefined): Partial<RunnerTimings> | undefined {
  if (!raw) return undefined
  try {
    const v = JSON.parse(raw) as unknown
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Partial<RunnerTimings>
  } catch {
    // fall through
  }
  throw new UsageError('REMOTECLAW_GATEWAY_TIMINGS is not a JSON object', {fix: 'Unset it, or set e.g. {"probeIntervalMs":1000}'})
}
