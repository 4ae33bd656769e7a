import {expect} from 'chai'
import {BlockStreamer, blockId} from '../../../src/lib/outbound/block-stream.js'

describe('BlockStreamer (block streaming: order, coalescing, no duplicate final, restart dedupe)', () => {
  const make = (o: {limit?: number; idleMs?: number; priorKeys?: string[]} = {}) => {
    const sent: Array<{text: string; key: string}> = []
    const s = new BlockStreamer({
      inboundGuid: 'G1',
      limit: o.limit ?? 4000,
      idleMs: o.idleMs ?? 50,
      priorKeys: o.priorKeys ?? [],
      deliver: async (text, key) => {
        await new Promise((r) => setTimeout(r, 5))
        sent.push({text, key})
      },
    })
    return {s, sent}
  }
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms))

  it('short blocks arriving together are joined; a pause sends what is buffered; order kept', async () => {
    const {s, sent} = make({idleMs: 100})
    s.push('one')
    s.push('two')
    await wait(300)
    s.push('three')
    const r = await s.finish('three')
    expect(sent.map((x) => x.text)).to.deep.equal(['one\n\ntwo', 'three'])
    expect(r.sendFinal).to.equal(false)
    expect(sent[0]!.key).to.equal(`G1#blocks:${blockId('one', 0)}.${blockId('two', 0)}`)
  })

  it('a group never grows past the limit', async () => {
    const {s, sent} = make({limit: 10, idleMs: 1000})
    s.push('aaaa')
    s.push('bbbb')
    s.push('cccccc')
    s.push('dd')
    await s.finish(undefined)
    expect(sent.map((x) => x.text)).to.deep.equal(['aaaa\n\nbbbb', 'cccccc\n\ndd'])
    expect(sent.every((x) => x.text.length <= 10)).to.equal(true)
  })

  it('the final answer is sent only when the blocks did not already say it', async () => {
    for (const [final, expected] of [
      ['last', false],
      ['first\n\nlast', false],
      ['firstlast', false],
      ['something else', true],
      ['', false],
    ] as const) {
      const {s} = make()
      s.push('first')
      s.push('last')
      expect((await s.finish(final)).sendFinal, final).to.equal(expected)
    }
  })

  it('after a restart, blocks journaled for this inbound message are not sent again; new ones are', async () => {
    const prior = [`G1#blocks:${blockId('one', 0)}.${blockId('two', 0)}`, 'OTHER#blocks:x~0']
    const {s, sent} = make({priorKeys: prior})
    s.push('one')
    s.push('two')
    s.push('three')
    const r = await s.finish('three')
    expect(sent.map((x) => x.text)).to.deep.equal(['three'])
    expect(s.skippedBlocks).to.equal(2)
    expect(r.sendFinal).to.equal(false)
  })

  it('the same text twice in one turn is two blocks', async () => {
    const {s, sent} = make({priorKeys: [`G1#blocks:${blockId('Done.', 0)}`]})
    s.push('Done.')
    s.push('Done.')
    await s.finish(undefined)
    expect(sent.map((x) => x.text)).to.deep.equal(['Done.'])
  })
})
