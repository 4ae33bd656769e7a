import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js'
import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {tempDir} from '../../helpers/cli.js'
import {resolveToolsConfig} from '../../../src/lib/tools/config.js'
import type {McpServerSpec} from '../../../src/lib/tools/types.js'
import {message, scope, startRig, type Rig} from './harness.js'

interface CallResult {
  isError: boolean
  text: string
}

/** The agent side: the SDK's client over the spec the agent CLI would get. */
async function connect(spec: McpServerSpec): Promise<{call: (name: string, args?: Record<string, unknown>) => Promise<CallResult>; client: Client}> {
  const client = new Client({name: 'test-agent', version: '1'})
  await client.connect(new StdioClientTransport({command: spec.command, args: spec.args, env: spec.env, stderr: 'pipe'}))
  const call = async (name: string, args: Record<string, unknown> = {}): Promise<CallResult> => {
    const r = (await client.callTool({name, arguments: args})) as {isError?: boolean; content: Array<{type: string; text?: string}>}
    return {isError: Boolean(r.isError), text: r.content.map((c) => c.text ?? '').join('')}
  }
  return {call, client}
}

describe('agent tools: MCP server -> ToolEndpoint', function () {
  this.timeout(60_000)
  let tmp: {dir: string; cleanup: () => void}
  let rig: Rig
  const clients: Client[] = []

  beforeEach(async () => {
    tmp = tempDir('rc-tools-')
    rig = await startRig(tmp.dir)
    rig.host.chats.set(1, [3, 2, 1].map((n) => message(1, n)))
    rig.host.chats.set(2, [message(2, 1, {text: 'secret of chat 2'})])
  })
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => {})
    await rig.endpoint.stop()
    tmp.cleanup()
  })

  async function turn(over: Parameters<typeof scope>[0] = {}) {
    const t = rig.endpoint.openTurn(scope(over))
    const c = await connect(t.spec)
    clients.push(c.client)
    return {...c, close: t.close, spec: t.spec}
  }

  it('serves a private socket: 0600 in a 0700 folder, path and token in the spec env', async () => {
    const sock = rig.endpoint.socketPath
    expect(sock.startsWith(tmp.dir)).to.equal(true)
    expect(fs.statSync(sock).mode & 0o777).to.equal(0o600)
    expect(fs.statSync(path.dirname(sock)).mode & 0o777).to.equal(0o700)
    const t = rig.endpoint.openTurn(scope())
    expect(t.spec.name).to.equal('remoteclaw')
    expect(t.spec.env.REMOTECLAW_TOOLS_SOCKET).to.equal(sock)
    expect(t.spec.env.REMOTECLAW_TOOLS_TOKEN).to.equal(t.token)
    expect(t.token.length).to.be.greaterThan(40)
    t.close()
  })

  it('lists the tools the agent may use, with JSON schemas', async () => {
    const {client} = await turn()
    const all = await client.listTools()
    expect(all.tools.map((t) => t.name)).to.deep.equal(['send_message', 'react', 'read_history', 'schedule_message', 'list_scheduled', 'cancel_scheduled'])
    const rh = all.tools.find((t) => t.name === 'read_history')!
    expect((rh.inputSchema.properties as Record<string, {maximum?: number}>).limit!.maximum).to.equal(50)

    const {client: narrow, call} = await turn({tools: resolveToolsConfig({allow: ['read_history']})})
    expect((await narrow.listTools()).tools.map((t) => t.name)).to.deep.equal(['read_history'])
    const refused = await call('send_message', {text: 'hi'})
    expect(refused.isError).to.equal(true)
    expect(refused.text).to.match(/not enabled.*tools\.allow/)
    expect(rig.host.sends).to.have.length(0)
  })

  it('send_message goes to the current chat; an allowed target works, any other is refused', async () => {
    const {call} = await turn({tools: resolveToolsConfig({sendTargets: ['+1 (555) 010-2000', 'chat_id:7']})})
    const r1 = await call('send_message', {text: 'working on it'})
    expect(r1).to.deep.equal({isError: false, text: 'Sent to the current chat.'})
    expect(rig.host.sends[0]).to.include({target: 'chat_id:1', chatId: 1, text: 'working on it', accountId: 'default', sessionKey: 'agent:main:main'})
    expect(rig.host.sends[0]!.journalKey).to.match(/^tool:[0-9a-f]{16}$/)

    const r2 = await call('send_message', {text: 'summary', target: 'imessage:5550102000'})
    expect(r2.isError).to.equal(false)
    expect(rig.host.sends[1]).to.include({target: 'imessage:+15550102000', chatId: 0})
    const r3 = await call('send_message', {text: 'to group', target: 'chat_id:7'})
    expect(r3.isError).to.equal(false)
    expect(rig.host.sends[2]).to.include({target: 'chat_id:7', chatId: 7})

    const r4 = await call('send_message', {text: 'leak', target: 'chat_id:2'})
    expect(r4.isError).to.equal(true)
    expect(r4.text).to.contain('not allowed').and.contain('tools.sendTargets')
    const r5 = await call('send_message', {text: 'leak', target: 'not a target!'})
    expect(r5.isError).to.equal(true)
    expect(r5.text).to.contain('is not a target')
    expect(rig.host.sends).to.have.length(3)

    const refusal = rig.records.find((r) => r.msg.startsWith('tool send_message: refused'))
    expect(refusal?.fields).to.include({session: 'agent:main:main', tool: 'send_message', outcome: 'not_allowed'})
    expect(rig.records.filter((r) => r.fields.tool === 'send_message' && r.fields.outcome === 'ok')).to.have.length(3)
  })

  it('send_message reports a failed or unknown delivery as an error, and a long wait as queued', async () => {
    const {call} = await turn()
    rig.host.sendResult = async () => ({status: 'failed', detail: 'imsg said no'})
    const f = await call('send_message', {text: 'x'})
    expect(f.isError).to.equal(true)
    expect(f.text).to.contain('was not sent: imsg said no')
    rig.host.sendResult = async () => ({status: 'unknown', detail: 'timeout'})
    expect((await call('send_message', {text: 'x'})).text).to.contain('not retried')
    rig.host.sendResult = () => new Promise((resolve) => setTimeout(() => resolve({status: 'sent'}), 4000))
    const q = await call('send_message', {text: 'x'})
    expect(q.isError).to.equal(false)
    expect(q.text).to.match(/^Queued for the current chat/)
  })

  it('react: the triggering message by default, a message of this chat by guid, refused elsewhere or without the capability', async () => {
    const {call} = await turn()
    expect(await call('react', {kind: 'like'})).to.deep.equal({isError: false, text: 'Reacted like to message G-1-3.'})
    expect((await call('react', {emoji: '🎉', messageGuid: 'G-1-1'})).isError).to.equal(false)
    expect(rig.host.reactions).to.deep.equal([
      {messageGuid: 'G-1-3', reaction: 'like', chatId: 1},
      {messageGuid: 'G-1-1', reaction: '🎉', chatId: 1},
    ])
    const other = await call('react', {kind: 'love', messageGuid: 'G-2-1'})
    expect(other.isError).to.equal(true)
    expect(other.text).to.contain('not among the recent messages of the current chat')
    expect((await call('react', {kind: 'love', emoji: '👍'})).text).to.contain('exactly one of kind')
    expect((await call('react', {kind: 'wave'})).isError).to.equal(true)

    rig.host.canReact = false
    const none = await call('react', {kind: 'like'})
    expect(none.isError).to.equal(true)
    expect(none.text).to.contain('IMCore bridge')
    expect(rig.host.reactions).to.have.length(2)
    expect(rig.records.some((r) => r.fields.tool === 'react' && r.fields.outcome === 'no_capability')).to.equal(true)
  })

  it('read_history: the current chat only, oldest first, at most 50 per call', async () => {
    rig.host.chats.set(1, [message(1, 3, {is_from_me: true, text: 'bot said'}), message(1, 2), message(1, 1, {attachments: [{filename: '/Users/a/Library/Messages/Attachments/x/IMG_1.heic', transfer_name: 'IMG_1.heic', mime_type: 'image/heic', total_bytes: 1234}]}), message(2, 9, {text: 'stray row of chat 2'})])
    const {call} = await turn()
    const r = await call('read_history', {limit: 5})
    expect(r.isError).to.equal(false)
    const doc = JSON.parse(r.text) as {chat: string; messages: Array<Record<string, unknown>>}
    expect(doc.chat).to.equal('chat_id:1')
    expect(doc.messages.map((m) => m.guid)).to.deep.equal(['G-1-1', 'G-1-2', 'G-1-3'])
    expect(doc.messages[0]!.attachments).to.deep.equal([{name: 'IMG_1.heic', mimeType: 'image/heic', size: 1234}])
    expect(doc.messages[2]).to.include({sender: 'me', fromMe: true, text: 'bot said'})
    expect(r.text).not.to.contain('chat 2')

    const paged = JSON.parse((await call('read_history', {limit: 1, before: '2026-12-01T10:03:00Z'})).text) as {messages: Array<{guid: string}>}
    expect(paged.messages.map((m) => m.guid)).to.deep.equal(['G-1-2'])

    const big = await call('read_history', {limit: 51})
    expect(big.isError).to.equal(true)
    expect(big.text).to.contain('limit must be at most 50')
    expect((await call('read_history', {before: 'yesterday'})).text).to.contain('ISO 8601')
  })

  it('refuses a bad token and a token whose turn has closed', async () => {
    const t = await turn()
    expect((await t.call('send_message', {text: 'during the turn'})).isError).to.equal(false)
    t.close()
    const after = await t.call('send_message', {text: 'after the turn'})
    expect(after.isError).to.equal(true)
    expect(after.text).to.contain('token is not valid')
    let listError: unknown
    await t.client.listTools().catch((error: unknown) => (listError = error))
    expect(String(listError)).to.contain('turn it belonged to has ended')

    const forged = await connect({...t.spec, env: {...t.spec.env, REMOTECLAW_TOOLS_TOKEN: 'guessed'}})
    clients.push(forged.client)
    const r = await forged.call('send_message', {text: 'forged'})
    expect(r.isError).to.equal(true)
    expect(r.text).to.contain('token is not valid')
    expect(rig.host.sends.map((s) => s.text)).to.deep.equal(['during the turn'])
    expect(rig.records.filter((x) => x.msg.includes('unknown or expired token'))).to.have.length.greaterThan(1)
  })

  it('schedule_message, list_scheduled and cancel_scheduled act on the current chat only', async () => {
    const {call} = await turn()
    const s1 = await call('schedule_message', {text: 'stand-up', inMinutes: 30})
    expect(s1.isError).to.equal(false)
    const id = /Scheduled ([0-9a-f]{8})/.exec(s1.text)![1]!
    const at = await call('schedule_message', {text: 'tomorrow', at: '2026-12-06T09:00:00Z'})
    expect(at.isError).to.equal(false)
    expect((await call('schedule_message', {text: 'x', at: '2026-12-01T09:00:00Z'})).text).to.contain('in the past')
    expect((await call('schedule_message', {text: 'x'})).text).to.contain('exactly one of at')
    expect(rig.kicks).to.equal(2)

    const stored = await rig.store.get(id)
    expect(stored).to.include({accountId: 'default', sessionKey: 'agent:main:main', text: 'stand-up', status: 'pending', dueAt: rig.clock.now + 30 * 60_000})
    expect(stored!.chat).to.deep.equal({target: 'chat_id:1', chatId: 1, isGroup: false, label: 'DM from +15550000001'})
    expect(stored).not.to.have.property('token')
    expect(fs.statSync(rig.store.file).mode & 0o777).to.equal(0o600)

    // another chat's turn neither sees nor cancels it
    const other = await turn({chat: {target: 'chat_id:2', chatId: 2, isGroup: true, label: 'group chat 2'}, sessionKey: 'agent:main:imessage:group:2'})
    expect(JSON.parse((await other.call('list_scheduled')).text)).to.deep.equal({scheduled: []})
    expect((await other.call('cancel_scheduled', {id})).text).to.contain(`no scheduled message ${id} in this chat`)

    const listed = JSON.parse((await call('list_scheduled')).text) as {scheduled: Array<{id: string; text: string}>}
    expect(listed.scheduled.map((s) => s.text)).to.deep.equal(['stand-up', 'tomorrow'])
    expect(await call('cancel_scheduled', {id})).to.deep.equal({isError: false, text: `Cancelled ${id}.`})
    expect((await call('cancel_scheduled', {id})).text).to.contain('already cancelled')
    expect((await rig.store.get(id))!.status).to.equal('cancelled')

    // the per-chat cap (3 in this rig) counts open schedules only
    expect((await call('schedule_message', {text: 'a', inMinutes: 5})).isError).to.equal(false)
    expect((await call('schedule_message', {text: 'b', inMinutes: 5})).isError).to.equal(false)
    const capped = await call('schedule_message', {text: 'c', inMinutes: 5})
    expect(capped.isError).to.equal(true)
    expect(capped.text).to.contain('schedules.maxPendingPerChat')
  })

  it('says the gateway is not running when the socket is gone (the agent turn goes on)', async () => {
    const t = await turn()
    await rig.endpoint.stop()
    const r = await t.call('send_message', {text: 'x'})
    expect(r.isError).to.equal(true)
    expect(r.text).to.contain('gateway is not running')
    await rig.endpoint.start() // afterEach stops it again
  })
})
