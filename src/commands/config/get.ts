import {Args} from '@oclif/core'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {getConfigValue} from '../../lib/config/store.js'

export default class ConfigGet extends BaseCommand<typeof ConfigGet> {
  static override summary = 'Print a config value, or the whole config file'
  static override description = `Prints the value as written in the config file (defaults are not filled in; see the README's configuration reference). Strings print bare, everything else as JSON. With --json: {"path", "value"}.

Paths: a.b.c, agents.list[0].id, and quoted keys for keys with dots or digits: channels.imessage.groups["42"].requireMention.

A path that is not set exits 4 and names the default that applies.

${EXIT_CODES_HELP}`
  static override examples = [
    '<%= config.bin %> config get',
    '<%= config.bin %> config get channels.imessage.dmPolicy',
    `<%= config.bin %> config get 'channels.imessage.groups["42"]' --json`,
    '<%= config.bin %> config get agents.list[0].id',
  ]
  static override args = {
    path: Args.string({description: 'Key path (omit for the whole file)', required: false}),
  }

  async run(): Promise<{path: string; value: unknown}> {
    const {args} = await this.parse(ConfigGet)
    const r = await getConfigValue(this.ctx, args.path)
    for (const w of r.warnings) this.note(`Warning: ${w}`)
    this.out(typeof r.value === 'string' ? r.value : JSON.stringify(r.value, null, 2))
    return {path: r.key, value: r.value}
  }
}
