import * as Flags from '@oclif/core/flags'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {migrateConfig} from '../../lib/config/migrate.js'

export default class ConfigMigrate extends BaseCommand<typeof ConfigMigrate> {
  static override summary = 'Move the legacy top-level "imessage" block under channels.imessage'
  static override description = `Older docs put the channel at the top level (imessage.cliPath, imessage.accounts...). This moves the whole block under channels.imessage as a text edit: comments, key order and formatting inside it are kept, its lines are indented one level deeper. Refuses (exit 1) when both imessage and channels.imessage exist. Nothing to move is success. Same safe write as config set: validated, locked, remoteclaw.json.bak, atomic, 0600.

${EXIT_CODES_HELP}`
  static override examples = ['<%= config.bin %> config migrate --dry-run', '<%= config.bin %> config migrate']
  static override flags = {
    'dry-run': Flags.boolean({description: 'Print the diff and write nothing.'}),
  }

  async run(): Promise<{file: string; migrated: boolean; dryRun: boolean; diff: string; backup?: string}> {
    const {flags} = await this.parse(ConfigMigrate)
    const r = await migrateConfig(this.ctx, {dryRun: flags['dry-run']})
    for (const w of r.warnings) this.note(`Warning: ${w}`)
    if (!r.migrated) this.out(`Nothing to migrate: ${r.path} has no top-level "imessage".`)
    else if (flags['dry-run']) {
      this.out(r.diff.trimEnd())
      this.note('Dry run: nothing was written.')
    } else this.out(`Moved imessage to channels.imessage in ${r.path} (previous version: ${r.backupPath}).`)
    return {file: r.path, migrated: r.migrated, dryRun: Boolean(flags['dry-run']), diff: r.diff, backup: r.backupPath}
  }
}
