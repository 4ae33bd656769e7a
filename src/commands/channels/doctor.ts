import * as Flags from '@oclif/core/flags'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {runDoctor} from '../../lib/permissions/doctor.js'
import {renderDoctorReport, type DoctorReport} from '../../lib/permissions/report.js'
import {defaultDoctorDeps} from '../../lib/permissions/deps.js'

export default class ChannelsDoctor extends BaseCommand<typeof ChannelsDoctor> {
  static override summary = 'Check macOS permissions and reachability of an iMessage account, in the context the gateway uses'
  static override description = `Runs imsg exactly as the gateway will: locally, or through the account's SSH wrapper (cliPath).
Checks imsg's version and rpc support, Full Disk Access (local: reads chat.db's header; both: \`imsg chats --limit 1 --json\`),
starts \`imsg rpc\` once, checks remoteHost's host key, and says who can reach the bot (DM and group policy) and which
settings are footguns. Automation (sending) is tested only with --send-test, which sends a real message.
A failure names the binary and process context that need the grant (Terminal, a LaunchAgent, or the bot user's sshd session).

${EXIT_CODES_HELP}`
  static override examples = [
    '<%= config.bin %> channels doctor',
    '<%= config.bin %> channels doctor --account bot --send-test +15555550123',
    '<%= config.bin %> channels doctor --json',
  ]
  static override flags = {
    account: Flags.string({description: 'Account id (default: the default account).'}),
    'send-test': Flags.string({description: 'Send a real test message to this handle to check Automation permission.'}),
    'send-text': Flags.string({description: 'Text of the test message.', default: 'remoteclaw doctor: test message'}),
    timeout: Flags.integer({description: 'Seconds each imsg command may take (SSH included).', default: 20, min: 1}),
  }

  async run(): Promise<DoctorReport> {
    const {flags} = await this.parse(ChannelsDoctor)
    const report = await runDoctor(
      this.ctx,
      {accountId: flags.account, sendTest: flags['send-test'], sendText: flags['send-text'], timeoutMs: flags.timeout * 1000},
      defaultDoctorDeps(),
    )
    for (const line of renderDoctorReport(report)) this.out(line)
    process.exitCode = report.exitCode
    return report
  }
}
