import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {resolveAccount} from '../../lib/config/accounts.js'
import {loadConfig} from '../../lib/config/load.js'
import {UsageError} from '../../lib/errors.js'
import {TARGET_FORMS} from '../../lib/imsg/targets.js'
import {createLogger} from '../../lib/log.js'
import {sendReaction, type ReactResult} from '../../lib/outbound/react.js'
import {parseReaction, REACTION_HELP} from '../../lib/util/tapback.js'

export default class MessageReact extends BaseCommand<typeof MessageReact> {
  static override summary = 'Put a tapback (reaction) on a message, or remove one'
  static override description = `Targets: ${TARGET_FORMS} (the chat the message is in). --message is the message's GUID (from \`imsg history --json\` or the gateway's log).
--reaction is ${REACTION_HELP}.
Tapbacks need imsg's IMCore bridge (SIP disabled, \`imsg launch\`); emoji tapbacks also need imsg 0.15 with emoji support. Where they are not usable the command sends nothing and exits 5; \`remoteclaw channels status --probe\` says why.

Exit codes: 0 done, 1 imsg failed, 2 usage error, 4 account not found, 5 tapbacks (or emoji tapbacks) not usable with this imsg, 7 config invalid.`
  static override examples = [
    '<%= config.bin %> message react --target chat_id:12 --message 7C1B2D4E-0000-4A8B-9F00-1234567890AB --reaction like',
    '<%= config.bin %> message react --target +15551234567 --message 7C1B2D4E-0000-4A8B-9F00-1234567890AB --reaction 🎉',
    '<%= config.bin %> message react --target chat_id:12 --message 7C1B2D4E-0000-4A8B-9F00-1234567890AB --reaction love --remove --json',
  ]

  static override flags = {
    target: Flags.string({description: 'The chat the message is in (see description for the forms).', required: true}),
    message: Flags.string({description: 'GUID of the message to react to.', required: true}),
    reaction: Flags.string({description: 'love, like, dislike, laugh, emphasize, question, or an emoji.', required: true}),
    remove: Flags.boolean({description: 'Remove this reaction instead of adding it.'}),
    account: Flags.string({description: 'Account id (default: channels.imessage.defaultAccount).'}),
  }

  async run(): Promise<ReactResult> {
    const {flags} = await this.parse(MessageReact)
    const reaction = parseReaction(flags.reaction)
    if (!reaction) throw new UsageError(`invalid reaction "${flags.reaction}"`, {fix: `Use ${REACTION_HELP}.`})
    const guid = flags.message.trim()
    if (guid === '') throw new UsageError('--message is empty', {fix: 'Pass the GUID of the message to react to.'})
    const ctx = this.ctx
    const loaded = await loadConfig(ctx)
    const account = resolveAccount(loaded.config, flags.account, {home: ctx.home})
    const result = await sendReaction({
      account,
      target: flags.target,
      messageGuid: guid,
      reaction,
      remove: flags.remove,
      ctx: {...ctx, log: createLogger({level: this.isVerbose ? 'debug' : 'error'})},
    })
    this.out(`${result.removed ? 'removed' : 'sent'} ${result.reaction.emoji} ${result.removed ? 'from' : 'on'} message ${guid} in ${result.target}`)
    return result
  }
}
