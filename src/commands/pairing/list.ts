import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {resolveAccount, resolveAccounts, type ResolvedAccount} from '../../lib/config/accounts.js'
import {loadConfig} from '../../lib/config/load.js'
import {checkChannel} from '../../lib/pairing/args.js'
import {formatAgo, formatDuration, table} from '../../lib/pairing/format.js'
import {listApproved, listPending, type PairingChat} from '../../lib/pairing/store.js'

interface RequestJson {
  accountId: string
  code: string
  sender: string
  senderName?: string
  chat: PairingChat
  requestedAt: string
  expiresAt: string
  expiresInSeconds: number
}
interface ApprovedJson {
  accountId: string
  handle: string
  approvedAt: string
  code?: string
}
export type PairingListJson =
  | {schemaVersion: 1; channel: 'imessage'; requests: RequestJson[]}
  | {schemaVersion: 1; channel: 'imessage'; approved: ApprovedJson[]}

function chatLabel(chat: PairingChat): string {
  return chat.chatId > 0 ? `chat_id:${chat.chatId}` : chat.identifier || chat.guid || '-'
}

export default class PairingList extends BaseCommand<typeof PairingList> {
  static override summary = 'List pending pairing requests (or approved senders)'
  static override description = `Shows each pending request's code, sender, chat, when it was requested and how long the code stays valid (codes expire after 1 hour; at most 3 are pending per account). Without --account, every account is listed.
Approve one with: remoteclaw pairing approve imessage <CODE>

${EXIT_CODES_HELP}`
  static override examples = [
    '<%= config.bin %> pairing list',
    '<%= config.bin %> pairing list imessage --account bot',
    '<%= config.bin %> pairing list imessage --approved',
    '<%= config.bin %> pairing list --json',
  ]

  static override args = {
    channel: Args.string({description: 'Channel (only "imessage").', required: false}),
  }

  static override flags = {
    account: Flags.string({description: 'Only this account (default: all accounts).'}),
    approved: Flags.boolean({description: 'List approved senders instead of pending requests.'}),
  }

  async run(): Promise<PairingListJson> {
    const {args, flags} = await this.parse(PairingList)
    checkChannel(args.channel, 'remoteclaw pairing list imessage')
    const ctx = this.ctx
    const {config} = await loadConfig(ctx)
    const accounts: ResolvedAccount[] = flags.account
      ? [resolveAccount(config, flags.account, {home: ctx.home})]
      : resolveAccounts(config, {home: ctx.home}).accounts
    if (accounts.length === 0) resolveAccount(config, undefined, {home: ctx.home}) // throws "no iMessage account is configured"
    const now = ctx.now()
    const showAccount = accounts.length > 1

    if (flags.approved) {
      const approved: ApprovedJson[] = []
      for (const a of accounts) {
        for (const s of await listApproved(ctx, a.id)) {
          approved.push({accountId: a.id, handle: s.handle, approvedAt: new Date(s.approvedAt).toISOString(), ...(s.code ? {code: s.code} : {})})
        }
      }
      if (approved.length === 0) this.out('No approved senders.')
      else {
        const rows = approved.map((s) => [
          ...(showAccount ? [s.accountId] : []),
          s.handle,
          formatAgo(now - Date.parse(s.approvedAt)),
          s.code ? `code ${s.code}` : 'handle',
        ])
        for (const l of table([...(showAccount ? ['ACCOUNT'] : []), 'SENDER', 'APPROVED', 'VIA'], rows)) this.out(l)
      }
      return {schemaVersion: 1, channel: 'imessage', approved}
    }

    const requests: RequestJson[] = []
    for (const a of accounts) {
      for (const r of await listPending(ctx, a.id)) {
        requests.push({
          accountId: a.id,
          code: r.code,
          sender: r.sender,
          ...(r.senderName ? {senderName: r.senderName} : {}),
          chat: r.chat,
          requestedAt: new Date(r.requestedAt).toISOString(),
          expiresAt: new Date(r.expiresAt).toISOString(),
          expiresInSeconds: Math.max(0, Math.floor((r.expiresAt - now) / 1000)),
        })
      }
    }
    if (requests.length === 0) {
      this.out('No pending pairing requests.')
    } else {
      const rows = requests.map((r) => [
        ...(showAccount ? [r.accountId] : []),
        r.code,
        r.senderName ? `${r.sender} (${r.senderName})` : r.sender,
        chatLabel(r.chat),
        formatAgo(now - Date.parse(r.requestedAt)),
        formatDuration(r.expiresInSeconds * 1000),
      ])
      for (const l of table([...(showAccount ? ['ACCOUNT'] : []), 'CODE', 'SENDER', 'CHAT', 'REQUESTED', 'EXPIRES IN'], rows)) this.out(l)
      this.out()
      this.out('Approve with: remoteclaw pairing approve imessage <CODE>')
    }
    return {schemaVersion: 1, channel: 'imessage', requests}
  }
}
