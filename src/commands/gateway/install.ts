import * as Flags from '@oclif/core/flags'
import path from 'node:path'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {NOT_CONFIGURED_FIX, NOT_CONFIGURED_MESSAGE, resolveAccounts} from '../../lib/config/accounts.js'
import {ConfigInvalidError, loadConfig} from '../../lib/config/load.js'
import {NotFoundError} from '../../lib/errors.js'
import {CommandRunner} from '../../lib/service/exec.js'
import {grantLines, SERVICE_SCHEMA_VERSION} from '../../lib/service/report.js'
import {installService, serviceBackend} from '../../lib/service/service.js'
import {buildServiceSpec} from '../../lib/service/spec.js'
import {SystemdService} from '../../lib/service/systemd.js'

export default class GatewayInstall extends BaseCommand<typeof GatewayInstall> {
  static override summary = 'Run the gateway as a login service (a launchd LaunchAgent on macOS, a systemd user unit on Linux)'
  static override description = `macOS: writes ~/Library/LaunchAgents/<label>.plist (RunAtLoad, restarted on failure only, ThrottleInterval 10 s) and loads it with \`launchctl bootstrap gui/<uid>\` (\`bootout\` first on a reinstall). ProgramArguments use absolute paths and a stable Node path (Homebrew's /opt/homebrew/bin/node or /usr/local/bin/node symlink, not the versioned Cellar path): that binary needs Full Disk Access and Automation, and the output says so.
Linux: writes ~/.config/systemd/user/<unit>.service (Restart=on-failure, RestartSec=10) and runs \`systemctl --user daemon-reload\` and \`enable --now\`; when lingering is off, it says the service stops at logout and prints the \`loginctl enable-linger\` command.

The service's PATH finds imsg and the configured agent CLIs where they are found now; REMOTECLAW_STATE_DIR and REMOTECLAW_CONFIG_PATH are kept when set. Each state dir gets its own service (the label/unit name includes it unless it is the default ~/.remoteclaw). The gateway logs to <stateDir>/logs/gateway.log (\`remoteclaw logs\`); the service's own stdout/stderr files next to it only catch what never reaches that log.

A plist or unit that remoteclaw did not write is never replaced without --force. --dry-run prints the file and the commands and changes nothing.

${EXIT_CODES_HELP}`
  static override examples = [
    '<%= config.bin %> gateway install',
    '<%= config.bin %> gateway install --dry-run',
    '<%= config.bin %> gateway install --account bot --json',
    'REMOTECLAW_STATE_DIR=~/.remoteclaw-work <%= config.bin %> gateway install',
  ]

  static override flags = {
    account: Flags.string({description: 'Run only this account (repeatable); default: every enabled account.', multiple: true}),
    force: Flags.boolean({description: 'Replace a plist/unit of the same name that remoteclaw did not write.'}),
    'dry-run': Flags.boolean({description: 'Print the file and the commands; change nothing.'}),
    node: Flags.string({description: 'The Node binary the service runs (default: the stable path of the running node).'}),
  }

  async run() {
    const {flags} = await this.parse(GatewayInstall)
    const ctx = this.ctx
    const backend = serviceBackend(ctx)
    const loaded = await loadConfig(ctx)
    const accounts = resolveAccounts(loaded.config, ctx).accounts
    if (accounts.length === 0) throw new ConfigInvalidError(`${NOT_CONFIGURED_MESSAGE} in ${ctx.configPath}`, {fix: NOT_CONFIGURED_FIX})
    for (const id of flags.account ?? []) {
      if (!accounts.some((a) => a.id === id)) throw new NotFoundError(`no iMessage account "${id}"`, {fix: `Known accounts: ${accounts.map((a) => a.id).join(', ')}.`})
    }
    const spec = await buildServiceSpec(ctx, {
      entry: path.join(this.config.root, 'bin', 'run.js'),
      execPath: flags.node ? path.resolve(flags.node) : process.execPath,
      accounts: flags.account,
      config: loaded.config,
      kind: backend.kind,
    })
    const run = new CommandRunner(ctx, flags['dry-run'])
    const result = await installService(backend, spec, run, {force: flags.force})
    const linger = backend instanceof SystemdService ? await backend.linger(run) : undefined
    const grants = grantLines(spec, backend.kind)

    for (const w of spec.warnings) this.note(`Warning: ${w}`)
    if (flags['dry-run']) {
      this.out(`Would write ${result.file}:`)
      this.out(result.content.trimEnd())
      this.out('')
      this.out('Would run:')
      for (const c of result.commands) this.out(`  ${c.join(' ')}`)
    } else {
      this.out(`${result.replaced ? 'Replaced' : 'Wrote'} ${result.file}`)
      for (const c of result.commands) this.out(`Ran: ${c.join(' ')}`)
      this.out(
        backend.kind === 'launchd'
          ? `The gateway runs as the LaunchAgent ${backend.label}: started now and at every login, restarted when it fails.`
          : `The gateway runs as the systemd user service ${backend.label}.service: started now and at boot/login, restarted when it fails.`,
      )
    }
    for (const l of grants) this.out(l)
    if (linger === false) {
      const user = (backend as SystemdService).userName()
      this.out(`Lingering is off for ${user}: the service stops when you log out and starts again at your next login. To keep it running:`)
      this.out(`  loginctl enable-linger ${user}`)
    }
    this.out(`Check it: remoteclaw gateway status    Logs: remoteclaw logs --follow`)
    return {
      schemaVersion: SERVICE_SCHEMA_VERSION,
      dryRun: result.dryRun,
      manager: backend.kind,
      name: backend.kind === 'launchd' ? backend.label : `${backend.label}.service`,
      file: result.file,
      replaced: result.replaced,
      content: result.content,
      commands: result.commands,
      programArguments: spec.programArguments,
      environment: spec.env,
      node: spec.node,
      grantTo: backend.kind === 'launchd' ? spec.programArguments[0] : undefined,
      linger,
      warnings: spec.warnings,
    }
  }
}
