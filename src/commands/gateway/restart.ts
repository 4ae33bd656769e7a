import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {CommandRunner} from '../../lib/service/exec.js'
import {controlService, serviceBackend} from '../../lib/service/service.js'
import {describeControl, SERVICE_SCHEMA_VERSION} from '../../lib/service/report.js'

export default class GatewayRestart extends BaseCommand<typeof GatewayRestart> {
  static override summary = 'Restart the gateway service (launchctl kickstart -k, systemctl --user restart)'
  static override description = `Stops the service of this state dir gracefully and starts it again, e.g. after an upgrade of remoteclaw or imsg.

${EXIT_CODES_HELP}
(4: the service is not installed: remoteclaw gateway install)`
  static override examples = ['<%= config.bin %> gateway restart', '<%= config.bin %> gateway restart --json']

  async run() {
    await this.parse(GatewayRestart)
    const backend = serviceBackend(this.ctx)
    const r = await controlService(backend, new CommandRunner(this.ctx), 'restart')
    for (const l of describeControl(r)) this.out(l)
    return {schemaVersion: SERVICE_SCHEMA_VERSION, action: r.action, changed: r.changed, commands: r.commands, running: r.after.running, pid: r.after.pid, loaded: r.after.loaded}
  }
}
