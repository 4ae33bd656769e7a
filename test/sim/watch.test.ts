import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {inject, RpcChild, sim, type SimEnv, simEnv, sleep} from './helpers.js'

describe('imsg-sim watch.subscribe', () => {
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

  it('a row injected by another process reaches the stream (debounce_ms 0, within 1 s)', async () => {
    child = new RpcChild(s.env)
    child.request(1, 'watch.subscribe', {debounce_ms: 0})
    expect((await child.response(1)).result).to.deep.equal({subscription: 1})
    const m = await inject(s.env, '--from', '+15551234567', '--text', 'ping')
    const n = await child.waitFor((l) => l.method === 'message', 1000)
    expect(n).to.deep.equal({jsonrpc: '2.0', method: 'message', params: {subscription: 1, message: {
      id: m.id, chat_id: m.chat_id, guid: m.guid, destination_caller_id: 'me@icloud.com', sender: '+15551234567',
      is_from_me: false, text: 'ping', created_at: n.params.message.created_at, attachments: [], reactions: [],
      chat_identifier: '+15551234567', chat_guid: 'iMessage;-;+15551234567', chat_name: '+15551234567',
      participants: ['+15551234567'], is_group: false}}})
    expect(n.params.message.created_at).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(await child.close()).to.equal(0)
  })

  it('since_rowid: omitted/0 = from now, -1 = from the start, N = after N (exclusive)', async () => {
    const a = await inject(s.env, '--from', '+15550000001', '--text', 'a')
    await inject(s.env, '--from', '+15550000001', '--text', 'b')
    child = new RpcChild(s.env)
    child.request(1, 'watch.subscribe', {debounce_ms: 0})
    child.request(2, 'watch.subscribe', {debounce_ms: 0, since_rowid: 0})
    child.request(3, 'watch.subscribe', {debounce_ms: 0, since_rowid: -1})
    child.request(4, 'watch.subscribe', {debounce_ms: 0, since_rowid: a.id})
    await child.response(4)
    await child.waitFor((l) => l.method === 'message' && l.params.subscription === 4)
    await sleep(200)
    const texts = (sub: number) => child!.notifications(sub).map((l) => l.params.message.text)
    expect(texts(1)).to.deep.equal([])
    expect(texts(2)).to.deep.equal([])
    expect(texts(3)).to.deep.equal(['a', 'b'])
    expect(texts(4)).to.deep.equal(['b'])
    await inject(s.env, '--from', '+15550000001', '--text', 'c')
    await child.waitFor((l) => l.method === 'message' && l.params.subscription === 1 && l.params.message.text === 'c')
    await child.waitFor((l) => l.method === 'message' && l.params.subscription === 2 && l.params.message.text === 'c')
  })

  it('subscribe response precedes backlog normally; IMSG_SIM_EARLY_NOTIFY puts the backlog first (lenient)', async () => {
    await inject(s.env, '--from', '+15550000001', '--text', 'old')
    const order = async (env: Record<string, string>) => {
      const c = new RpcChild({...s.env, ...env})
      c.request(7, 'watch.subscribe', {since_rowid: -1, debounce_ms: 0})
      await c.response(7)
      await c.waitFor((l) => l.method === 'message')
      c.kill()
      return c.lines.map((l) => (l.method === 'message' ? 'message' : 'response'))
    }
    expect(await order({})).to.deep.equal(['response', 'message'])
    expect(await order({IMSG_SIM_EARLY_NOTIFY: '1'})).to.deep.equal(['message', 'response'])
    // strict never reorders
    expect(await order({IMSG_SIM_EARLY_NOTIFY: '1', IMSG_SIM_VERSION: '0.14.0'})).to.deep.equal(['response', 'message'])
  })

  it('own sends come back as is_from_me rows; chat_id filter; participants filter', async () => {
    const g = await inject(s.env, '--from', '+15550000001', '--group', 'G', '--participants', '+15550000002', '--text', 'g0')
    child = new RpcChild(s.env)
    child.request(1, 'watch.subscribe', {debounce_ms: 0})
    child.request(2, 'watch.subscribe', {debounce_ms: 0, chat_id: g.chat_id})
    child.request(3, 'watch.subscribe', {debounce_ms: 0, participants: ['+15550000002']})
    await child.response(3)
    child.request(4, 'send', {to: '+15559999999', text: 'echo me'})
    const sent = await child.response(4)
    const echo = await child.waitFor((l) => l.method === 'message' && l.params.subscription === 1)
    expect(echo.params.message).to.include({id: sent.result.id, guid: sent.result.guid, is_from_me: true, text: 'echo me', sender: '+15559999999'})
    await inject(s.env, '--from', '+15550000002', '--chat-id', String(g.chat_id), '--text', 'g1')
    await inject(s.env, '--from', '+15550000001', '--chat-id', String(g.chat_id), '--text', 'g2')
    await child.waitFor((l) => l.method === 'message' && l.params.subscription === 2 && l.params.message.text === 'g2')
    await sleep(100)
    expect(child.notifications(2).map((l) => l.params.message.text)).to.deep.equal(['g1', 'g2'])
    expect(child.notifications(3).map((l) => l.params.message.text)).to.deep.equal(['g1'])
  })

  it('attachments metadata only with attachments:true', async () => {
    const file = path.join(s.dir, 'a.png')
    fs.writeFileSync(file, Buffer.alloc(10))
    child = new RpcChild(s.env)
    child.request(1, 'watch.subscribe', {debounce_ms: 0, attachments: true})
    child.request(2, 'watch.subscribe', {debounce_ms: 0})
    await child.response(2)
    await inject(s.env, '--from', '+15550000001', '--attachment', file, '--attachment-missing')
    const withAtt = await child.waitFor((l) => l.method === 'message' && l.params.subscription === 1)
    const without = await child.waitFor((l) => l.method === 'message' && l.params.subscription === 2)
    expect(without.params.message.attachments).to.deep.equal([])
    const atts = withAtt.params.message.attachments
    expect(atts[0]).to.include({original_path: file, total_bytes: 10, missing: false, mime_type: 'image/png'})
    expect(atts[1]).to.include({missing: true})
  })

  it('emits in ascending batches of 100; the remainder comes with a later change', async () => {
    child = new RpcChild({...s.env, IMSG_SIM_FALLBACK_POLL_MS: '600000'})
    child.request(1, 'watch.subscribe', {debounce_ms: 0})
    await child.response(1)
    await sim(['inject', '--from', '+15550000001', '--count', '150'], s.env)
    // The first poll emits one batch of 100 (imsg's batch size), not all 150. (Whether the rest follows at
    // once depends on later file changes: the injector's WAL checkpoint on close counts as one, as on a Mac.)
    await child.waitFor(() => child!.notifications().length >= 100)
    expect(child.notifications()).to.have.length(100)
    await inject(s.env, '--from', '+15550000001', '--text', 'nudge')
    await child.waitFor(() => child!.notifications().length >= 151)
    const ids = child.notifications().map((l) => l.params.message.id)
    expect(ids).to.have.length(151)
    expect(ids).to.deep.equal([...ids].sort((a, b) => a - b))
  })

  it('IMSG_SIM_WATCH_DRAIN re-polls after a full batch (benchmarks)', async () => {
    child = new RpcChild({...s.env, IMSG_SIM_WATCH_DRAIN: '1'})
    child.request(1, 'watch.subscribe', {debounce_ms: 0})
    await child.response(1)
    await sim(['inject', '--from', '+15550000001', '--count', '250'], s.env)
    await child.waitFor(() => child!.notifications().length >= 250)
  })

  it('default debounce is 500 ms: nothing before it, the row after it', async () => {
    child = new RpcChild(s.env)
    child.request(1, 'watch.subscribe', {})
    await child.response(1)
    await inject(s.env, '--from', '+15550000001', '--text', 'x')
    const start = Date.now()
    await child.waitFor((l) => l.method === 'message', 3000)
    expect(Date.now() - start).to.be.greaterThan(300)
  })

  it('IMSG_SIM_WATCH_ERROR_AFTER ends the stream with an error notification', async () => {
    child = new RpcChild({...s.env, IMSG_SIM_WATCH_ERROR_AFTER: '1'})
    child.request(1, 'watch.subscribe', {debounce_ms: 0})
    await child.response(1)
    await sim(['inject', '--from', '+15550000001', '--count', '3'], s.env)
    const err = await child.waitFor((l) => l.method === 'error')
    expect(err.params.subscription).to.equal(1)
    expect(err.params.error.message).to.be.a('string').and.not.equal('')
    await inject(s.env, '--from', '+15550000001', '--text', 'after')
    await sleep(200)
    expect(child.notifications()).to.have.length(1)
    child.request(2, 'watch.unsubscribe', {subscription: 1})
    expect((await child.response(2)).result).to.deep.equal({ok: true})
  })

  it('watch.unsubscribe stops the stream and returns ok even for unknown ids', async () => {
    child = new RpcChild(s.env)
    child.request(1, 'watch.subscribe', {debounce_ms: 0})
    await child.response(1)
    child.request(2, 'watch.unsubscribe', {subscription: 1})
    child.request(3, 'watch.unsubscribe', {subscription: 99})
    child.request(4, 'watch.unsubscribe', {})
    expect((await child.response(2)).result).to.deep.equal({ok: true})
    expect((await child.response(3)).result).to.deep.equal({ok: true})
    expect((await child.response(4)).error.data).to.equal('subscription is required')
    await inject(s.env, '--from', '+15550000001', '--text', 'x')
    await sleep(200)
    expect(child.notifications()).to.have.length(0)
  })

  describe('strict', () => {
    it('live messages carry cursor; subscribe returns buffer_limit', async () => {
      child = new RpcChild({...s.env, IMSG_SIM_VERSION: '0.14.0'})
      child.request(1, 'watch.subscribe', {debounce_ms: 0, buffer_limit: 10})
      expect((await child.response(1)).result).to.deep.equal({subscription: 1, buffer_limit: 10})
      const m = await inject(s.env, '--from', '+15550000001', '--text', 'x')
      const n = await child.waitFor((l) => l.method === 'message', 1000)
      expect(n.params.message.cursor).to.equal(m.id)
    })

    it('IMSG_SIM_BUFFER_OVERFLOW: watch.overflow after buffer_limit rows, terminal', async () => {
      child = new RpcChild({...s.env, IMSG_SIM_VERSION: '0.14.0', IMSG_SIM_BUFFER_OVERFLOW: '1'})
      child.request(1, 'watch.subscribe', {debounce_ms: 0, buffer_limit: 5})
      await child.response(1)
      await sim(['inject', '--from', '+15550000001', '--count', '8'], s.env)
      const o = await child.waitFor((l) => l.method === 'watch.overflow')
      const msgs = child.notifications()
      expect(msgs).to.have.length(5)
      expect(o.params).to.deep.equal({subscription: 1, resume_after_rowid: msgs[4].params.message.id,
        reason: 'buffer_limit_exceeded', terminal: true})
      expect(child.lines.indexOf(o)).to.equal(child.lines.length - 1)
    })
  })
})
