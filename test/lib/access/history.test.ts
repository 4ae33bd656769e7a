import {expect} from 'chai'
import {GroupHistory, HISTORY_TEXT_MAX, historyEntryFrom, historyKey, type HistoryEntry} from '../../../src/lib/access/history.js'
import type {Envelope} from '../../../src/lib/core/envelope.js'

const entry = (n: number): HistoryEntry => ({sender: '+15551230000', text: `m${n}`, createdAt: n, messageId: n})

describe('GroupHistory', () => {
  it('keeps up to the limit per chat (oldest dropped), hands them over once, then is empty', () => {
    const h = new GroupHistory()
    const k = historyKey('default', 42)
    for (let i = 1; i <= 5; i++) h.add(k, entry(i), 3)
    expect(h.peek(k).map((e) => e.text)).to.deep.equal(['m3', 'm4', 'm5'])
    expect(h.take(k).map((e) => e.text)).to.deep.equal(['m3', 'm4', 'm5'])
    expect(h.take(k)).to.deep.equal([])
  })

  it('keeps chats and accounts apart', () => {
    const h = new GroupHistory()
    h.add(historyKey('a', 1), entry(1), 5)
    h.add(historyKey('b', 1), entry(2), 5)
    h.add(historyKey('a', 2), entry(3), 5)
    expect(h.take(historyKey('a', 1)).map((e) => e.text)).to.deep.equal(['m1'])
    expect(h.take(historyKey('b', 1)).map((e) => e.text)).to.deep.equal(['m2'])
  })

  it('limit 0 keeps nothing', () => {
    const h = new GroupHistory()
    h.add('k', entry(1), 3)
    h.add('k', entry(2), 0)
    expect(h.peek('k')).to.deep.equal([])
  })

  it('bounds memory: at most maxChats chats, least recently written evicted', () => {
    const h = new GroupHistory({maxChats: 2})
    h.add('a', entry(1), 3)
    h.add('b', entry(2), 3)
    h.add('a', entry(3), 3) // a is now the most recent
    h.add('c', entry(4), 3)
    expect(h.chats).to.equal(2)
    expect(h.peek('b')).to.deep.equal([])
    expect(h.peek('a').map((e) => e.text)).to.deep.equal(['m1', 'm3'])
  })

  it('builds entries from envelopes, cutting very long texts', () => {
    const env = {
      sender: {handle: '+15551230000', raw: '5551230000', displayName: 'Ann'},
      text: 'x'.repeat(HISTORY_TEXT_MAX + 10),
      createdAt: 5,
      messageId: 9,
    } as Envelope
    const e = historyEntryFrom(env)
    expect(e).to.include({sender: '+15551230000', senderName: 'Ann', createdAt: 5, messageId: 9})
    expect(e.text.length).to.equal(HISTORY_TEXT_MAX + 1)
  })
})
