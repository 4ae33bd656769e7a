import {confirm} from '@inquirer/prompts'
import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {resolveAccount} from '../../lib/config/accounts.js'
import {loadConfig} from '../../lib/config/load.js'
import {ExitCode, RemoteclawError, UsageError} from '../../lib/errors.js'
import {resetSessions} from '../../lib/sessions/admin.js'
import {SessionStore} from '../../lib/sessions/store.js'

export default class SessionsReset extends BaseCommand<typeof SessionsReset> {
  static override summary = 'Start a session over: its next message begins a fresh conversation with the agent'
  static override description = `Forgets the stored agent session (the CLI's own transcript is left where the CLI keeps it). Safe while the gateway runs: its next message for that key starts fresh, and a turn running now does not bring the old session back.
Asks for confirmation on a terminal; without one, --yes is required. Senders approved by name can do the same for their own conversation with /new in the chat.

${EXIT_CODES_HELP}
  (3 here: the confirmation was declined; 4: no such session key)`
  static override examples = [
    '<%= config.bin %> sessions reset agent:main:main',
    '<%= config.bin %> sessions reset agent:main:imessage:group:42 --yes',
    '<%= config.bin %> sessions reset --all --yes',
    '<%= config.bin %> sessions reset --all --account bot --yes --json',
  ]

  static override args = {
    key: Args.string({description: 'Session key, as `remoteclaw sessions list` shows it.', required: false}),
  }

  static override flags = {
    all: Flags.boolean({description: 'Reset every session (with --account: every session of that account).'}),
    account: Flags.string({description: 'With --all: only sessions whose last turn came through this account.', dependsOn: ['all']}),
    yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation (required without a terminal).'}),
  }

  async run(): Promise<{schemaVersion: 1; reset: string[]}> {
    const {args, flags} = await this.parse(SessionsReset)
    if (args.key && flags.all) throw new UsageError('give a session key or --all, not both', {fix: 'remoteclaw sessions reset <session-key>   or   remoteclaw sessions reset --all --yes'})
    if (!args.key && !flags.all) throw new UsageError('which session? give a session key or --all', {fix: 'See the keys with: remoteclaw sessions list'})
    const ctx = this.ctx
    if (flags.account !== undefined) resolveAccount((await loadConfig(ctx)).config, flags.account, {home: ctx.home})
    const what = args.key ? `session ${args.key}` : flags.account ? `every session of account ${flags.account}` : 'every session'
    if (!flags.yes) {
      if (!this.canPrompt()) {
        throw new UsageError(`sessions reset needs confirmation and there is no terminal to ask (${what})`, {
          fix: `Add --yes: remoteclaw sessions reset ${args.key ? `'${args.key}'` : `--all${flags.account ? ` --account ${flags.account}` : ''}`} --yes`,
        })
      }
      if (args.key && !(await new SessionStore(ctx).get(args.key))) {
        // say "not found" before asking
        await resetSessions(ctx, {keys: [args.key]})
      }
      const ok = await confirm({message: `Reset ${what}? The next message starts a fresh conversation with the agent.`, default: false})
      if (!ok) throw new RemoteclawError('not reset (declined)', {code: 'declined', exitCode: ExitCode.DECLINED})
    }
    const reset = await resetSessions(ctx, args.key ? {keys: [args.key]} : {all: true, accountId: flags.account})
    if (reset.length === 0) this.out('No sessions to reset.')
    else this.out(`Reset ${reset.length} session(s): ${reset.join(', ')}. The next message of each starts fresh.`)
    return {schemaVersion: 1, reset}
  }
}
