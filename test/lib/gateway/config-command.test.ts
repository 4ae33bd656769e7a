import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {resolveAccount} from '../../../src/lib/config/accounts.js'
import {loadConfig} from '../../../src/lib/config/load.js'
import type {Envelope} from '../../../src/lib/core/envelope.js'
import {createConfigCommandHandler} from '../../../src/lib/gateway/chat-commands.js'
import {createLogger, type LogRecord} from '../../../src/lib/log.js'
import {tempDir} from '../../helpers/cli.js'

describe('/config from chat: replies carry no server paths', () => {
  let t: ReturnType<typeof tempDir>
  beforeEach(() => (t = tempDir('rc-cfgcmd-')))
  afterEach(() => t.cleanup())

  async function run(text: string, file: string) {
    const ctx = {configPath: path.join(t.dir, 'remoteclaw.json'), home: t.dir}
    fs.writeFileSync(ctx.configPath, file)
    const records: LogRecord[] = []
    const config = {channels: {imessage: {allowFrom: ['+15550001111']}}, commands: {config: true}}
    const handler = createConfigCommandHandler({ctx, config: () => config, log: createLogger({level: 'debug', write: () => {}, onRecord: (r) => records.push(r)})})
    const account = resolveAccount(config, undefined, {home: t.dir})
    const env = {accountId: 'default', sender: {handle: '+15550001111', raw: '+15550001111'}, text, chat: {chatId: 1, guid: '', identifier: '', name: '', participants: []}, isGroup: false} as unknown as Envelope
    const reply = await handler(env, account, {isApproved: () => false})
    return {reply: reply ?? '', records, ctx}
  }

  it('a /config set reply does not name the backup path; the log line does', async () => {
    const {reply, records, ctx} = await run('/config set channels.imessage.textChunkLimit 500', '{channels: {imessage: {allowFrom: ["+15550001111"]}}, commands: {config: true}}\n')
    expect(reply).to.equal('Set channels.imessage.textChunkLimit = 500 (applies now; the previous file is kept as a backup)')
    expect(records.find((r) => r.msg.startsWith('/config set'))?.fields).to.deep.include({backup: `${ctx.configPath}.bak`})
    expect((await loadConfig(ctx)).config.channels!.imessage!.textChunkLimit).to.equal(500)
  })

  it('a refusal names no path either (the config file, not /home/...)', async () => {
    const bad = '{\n  channels: {imessage: {allowFrom: ["+15550001111"], dmpolicy: "open"}},\n  commands: {config: true},\n}\n'
    const {reply, ctx} = await run('/config set channels.imessage.textChunkLimit 500', bad)
    expect(reply).to.match(/^Not done: the config file:2:\d+: channels\.imessage\.dmpolicy: unknown key "dmpolicy"/)
    expect(reply).to.not.contain(t.dir)
    expect(fs.readFileSync(ctx.configPath, 'utf8')).to.equal(bad)
  })
})
