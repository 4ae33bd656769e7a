import {expect} from 'chai'
import fc from 'fast-check'
import {chunkText} from '../../../src/lib/outbound/chunker.js'

const strip = (s: string) => s.replace(/\s+/g, '')
const hasLoneSurrogate = (s: string) => /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)
const seg = new Intl.Segmenter(undefined, {granularity: 'grapheme'})
const graphemes = (s: string) => [...seg.segment(s)].map((x) => x.segment)

// Text built from words, spaces, newlines, blank lines, fences, emoji (surrogate pairs and ZWJ clusters).
const piece = fc.oneof(
  fc.string({minLength: 1, maxLength: 12, unit: 'grapheme-ascii'}),
  fc.constantFrom(' ', '  ', '\n', '\n\n', '\n\n\n', '```', '```\ncode\n\nmore\n```', '👍', '👨‍👩‍👧‍👦', 'e\u0301', '🇫🇷', '\t'),
  fc.string({minLength: 1, maxLength: 8, unit: 'grapheme'}),
)
const text = fc.array(piece, {maxLength: 60}).map((a) => a.join(''))

describe('chunkText', () => {
  for (const mode of ['length', 'newline'] as const) {
    describe(mode, () => {
      it('never exceeds the limit (UTF-16 code units), loses nothing and keeps order', () => {
        fc.assert(
          fc.property(text, fc.integer({min: 2, max: 80}), (t, limit) => {
            const chunks = chunkText(t, {limit, mode})
            for (const c of chunks) {
              expect(c.length).to.be.at.most(limit)
              expect(c.trim()).to.not.equal('')
            }
            expect(strip(chunks.join(''))).to.equal(strip(t))
          }),
          {numRuns: 400},
        )
      })

      it('never splits a surrogate pair', () => {
        fc.assert(
          fc.property(fc.string({unit: 'grapheme', maxLength: 80}), fc.integer({min: 2, max: 20}), (t, limit) => {
            for (const c of chunkText(t, {limit, mode})) expect(hasLoneSurrogate(c)).to.equal(false)
          }),
          {numRuns: 300},
        )
      })

      it('never splits a grapheme cluster that fits in the limit', () => {
        fc.assert(
          fc.property(fc.array(fc.constantFrom('👨‍👩‍👧‍👦', 'e\u0301', '🇫🇷', 'a', ' ', '👍🏽'), {maxLength: 50}), fc.integer({min: 12, max: 30}), (parts, limit) => {
            const t = parts.join('')
            const original = new Set(graphemes(t))
            for (const c of chunkText(t, {limit, mode})) {
              for (const g of graphemes(c)) expect(original.has(g), `grapheme ${JSON.stringify(g)} was cut`).to.equal(true)
            }
          }),
          {numRuns: 300},
        )
      })
    })
  }

  it('length: breaks at the last newline, else whitespace, before the limit', () => {
    expect(chunkText('aaaa bbbb\ncccc dddd', {limit: 14, mode: 'length'})).to.deep.equal(['aaaa bbbb', 'cccc dddd'])
    expect(chunkText('aaaa bbbb cccc', {limit: 10, mode: 'length'})).to.deep.equal(['aaaa bbbb', 'cccc'])
    expect(chunkText('abcdefghij', {limit: 4, mode: 'length'})).to.deep.equal(['abcd', 'efgh', 'ij'])
    expect(chunkText('👍👍👍', {limit: 3, mode: 'length'})).to.deep.equal(['👍', '👍', '👍'])
  })

  it('newline: packs paragraphs, keeps a fenced block whole, length-splits an oversized paragraph', () => {
    const t = 'one\n\ntwo\n\n```\na\n\nb\n```\n\n' + 'x'.repeat(25)
    expect(chunkText(t, {limit: 12, mode: 'newline'})).to.deep.equal(['one\n\ntwo', '```\na\n\nb\n```', 'x'.repeat(12), 'x'.repeat(12), 'x'])
  })

  it('newline: a longer fence (````) is closed only by a fence at least as long, so an inner ``` block stays inside it', () => {
    const outer = '````md\n```\na\n\nb\n```\n````'
    expect(chunkText(`intro\n\n${outer}\n\nend`, {limit: outer.length, mode: 'newline'})).to.deep.equal(['intro', outer, 'end'])
    // a fence line with an info string does not close a block
    const tilde = '~~~\nx\n~~~js\n\ny\n~~~'
    expect(chunkText(`${tilde}\n\nz`, {limit: tilde.length, mode: 'newline'})).to.deep.equal([tilde, 'z'])
  })

  it('returns no chunks for blank text and one for short text', () => {
    expect(chunkText('  \n\n ', {limit: 10, mode: 'length'})).to.deep.equal([])
    expect(chunkText('hi', {limit: 4000, mode: 'newline'})).to.deep.equal(['hi'])
  })
})
