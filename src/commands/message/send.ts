import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {resolveAccount} from '../../lib/config/accounts.js'
import {loadConfig} from '../../lib/config/load.js'
import {UsageError} from '../../lib/errors.js'
import {createLogger} from '../../lib/log.js'
import {TARGET_FORMS} from '../../lib/imsg/targets.js'
import {detectFor} from '../../lib/outbound/react.js'
import {sendMessage, type SendMessageResult} from '../../lib/outbound/send.js'

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export default class MessageSend extends BaseCommand<typeof MessageSend> {
  static override summary = 'Send a message (text and/or a file) through an iMessage account'
  static override description = `Targets: ${TARGET_FORMS}. Phone numbers without a country code use the account's region.
Text comes from --text or, when --text is absent, from stdin. Long text is split with the account's textChunkLimit and chunkMode; the parts are sent in order, one at a time. A --file is sent after the text.
Nothing is retried: if imsg reports "delivery outcome unknown" (-32001) or a send times out, the command stops, says which parts went out, and exits 1.
--reply-to <guid> answers in the thread of that message (the first part; later parts follow plainly). Threaded replies need imsg's IMCore bridge: without it the command sends nothing and exits 5 (see \`remoteclaw channels status --probe\`).

Exit codes: 0 sent, 1 send failed, 2 usage error, 4 account not found, 5 threaded replies not usable with this imsg, 7 config invalid.`
  static override examples = [
    '<%= config.bin %> message send --target +15551234567 --text "hello"',
    '<%= config.bin %> message send --target chat_id:12 --text "to the group"',
    'echo "from stdin" | <%= config.bin %> message send --target imessage:friend@example.com --json',
    '<%= config.bin %> message send --target sms:+15551234567 --file ./photo.jpg --account bot',
    '<%= config.bin %> message send --target chat_id:12 --text "agreed" --reply-to 7C1B2D4E-0000-4A8B-9F00-1234567890AB',
  ]

  static override flags = {
    target: Flags.string({description: 'Who to send to (see description for the forms).', required: true}),
    account: Flags.string({description: 'Account id (default: channels.imessage.defaultAccount).'}),
    text: Flags.string({description: 'Message text (default: read stdin).'}),
    file: Flags.string({description: 'A file to send as an attachment.'}),
    'reply-to': Flags.string({description: 'GUID of the message to answer in its thread (needs the IMCore bridge).'}),
  }

  async run(): Promise<SendMessageResult> {
    const {flags} = await this.parse(MessageSend)
    const ctx = this.ctx
    const loaded = await loadConfig(ctx)
    const account = resolveAccount(loaded.config, flags.account, {home: ctx.home})
    let text = flags.text
    if (text === undefined && !process.stdin.isTTY) text = await readStdin()
    if ((text === undefined || text.trim() === '') && !flags.file) {
      throw new UsageError('nothing to send', {fix: 'Pass --text "...", pipe the text on stdin, or add --file <path>.'})
    }
    const result = await sendMessage({
      account,
      target: flags.target,
      text,
      file: flags.file,
      replyTo: flags['reply-to'],
      detect: (client) => detectFor(account, client, ctx),
      // imsg's own output already appears in the error we print; only --verbose shows the client's log.
      ctx: {...ctx, log: createLogger({level: this.isVerbose ? 'debug' : 'error'})},
      onPart: (p, total) => {
        if (total > 1 && !this.jsonEnabled()) this.note(`sent part ${p.index + 1}/${total}`)
      },
    })
    const ids = result.parts.map((p) => p.guid ?? (p.id === undefined ? undefined : String(p.id))).filter(Boolean)
    this.out(`sent ${result.parts.length} message${result.parts.length === 1 ? '' : 's'} to ${result.target}${ids.length > 0 ? ` (${ids.join(', ')})` : ''}`)
    return result
  }
}
