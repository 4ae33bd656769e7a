import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {resolveAccount} from '../../lib/config/accounts.js'
import {loadConfig} from '../../lib/config/load.js'
import {normalizeHandle} from '../../lib/imsg/handles.js'
import {checkChannel, parseSenderHandle} from '../../lib/pairing/args.js'
import {revoke} from '../../lib/pairing/store.js'

export default class PairingRevoke extends BaseCommand<typeof PairingRevoke> {
  static override summary = 'Remove an approved sender'
  static override description = `The sender is treated as unknown from their next message on (with dmPolicy pairing they get a new code). A running gateway picks it up without a restart.
Senders listed in allowFrom stay allowed: revoke removes pairing approvals only.

${EXIT_CODES_HELP}
  (4 here: the handle is not an approved sender)`
  static override examples = [
    '<%= config.bin %> pairing revoke imessage +15551234567',
    '<%= config.bin %> pairing revoke imessage "(555) 123-4567" --account bot',
    '<%= config.bin %> pairing revoke imessage friend@example.com --json',
  ]

  static override args = {
    channel: Args.string({description: 'Channel: imessage.', required: true}),
    handle: Args.string({description: 'Phone number or email of the approved sender.', required: true}),
  }

  static override flags = {
    account: Flags.string({description: 'Account id (default: channels.imessage.defaultAccount).'}),
  }

  async run(): Promise<{schemaVersion: 1; channel: 'imessage'; accountId: string; handle: string; stillAllowedBy?: string}> {
    const {args, flags} = await this.parse(PairingRevoke)
    checkChannel(args.channel, `remoteclaw pairing revoke imessage ${args.handle}`)
    const ctx = this.ctx
    const {config} = await loadConfig(ctx)
    const account = resolveAccount(config, flags.account, {home: ctx.home})
    const handle = parseSenderHandle(args.handle, account.region)
    await revoke(ctx, account.id, handle)
    this.out(`Revoked ${handle} (account ${account.id}).`)
    const listed = account.allowFrom.some((e) => e.trim() === '*' || normalizeHandle(e, account.region) === handle)
    const stillAllowedBy = listed ? `${account.keyPrefix}.allowFrom` : undefined
    if (stillAllowedBy) this.note(`note: ${handle} is still allowed by ${stillAllowedBy}; remove it there to block their DMs.`)
    return {schemaVersion: 1, channel: 'imessage', accountId: account.id, handle, ...(stillAllowedBy ? {stillAllowedBy} : {})}
  }
}
