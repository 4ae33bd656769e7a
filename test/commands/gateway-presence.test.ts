import {expect} from 'chai'
import {execa} from 'execa'
import fs from 'node:fs'
import path from 'node:path'
import {IMSG_SIM, REPO_ROOT} from '../helpers/cli.js'
import {GatewayHarness, TEST_TIMINGS} from '../lib/gateway/harness.js'

const AGENT = path.join(REPO_ROOT, 'test', 'fixtures', 'presence-agent.mjs')
const V15 = {IMSG_SIM_VERSION: '0.15.10'}
const BRIDGE = {...V15, IMSG_SIM_BRIDGE: '1'}
const A = '+15550001001'
const B = '+15550001002'

interface BridgeEvent {seq: number; at: string; method: string; outcome: string; typing?: boolean; reaction?: string; emoji?: string;
  message?: string; reply_to?: string; chat_guid: string; last_message_rowid: number}
interface AgentRun {startedAt: number; input: {text: string; replyTo?: {guid: string; text?: string; sender?: string};
  reactions?: Array<{emoji: string; added: boolean; toBot: boolean; messageText?: string; sender: string}>}}

/**
 * End to end: the built gateway with the simulator as imsg, in bridge mode (IMSG_SIM_BRIDGE) and
 * without it, and a command agent that records what it gets.
 */
describe('gateway presence: typing, read receipts, tapbacks, threaded replies, reply context (CLI + simulator)', function () {
  this.timeout(120_000)
  let h: GatewayHarness
  let agentLog: string

  beforeEach(async () => {
    h = new GatewayHarness()
    await h.init()
    agentLog = path.join(h.dir, 'agent.ndjson')
  })
  afterEach(async () => {
    await h.dispose()
  })

  function config(channel: Record<string, unknown>, agentEnv: Record<string, string> = {}): void {
    h.writeConfig({dmPolicy: 'allowlist', allowFrom: [A], ...channel}, {
      agents: {list: [{id: 'main', runtime: 'command', command: [process.execPath, AGENT], output: 'json',
        env: {AGENT_LOG: agentLog, ...agentEnv}}]},
    })
  }
  const events = async () => JSON.parse(await h.sim(['events', '--json'])) as BridgeEvent[]
  const runs = (): AgentRun[] => (fs.existsSync(agentLog) ? fs.readFileSync(agentLog, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as AgentRun) : [])
  /** Messages of a chat, newest first, as imsg reports them (thread_originator_guid, is_read, reactions). */
  async function history(chatId: number): Promise<Array<Record<string, unknown>>> {
    const r = await execa(IMSG_SIM, ['rpc', '--db', h.db], {env: {HOME: h.dir, ...V15},
      input: JSON.stringify({jsonrpc: '2.0', id: 1, method: 'messages.history', params: {chat_id: chatId, limit: 100}}) + '\n'})
    return (JSON.parse(String(r.stdout)) as {result: {messages: Array<Record<string, unknown>>}}).result.messages
  }
  const replies = async () => (await h.sent()).filter((s) => s.text.startsWith('echo: '))
  const waitReplies = (n: number) => h.waitFor(async () => {
    const r = await replies()
    return r.length >= n ? r : undefined
  }, `${n} repl(ies)`, 30_000)

  it('bridge mode: typing on before the agent runs and off after the reply; read receipt and ack only for accepted messages; threaded reply', async () => {
    config({ackReaction: 'like', replyThreading: 'all'}, {AGENT_SLEEP_MS: '1500'})
    h.start({...BRIDGE, REMOTECLAW_GATEWAY_TIMINGS: JSON.stringify({...TEST_TIMINGS, typingKeepAliveMs: 300})})
    await h.ready()
    // dropped (not in allowFrom): no read receipt, no ack, no typing
    await h.inject(B, 'let me in')
    await h.waitForLog(/not in channels\.imessage\.allowFrom/)
    const msg = await h.inject(A, 'hello')
    const [reply] = await waitReplies(1)
    expect(reply!.text).to.equal('echo: hello')
    await h.waitFor(async () => (await events()).some((e) => e.method === 'typing' && e.typing === false), 'typing off')
    const ev = await events()
    const chatA = ev.filter((e) => e.chat_guid.endsWith(A))
    expect(ev.filter((e) => e.chat_guid.endsWith(B)), 'nothing for the dropped sender').to.deep.equal([])
    const on = chatA.find((e) => e.method === 'typing' && e.typing === true)!
    const off = chatA.find((e) => e.method === 'typing' && e.typing === false)!
    expect(on.outcome).to.equal('ok')
    // kept alive while the agent works (1.5 s, renewed every 300 ms), and only until the reply
    const ons = chatA.filter((e) => e.method === 'typing' && e.typing === true)
    expect(ons.length, 'typing renewed during a long turn').to.be.at.least(2)
    expect(ons.every((e) => e.seq < off.seq)).to.equal(true)
    const run = runs()[0]!
    expect(Date.parse(on.at), 'typing on before the agent started').to.be.at.most(run.startedAt)
    expect(off.last_message_rowid, 'typing off after the reply row').to.be.at.least(reply!.id)
    expect(on.last_message_rowid, 'typing on before the reply row').to.be.below(reply!.id)
    expect(chatA.filter((e) => e.method === 'read').map((e) => e.outcome)).to.deep.equal(['ok'])
    expect(chatA.filter((e) => e.method === 'tapback').map((e) => [e.message, e.reaction, e.outcome])).to.deep.equal([[msg.guid, 'like', 'ok']])
    const hist = await history(msg.chat_id)
    const inbound = hist.find((m) => m.guid === msg.guid)!
    expect(inbound.is_read).to.equal(true)
    expect((inbound.reactions as Array<{type: string; is_from_me: boolean}>).map((r) => [r.type, r.is_from_me])).to.deep.equal([['like', true]])
    expect(hist.find((m) => m.text === 'echo: hello')).to.include({thread_originator_guid: msg.guid})
  })

  it('without the bridge: no typing/read/tapback calls, one info line per feature, a plain reply', async () => {
    config({ackReaction: '👀', replyThreading: 'all'})
    h.start(V15)
    await h.ready()
    const msg = await h.inject(A, 'hello')
    await waitReplies(1)
    for (const key of ['typingIndicator', 'sendReadReceipts', 'ackReaction', 'replyThreading']) {
      const line = await h.waitForLog(new RegExp(`^${key} is off: .* not usable with this imsg \\(the IMCore bridge is not running\\)`))
      expect(line.level).to.equal('info')
    }
    expect(await events(), 'imsg never asked for a bridge call').to.deep.equal([])
    const reply = (await history(msg.chat_id)).find((m) => m.text === 'echo: hello')!
    expect(reply).to.not.have.property('thread_originator_guid')
    expect(h.countLogs(/typingIndicator is off/)).to.equal(1)
  })

  it('a stuck typing call does not hold the reply: typing times out, the child restarts, the reply goes out once', async () => {
    config({})
    // the stuck call would hold imsg's mutation lane for 60 s and poison it (-32004) after
    h.start({...BRIDGE, IMSG_SIM_TYPING_STUCK: '1', IMSG_SIM_TYPING_STUCK_MS: '60000',
      REMOTECLAW_GATEWAY_TIMINGS: JSON.stringify({...TEST_TIMINGS, typingTimeoutMs: 1000})})
    await h.ready()
    const t0 = Date.now()
    await h.inject(A, 'are you there?')
    await waitReplies(1)
    expect(Date.now() - t0, 'far below the 60 s the stuck call holds the lane').to.be.below(30_000)
    await h.waitForLog(/typing indicator did not answer within 1000 ms/)
    await h.waitForLog(/restarting imsg: a typing call is stuck/)
    await h.inject(A, 'second')
    const r = await waitReplies(2)
    expect(r.map((x) => x.text)).to.deep.equal(['echo: are you there?', 'echo: second'])
    expect((await events()).filter((e) => e.method === 'typing'), 'typing not used again after it got stuck').to.have.length(1)
  })

  it('inbound tapbacks and reply context reach the agent with the next message and are never answered alone', async () => {
    config({})
    h.start(V15)
    await h.ready()
    const first = await h.inject(A, 'first')
    const [botReply] = await waitReplies(1)
    // a reaction to the bot's message, one to the sender's own message ("own": not passed), an add+remove pair
    await h.inject(A, '', ['--chat-id', String(first.chat_id), '--emoji', '👍', '--target', botReply!.guid])
    await h.inject(A, '', ['--chat-id', String(first.chat_id), '--reaction', 'laugh', '--target', first.guid])
    await h.inject(A, '', ['--chat-id', String(first.chat_id), '--reaction', 'love', '--target', botReply!.guid])
    await h.inject(A, '', ['--chat-id', String(first.chat_id), '--reaction', 'love', '--target', botReply!.guid, '--remove-reaction'])
    await h.waitFor(() => h.countLogs(/reacted|removed/) >= 4, 'four reaction log lines')
    await new Promise((r) => setTimeout(r, 1000))
    expect(await replies(), 'a reaction is never answered by itself').to.have.length(1)
    expect(runs()).to.have.length(1)
    // a threaded reply to the bot's message
    await h.inject(A, 'and another thing', ['--chat-id', String(first.chat_id), '--reply-to', botReply!.guid])
    await waitReplies(2)
    const input = runs()[1]!.input
    expect(input.replyTo).to.deep.include({guid: botReply!.guid, text: 'echo: first'})
    expect(input.reactions!.map((r) => [r.emoji, r.added, r.toBot, r.messageText])).to.deep.equal([['👍', true, true, 'echo: first']])
    // handed over once
    await h.inject(A, 'third')
    await waitReplies(3)
    expect(runs()[2]!.input.reactions).to.equal(undefined)
    expect(runs()[2]!.input.replyTo).to.equal(undefined)
  })

  it('reactionNotifications "all" passes reactions to any message; a command agent\'s react puts a tapback (bridge)', async () => {
    config({reactionNotifications: 'all'}, {AGENT_REACT: JSON.stringify({kind: 'love'})})
    h.start(BRIDGE)
    await h.ready()
    const first = await h.inject(A, 'please react')
    await waitReplies(1)
    await h.waitFor(async () => (await events()).some((e) => e.method === 'tapback'), 'the agent\'s tapback')
    const tb = (await events()).filter((e) => e.method === 'tapback')
    expect(tb.map((e) => [e.message, e.reaction, e.outcome])).to.deep.equal([[first.guid, 'love', 'ok']])
    await h.inject(A, '', ['--chat-id', String(first.chat_id), '--reaction', 'laugh', '--target', first.guid])
    await h.waitForLog(/reacted 😂/)
    await h.inject(A, 'next')
    await waitReplies(2)
    expect(runs()[1]!.input.reactions!.map((r) => [r.emoji, r.toBot, r.messageText])).to.deep.equal([['😂', false, 'please react']])
  })
})
