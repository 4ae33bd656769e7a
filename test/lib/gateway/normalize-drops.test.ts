import {expect} from 'chai'
import {BacklogSummary, checkDrop, EchoTracker} from '../../../src/lib/gateway/drops.js'
import {normalizeMessage} from '../../../src/lib/gateway/normalize.js'
import {normalizeHandle} from '../../../src/lib/imsg/handles.js'
import {createLogger, type LogRecord} from '../../../src/lib/log.js'

const wire = (over: Record<string, unknown> = {}) => ({
  id: 10,
  chat_id: 42,
  guid: 'G-10',
  sender: '(555) 123-4567',
  sender_name: 'Ann',
  is_from_me: false,
  text: 'hello',
  created_at: '2026-05-01T10:00:00.123Z',
  attachments: [{filename: '~/Library/Messages/Attachments/a/b/c.jpg', transfer_name: 'c.jpg', mime_type: 'image/jpeg', total_bytes: 10, original_path: '/Users/bot/Library/Messages/Attachments/a/b/c.jpg', missing: false}],
  reactions: [],
  chat_identifier: 'chat123',
  chat_guid: 'iMessage;-;chat123',
  chat_name: 'Team',
  participants: ['+15551234567', 'A@Example.com'],
  is_group: false,
  ...over,
})

const opts = (groups: Record<string, unknown> = {}) => ({accountId: 'default', groups, normalizeHandle: (h: string) => normalizeHandle(h, 'US')})

describe('normalizeMessage', () => {
  it('builds the envelope: normalised sender and participants, created time, attachments', () => {
    const env = normalizeMessage(wire(), opts())
    expect(env.sender).to.deep.equal({handle: '+15551234567', raw: '(555) 123-4567', displayName: 'Ann'})
    expect(env.chat).to.deep.equal({chatId: 42, guid: 'iMessage;-;chat123', identifier: 'chat123', name: 'Team', participants: ['+15551234567', 'a@example.com']})
    expect(env.createdAt).to.equal(Date.parse('2026-05-01T10:00:00.123Z'))
    expect(env.attachments).to.deep.equal([{originalPath: '/Users/bot/Library/Messages/Attachments/a/b/c.jpg', name: 'c.jpg', mimeType: 'image/jpeg', size: 10, missing: false}])
    expect(env.cursor).to.equal(10)
    expect(env.isGroup).to.equal(false)
  })

  it('treats a chat listed in `groups` as a group even when imsg says is_group=false', () => {
    expect(normalizeMessage(wire(), opts({'42': {}})).isGroup).to.equal(true)
    expect(normalizeMessage(wire({is_group: true}), opts()).isGroup).to.equal(true)
  })

  it('uses the 0.14 cursor when present and tolerates missing fields', () => {
    const env = normalizeMessage({id: 7, cursor: 99} as never, opts())
    expect(env.cursor).to.equal(99)
    expect(env.chat.chatId).to.equal(0)
    expect(env.sender.handle).to.equal('')
    expect(env.text).to.equal('')
  })
})

describe('drop rules', () => {
  const ctx = (now: number, echoes = new EchoTracker(() => now)) => ({now, maxInboundAgeMinutes: 15, keyPrefix: 'channels.imessage', seen: (g: string) => g === 'SEEN', echoes})

  it('from-me, duplicate, backlog and empty, each with what admits it', () => {
    const now = Date.parse('2026-05-01T10:05:00Z')
    expect(checkDrop(normalizeMessage(wire({is_from_me: true}), opts()), ctx(now))!.reason).to.equal('from-me')
    expect(checkDrop(normalizeMessage(wire({guid: 'SEEN'}), opts()), ctx(now))!.reason).to.equal('duplicate')
    const old = checkDrop(normalizeMessage(wire({created_at: '2026-05-01T09:00:00Z'}), opts()), ctx(now))!
    expect(old.reason).to.equal('backlog')
    expect(old.admit).to.contain('remoteclaw config set channels.imessage.maxInboundAgeMinutes')
    expect(checkDrop(normalizeMessage(wire({text: ' ', attachments: []}), opts()), ctx(now))!.reason).to.equal('empty')
    expect(checkDrop(normalizeMessage(wire(), opts()), ctx(now))).to.equal(undefined)
    expect(checkDrop(normalizeMessage(wire({created_at: '2026-05-01T09:00:00Z'}), opts()), {...ctx(now), maxInboundAgeMinutes: 0})).to.equal(undefined)
  })

  it("before-first-start: a row created before chat.db's newest message at the first start is never answered, whatever its ROWID", () => {
    const now = Date.parse('2026-05-01T10:05:00Z')
    const fence = Date.parse('2026-05-01T10:00:00Z')
    const older = normalizeMessage(wire({id: 99, created_at: '2026-05-01T09:59:00Z'}), opts())
    const drop = checkDrop(older, {...ctx(now), firstStartFence: fence})!
    expect(drop.reason).to.equal('before-first-start')
    expect(drop.detail).to.contain('before the gateway first started')
    expect(checkDrop(normalizeMessage(wire({id: 100, created_at: '2026-05-01T10:01:00Z'}), opts()), {...ctx(now), firstStartFence: fence})).to.equal(undefined)
  })

  it('echo by text: only for a send imsg gave no id/guid, a row whose is_from_me was lost, from the addressee; once; 3 s after our own row', () => {
    let t = 1_000_000
    const echoes = new EchoTracker(() => t)
    echoes.recordSend('chat_id:42', 'hello', {}, '+15551234567')
    const own = normalizeMessage(wire({is_from_me: true}), opts())
    expect(checkDrop(own, {...ctx(t, echoes)})!.reason).to.equal('own-send')
    const copy = normalizeMessage(wire({guid: 'G-11', id: 11, is_from_me: undefined, created_at: new Date(t).toISOString()}), opts())
    expect(copy.isFromMeKnown).to.equal(false)
    expect(checkDrop(copy, ctx(t, echoes))!.reason).to.equal('echo')
    expect(checkDrop(copy, ctx(t, echoes)), 'matched once only').to.equal(undefined)
    echoes.recordSend('chat_id:42', 'hello', {}, '+15551234567')
    checkDrop(own, ctx(t, echoes))
    t += 4_000
    expect(checkDrop({...copy, createdAt: t}, ctx(t, echoes)), 'a person repeating the words later is answered').to.equal(undefined)
  })

  it("a person's message is never an echo by text: is_from_me false, another sender, or the send's id/guid known", () => {
    const t = 1_000_000
    const at = new Date(t).toISOString()
    // The agent answered "ok" and imsg returned the send's id and guid; the person writes "ok".
    const echoes = new EchoTracker(() => t)
    echoes.recordSend('chat_id:42', 'ok', {id: 500, guid: 'SENT-1'}, '+15551234567')
    const person = normalizeMessage(wire({guid: 'G-12', id: 12, text: 'ok', created_at: at}), opts())
    expect(checkDrop(person, ctx(t, echoes)), 'is_from_me: false').to.equal(undefined)
    const lost = normalizeMessage(wire({guid: 'G-13', id: 13, text: 'ok', is_from_me: undefined, created_at: at}), opts())
    expect(checkDrop(lost, ctx(t, echoes)), 'id/guid known: text does not stand in').to.equal(undefined)
    expect(checkDrop(normalizeMessage(wire({guid: 'SENT-1', id: 500, text: 'ok', created_at: at}), opts()), ctx(t, echoes))!.reason, 'the send itself').to.equal('echo')
    // No id/guid returned: still not for is_from_me false, nor for another sender in the chat.
    const noIds = new EchoTracker(() => t)
    noIds.recordSend('chat_id:42', 'ok', {}, '+15551234567')
    expect(checkDrop(person, ctx(t, noIds)), 'is_from_me: false, no ids').to.equal(undefined)
    const other = normalizeMessage(wire({guid: 'G-14', id: 14, text: 'ok', sender: '+15559990000', is_from_me: undefined, created_at: at}), opts())
    expect(checkDrop(other, ctx(t, noIds)), 'another sender').to.equal(undefined)
    expect(checkDrop(lost, ctx(t, noIds))!.reason, 'flag lost, from the addressee').to.equal('echo')
  })
})

describe('BacklogSummary', () => {
  it('summarises a batch of backlog drops in one info line', () => {
    const records: LogRecord[] = []
    const log = createLogger({write: () => {}, onRecord: (r) => records.push(r)})
    const b = new BacklogSummary(log, 10_000)
    const now = Date.parse('2026-05-01T10:05:00Z')
    for (let i = 0; i < 50; i++) {
      const env = normalizeMessage(wire({id: i, guid: `g${i}`, sender: `+1555000${String(i % 5).padStart(4, '0')}`, created_at: '2026-05-01T08:00:00Z'}), opts())
      const drop = checkDrop(env, {now, maxInboundAgeMinutes: 15, keyPrefix: 'channels.imessage', seen: () => false, echoes: new EchoTracker(() => now)})!
      b.add(env, drop, 15)
    }
    expect(records).to.have.length(0)
    b.flush()
    expect(records).to.have.length(1)
    expect(records[0]!.level).to.equal('info')
    expect(records[0]!.msg).to.match(/^dropped \(backlog\) 50 messages older than 15 min from 5 chats/)
  })
})
