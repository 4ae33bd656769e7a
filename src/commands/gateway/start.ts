import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {CommandRunner} from '../../lib/service/exec.js'
import {controlService, serviceBackend} from '../../lib/service/service.js'
import {describeControl, SERVICE_SCHEMA_VERSION} from '../../lib/service/report.js'

export default class GatewayStart extends BaseCommand<typeof GatewayStart> {
  static override summary = 'Start the installed gateway service (launchctl bootstrap/kickstart, systemctl --user start)'
  static override description = `Starts the service of this state dir. Already running: nothing to do.

${EXIT_CODES_HELP}
(4: the service is not installed: remoteclaw gateway install)`
  static override examples = ['<%= config.bin %> gateway start', '<%= config.bin %> gateway start --json']

  async run() {
    await this.parse(GatewayStart)
    const backend = serviceBackend(this.ctx)
    const r = await controlService(backend, new CommandRunner(this.ctx), 'start')
    for (const l of describeControl(r)) this.out(l)
    return {schemaVersion: SERVICE_SCHEMA_VERSION, action: r.action, changed: r.changed, commands: r.commands, running: r.after.running, pid: r.after.pid, loaded: r.after.loaded}
  }
}
