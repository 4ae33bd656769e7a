import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {loadConfig} from '../../lib/config/load.js'
import {resolvedAccountValues, resolvedValue, type ResolvedValue} from '../../lib/config/resolved.js'
import {getConfigValue} from '../../lib/config/store.js'

export default class ConfigGet extends BaseCommand<typeof ConfigGet> {
  static override summary = 'Print a config value, or the whole config file'
  static override description = `Prints the value as written in the config file (defaults are not filled in; see the configuration reference in docs/configuration.md). Strings print bare, everything else as JSON. With --json: {"path", "value"}.

Paths: a.b.c, agents.list[0].id, and quoted keys for keys with dots or digits: channels.imessage.groups["42"].requireMention.

A path that is not set exits 4 and names the default that applies.

--resolved prints what the gateway actually uses for an account key: the account's own value, else the channel's, else the default, and says which (with --json: {"key", "accountId", "value", "source", "from"}; without a path, every account key).

${EXIT_CODES_HELP}`
  static override examples = [
    '<%= config.bin %> config get',
    '<%= config.bin %> config get channels.imessage.dmPolicy',
    `<%= config.bin %> config get 'channels.imessage.groups["42"]' --json`,
    '<%= config.bin %> config get agents.list[0].id',
    '<%= config.bin %> config get dmPolicy --resolved --account bot',
    '<%= config.bin %> config get --resolved',
  ]
  static override flags = {
    resolved: Flags.boolean({description: 'Print the effective value of an account key after inheritance and defaults, and where it came from.'}),
    account: Flags.string({description: 'Account for --resolved (default: channels.imessage.defaultAccount).', dependsOn: ['resolved']}),
  }
  static override args = {
    path: Args.string({description: 'Key path (omit for the whole file)', required: false}),
  }

  async run(): Promise<{path: string; value: unknown} | ResolvedValue | {accountId: string; values: ResolvedValue[]}> {
    const {args, flags} = await this.parse(ConfigGet)
    if (flags.resolved) {
      const loaded = await loadConfig(this.ctx)
      for (const w of loaded.warnings) this.note(`Warning: ${w}`)
      const opts = {accountId: flags.account, home: this.ctx.home}
      const show = (v: ResolvedValue, withKey: boolean) => {
        const value = typeof v.value === 'string' ? v.value : JSON.stringify(v.value)
        const from = v.source === 'default' ? 'default' : v.source === 'unset' ? 'not set, no default' : `from ${v.from}`
        this.out(`${withKey ? `${v.key} = ` : ''}${value}   (${from})`)
      }
      if (args.path === undefined || args.path === '') {
        const values = resolvedAccountValues(loaded.config, opts)
        for (const v of values) show(v, true)
        return {accountId: values[0]!.accountId, values}
      }
      const v = resolvedValue(loaded.config, args.path, opts)
      show(v, false)
      return v
    }
    const r = await getConfigValue(this.ctx, args.path)
    for (const w of r.warnings) this.note(`Warning: ${w}`)
    this.out(typeof r.value === 'string' ? r.value : JSON.stringify(r.value, null, 2))
    return {path: r.key, value: r.value}
  }
}
