import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {setConfigValue} from '../../lib/config/store.js'

export default class ConfigSet extends BaseCommand<typeof ConfigSet> {
  static override summary = 'Set a config value (validated, keeps comments and formatting)'
  static override description = `The value parses as JSON5 (numbers, true/false, null, [lists], {objects}); anything else is a plain string. Where the config wants a string, the text stays a string: "+15551234567" and "42" are not turned into numbers. Use --strict-json to require valid JSON.

Missing parent objects are created; list[N] with N equal to the list's length appends.

The whole resulting config is validated before anything is written. An invalid result exits 2 and leaves the file byte-identical; a file that is already invalid (and stays so) exits 7 naming file:line:col. The write keeps comments, key order and formatting, takes a lock (concurrent writers both land), keeps the previous content in remoteclaw.json.bak (0600) and writes atomically with mode 0600. --dry-run prints the diff and writes nothing.

${EXIT_CODES_HELP}`
  static override examples = [
    '<%= config.bin %> config set channels.imessage.cliPath ~/bin/imsg-bot',
    `<%= config.bin %> config set channels.imessage.allowFrom '["+15551234567"]'`,
    '<%= config.bin %> config set channels.imessage.allowFrom[1] +15557654321',
    `<%= config.bin %> config set 'channels.imessage.groups["42"].requireMention' false`,
    `<%= config.bin %> config set channels.imessage.dmPolicy open --dry-run`,
    `<%= config.bin %> config set messages.responsePrefix '"[bot] "' --strict-json`,
  ]
  static override args = {
    path: Args.string({description: 'Key path, e.g. channels.imessage.dmPolicy', required: true}),
    value: Args.string({description: 'JSON5 value, or a plain string', required: true}),
  }
  static override flags = {
    'strict-json': Flags.boolean({description: 'Parse the value strictly as JSON (quote strings).'}),
    'dry-run': Flags.boolean({description: 'Print the diff and write nothing.'}),
  }

  async run(): Promise<{path: string; value: unknown; file: string; changed: boolean; dryRun: boolean; diff: string; backup?: string}> {
    const {args, flags} = await this.parse(ConfigSet)
    const r = await setConfigValue(this.ctx, args.path, args.value, {strictJson: flags['strict-json'], dryRun: flags['dry-run']})
    for (const w of r.warnings) this.note(`Warning: ${w}`)
    if (flags['dry-run']) {
      this.out(r.changed ? r.diff.trimEnd() : `No change: ${r.key} is already ${JSON.stringify(r.value)}.`)
      this.note('Dry run: nothing was written.')
    } else {
      this.out(r.changed ? `Set ${r.key} = ${JSON.stringify(r.value)} in ${r.path}` : `No change: ${r.key} is already ${JSON.stringify(r.value)}.`)
    }
    return {path: r.key, value: r.value, file: r.path, changed: r.changed, dryRun: Boolean(flags['dry-run']), diff: r.diff, backup: r.backupPath}
  }
}
