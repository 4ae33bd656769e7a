import {expect} from 'chai'
import {inject, sim, type SimEnv, simEnv} from './helpers.js'

const V15 = {IMSG_SIM_VERSION: '0.15.10'}
const BRIDGE = {...V15, IMSG_SIM_BRIDGE: '1'}

type Reply = {result?: Record<string, unknown> & {messages?: Array<Record<string, unknown>>}; error?: {code: number; message: string; data: unknown}}

describe('imsg-sim: the IMCore bridge (typing, read, tapback, threaded replies)', function () {
  this.timeout(60_000)
  let s: SimEnv
  let parent: {id: number; guid: string; chat_id: number}
  beforeEach(async () => {
    s = await simEnv()
    parent = await inject(s.env, '--from', '+15551234567', '--text', 'lunch at noon?')
  })
  afterEach(() => s.cleanup())

  async function session(env: Record<string, string>, ...reqs: Array<[string, Record<string, unknown>]>) {
    const lines = reqs.map(([method, params], i) => JSON.stringify({jsonrpc: '2.0', id: i + 1, method, params}))
    const r = await sim(['rpc'], {...s.env, ...env}, lines.join('\n') + '\n')
    const byId = new Map<number, Reply>()
    for (const l of r.stdout.trim().split('\n').filter(Boolean).map((x) => JSON.parse(x))) byId.set(l.id, l)
    return (i: number) => byId.get(i)!
  }
  const events = async () => JSON.parse((await sim(['events', '--json'], s.env)).stdout) as Array<Record<string, unknown>>

  it('without the bridge each call answers as imsg 0.15 does, status says why, and chat.db is untouched', async () => {
    const r = await session(V15,
      ['status', {}],
      ['typing', {chat_id: parent.chat_id}],
      ['read', {chat_id: parent.chat_id}],
      ['tapback', {chat_id: parent.chat_id, message_id: parent.guid, reaction: 'like'}],
      ['send', {chat_id: parent.chat_id, text: 'yes', reply_to: parent.guid}],
      ['send', {chat_id: parent.chat_id, text: 'plain'}],
    )
    const st = r(1).result!
    expect(st.bridge).to.deep.equal({ready: false, error: 'The bridge is not started. Run imsg launch explicitly before using bridge methods.'})
    // typing and read are listed on every Mac; tapback and send.rich only with the bridge
    expect(st.methods).to.include.members(['typing', 'read']).and.not.include.members(['tapback', 'send.rich'])
    expect((st.capabilities as {features: unknown}).features).to.deep.equal({})
    expect(r(2).error!.code).to.equal(-32603)
    expect(r(2).error!.data).to.match(/^Typing indicator failed: /)
    for (const [id, op] of [[3, 'read'], [4, 'tapback']] as const) {
      expect(r(id).error).to.deep.include({code: -32603, message: 'Delivery failed before dispatch'})
      expect(r(id).error!.data).to.deep.include({retry_safe: true, disposition: 'not_started', operation: op})
    }
    expect(r(5).error).to.deep.equal({code: -32602, message: 'Invalid params',
      data: 'reply_to requires bridge transport; AppleScript fallback cannot send threaded replies'})
    expect(r(6).result).to.include({ok: true, transport: 'applescript'})
    const sent = JSON.parse((await sim(['sent', '--json'], s.env)).stdout) as Array<{text: string}>
    expect(sent.map((x) => x.text)).to.deep.equal(['plain'])
    const h = await session(V15, ['messages.history', {chat_id: parent.chat_id}])
    expect(h(1).result!.messages![1]).to.include({guid: parent.guid, is_read: false})
    expect((await events()).map((e) => [e.method, e.outcome])).to.deep.equal(
      [['typing', 'error'], ['read', 'error'], ['tapback', 'error'], ['send', 'error']])
  })

  it('with the bridge: status reports it; typing/read/tapback/threaded send work and leave their traces in chat.db', async () => {
    const r = await session(BRIDGE,
      ['status', {}],
      ['typing', {chat_id: parent.chat_id}],
      ['read', {chat_id: parent.chat_id}],
      ['tapback', {chat_id: parent.chat_id, message_id: parent.guid, reaction: 'thumbsup'}],
      ['tapback', {chat_id: parent.chat_id, message_id: parent.guid, emoji: '🎉'}],
      ['send', {chat_id: parent.chat_id, text: 'yes!', reply_to: parent.guid}],
      ['typing', {chat_id: parent.chat_id, typing: false}],
      ['tapback', {chat_id: parent.chat_id, message_id: parent.guid, reaction: 'remove-like'}],
    )
    const st = r(1).result!
    expect(st.bridge).to.deep.include({ready: true, v2_ready: true, registry_available: true})
    expect((st.bridge as {selectors: Record<string, boolean>}).selectors).to.include({typing: true, read: true, sendReaction: true, emojiTapbackSend: true})
    expect(st.methods).to.include.members(['typing', 'read', 'tapback', 'send.rich'])
    expect((st.capabilities as {features: unknown}).features).to.deep.equal({'tapback.emoji': 2})
    expect(r(2).result).to.deep.equal({ok: true})
    expect(r(3).result).to.deep.equal({ok: true})
    expect(r(4).result).to.deep.equal({ok: true, reaction: 'like'})
    expect(r(5).result).to.deep.equal({ok: true, emoji: '🎉'})
    expect(r(6).result).to.include({ok: true, transport: 'bridge'})
    expect(r(8).result).to.deep.equal({ok: true, reaction: 'remove-like'})

    const h = await session(BRIDGE, ['messages.history', {chat_id: parent.chat_id}])
    const msgs = h(1).result!.messages!
    const original = msgs.find((m) => m.guid === parent.guid)!
    expect(original.is_read).to.equal(true)
    expect(original.date_read).to.be.a('string')
    // the like was removed again; the emoji stays (reactions fold in date order)
    expect((original.reactions as Array<Record<string, unknown>>).map((x) => [x.type, x.emoji, x.is_from_me])).to.deep.equal([['custom', '🎉', true]])
    const reply = msgs.find((m) => m.text === 'yes!')!
    expect(reply).to.include({thread_originator_guid: parent.guid, reply_to_text: 'lunch at noon?', reply_to_sender: '+15551234567', is_from_me: true})

    // tapback rows carry associated_message_type; watch with include_reactions emits them
    const w = await session(BRIDGE, ['messages.after', {since_rowid: parent.id, include_reactions: true}])
    const rx = w(1).result!.messages!.filter((m) => m.is_reaction === true)
    expect(rx.map((m) => [m.reaction_type, m.reaction_emoji, m.is_reaction_add, m.reacted_to_guid])).to.deep.equal([
      ['like', '👍', true, parent.guid], ['custom', '🎉', true, parent.guid], ['like', '👍', false, parent.guid]])
    expect((await events()).filter((e) => e.method === 'typing').map((e) => [e.typing, e.outcome])).to.deep.equal([[true, 'ok'], [false, 'ok']])
  })

  it('validates tapback params; an emoji without helper support is -32001; an unknown message is -32001', async () => {
    const r = await session({...BRIDGE, IMSG_SIM_BRIDGE_NO_EMOJI: '1'},
      ['tapback', {chat_id: parent.chat_id, reaction: 'like'}],
      ['tapback', {chat_id: parent.chat_id, message_id: parent.guid}],
      ['tapback', {chat_id: parent.chat_id, message_id: parent.guid, reaction: 'wave'}],
      ['tapback', {chat_id: parent.chat_id, message_id: parent.guid, emoji: '🎉'}],
      ['tapback', {chat_id: parent.chat_id, message_id: 'NOPE', reaction: 'love'}],
      ['status', {}],
    )
    expect(r(1).error!.data).to.equal('message_id or message_guid is required')
    expect(r(2).error!.data).to.equal('reaction, kind, or emoji is required')
    expect(r(3).error!.data).to.equal('unsupported tapback reaction wave; use love, like, dislike, laugh, emphasize, or question')
    expect(r(4).error).to.deep.include({code: -32001, message: 'Delivery outcome unknown'})
    expect(r(4).error!.data).to.deep.include({disposition: 'may_have_completed', detail: 'Emoji tapbacks unsupported on this macOS version'})
    expect(r(5).error!.code).to.equal(-32001)
    expect((r(6).result!.capabilities as {features: unknown}).features).to.deep.equal({})
  })

  it('IMSG_SIM_TYPING_STUCK: typing holds the mutation lane, then -32001 still_in_flight; later mutations -32004 until restart', async () => {
    const r = await session({...BRIDGE, IMSG_SIM_TYPING_STUCK: '1', IMSG_SIM_TYPING_STUCK_MS: '300'},
      ['typing', {chat_id: parent.chat_id}],
      ['send', {chat_id: parent.chat_id, text: 'after typing'}],
      ['chats.list', {}],
    )
    expect(r(1).error!.code).to.equal(-32001)
    expect(r(1).error!.data).to.deep.include({disposition: 'still_in_flight', operation: 'typing'})
    expect(r(2).error!.code).to.equal(-32004)
    expect((r(2).error!.data as {detail: string}).detail).to.equal('A prior typing remains in flight. Restart the RPC child before sending another mutation.')
    expect(r(3).result).to.have.property('chats') // reads are not in the mutation lane
    // a new child (restart) has a fresh lane
    const again = await session(BRIDGE, ['send', {chat_id: parent.chat_id, text: 'after restart'}])
    expect(again(1).result).to.include({ok: true})
  })

  it('inject --emoji / --reaction / --reply-to write inbound tapbacks and replies that watch reports', async () => {
    const mine = await inject(s.env, '--from-me', '--chat-id', String(parent.chat_id), '--text', 'see you there')
    await inject(s.env, '--from', '+15551234567', '--chat-id', String(parent.chat_id), '--emoji', '🙌', '--target', mine.guid)
    await inject(s.env, '--from', '+15551234567', '--chat-id', String(parent.chat_id), '--reaction', 'love', '--target', mine.guid, '--remove-reaction')
    await inject(s.env, '--from', '+15551234567', '--chat-id', String(parent.chat_id), '--text', 'which place?', '--reply-to', mine.guid)
    const r = await session(V15, ['messages.after', {since_rowid: mine.id, include_reactions: true}])
    const m = r(1).result!.messages!
    expect(m.map((x) => [x.is_reaction ?? false, x.reaction_emoji ?? null, x.is_reaction_add ?? null, x.reacted_to_guid ?? null])).to.deep.equal([
      [true, '🙌', true, mine.guid], [true, '❤️', false, mine.guid], [false, null, null, null]])
    expect(m[2]).to.include({thread_originator_guid: mine.guid, reply_to_text: 'see you there', text: 'which place?'})
  })

  it('imsg status --json reports the bridge as imsg does', async () => {
    const off = JSON.parse((await sim(['status', '--json'], {...s.env, ...V15})).stdout)
    expect(off).to.include({advanced_features: false, typing_indicators: false, sip: 'enabled'})
    expect(off.rpc_methods).to.not.include('send.tracked')
    const on = JSON.parse((await sim(['status', '--json'], {...s.env, ...BRIDGE})).stdout)
    expect(on).to.include({advanced_features: true, typing_indicators: true, read_receipts: true, v2_ready: true, sip: 'disabled'})
    expect(on.capabilities.features).to.deep.equal({'tapback.emoji': 2})
  })
})
