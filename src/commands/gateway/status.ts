import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {CommandRunner} from '../../lib/service/exec.js'
import {renderServiceStatus, serviceStatusReport, type ServiceStatusJson} from '../../lib/service/report.js'
import {serviceBackend} from '../../lib/service/service.js'

export default class GatewayStatus extends BaseCommand<typeof GatewayStatus> {
  static override summary = 'Show the gateway service: installed, loaded, running pid, last exit status, and the gateway\'s own health'
  static override description = `Asks the service manager (launchctl print / systemctl --user show) about the service of this state dir and reads the gateway's health file (as \`channels status\` shows it).

--json prints one document with schemaVersion 1 (see docs/service-and-logs.md).

${EXIT_CODES_HELP}
(0: the service runs and the gateway is healthy; 5: installed but not running, or unhealthy; 4: not installed)`
  static override examples = ['<%= config.bin %> gateway status', '<%= config.bin %> gateway status --json']

  async run(): Promise<ServiceStatusJson> {
    await this.parse(GatewayStatus)
    const backend = serviceBackend(this.ctx)
    const report = await serviceStatusReport(this.ctx, backend, new CommandRunner(this.ctx))
    for (const l of renderServiceStatus(report)) this.out(l)
    process.exitCode = report.exitCode
    return report
  }
}
