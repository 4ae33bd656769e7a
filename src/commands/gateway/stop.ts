import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {CommandRunner} from '../../lib/service/exec.js'
import {controlService, serviceBackend} from '../../lib/service/service.js'
import {describeControl, SERVICE_SCHEMA_VERSION} from '../../lib/service/report.js'

export default class GatewayStop extends BaseCommand<typeof GatewayStop> {
  static override summary = 'Stop the gateway service (launchctl bootout, systemctl --user stop)'
  static override description = `Stops the service of this state dir gracefully (SIGTERM: running agent turns finish, queued replies are sent). It stays stopped until \`remoteclaw gateway start\`; launchd starts it again at the next login, systemd at the next boot or login.

${EXIT_CODES_HELP}
(4: the service is not installed: remoteclaw gateway install)`
  static override examples = ['<%= config.bin %> gateway stop', '<%= config.bin %> gateway stop --json']

  async run() {
    await this.parse(GatewayStop)
    const backend = serviceBackend(this.ctx)
    const r = await controlService(backend, new CommandRunner(this.ctx), 'stop')
    for (const l of describeControl(r)) this.out(l)
    return {schemaVersion: SERVICE_SCHEMA_VERSION, action: r.action, changed: r.changed, commands: r.commands, running: r.after.running, pid: r.after.pid, loaded: r.after.loaded}
  }
}
