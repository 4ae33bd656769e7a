import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {resolveAccount, resolveAccounts} from '../../lib/config/accounts.js'
import {loadConfig} from '../../lib/config/load.js'
import {checkChannel} from '../../lib/pairing/args.js'
import {deny, findCodeAccount} from '../../lib/pairing/store.js'

export default class PairingDeny extends BaseCommand<typeof PairingDeny> {
  static override summary = 'Deny (delete) a pending pairing request'
  static override description = `Without --account the code is looked up in every account. Removes the request and frees its slot (at most 3 are pending per account). Nothing is sent to the sender.
If they message again they get a new code; to stop codes entirely use dmPolicy allowlist, or pairingReply silent.

${EXIT_CODES_HELP}
  (4 here: no such code, or the code already expired)`
  static override examples = ['<%= config.bin %> pairing deny imessage ABCD2345', '<%= config.bin %> pairing deny imessage abcd2345 --account bot --json']

  static override args = {
    channel: Args.string({description: 'Channel: imessage.', required: true}),
    code: Args.string({description: 'Pairing code (from `pairing list`).', required: true}),
  }

  static override flags = {
    account: Flags.string({description: 'Account id (default: the account that issued the code, else channels.imessage.defaultAccount).'}),
  }

  async run(): Promise<{schemaVersion: 1; channel: 'imessage'; accountId: string; code: string; sender: string}> {
    const {args, flags} = await this.parse(PairingDeny)
    checkChannel(args.channel, `remoteclaw pairing deny imessage ${args.code}`)
    const ctx = this.ctx
    const {config} = await loadConfig(ctx)
    const owner = flags.account ? undefined : await findCodeAccount(ctx, resolveAccounts(config, {home: ctx.home}).accounts.map((a) => a.id), args.code)
    const account = resolveAccount(config, flags.account ?? owner, {home: ctx.home})
    const r = await deny(ctx, account.id, args.code)
    this.out(`Denied pairing request ${r.code} from ${r.sender} (account ${account.id}).`)
    return {schemaVersion: 1, channel: 'imessage', accountId: account.id, code: r.code, sender: r.sender}
  }
}
