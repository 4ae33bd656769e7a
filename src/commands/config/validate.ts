import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {checkConfigFile, ConfigInvalidError} from '../../lib/config/load.js'
import {formatIssue, type ConfigIssue} from '../../lib/config/validate.js'

export default class ConfigValidate extends BaseCommand<typeof ConfigValidate> {
  static override summary = 'Check the config file and list every problem'
  static override description = `Checks syntax, every key (unknown keys get a did-you-mean), types, and the rules that need the whole file: dmPolicy "open" without "*" in allowFrom, mention patterns that are not valid regular expressions, defaultAccount naming no account, two enabled accounts sharing cliPath and dbPath. Each problem names the key path, file:line:col and a fix.

Exits 7 when there are errors (all are listed); warnings (legacy layout, groupPolicy allowlist without groups, dmPolicy open, account overrides hiding inherited maps) go to stderr with exit 0. A missing file is an empty, valid config.

With --json: {"path", "exists", "valid", "errors": [...], "warnings": [...]} on success; on errors the usual {"error": {...}} document with details.errors.

${EXIT_CODES_HELP}`
  static override examples = [
    '<%= config.bin %> config validate',
    'REMOTECLAW_CONFIG_PATH=examples/remoteclaw.json5 <%= config.bin %> config validate',
    '<%= config.bin %> config validate --json',
  ]

  async run(): Promise<{path: string; exists: boolean; valid: boolean; errors: ConfigIssue[]; warnings: ConfigIssue[]}> {
    await this.parse(ConfigValidate)
    const r = await checkConfigFile(this.ctx)
    for (const w of r.warnings) {
      this.note(`Warning: ${formatIssue(w)}`)
      if (w.fix) this.note(`  Fix: ${w.fix}`)
    }
    if (r.errors.length > 0) {
      const lines = r.errors.map((e) => `${formatIssue(e)}${e.fix ? `\n  Fix: ${e.fix}` : ''}`)
      throw new ConfigInvalidError(`${r.errors.length} problem${r.errors.length === 1 ? '' : 's'} in ${r.path}:\n${lines.join('\n')}`, {
        // One command to start with (each problem above names its own); then check again.
        fix: r.errors[0]!.fix
          ? `${r.errors[0]!.fix}   (fixes the first problem), then rerun: remoteclaw config validate`
          : `Edit ${r.path} as each problem above says, then rerun: remoteclaw config validate`,
        details: {path: r.path, errors: r.errors, warnings: r.warnings},
      })
    }
    this.out(
      `${r.exists ? r.path : `${r.path} (not created yet: an empty config)`} is valid${r.warnings.length > 0 ? ` (${r.warnings.length} warning${r.warnings.length === 1 ? '' : 's'})` : ''}.`,
    )
    return {path: r.path, exists: r.exists, valid: true, errors: [], warnings: r.warnings}
  }
}
