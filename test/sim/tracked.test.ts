import {expect} from 'chai'
import {inject, sim, type SimEnv, simEnv} from './helpers.js'

const V15 = {IMSG_SIM_VERSION: '0.15.10'}
const ID = '0f6d3c1e-5b7a-4c1e-9a43-2f1d7b8e9c10'

describe('imsg-sim send.tracked and message.send_status (0.15 addendum §2, §5)', () => {
  let s: SimEnv
  let chatId: number
  beforeEach(async () => {
    s = await simEnv(V15)
    chatId = (await inject(s.env, '--from', '+15550001111', '--text', 'hello')).chat_id
  })
  afterEach(() => s.cleanup())

  async function session(reqs: Array<{method: string; params: Record<string, unknown>}>, env: Record<string, string> = {}) {
    const lines = reqs.map((r, i) => JSON.stringify({jsonrpc: '2.0', id: i + 1, ...r}))
    const r = await sim(['rpc'], {...s.env, ...env}, lines.join('\n') + '\n')
    const byId = new Map<number, {result?: Record<string, unknown>; error?: {code: number; message: string; data: Record<string, unknown>}}>()
    for (const l of r.stdout.trim().split('\n').filter(Boolean).map((x) => JSON.parse(x))) if ('id' in l) byId.set(l.id, l)
    return byId
  }
  const sent = async () => JSON.parse((await sim(['sent', '--json'], s.env)).stdout) as Array<{text: string; guid: string}>

  it('without the bridge: send.tracked is refused before dispatch (retry_safe), not listed; message.send_status works', async () => {
    const r = await session([
      {method: 'status', params: {}},
      {method: 'send.tracked', params: {chat_id: chatId, text: 'hi', attempt_id: ID}},
      {method: 'message.send_status', params: {guid: ID}},
    ])
    const methods = r.get(1)!.result!.methods as string[]
    expect(methods).to.include('message.send_status')
    expect(methods).to.not.include('send.tracked')
    expect(r.get(2)!.error).to.deep.include({code: -32603, message: 'Delivery failed before dispatch'})
    expect(r.get(2)!.error!.data).to.deep.include({retry_safe: true, disposition: 'not_started'})
    expect(r.get(3)!.result).to.deep.include({ok: true, guid: ID, send_state: 'pending', service: null, status_fields: null})
    expect(await sent()).to.deep.equal([])
  })

  it('bridge mode: sends under the attempt_id, reports it sent, refuses a second message with the same id', async () => {
    // message.send_status runs in the read lane, concurrently with the mutation lane: ask in a second session.
    const first = await session([{method: 'send.tracked', params: {chat_id: chatId, text: 'hi', attempt_id: ID.toUpperCase()}}], {IMSG_SIM_BRIDGE: '1'})
    expect(first.get(1)!.result).to.deep.include({ok: true, transport: 'bridge', guid: ID, attempt_id: ID})
    const r = await session([
      {method: 'status', params: {}},
      {method: 'status', params: {}},
      {method: 'message.send_status', params: {guid: ID}},
      {method: 'send.tracked', params: {chat_id: chatId, text: 'hi', attempt_id: ID}},
      {method: 'send.tracked', params: {chat_id: chatId, text: 'hi', attempt_id: 'nope'}},
      {method: 'send.tracked', params: {to: '+15559999999', text: 'hi', attempt_id: '1f6d3c1e-5b7a-4c1e-9a43-2f1d7b8e9c10'}},
    ], {IMSG_SIM_BRIDGE: '1'})
    expect(r.get(1)!.result!.methods).to.include.members(['send.tracked', 'message.send_status'])
    expect(r.get(3)!.result).to.deep.include({guid: ID})
    expect(['sent', 'delivered']).to.include(r.get(3)!.result!.send_state) // the simulated Messages marks its rows delivered
    expect(r.get(4)!.error!.data).to.deep.include({disposition: 'not_started', detail: 'attempt_id already identifies a message; choose a new UUID'})
    expect(r.get(5)!.error).to.deep.include({code: -32602, data: 'attempt_id must be a UUID'})
    expect(r.get(6)!.error).to.deep.include({code: -32602, data: 'bridge transport requires an existing chat target'})
    expect((await sent()).map((x) => [x.text, x.guid])).to.deep.equal([['hi', ID]])
  })

  it('IMSG_SIM_TRACKED_UNKNOWN=sent: -32001 although the row was written; send_status says sent', async () => {
    const r = await session([{method: 'send.tracked', params: {chat_id: chatId, text: 'maybe', attempt_id: ID}}], {IMSG_SIM_BRIDGE: '1', IMSG_SIM_TRACKED_UNKNOWN: 'sent'})
    r.set(2, (await session([{method: 'message.send_status', params: {guid: ID}}])).get(1)!)
    expect(r.get(1)!.error).to.deep.include({code: -32001, message: 'Delivery outcome unknown'})
    expect(r.get(1)!.error!.data).to.deep.include({retry_safe: false, disposition: 'may_have_completed'})
    expect(['sent', 'delivered']).to.include(r.get(2)!.result!.send_state)
    expect((await sent()).map((x) => x.text)).to.deep.equal(['maybe'])
  })

  it('IMSG_SIM_TRACKED_UNKNOWN=unsent: -32001 and nothing written; the same attempt_id then sends once', async () => {
    const r = await session([
      {method: 'send.tracked', params: {chat_id: chatId, text: 'lost', attempt_id: ID}},
      {method: 'message.send_status', params: {guid: ID}},
      {method: 'send.tracked', params: {chat_id: chatId, text: 'lost', attempt_id: ID}},
    ], {IMSG_SIM_BRIDGE: '1', IMSG_SIM_TRACKED_UNKNOWN: 'unsent'})
    expect(r.get(1)!.error!.code).to.equal(-32001)
    expect(r.get(2)!.result).to.deep.include({send_state: 'pending', status_fields: null})
    expect(r.get(3)!.result).to.deep.include({ok: true, guid: ID})
    expect((await sent()).map((x) => x.text)).to.deep.equal(['lost'])
  })
})
