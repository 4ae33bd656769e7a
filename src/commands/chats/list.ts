import * as Flags from '@oclif/core/flags'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {listChats, type ChatListResult} from '../../lib/chats/list.js'
import {resolveAccount} from '../../lib/config/accounts.js'
import {loadConfig} from '../../lib/config/load.js'
import {createLogger} from '../../lib/log.js'

export default class ChatsList extends BaseCommand<typeof ChatsList> {
  static override summary = "List the account's chats with their chat_id and whether the bot answers there"
  static override description = `Asks imsg (through the account's cliPath, so an SSH wrapper works too) for the most recent chats and shows, for each, the chat_id to use in groups.<chat_id> and message send --target chat_id:N, and the gateway's own verdict: answered, answered when mentioned, after pairing, or not, with the command that would admit it.

${EXIT_CODES_HELP}`
  static override examples = [
    '<%= config.bin %> chats list',
    '<%= config.bin %> chats list --limit 50 --account bot',
    "<%= config.bin %> chats list --json | jq '.chats[] | select(.isGroup) | .chatId'",
  ]

  static override flags = {
    account: Flags.string({description: 'Account id (default: channels.imessage.defaultAccount).'}),
    limit: Flags.integer({description: 'How many chats, most recent first.', default: 20, min: 1, max: 500}),
  }

  async run(): Promise<ChatListResult> {
    const {flags} = await this.parse(ChatsList)
    const ctx = this.ctx
    const loaded = await loadConfig(ctx)
    const account = resolveAccount(loaded.config, flags.account, {home: ctx.home})
    const result = await listChats({...ctx, log: createLogger({level: this.isVerbose ? 'debug' : 'error'})}, account, loaded.config, {limit: flags.limit})
    if (result.chats.length === 0) this.out(`no chats in account ${account.id}'s Messages database yet`)
    for (const c of result.chats) {
      const kind = c.isGroup ? 'group' : 'DM'
      const who = c.name || (c.isGroup ? c.participants.join(', ') : c.participants[0] ?? c.identifier)
      const answers = {yes: 'answered', 'when-mentioned': 'answered when mentioned', 'after-pairing': 'after pairing', no: 'not answered'}[c.answers]
      this.out(`chat_id:${c.chatId}  ${kind}  ${who}${c.lastActivity ? `  last ${c.lastActivity}` : ''}`)
      this.out(`    ${answers} (agent ${c.agentId})${c.answers === 'yes' ? '' : `: ${c.why}`}`)
      if (c.admit && c.answers !== 'yes') this.out(`    ${c.answers === 'when-mentioned' ? 'to answer every message' : 'allow it with'}: ${c.admit}`)
    }
    return result
  }
}
