import * as Flags from '@oclif/core/flags'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {defaultDoctorDeps} from '../../lib/permissions/deps.js'
import {renderDoctorReport} from '../../lib/permissions/report.js'
import {inquirerPrompter} from '../../lib/setup/prompter.js'
import {DEPLOYMENTS, runSetup, type Deployment, type SetupResult} from '../../lib/setup/wizard.js'

export default class SetupImessage extends BaseCommand<typeof SetupImessage> {
  static override summary = 'Set up an iMessage account: this Mac, a bot macOS user, or a remote Mac over SSH'
  static override description = `A guided set-up for the three deployments:
  local     this Mac, Messages signed in as you
  bot-user  a dedicated bot macOS user on this Mac (SSH to <bot-user>@localhost)
  remote    a remote Mac over SSH or Tailscale (gateway on Linux or a VM)
It detects what it can (OS, imsg and its version, the config and its accounts, ~/.ssh keys, ssh -G aliases) and asks
the rest. For bot-user and remote it writes an SSH wrapper (~/.remoteclaw/scripts/imsg-<account>, mode 0700), shows the
host key's SHA256 fingerprint and adds it to known_hosts once you trust it (a changed key stops the wizard), and checks
non-interactive SSH login as the wrapper runs it. Before writing it shows the config change as a diff and asks to
confirm. It ends with the doctor (remoteclaw channels doctor) and the next steps.

Every answer has a flag; --yes accepts the defaults, trusts a new host key and confirms. Without a terminal it never
prompts: missing answers are a usage error (exit 2) that lists the flags to pass. Declining writes nothing (exit 3).

${EXIT_CODES_HELP}`
  static override examples = [
    '<%= config.bin %> setup imessage',
    '<%= config.bin %> setup imessage --deployment local --yes',
    '<%= config.bin %> setup imessage --deployment bot-user --ssh-user bot --account bot',
    '<%= config.bin %> setup imessage --deployment remote --host mac-mini.tailnet-1234.ts.net --ssh-user bot --trust-host-key SHA256:... --yes',
  ]
  static override flags = {
    deployment: Flags.string({description: 'Where Messages runs.', options: DEPLOYMENTS}),
    account: Flags.string({description: 'Account id; writes channels.imessage.accounts.<id> (default: flat keys for a single account).'}),
    'ssh-user': Flags.string({description: 'macOS user on the Mac that is signed in to Messages (bot-user, remote).'}),
    host: Flags.string({description: 'Host name or ~/.ssh/config alias of the Mac (remote; bot-user: localhost).'}),
    port: Flags.integer({description: 'SSH port (default 22, or the alias\'s Port).', min: 1, max: 65_535}),
    'remote-imsg-path': Flags.string({description: 'Path of imsg on the Mac (default /opt/homebrew/bin/imsg).'}),
    'cli-path': Flags.string({description: 'local: path to imsg; bot-user/remote: where to write the wrapper.'}),
    'db-path': Flags.string({description: 'Messages database (default ~/Library/Messages/chat.db of that user).'}),
    'identity-file': Flags.string({description: 'Private key the wrapper uses (ssh -i); default: ssh\'s own choice.'}),
    'known-hosts': Flags.string({description: 'known_hosts file to check and add the host key to (default ~/.ssh/known_hosts).'}),
    'trust-host-key': Flags.string({description: 'Trust the host key only if its fingerprint is this SHA256:... value.'}),
    yes: Flags.boolean({char: 'y', description: 'Accept defaults, trust a new host key and confirm the change without asking.'}),
    'skip-checks': Flags.boolean({description: 'Do not run the doctor at the end.'}),
    timeout: Flags.integer({description: 'Seconds for network steps and each doctor check.', default: 20, min: 1}),
  }

  async run(): Promise<SetupResult> {
    const {flags} = await this.parse(SetupImessage)
    // Decide before any prompt: an inquirer prompt on a silent pipe hangs forever.
    const prompter = this.canPrompt() && !flags.yes ? await inquirerPrompter() : undefined
    const result = await runSetup(
      this.ctx,
      {
        deployment: flags.deployment as Deployment | undefined,
        account: flags.account,
        sshUser: flags['ssh-user'],
        host: flags.host,
        port: flags.port,
        remoteImsgPath: flags['remote-imsg-path'],
        cliPath: flags['cli-path'],
        dbPath: flags['db-path'],
        identityFile: flags['identity-file'],
        knownHosts: flags['known-hosts'],
        trustHostKey: flags['trust-host-key'],
        yes: flags.yes,
        skipChecks: flags['skip-checks'],
      },
      {prompter, out: (l) => this.out(l), note: (l) => this.note(l)},
      {doctor: defaultDoctorDeps(), timeoutMs: flags.timeout * 1000},
    )
    if (result.doctor) {
      this.out('')
      for (const line of renderDoctorReport(result.doctor)) this.out(line)
    }
    this.out('')
    this.out('Next steps:')
    for (const [i, step] of result.nextSteps.entries()) this.out(`  ${i + 1}. ${step}`)
    process.exitCode = result.exitCode
    return result
  }
}
