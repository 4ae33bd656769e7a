import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {configSetCommand} from '../../lib/access/decide.js'
import {collectionPrefix, resolveAccount, resolveAccounts} from '../../lib/config/accounts.js'
import {loadConfig} from '../../lib/config/load.js'
import {RemoteclawError, UsageError} from '../../lib/errors.js'
import {sendMessage} from '../../lib/outbound/send.js'
import {checkChannel, parseSenderHandle} from '../../lib/pairing/args.js'
import {APPROVED_NOTICE_TEXT} from '../../lib/pairing/messages.js'
import {approve, approveHandle, findCodeAccount, looksLikeCode, type PairingChat} from '../../lib/pairing/store.js'

export interface PairingApproveJson {
  schemaVersion: 1
  channel: 'imessage'
  accountId: string
  handle: string
  code?: string
  chat?: PairingChat
  /** false when the sender was approved already */
  added: boolean
  notified: boolean
}

export default class PairingApprove extends BaseCommand<typeof PairingApprove> {
  static override summary = 'Approve a pairing request by its code, or a sender by handle'
  static override description = `Codes are case-insensitive; without --account the code is looked up in every account. An approval applies to the sender's next message; a running gateway picks it up without a restart.
Instead of a code you can give the sender's phone number or email address to approve them directly (also when their code expired).
--notify sends the sender a short message through the account's imsg saying they are approved.

${EXIT_CODES_HELP}
  (4 here: no such code, or the code expired; the message says which)`
  static override examples = [
    '<%= config.bin %> pairing approve imessage ABCD2345',
    '<%= config.bin %> pairing approve imessage abcd2345 --account bot --notify',
    '<%= config.bin %> pairing approve imessage +15551234567',
    '<%= config.bin %> pairing approve imessage friend@example.com --json',
  ]

  static override args = {
    channel: Args.string({description: 'Channel: imessage.', required: true}),
    code: Args.string({description: 'Pairing code (from `pairing list`), or a sender handle.'}),
  }

  static override flags = {
    account: Flags.string({description: 'Account id (default: the account that issued the code, else channels.imessage.defaultAccount).'}),
    notify: Flags.boolean({description: 'Tell the sender they are approved (one short iMessage).'}),
  }

  async run(): Promise<PairingApproveJson> {
    const {args, flags} = await this.parse(PairingApprove)
    if (args.code === undefined) {
      // `pairing approve ABCD2345`: the channel was left out
      if (looksLikeCode(args.channel)) {
        throw new UsageError('missing channel before the code', {fix: `Run: remoteclaw pairing approve imessage ${args.channel}`})
      }
      throw new UsageError('missing the pairing code', {fix: 'Run: remoteclaw pairing list imessage   then: remoteclaw pairing approve imessage <CODE>'})
    }
    checkChannel(args.channel, `remoteclaw pairing approve imessage ${args.code}`)
    const ctx = this.ctx
    const {config} = await loadConfig(ctx)
    const byCode = looksLikeCode(args.code)
    // Without --account, a code is looked up in every account's store (codes name their account).
    const owner =
      byCode && !flags.account ? await findCodeAccount(ctx, resolveAccounts(config, {home: ctx.home}).accounts.map((a) => a.id), args.code) : undefined
    const account = resolveAccount(config, flags.account ?? owner, {home: ctx.home})
    const res = byCode ? await approve(ctx, account.id, args.code) : await approveHandle(ctx, account.id, parseSenderHandle(args.code, account.region))

    const via = res.code ? ` (code ${res.code})` : ''
    // Pairing approvals admit DMs only under dmPolicy pairing (or open): do not promise more.
    const counts = account.dmPolicy === 'pairing' || account.dmPolicy === 'open'
    if (res.added) this.out(`Approved ${res.handle}${via} for account ${account.id}${counts ? ': their next message reaches the agent' : ''}.`)
    else this.out(`${res.handle} was already approved for account ${account.id}.`)
    if (!counts) {
      const allowFromKey = `${collectionPrefix(account, 'allowFrom')}.allowFrom`
      const admit =
        account.dmPolicy === 'disabled'
          ? configSetCommand(`${account.keyPrefix}.dmPolicy`, 'pairing')
          : configSetCommand(allowFromKey, JSON.stringify([...account.allowFrom.filter((e) => e !== res.handle), res.handle]))
      this.note(`note: ${account.keyPrefix}.dmPolicy is ${account.dmPolicy}, so pairing approvals do not admit DMs; to admit ${res.handle}: ${admit}`)
    }

    let notified = false
    if (flags.notify) {
      const target = res.chat && res.chat.chatId > 0 ? `chat_id:${res.chat.chatId}` : res.handle
      try {
        await sendMessage({account, target, text: APPROVED_NOTICE_TEXT, ctx})
        notified = true
        this.out(`Notified ${res.handle}.`)
      } catch (error) {
        const e = error as RemoteclawError
        throw new RemoteclawError(`approved ${res.handle}, but the notification was not sent: ${e.message}`, {
          code: 'notify_failed',
          fix: e.fix ?? `Check the account with: remoteclaw channels status --probe --account ${account.id}`,
          details: {approved: res},
        })
      }
    }
    return {
      schemaVersion: 1,
      channel: 'imessage',
      accountId: account.id,
      handle: res.handle,
      ...(res.code ? {code: res.code} : {}),
      ...(res.chat ? {chat: res.chat} : {}),
      added: res.added,
      notified,
    }
  }
}
