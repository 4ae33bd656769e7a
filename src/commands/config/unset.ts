import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {unsetConfigValue} from '../../lib/config/store.js'

export default class ConfigUnset extends BaseCommand<typeof ConfigUnset> {
  static override summary = 'Remove a config key or list item (its default applies again)'
  static override description = `Removes the key (or list[N] item) from the config file, keeping the rest of the file's comments and formatting. The result is validated first (invalid: exit 2, file unchanged). A path that is not set exits 4. Writes take a lock, keep remoteclaw.json.bak and are atomic with mode 0600.

${EXIT_CODES_HELP}`
  static override examples = [
    '<%= config.bin %> config unset channels.imessage.dbPath',
    `<%= config.bin %> config unset 'channels.imessage.groups["42"]'`,
    '<%= config.bin %> config unset channels.imessage.allowFrom[0] --dry-run',
  ]
  static override args = {
    path: Args.string({description: 'Key path to remove', required: true}),
  }
  static override flags = {
    'dry-run': Flags.boolean({description: 'Print the diff and write nothing.'}),
  }

  async run(): Promise<{path: string; previous: unknown; file: string; changed: boolean; dryRun: boolean; diff: string; backup?: string}> {
    const {args, flags} = await this.parse(ConfigUnset)
    const r = await unsetConfigValue(this.ctx, args.path, {dryRun: flags['dry-run']})
    for (const w of r.warnings) this.note(`Warning: ${w}`)
    if (flags['dry-run']) {
      this.out(r.diff.trimEnd())
      this.note('Dry run: nothing was written.')
    } else {
      this.out(`Removed ${r.key} from ${r.path}`)
    }
    return {path: r.key, previous: r.value, file: r.path, changed: r.changed, dryRun: Boolean(flags['dry-run']), diff: r.diff, backup: r.backupPath}
  }
}
