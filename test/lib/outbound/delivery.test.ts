import {expect} from 'chai'
import {ImsgDeliveryUnknownError, ImsgTimeoutError} from '../../../src/lib/imsg/errors.js'
import {createLogger, type LogRecord} from '../../../src/lib/log.js'
import {Delivery, isRetrySafe, type SendParams} from '../../../src/lib/outbound/delivery.js'
import {LoopBreaker} from '../../../src/lib/outbound/rate-limit.js'
import {EchoTracker} from '../../../src/lib/outbound/echoes.js'
import type {Envelope} from '../../../src/lib/core/envelope.js'
import {AccountState} from '../../../src/lib/state/account-state.js'
import {tempDir} from '../../helpers/cli.js'

function setup(opts: {send?: (p: SendParams) => Promise<{id?: number; guid?: string}>; perMinute?: number; limit?: number; maxChunks?: number} = {}) {
  let clock = 1_000_000
  const sent: SendParams[] = []
  const sleeps: number[] = []
  const records: LogRecord[] = []
  const echoes = new EchoTracker(() => clock)
  const d = new Delivery({
    send: opts.send ?? (async (p) => (sent.push(p), {id: sent.length})),
    log: createLogger({level: 'debug', write: () => {}, onRecord: (r) => records.push(r)}),
    now: () => clock,
    echoes,
    perMinute: () => opts.perMinute ?? 20,
    chunking: () => ({limit: opts.limit ?? 4000, mode: 'length', maxChunks: opts.maxChunks, key: 'channels.imessage.maxReplyChunks'}),
    retryBaseMs: 1,
    sleep: async (ms) => {
      sleeps.push(ms)
      clock += ms
    },
  })
  return {d, sent, sleeps, records, echoes, advance: (ms: number) => (clock += ms)}
}

const req = (text: string, chatId = 7) => ({inboundGuid: '', chatId, to: '+15550001111', text, label: 'test'})

describe('Delivery', () => {
  it('a reply longer than maxReplyChunks: the first N chunks, then a note; the log names the key', async () => {
    const {d, sent, records} = setup({limit: 60, maxChunks: 3, perMinute: 100})
    const text = Array.from({length: 20}, (_, i) => `line ${String(i).padStart(2, '0')} of the reply`).join('\n')
    const out = await d.deliver(req(text))
    expect(out.status).to.equal('sent')
    const texts = sent.map((s) => s.text)
    expect(texts).to.have.length(4)
    expect(texts.slice(0, 3).join('\n')).to.equal(text.slice(0, texts.slice(0, 3).join('\n').length))
    const cut = text.length - texts.slice(0, 3).join('\n').length - 1
    expect(texts[3]).to.equal(`[reply cut: ${cut} more characters were not sent]`)
    const warn = records.find((r) => r.level === 'warn' && r.msg.includes('maxReplyChunks'))
    expect(warn?.msg).to.equal(`reply to test is longer than 3 messages: sending the first 3 and a note that ${cut} characters were cut; raise channels.imessage.maxReplyChunks to send more`)
  })

  it('a reply of exactly maxReplyChunks chunks is sent whole, without a note', async () => {
    const {d, sent, records} = setup({limit: 10, maxChunks: 2})
    await d.deliver(req('aaaaaaaa bbbbbbbb'))
    expect(sent.map((s) => s.text)).to.deep.equal(['aaaaaaaa', 'bbbbbbbb'])
    expect(records.some((r) => r.level === 'warn')).to.equal(false)
  })

  it('replies to chat_id when known, else to the sender handle; prefix once, chunks in order', async () => {
    const {d, sent} = setup({limit: 12})
    const out = await d.deliver({...req('one two three four five six'), prefix: '[bot]'})
    expect(out.status).to.equal('sent')
    expect(sent.every((s) => s.chat_id === 7 && s.to === undefined)).to.equal(true)
    expect(sent.map((s) => s.text).join(' ')).to.equal('[bot] one two three four five six')
    expect(sent[0]!.text.startsWith('[bot] ')).to.equal(true)
    expect(sent.length).to.be.greaterThan(1)
    await d.deliver(req('hi', 0))
    expect(sent.at(-1)).to.deep.equal({to: '+15550001111', text: 'hi'})
  })

  it('queues (never drops) replies beyond outboundPerMinute for one chat; other chats are not held up', async () => {
    const {d, sent, sleeps, records} = setup({perMinute: 2})
    const outs = await Promise.all([d.deliver(req('a')), d.deliver(req('b')), d.deliver(req('c')), d.deliver(req('x', 8))])
    expect(outs.map((o) => o.status)).to.deep.equal(['sent', 'sent', 'sent', 'sent'])
    expect(sent.filter((s) => s.chat_id === 7).map((s) => s.text)).to.deep.equal(['a', 'b', 'c'])
    expect(sleeps.some((ms) => ms > 50_000)).to.equal(true)
    expect(records.some((r) => /rate limit of 2\/min reached; reply queued/.test(r.msg))).to.equal(true)
  })

  it('abort() ends a reply with no journal entry (no inbound guid) that waits on the rate limit: not sent, logged, no hang', async () => {
    const clock = 1_000_000
    const sent: string[] = []
    const records: LogRecord[] = []
    const d = new Delivery({
      send: async (p) => (sent.push(p.text), {}),
      log: createLogger({level: 'debug', write: () => {}, onRecord: (r) => records.push(r)}),
      now: () => clock,
      perMinute: () => 1,
      chunking: () => ({limit: 4000, mode: 'length'}),
    })
    await d.deliver(req('a'))
    const waiting = d.deliver(req('b'))
    await new Promise((r) => setTimeout(r, 10))
    d.abort()
    // Before the fix the woken wait looped on resolved promises and starved this timer.
    const out = await Promise.race([waiting, new Promise<string>((r) => setTimeout(() => r('hung'), 1_000))])
    expect(out).to.not.equal('hung')
    expect((out as {status: string}).status).to.equal('failed')
    expect(sent).to.deep.equal(['a'])
    expect(records.some((r) => r.level === 'warn' && /reply not sent/.test(r.msg) && /gateway stopped/.test(String(r.fields.error ?? '')))).to.equal(true)
  })

  it('a journaled reply resumed behind a queued reply counts as active at once, so a second restart does not resume it again', async () => {
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const sent: string[] = []
    const d = new Delivery({
      send: async (p) => {
        if (p.text === 'first') await gate
        sent.push(p.text)
        return {}
      },
      log: createLogger({level: 'debug', write: () => {}}),
      now: () => 1_000_000,
      perMinute: () => 100,
      chunking: () => ({limit: 4000, mode: 'length'}),
    })
    const first = d.deliver(req('first'))
    const resumed = d.resume({...req(''), inboundGuid: 'G-1'}, ['one', 'two'], 1)
    // reconcilePending skips journaled sends in `active`: one waiting its turn must be there too.
    expect(d.active.has('G-1')).to.equal(true)
    release()
    await Promise.all([first, resumed])
    expect(sent).to.deep.equal(['first', 'two'])
    expect(d.active.has('G-1')).to.equal(false)
  })

  it('a reply queued behind another is journaled at once and counts as active, so a kill -9 while it waits does not lose it', async () => {
    const dir = tempDir('rc-delivery-')
    try {
      const state = await AccountState.open(dir.dir, 'default')
      let release!: () => void
      const gate = new Promise<void>((r) => (release = r))
      const sent: string[] = []
      const d = new Delivery({
        send: async (p) => {
          if (p.text === 'first') await gate
          sent.push(p.text)
          return {id: sent.length}
        },
        log: createLogger({level: 'debug', write: () => {}}),
        now: () => 1_000_000,
        perMinute: () => 100,
        chunking: () => ({limit: 4000, mode: 'length'}),
        state,
      })
      const first = d.deliver({...req('first'), inboundGuid: 'G-1'})
      const second = d.deliver({...req('second', 8), inboundGuid: 'G-2'})
      const queued = d.deliver({...req('queued'), inboundGuid: 'G-3'})
      await new Promise((r) => setTimeout(r, 20))
      // G-3 waits behind G-1 in chat 7 and has not been tried, yet it is in the journal and active
      expect(sent).to.deep.equal(['second'])
      expect(state.pending().map((p) => p.inboundGuid)).to.include.members(['G-1', 'G-3'])
      expect(state.pending().find((p) => p.inboundGuid === 'G-3')).to.deep.include({texts: ['queued'], sent: 0})
      expect(d.active.has('G-3')).to.equal(true)
      release()
      await Promise.all([first, second, queued])
      expect(sent).to.deep.equal(['second', 'first', 'queued'])
      expect(state.pending()).to.deep.equal([])
      expect(d.active.size).to.equal(0)
      await state.close()
    } finally {
      dir.cleanup()
    }
  })

  it('never retries -32001 (outcome unknown) and logs it', async () => {
    let calls = 0
    const {d, records} = setup({
      send: async () => {
        calls++
        throw new ImsgDeliveryUnknownError('delivery outcome unknown', {code: 'imsg_delivery_unknown', rpcCode: -32001, retrySafe: false})
      },
    })
    const out = await d.deliver(req('hello'))
    expect(out.status).to.equal('unknown')
    expect(calls).to.equal(1)
    expect(records.some((r) => r.level === 'warn' && /outcome unknown; not retried/.test(r.msg))).to.equal(true)
  })

  it('does not retry a send that timed out (it may still go out)', async () => {
    let calls = 0
    const {d} = setup({
      send: async () => {
        calls++
        throw new ImsgTimeoutError('imsg did not answer send', {code: 'imsg_timeout', method: 'send', retrySafe: false})
      },
    })
    expect((await d.deliver(req('hello'))).status).to.equal('unknown')
    expect(calls).to.equal(1)
  })

  it('retries a failure that proves nothing was sent, then succeeds', async () => {
    let calls = 0
    const {d, sent} = setup({
      send: async (p) => {
        calls++
        if (calls < 3) throw Object.assign(new Error('imsg is not running'), {retrySafe: true})
        sent.push(p)
        return {}
      },
    })
    const out = await d.deliver(req('persist'))
    expect(out.status).to.equal('sent')
    expect(calls).to.equal(3)
    expect(sent).to.have.length(1)
  })

  it('isRetrySafe follows imsg: retry_safe / not_started yes; -32001 never', () => {
    expect(isRetrySafe({rpcCode: -32001, retrySafe: true})).to.equal(false)
    expect(isRetrySafe({code: -32603, data: {retry_safe: true, disposition: 'not_started'}})).to.equal(true)
    expect(isRetrySafe({code: -32603, data: {retry_safe: false, disposition: 'may_have_completed'}})).to.equal(false)
    expect(isRetrySafe({code: -32000})).to.equal(true)
    expect(isRetrySafe(new Error('boom'))).to.equal(false)
  })

  it('registers each sent chunk with the echo tracker: by the returned id, by text only when imsg returned none', async () => {
    const {d, echoes} = setup()
    await d.deliver(req('mirror'))
    const env = {chat: {chatId: 7}, sender: {handle: '', raw: ''}, text: 'mirror', guid: 'x', messageId: 1, isFromMeKnown: false} as unknown as Envelope
    expect(echoes.isEcho(env)).to.deep.equal({match: 'id'})
    expect(echoes.isEcho({...env, messageId: 2}), 'no text entry when the id is known').to.equal(undefined)
    const bare = setup({send: async () => ({})})
    await bare.d.deliver(req('mirror'))
    expect(bare.echoes.isEcho({...env, messageId: 3})).to.deep.equal({match: 'text'})
    expect(bare.echoes.isEcho({...env, messageId: 3}), 'a match is consumed once').to.equal(undefined)
  })
})

describe('LoopBreaker', () => {
  it('pauses a chat that triggers more replies than a person could type, then resumes', () => {
    let t = 0
    const b = new LoopBreaker(() => t, {maxTriggers: 3, windowMs: 1000, pauseMs: 5000})
    expect([1, 2, 3].map(() => b.check('c').paused)).to.deep.equal([false, false, false])
    const v = b.check('c')
    expect(v).to.deep.include({paused: true, tripped: true})
    expect(b.check('other').paused).to.equal(false)
    t += 1000
    expect(b.check('c')).to.deep.include({paused: true, tripped: false})
    t += 5000
    expect(b.check('c').paused).to.equal(false)
  })

  it('does not trip at a human pace', () => {
    let t = 0
    const b = new LoopBreaker(() => t, {maxTriggers: 3, windowMs: 1000, pauseMs: 5000})
    for (let i = 0; i < 20; i++) {
      expect(b.check('c').paused).to.equal(false)
      t += 400
    }
  })
})
