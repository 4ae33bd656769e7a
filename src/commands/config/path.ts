import {BaseCommand} from '../../cli/base-command.js'

export default class ConfigPath extends BaseCommand<typeof ConfigPath> {
  static override summary = 'Print the path of the config file in use'
  static override description =
    'The config file is REMOTECLAW_CONFIG_PATH, else $REMOTECLAW_STATE_DIR/remoteclaw.json, else ~/.remoteclaw/remoteclaw.json. A missing file is an empty config.'
  static override examples = ['<%= config.bin %> config path', 'REMOTECLAW_STATE_DIR=/srv/bot <%= config.bin %> config path --json']

  async run(): Promise<{path: string; stateDir: string}> {
    await this.parse(ConfigPath)
    this.out(this.ctx.configPath)
    return {path: this.ctx.configPath, stateDir: this.ctx.stateDir}
  }
}
