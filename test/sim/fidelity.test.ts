import {expect} from 'chai'
import {inject, RpcChild, sim, type SimEnv, simEnv} from './helpers.js'

describe('imsg-sim version-dependent fields and extra inject modes', () => {
  let s: SimEnv
  let child: RpcChild | undefined
  beforeEach(async () => {
    s = await simEnv()
  })
  afterEach(() => {
    child?.kill()
    child = undefined
    s.cleanup()
  })

  async function rpc(lines: unknown[], env: Record<string, string> = {}) {
    const r = await sim(['rpc'], {...s.env, ...env}, lines.map((l) => JSON.stringify(l)).join('\n') + '\n')
    return r.stdout.trim().split('\n').map((l) => JSON.parse(l))
  }

  it('0.9.0 chats.list has exactly the 0.9 keys; 0.13 adds unread_count; 0.14 adds the canonical fields', async () => {
    await inject(s.env, '--from', '+15550000001', '--text', 'unread')
    await inject(s.env, '--from', '+15550000001', '--text', 'read', '--read')
    const req = {jsonrpc: '2.0', id: 1, method: 'chats.list', params: {}}
    const [v9] = await rpc([req])
    expect(Object.keys(v9.result.chats[0])).to.deep.equal(['id', 'identifier', 'guid', 'name', 'service', 'last_message_at', 'participants', 'is_group'])
    const [v13, v13u] = await rpc([req, {...req, id: 2, params: {unread_only: true}}], {IMSG_SIM_VERSION: '0.13.0'})
    expect(v13.result.chats[0].unread_count).to.equal(1)
    expect(v13u.result.chats).to.have.length(1)
    const [v14] = await rpc([req], {IMSG_SIM_VERSION: '0.14.0'})
    expect(v14.result.chats[0]).to.include({display_name: '+15550000001', account_login: 'me@icloud.com', unread_count: 1})
  })

  it('0.13+ messages carry is_read (inbound only) and date_read once read', async () => {
    const m = await inject(s.env, '--from', '+15550000001', '--text', 'r', '--read')
    const [v9, v13] = [
      (await rpc([{id: 1, method: 'messages.history', params: {chat_id: m.chat_id}}]))[0].result.messages[0],
      (await rpc([{id: 1, method: 'messages.history', params: {chat_id: m.chat_id}}], {IMSG_SIM_VERSION: '0.13.0'}))[0].result.messages[0],
    ]
    expect(v9).to.not.have.property('is_read')
    expect(v13).to.include({is_read: true})
    expect(v13.date_read).to.match(/Z$/)
  })

  it('replies resolve reply_to_text / reply_to_sender (0.9+)', async () => {
    const parent = await inject(s.env, '--from', '+15550000001', '--text', 'question?')
    await inject(s.env, '--from', '+15550000002', '--chat-id', String(parent.chat_id), '--text', 'answer', '--reply-to', parent.guid)
    const [r] = await rpc([{id: 1, method: 'messages.history', params: {chat_id: parent.chat_id, limit: 1}}])
    expect(r.result.messages[0]).to.include({thread_originator_guid: parent.guid, reply_to_text: 'question?', reply_to_sender: '+15550000001'})
  })

  it('watch emits reaction events only with include_reactions', async () => {
    const m = await inject(s.env, '--from', '+15550000001', '--text', 'like me')
    child = new RpcChild(s.env)
    child.request(1, 'watch.subscribe', {debounce_ms: 0, include_reactions: true})
    child.request(2, 'watch.subscribe', {debounce_ms: 0})
    await child.response(2)
    await inject(s.env, '--from', '+15550000001', '--reaction', 'like', '--target', m.guid)
    await inject(s.env, '--from', '+15550000001', '--text', 'plain')
    await child.waitFor((l) => l.method === 'message' && l.params.subscription === 2 && l.params.message.text === 'plain')
    await child.waitFor((l) => l.method === 'message' && l.params.subscription === 1 && l.params.message.text === 'plain')
    const ev = child.notifications(1)[0].params.message
    expect(ev).to.include({is_reaction: true, reaction_type: 'like', reaction_emoji: '\ud83d\udc4d', is_reaction_add: true, reacted_to_guid: m.guid})
    expect(child.notifications(2).map((l) => l.params.message.text)).to.deep.equal(['plain'])
  })

  it('IMSG_SIM_GHOST_ROW: chat sends fail with the ghost-row text and leave an unjoined empty row', async () => {
    const g = await inject(s.env, '--from', '+15550000001', '--group', 'G', '--participants', '+15550000002', '--text', 'x')
    const [r] = await rpc([{id: 1, method: 'send', params: {chat_id: g.chat_id, text: 'lost'}}], {IMSG_SIM_GHOST_ROW: '1'})
    expect(r.error.code).to.equal(-32603)
    expect(r.error.data).to.match(/^AppleScript failed: Messages accepted the chat send but wrote an unjoined empty outgoing row \(\d+\); delivery to the target chat was not confirmed$/)
    const sent = JSON.parse((await sim(['sent', '--json'], s.env)).stdout)
    expect(sent).to.have.length(1)
    expect(sent[0]).to.include({chat_id: 0, text: ''})
  })

  it('inject --batch inserts JSON lines in one go and reports each row', async () => {
    const input = [
      {from: '+15550000001', text: 'one'},
      {from: 'a@b.com', group: 'Crew', participants: ['+15550000003'], text: 'two', ago: '5m'},
      {from: '+15550000001', text: 'three'},
    ].map((o) => JSON.stringify(o)).join('\n')
    const r = await sim(['inject', '--batch', '--json'], s.env, input)
    const rows = JSON.parse(r.stdout)
    expect(rows).to.have.length(3)
    expect(rows[0].chat_id).to.equal(rows[2].chat_id)
    expect(rows[1].chat_id).to.not.equal(rows[0].chat_id)
    const bad = await sim(['inject', '--batch'], s.env, '{"text":"no sender"}\n')
    expect(bad.exitCode).to.equal(1)
    expect(bad.stdout).to.equal('line 1: Missing option: --from <handle> (or --from-me)')
  })

  it('inject --count with --rate paces rows that all reach a watcher', async () => {
    child = new RpcChild(s.env)
    child.request(1, 'watch.subscribe', {debounce_ms: 0})
    await child.response(1)
    const r = await sim(['inject', '--from', '+15550000001', '--count', '300', '--rate', '1000', '--text', 'n{i}', '--json'], s.env)
    expect(JSON.parse(r.stdout)).to.include({count: 300})
    await child.waitFor(() => child!.notifications().length >= 300, 10_000)
    expect(child.notifications().map((l) => l.params.message.text).slice(0, 3)).to.deep.equal(['n1', 'n2', 'n3'])
  })
})
