import {expect} from 'chai'
import path from 'node:path'
import {inject, RpcChild, sim, type SimEnv, simEnv} from './helpers.js'

const STRICT = {IMSG_SIM_VERSION: '0.14.0'}

describe('imsg-sim rpc, strict era (0.14.0)', () => {
  let s: SimEnv
  beforeEach(async () => {
    s = await simEnv(STRICT)
  })
  afterEach(() => s.cleanup())

  async function session(lines: string[], env: Record<string, string> = {}) {
    const r = await sim(['rpc'], {...s.env, ...env}, lines.join('\n') + '\n')
    const json = r.stdout.trim() === '' ? [] : r.stdout.trim().split('\n').map((l) => JSON.parse(l))
    const byId = new Map<unknown, {result?: unknown; error?: {code: number; message: string; data: unknown}}>()
    for (const l of json) if ('id' in l) byId.set(l.id, l)
    return {...r, json, byId}
  }

  it('validates envelopes: jsonrpc required, bool ids, params type; notifications never get a response', async () => {
    const r = await session([
      '{"id":1,"method":"chats.list"}',
      '{"jsonrpc":"2.0","id":true,"method":"chats.list"}',
      '{"jsonrpc":"2.0","id":3,"method":"chats.list","params":[1]}',
      '{"jsonrpc":"2.0","method":"nope"}',
      '{"jsonrpc":"2.0","method":"chats.list","params":{"bogus":1}}',
      '{"method":"chats.list"}',
      '{"jsonrpc":"2.0","id":"four","method":"nope"}',
      '{"jsonrpc":"2.0","id":5,"method":""}',
      '{"jsonrpc":"2.0","id":6,"method":"chats.list"}',
    ])
    expect(r.byId.get(1)!.error).to.deep.equal({code: -32600, message: 'Invalid Request', data: 'jsonrpc must be exactly 2.0'})
    expect(r.byId.get(null)!.error).to.deep.equal({code: -32600, message: 'Invalid Request', data: 'id must be a string, number, or null'})
    expect(r.byId.get(3)!.error).to.deep.equal({code: -32602, message: 'Invalid params', data: 'params must be an object when present'})
    expect(r.byId.get('four')!.error).to.deep.equal({code: -32601, message: 'Method not found', data: 'nope'})
    expect(r.byId.get(5)!.error!.data).to.equal('method is required')
    expect(r.byId.get(6)!.result).to.deep.equal({chats: []})
    expect(r.json).to.have.length(6)
  })

  it('per-method parameter rules give the §3.4 -32602 texts', async () => {
    const r = await session([
      '{"jsonrpc":"2.0","id":1,"method":"chats.list","params":{"chatId":1}}',
      '{"jsonrpc":"2.0","id":2,"method":"messages.history","params":{"chat_id":null}}',
      '{"jsonrpc":"2.0","id":3,"method":"chats.list","params":{"limit":"5"}}',
      '{"jsonrpc":"2.0","id":4,"method":"watch.subscribe","params":{"debounce_ms":1,"debounceMs":1}}',
      '{"jsonrpc":"2.0","id":5,"method":"send","params":{"to":"a@b.com","chat_id":1,"text":"x"}}',
      '{"jsonrpc":"2.0","id":6,"method":"messages.history","params":{"chat_id":1,"start":"nope"}}',
      '{"jsonrpc":"2.0","id":7,"method":"send","params":{"to":"a@b.com","text":"x","service":"iMessage"}}',
      '{"jsonrpc":"2.0","id":8,"method":"watch.unsubscribe","params":{}}',
      '{"jsonrpc":"2.0","id":9,"method":"watch.subscribe","params":{"debounce_ms":-1}}',
      '{"jsonrpc":"2.0","id":10,"method":"chats.list","params":{"limit":1.5}}',
      '{"jsonrpc":"2.0","id":11,"method":"messages.history","params":{"chat_id":1,"participants":["a",1]}}',
      '{"jsonrpc":"2.0","id":12,"method":"send","params":{"chat_id":1,"chat_guid":"x","text":"x"}}',
      '{"jsonrpc":"2.0","id":13,"method":"send","params":{"chat_guid":"iMessage;-;nobody","text":"x"}}',
    ])
    const data = (id: number) => r.byId.get(id)!.error!.data
    expect(data(1)).to.equal('unknown chats.list param: chatId')
    expect(data(2)).to.equal('chat_id must not be null')
    expect(data(3)).to.equal('limit must be an integer')
    expect(data(4)).to.equal('use only one of debounce_ms, debounceMs')
    expect(data(5)).to.equal('use to or exactly one chat selector; not both')
    expect(data(6)).to.equal('Invalid ISO8601 date: nope')
    expect(r.byId.get(6)!.error!.code).to.equal(-32602)
    expect(data(7)).to.equal('invalid service')
    expect(data(8)).to.equal('subscription is required')
    expect(data(9)).to.equal('debounce_ms must be a non-negative integer')
    expect(data(10)).to.equal('limit must be an integer')
    expect(data(11)).to.equal('participants must be an array of strings')
    expect(data(12)).to.equal('use exactly one of chat_id, chat_identifier, chat_guid')
    expect(data(13)).to.equal('unknown chat_guid iMessage;-;nobody')
  })

  it('initialize and status report version, protocol and database readiness', async () => {
    const r = await session([
      '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocol_version":1}}',
      '{"jsonrpc":"2.0","id":2,"method":"status"}',
    ])
    const st = r.byId.get(1)!.result as Record<string, unknown>
    expect(st).to.deep.include({version: '0.14.0', protocol_version: 1})
    expect(st.database).to.deep.include({path: s.db, ready: true})
    expect(st.bridge).to.deep.equal({ready: false, error: 'The bridge is not started. Run imsg launch explicitly before using bridge methods.'})
    expect(st.methods).to.include.members(['chats.list', 'messages.history', 'watch.subscribe', 'send', 'initialize', 'status'])
    expect(st.supported_methods).to.include('bridge.events.subscribe')
    expect(st).to.not.have.property('capabilities')
    expect(r.byId.get(2)!.result).to.deep.equal(st)
    const v15 = await session(['{"jsonrpc":"2.0","id":1,"method":"status"}'], {IMSG_SIM_VERSION: '0.15.0'})
    expect(v15.byId.get(1)!.result).to.have.property('capabilities')
  })

  it('degraded start without Full Disk Access: -32002, status database.ready:false, direct sends still work', async () => {
    const r = await session([
      '{"jsonrpc":"2.0","id":1,"method":"chats.list","params":{}}',
      '{"jsonrpc":"2.0","id":2,"method":"status"}',
      '{"jsonrpc":"2.0","id":3,"method":"send","params":{"to":"+15551112222","text":"x"}}',
      '{"jsonrpc":"2.0","id":4,"method":"send","params":{"chat_id":1,"text":"x"}}',
      '{"jsonrpc":"2.0","id":5,"method":"watch.subscribe","params":{}}',
    ], {IMSG_SIM_FDA: 'missing'})
    expect(r.exitCode).to.equal(0)
    const unreadable = {code: -32002, message: 'Database unavailable', data: {path: s.db,
      detail: 'The configured Messages database could not be opened read-only. Verify the path and grant Full Disk Access to the supervising process, then retry.',
      retryable: true}}
    expect(r.byId.get(1)!.error).to.deep.equal(unreadable)
    expect((r.byId.get(2)!.result as {database: unknown}).database).to.deep.equal({path: s.db, ready: false, error: unreadable.data.detail})
    expect(r.byId.get(3)!.result).to.include({ok: true})
    expect(r.byId.get(4)!.error).to.deep.equal(unreadable)
    expect(r.byId.get(5)!.error).to.deep.equal(unreadable)
  })

  it('a missing chat.db gives the "does not exist" detail and is retried on every request', async () => {
    const db = path.join(s.dir, 'later.db')
    const child = new RpcChild({...s.env, IMSG_SIM_DB: db})
    child.request(1, 'chats.list', {})
    const first = await child.response(1)
    expect(first.error.data.detail).to.equal('The configured Messages database does not exist. Create or copy chat.db at this path, then retry.')
    await inject({...s.env, IMSG_SIM_DB: db}, '--from', '+15550000001', '--text', 'now it exists')
    child.request(2, 'chats.list', {})
    expect((await child.response(2)).result.chats).to.have.length(1)
    expect(await child.close()).to.equal(0)
  })

  it('IMSG_SIM_SEND_UNKNOWN: -32001 with retry_safe:false after writing the row', async () => {
    const r = await session(['{"jsonrpc":"2.0","id":1,"method":"send","params":{"to":"a@b.com","text":"maybe"}}'],
      {IMSG_SIM_SEND_UNKNOWN: '1'})
    const e = r.byId.get(1)!.error!
    expect(e.code).to.equal(-32001)
    expect(e.message).to.equal('Delivery outcome unknown')
    expect(e.data).to.deep.include({retry_safe: false, disposition: 'may_have_completed', transport: 'applescript', operation: 'send'})
    const sent = JSON.parse((await sim(['sent', '--json'], s.env)).stdout)
    expect(sent.map((x: {text: string}) => x.text)).to.deep.equal(['maybe'])
  })

  it('without the bridge, bridge mutations answer -32603 not_started and non-mutating bridge calls -32003 (addendum §8.1)', async () => {
    const r = await session(['{"jsonrpc":"2.0","id":1,"method":"message.edit","params":{}}',
      '{"jsonrpc":"2.0","id":2,"method":"handles.check","params":{}}'])
    expect(r.byId.get(1)!.error).to.deep.equal({code: -32603, message: 'Delivery failed before dispatch',
      data: {retry_safe: true, disposition: 'not_started', transport: 'bridge_v2', operation: 'message.edit',
        detail: 'The bridge ready lock is absent. Run imsg launch explicitly before retrying.'}})
    expect(r.byId.get(2)!.error).to.deep.equal({code: -32003, message: 'Bridge unavailable',
      data: {detail: 'The bridge is not started. Run imsg launch explicitly before using bridge methods.', retryable: true}})
  })

  it('admits at most 128 outstanding requests (-32000 outstanding request limit exceeded)', async () => {
    const lines = Array.from({length: 130}, (_, i) => JSON.stringify({jsonrpc: '2.0', id: i + 1, method: 'chats.list', params: {}}))
    const r = await session(lines, {IMSG_SIM_DELAY_MS: '300'})
    const busy = r.json.filter((l: {error?: {code: number}}) => l.error?.code === -32000)
    expect(busy.map((l: {id: number}) => l.id)).to.deep.equal([129, 130])
    expect(busy[0].error).to.deep.equal({code: -32000, message: 'Server busy', data: 'outstanding request limit exceeded'})
    expect(r.json.filter((l: {result?: unknown}) => l.result)).to.have.length(128)
  })

  it('allows 64 subscriptions; the 65th gets -32000 subscription limit exceeded', async () => {
    const lines = Array.from({length: 65}, (_, i) => JSON.stringify({jsonrpc: '2.0', id: i + 1, method: 'watch.subscribe', params: {}}))
    const r = await session(lines)
    expect(r.byId.get(64)!.result).to.deep.equal({subscription: 64, buffer_limit: 256})
    expect(r.byId.get(65)!.error).to.deep.equal({code: -32000, message: 'Server busy', data: 'subscription limit exceeded'})
  })

  it('messages.after pages ascending with next_rowid / has_more', async () => {
    for (let i = 0; i < 3; i++) await inject(s.env, '--from', '+15550000001', '--text', `m${i}`)
    const r = await session(['{"jsonrpc":"2.0","id":1,"method":"messages.after","params":{"since_rowid":0,"limit":2}}'])
    const res = r.byId.get(1)!.result as {messages: Array<{text: string}>; next_rowid: number; has_more: boolean}
    expect(res.messages.map((m) => m.text)).to.deep.equal(['m0', 'm1'])
    expect(res).to.include({next_rowid: 2, has_more: true})
  })
})
