import * as Flags from '@oclif/core/flags'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {CommandRunner} from '../../lib/service/exec.js'
import {SERVICE_SCHEMA_VERSION} from '../../lib/service/report.js'
import {serviceBackend, uninstallService} from '../../lib/service/service.js'

export default class GatewayUninstall extends BaseCommand<typeof GatewayUninstall> {
  static override summary = 'Stop the gateway service and remove its plist or unit'
  static override description = `Stops the service of this state dir (launchctl bootout / systemctl --user disable --now) and deletes the file \`gateway install\` wrote. Logs, config and state stay. A file remoteclaw did not write is left alone without --force.

${EXIT_CODES_HELP}
(4: the service is not installed)`
  static override examples = ['<%= config.bin %> gateway uninstall', '<%= config.bin %> gateway uninstall --dry-run']

  static override flags = {
    force: Flags.boolean({description: 'Remove a plist/unit of the same name even if remoteclaw did not write it.'}),
    'dry-run': Flags.boolean({description: 'Print the commands; change nothing.'}),
  }

  async run() {
    const {flags} = await this.parse(GatewayUninstall)
    const backend = serviceBackend(this.ctx)
    const r = await uninstallService(backend, new CommandRunner(this.ctx, flags['dry-run']), {force: flags.force})
    for (const c of r.commands) this.out(`${r.dryRun ? 'Would run' : 'Ran'}: ${c.join(' ')}`)
    this.out(`${r.dryRun ? 'Would remove' : 'Removed'} ${r.file}. Logs stay in the state dir (remoteclaw logs).`)
    return {schemaVersion: SERVICE_SCHEMA_VERSION, dryRun: r.dryRun, file: r.file, commands: r.commands}
  }
}
