import {expect} from 'chai'
import {ImsgDeliveryUnknownError, ImsgTimeoutError} from '../../../src/lib/imsg/errors.js'
import {createLogger, type LogRecord} from '../../../src/lib/log.js'
import {Delivery, type SendParams} from '../../../src/lib/outbound/delivery.js'
import {
  attemptIdFor,
  findOurRow,
  interpretSendStatus,
  pollDelays,
  SendReconciler,
  uuidV5,
  type HistoryRow,
  type SendStatusResult,
} from '../../../src/lib/outbound/reconcile.js'
import {AccountState} from '../../../src/lib/state/account-state.js'
import {tempDir} from '../../helpers/cli.js'

const T0 = Date.parse('2026-12-01T10:00:00.000Z')
const iso = (ms: number) => new Date(ms).toISOString()
const row = (id: number, text: string, at: number, fromMe = true): HistoryRow => ({id, text, is_from_me: fromMe, created_at: iso(at)})

describe('reconcile: pure decisions', () => {
  it('findOurRow: only our row with that text, created after the send began (minus skew), not claimed; oldest first', () => {
    const rows = [row(9, 'ok', T0 + 500), row(8, 'ok', T0 + 100, false), row(7, 'ok', T0 - 60_000), row(6, 'ok', T0 - 1_000), row(5, 'other', T0 + 50)]
    expect(findOurRow(rows, 'ok', T0)?.id).to.equal(6) // within the 2 s skew
    expect(findOurRow(rows, 'ok', T0, new Set([6]))?.id).to.equal(9)
    expect(findOurRow(rows, 'ok', T0, new Set([6, 9]))).to.equal(undefined) // 8 is theirs, 7 is too old
    expect(findOurRow(rows, 'ok', T0, new Set(), 0)?.id).to.equal(9)
  })

  it('interpretSendStatus follows send_state; failed is safe to retry only if it never left the Mac', () => {
    const base: SendStatusResult = {ok: true, guid: 'g', checked_at: iso(T0)}
    expect(interpretSendStatus({...base, send_state: 'delivered', delivered_at: 'D', status_fields: {date_read: 'R'}})).to.deep.equal({kind: 'delivered', deliveredAt: 'D', readAt: 'R'})
    expect(interpretSendStatus({...base, send_state: 'sent', status_fields: {date_read: null}})).to.deep.equal({kind: 'sent', readAt: undefined})
    expect(interpretSendStatus({...base, send_state: 'failed', status_fields: {is_sent: false, is_delivered: false, error: 22}})).to.deep.equal({kind: 'failed', safe: true, error: 22})
    expect(interpretSendStatus({...base, send_state: 'failed', status_fields: {is_sent: true, error: 22}})).to.include({kind: 'failed', safe: false})
    expect(interpretSendStatus({...base, send_state: 'pending', status_fields: null})).to.deep.equal({kind: 'pending', exists: false})
    expect(interpretSendStatus({...base, send_state: 'pending', status_fields: {is_sent: false}})).to.deep.equal({kind: 'pending', exists: true})
  })

  it('pollDelays back off, cap and stay within the limit', () => {
    const d = pollDelays({statusPollBaseMs: 1_000, statusPollMaxMs: 15_000, statusPollLimitMs: 120_000})
    expect(d.slice(0, 5)).to.deep.equal([1_000, 2_000, 4_000, 8_000, 15_000])
    expect(d.reduce((a, b) => a + b, 0)).to.be.at.most(120_000)
    expect(d.at(-1)).to.equal(15_000)
  })

  it('uuidV5 matches RFC 4122; attempt ids are stable per (entry, chunk, attempt) and differ otherwise', () => {
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).to.equal('2ed6657d-e927-568b-95e1-2665a8aea6a2')
    const a = attemptIdFor('e1', 0, 0)
    expect(attemptIdFor('e1', 0, 0)).to.equal(a)
    expect(new Set([a, attemptIdFor('e1', 1, 0), attemptIdFor('e1', 0, 1), attemptIdFor('e2', 0, 0)]).size).to.equal(4)
  })
})

/** A fake clock whose sleeps advance it; the child generation and history are scripted. */
function rig(o: {history?: (chatId: number, limit: number, end?: string) => Promise<HistoryRow[]>; status?: (g: string) => Promise<SendStatusResult>} = {}) {
  let clock = T0
  const records: LogRecord[] = []
  const restarts: string[] = []
  const child = {gen: 1 as number | undefined}
  const r = new SendReconciler({
    log: createLogger({level: 'debug', write: () => {}, onRecord: (x) => records.push(x)}),
    now: () => clock,
    sleep: async (ms) => {
      clock += ms
    },
    aborted: () => false,
    childGeneration: () => child.gen,
    restartChild: (why) => {
      restarts.push(why)
      child.gen = 2
    },
    readHistory: o.history ?? (async () => []),
    sendStatus: o.status,
    timings: {settleMs: 1_000, holdLimitMs: 10_000, statusPollBaseMs: 100, statusPollMaxMs: 1_000, statusPollLimitMs: 5_000},
  })
  return {r, records, restarts, child, now: () => clock, logs: () => records.map((x) => x.msg).join('\n')}
}

const unknown = (over: Partial<Parameters<SendReconciler['readBack']>[0]> = {}) => ({chatId: 3, text: 'hi', startedAt: T0, generation: 1, answered: false, label: 'DM', ...over})

describe('SendReconciler', () => {
  it('reads back only after the child that held the send is gone; restarts a child that holds it past holdLimitMs', async () => {
    let readAt = 0
    const x = rig({history: async () => ((readAt = x.now()), [row(11, 'hi', T0 + 10)])})
    const out = await x.r.readBack(unknown())
    expect(out).to.deep.equal({found: true, rowId: 11})
    expect(x.restarts).to.have.length(1)
    expect(readAt - T0).to.be.at.least(10_000 + 1_000) // held until the hold limit, then the settle time
    expect(x.logs()).to.match(/waiting for the imsg child that holds the send/)
    expect(x.logs()).to.match(/it went out, not sending it again/)
  })

  it('a child that is already gone (or answered) is not restarted; a missing row says so; the found row is claimed', async () => {
    const x = rig({history: async () => [row(11, 'hi', T0 + 10)]})
    x.child.gen = 5
    expect(await x.r.readBack(unknown())).to.deep.equal({found: true, rowId: 11})
    // The same text again: row 11 belongs to the first send now.
    expect(await x.r.readBack(unknown({answered: true}))).to.deep.equal({found: false})
    expect(x.restarts).to.deep.equal([])
    expect(x.logs()).to.match(/it did not go out, sending it once more/)
  })

  it('pages back through a busy chat: our row below the newest 100 is still found', async () => {
    // Ours is the oldest of 251 rows since the send began; everything newer is from other people.
    const all = [row(1, 'hi', T0 + 1), ...Array.from({length: 250}, (_, i) => row(i + 2, `chatter ${i}`, T0 + 10 + i * 10, false))]
    const pages: Array<string | undefined> = []
    const x = rig({
      history: async (_c, limit, end) => {
        pages.push(end)
        return all
          .filter((r) => end === undefined || Date.parse(r.created_at) < Date.parse(end))
          .sort((a, b) => b.id - a.id)
          .slice(0, limit)
      },
    })
    x.child.gen = undefined
    expect(await x.r.readBack(unknown())).to.deep.equal({found: true, rowId: 1})
    expect(pages.length).to.equal(3)
  })

  it('keeps trying when the chat cannot be read (imsg still down), logging each failure', async () => {
    let n = 0
    const x = rig({history: async () => {
      if (++n < 3) throw new Error('imsg is not running (restarting)')
      return []
    }})
    x.child.gen = undefined
    expect(await x.r.readBack(unknown())).to.deep.equal({found: false})
    expect(x.records.filter((r) => /could not read chat 3 back/.test(r.msg))).to.have.length(2)
  })

  it('tracked: pending is polled, never resent, until send_status says sent', async () => {
    const states = ['pending', 'pending', 'sent']
    const x = rig({status: async () => ({send_state: states.shift(), status_fields: {is_sent: false}})})
    expect(await x.r.trackedStatus({...unknown(), attemptId: 'a'})).to.deep.include({kind: 'sent'})
  })

  it('tracked: no such message while the holding child runs stays unknown (bounded); once nothing holds it, missing', async () => {
    const none = async (): Promise<SendStatusResult> => ({send_state: 'pending', status_fields: null})
    const held = rig({status: none})
    const v = await held.r.trackedStatus({...unknown(), attemptId: 'a'})
    expect(v).to.include({kind: 'unknown'})
    expect(held.now() - T0).to.be.at.most(5_000 + 1)
    const gone = rig({status: none})
    expect(await gone.r.trackedStatus({...unknown({answered: true}), attemptId: 'a'})).to.deep.equal({kind: 'missing'})
    expect(gone.logs()).to.match(/sending it again under the same attempt_id/)
  })
})

describe('Delivery with reconciliation', () => {
  let dir: {dir: string; cleanup: () => void}
  beforeEach(() => {
    dir = tempDir('rc-recon-')
  })
  afterEach(() => dir.cleanup())

  async function setup(o: {send: (p: SendParams, n: number) => Promise<{id?: number; guid?: string}>; history?: () => Promise<HistoryRow[]>; status?: (g: string) => Promise<SendStatusResult>; tracked?: boolean}) {
    let clock = T0
    const records: LogRecord[] = []
    const calls: SendParams[] = []
    const states: string[] = []
    const state = await AccountState.open(dir.dir, 'default')
    const d = new Delivery({
      send: async (p) => (calls.push(p), o.send(p, calls.length)),
      log: createLogger({level: 'debug', write: () => {}, onRecord: (x) => records.push(x)}),
      now: () => clock,
      state,
      perMinute: () => 100,
      chunking: () => ({limit: 4000, mode: 'length'}),
      retryBaseMs: 1,
      sleep: async (ms) => {
        clock += ms
      },
      readHistory: o.history ?? (async () => []),
      childGeneration: () => 2,
      trackedSend: () => o.tracked ?? false,
      sendStatus: o.status,
      reconcileTimings: {settleMs: 10, statusPollBaseMs: 10, statusPollMaxMs: 50},
      onChatState: (_c, s) => states.push(s.state),
      newEntryId: () => 'entry-1',
    })
    const deliver = () => d.deliver({inboundGuid: 'in-1', chatId: 3, text: 'hello', label: 'DM'})
    return {d, calls, records, states, state, deliver, logs: () => records.map((x) => x.msg).join('\n')}
  }
  const timeout = () => Object.assign(new ImsgTimeoutError('imsg did not answer send within 1000 ms', {code: 'imsg_timeout', retrySafe: false}), {generation: 1})

  it('a timed-out send found in the chat is not sent again; the journal entry is settled', async () => {
    const x = await setup({send: async () => Promise.reject(timeout()), history: async () => [row(40, 'hello', T0 + 5)]})
    const out = await x.deliver()
    expect(out.status).to.equal('sent')
    expect(x.calls).to.have.length(1)
    expect(x.state.pending()).to.deep.equal([])
    expect(x.states).to.deep.equal(['pending', 'sent'])
    await x.state.close()
  })

  it('a timed-out send missing from the chat is sent once more (and only once)', async () => {
    const x = await setup({send: async (_p, n) => (n === 1 ? Promise.reject(timeout()) : {id: 41})})
    const out = await x.deliver()
    expect(out.status).to.equal('sent')
    expect(x.calls.map((c) => c.text)).to.deep.equal(['hello', 'hello'])
    expect(x.logs()).to.match(/never resent blind/)
    await x.state.close()
  })

  it('tracked: -32001 is settled by message.send_status (sent), never by a second send; the attempt id comes from the journal', async () => {
    const unknownErr = new ImsgDeliveryUnknownError('delivery outcome unknown', {code: 'imsg_delivery_unknown', rpcCode: -32001, retrySafe: false, data: {disposition: 'may_have_completed', retry_safe: false}})
    const asked: string[] = []
    const x = await setup({tracked: true, send: async () => Promise.reject(unknownErr), status: async (g) => (asked.push(g), {send_state: 'sent', status_fields: {is_sent: true}})})
    const out = await x.deliver()
    expect(out.status).to.equal('sent')
    expect(x.calls).to.have.length(1)
    expect(x.calls[0]!.attemptId).to.equal(attemptIdFor('entry-1', 0, 0))
    expect(asked).to.deep.equal([attemptIdFor('entry-1', 0, 0)])
    await x.state.close()
  })

  it('tracked: refused before dispatch (bridge down) falls back to one plain send; a taken attempt id is asked about, not replaced', async () => {
    const notStarted = Object.assign(new Error('Delivery failed before dispatch'), {rpcCode: -32603, data: {disposition: 'not_started', retry_safe: true, detail: 'The bridge ready lock is absent.'}})
    const x = await setup({tracked: true, send: async (p) => (p.attemptId ? Promise.reject(notStarted) : {id: 5})})
    expect((await x.deliver()).status).to.equal('sent')
    expect(x.calls.map((c) => Boolean(c.attemptId))).to.deep.equal([true, false])
    await x.state.close()

    const taken = Object.assign(new Error('Delivery failed before dispatch'), {rpcCode: -32603, data: {disposition: 'not_started', retry_safe: true, detail: 'attempt_id already identifies a message; choose a new UUID'}})
    dir.cleanup()
    dir = tempDir('rc-recon-')
    const y = await setup({tracked: true, send: async () => Promise.reject(taken), status: async () => ({send_state: 'delivered', status_fields: {is_delivered: true}})})
    expect((await y.deliver()).status).to.equal('sent')
    expect(y.calls).to.have.length(1)
    expect(y.states.at(-1)).to.equal('delivered')
    await y.state.close()
  })
})
