import * as Flags from '@oclif/core/flags'
import chalk from 'chalk'
import {BaseCommand, EXIT_CODES_HELP} from '../cli/base-command.js'
import {NotFoundError} from '../lib/errors.js'
import {gatewayLogPath, listLogFiles} from '../lib/logs/file.js'
import {LogFollower, matches, parseLevel, parseSince, readLastLines, renderLine, type LogFilter} from '../lib/logs/read.js'

export default class Logs extends BaseCommand<typeof Logs> {
  static override enableJsonFlag = false
  static override summary = "Show the gateway's log (the file it writes under the state dir), optionally following it"
  static override description = `The gateway always writes JSON lines to <stateDir>/logs/gateway.log (rotated at 10 MB, 5 older files kept as gateway.log.1 ... gateway.log.5), whether it runs in a terminal or as a service. This prints them in the same format as the foreground gateway (colour on a terminal); --json passes the JSON lines through unchanged, one per line.

--follow keeps printing new lines, across rotations, until Ctrl-C. Filters combine: --since, --level, --account and --grep narrow what is shown; --lines counts lines after filtering.

${EXIT_CODES_HELP}
(4: no log file yet, without --follow)`
  static override examples = [
    '<%= config.bin %> logs',
    '<%= config.bin %> logs --follow',
    '<%= config.bin %> logs --since 1h --level warn',
    '<%= config.bin %> logs --account bot --grep "not answered" --lines 50',
    '<%= config.bin %> logs --json --since 10m | jq .msg',
  ]

  static override flags = {
    follow: Flags.boolean({char: 'f', description: 'Keep printing new lines as the gateway writes them (across rotations) until Ctrl-C.'}),
    lines: Flags.integer({char: 'n', description: 'How many of the last matching lines to show first (0 with --follow: only new ones). Default 100; with --since every matching line.', min: 0}),
    since: Flags.string({description: 'Only lines from this long ago (30s, 10m, 2h, 1d, 1h30m) or since an ISO time.'}),
    level: Flags.string({description: 'Only lines at this level or above.', options: ['debug', 'info', 'warn', 'error']}),
    account: Flags.string({description: 'Only lines about this iMessage account id.'}),
    grep: Flags.string({description: 'Only lines containing this text (case-insensitive).'}),
    json: Flags.boolean({description: 'Print the JSON lines as the gateway wrote them (one object per line).'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Logs)
    const ctx = this.ctx
    const filter: LogFilter = {
      since: flags.since === undefined ? undefined : parseSince(flags.since, ctx.now()),
      level: flags.level === undefined ? undefined : parseLevel(flags.level),
      account: flags.account,
      grep: flags.grep,
    }
    // `remoteclaw logs | head`: a closed pipe ends the command quietly.
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0)
      throw error
    })
    const color = !flags.json && Boolean(process.stdout.isTTY) && chalk.level > 0
    const print = (line: string, record: Parameters<typeof renderLine>[1]) => {
      process.stdout.write(renderLine(line, record, {json: flags.json, color}) + '\n')
    }
    const file = gatewayLogPath(ctx.stateDir)
    const files = await listLogFiles(ctx.stateDir)
    if (files.length === 0 && !flags.follow) {
      throw new NotFoundError(`no gateway log yet (${file})`, {
        fix: 'Start the gateway (remoteclaw gateway, or remoteclaw gateway install to run it as a service); it writes this file. Or follow it: remoteclaw logs --follow',
      })
    }
    const limit = flags.lines ?? (flags.since === undefined ? 100 : undefined)
    if (limit !== 0) for (const l of await readLastLines(files, filter, limit)) print(l.line, l.record)
    if (!flags.follow) return

    if (files.length === 0) process.stderr.write(`Waiting for ${file} (the gateway creates it when it starts)...\n`)
    const follower = new LogFollower(file, (line) => {
      const m = matches(line, filter)
      if (m.ok) print(line, m.record)
    })
    follower.start(files.length === 0)
    await new Promise<void>((resolve) => {
      const done = () => {
        follower.stop()
        resolve()
      }
      process.once('SIGINT', () => {
        done()
        process.exitCode = 130
      })
      process.once('SIGTERM', done)
    })
  }
}
