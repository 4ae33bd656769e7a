import {expect} from 'chai'
import fc from 'fast-check'
import {chunkText, chunkTextCapped, isPlain} from '../../../src/lib/outbound/chunker.js'

const strip = (s: string) => s.replace(/\s+/g, '')
const hasLoneSurrogate = (s: string) => /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)
const seg = new Intl.Segmenter(undefined, {granularity: 'grapheme'})
const graphemes = (s: string) => [...seg.segment(s)].map((x) => x.segment)

// Text built from words, spaces, newlines, blank lines, fences, emoji (surrogate pairs and ZWJ clusters).
const piece = fc.oneof(
  fc.string({minLength: 1, maxLength: 12, unit: 'grapheme-ascii'}),
  fc.constantFrom(' ', '  ', '\n', '\n\n', '\n\n\n', '\r\n', '\r\n\r\n', '\r', ' \u0301', '\u00a0', '中文', '```', '```\ncode\n\nmore\n```', '👍', '👨‍👩‍👧‍👦', 'e\u0301', '🇫🇷', '\t'),
  fc.string({minLength: 1, maxLength: 8, unit: 'grapheme'}),
)
const text = fc.array(piece, {maxLength: 60}).map((a) => a.join(''))

/** Chunks appear in the input in order, with only whitespace before, between and after them. */
function expectRejoins(input: string, chunks: string[]): void {
  let pos = 0
  for (const c of chunks) {
    const at = input.indexOf(c, pos)
    expect(at, `chunk ${JSON.stringify(c)} not found in order`).to.be.at.least(0)
    expect(input.slice(pos, at), 'only whitespace between chunks').to.match(/^\s*$/)
    pos = at + c.length
  }
  expect(input.slice(pos), 'only whitespace after the last chunk').to.match(/^\s*$/)
}

/** The chunker before it was made linear (segments the whole text at once): the reference for length mode. */
function referenceLength(text: string, limit: number): string[] {
  const out: string[] = []
  const push = (p: string) => {
    const t = p.trimEnd()
    if (t.trim() !== '') out.push(t)
  }
  const b = new Uint8Array(text.length + 1)
  for (const s of seg.segment(text)) b[s.index] = 1
  b[text.length] = 1
  let start = 0
  while (text.length - start > limit) {
    const end = start + limit
    const nl = text.lastIndexOf('\n', end)
    if (nl >= start && b[nl] && b[nl + 1]) {
      push(text.slice(start, nl))
      start = nl + 1
      continue
    }
    let cut = -1
    for (let q = end; q > start; q--) if (b[q] && b[q + 1] && /\s/.test(text[q]!)) { cut = q; break }
    if (cut !== -1) {
      push(text.slice(start, cut))
      start = cut + 1
      continue
    }
    let hard = -1
    for (let q = end; q > start; q--) if (b[q]) { hard = q; break }
    if (hard === -1) {
      hard = end
      if (/[\uD800-\uDBFF]/.test(text[hard - 1]!)) hard -= 1
      if (hard === start) hard = start + 2
    }
    push(text.slice(start, hard))
    start = hard
  }
  push(text.slice(start))
  return out
}

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
            expectRejoins(t, chunks)
          }),
          {numRuns: 400},
        )
      })

      it('re-joins to the input minus whitespace at breaks, also for long text and large limits', () => {
        fc.assert(
          fc.property(fc.array(piece, {maxLength: 400}).map((a) => a.join('')), fc.integer({min: 1, max: 600}), (t, limit) => {
            expectRejoins(t, chunkText(t, {limit, mode}))
          }),
          {numRuns: 150},
        )
      })

      it('keeps \\r\\n inside a chunk (only whitespace at a break is dropped)', () => {
        expect(chunkText('one\r\ntwo\r\n\r\nthree', {limit: 100, mode})).to.deep.equal(['one\r\ntwo\r\n\r\nthree'])
        expect(chunkText('aaaa\r\nbbbb', {limit: 6, mode})).to.deep.equal(['aaaa', 'bbbb'])
        expect(chunkText('aaaa\r\nbbbb', {limit: 4, mode})).to.deep.equal(['aaaa', 'bbbb'])
      })

      it('never hands Intl.Segmenter more than a window of the text, so a 1 MB reply is linear', () => {
        // Intl.Segmenter is quadratic over long strings on Node 20 (80 KB took over a minute).
        const original = Intl.Segmenter.prototype.segment
        let longest = 0
        Intl.Segmenter.prototype.segment = function (this: Intl.Segmenter, input: string) {
          longest = Math.max(longest, input.length)
          // fail at once rather than spend minutes in the quadratic path
          if (input.length > 4002) throw new Error(`Intl.Segmenter was given ${input.length} code units at once`)
          return original.call(this, input)
        }
        try {
          const unit = 'Grüße 👨‍👩‍👧‍👦 e\u0301 🇫🇷🇩🇪 中文字 x\u0301\u0301 '
          // whitespace cuts, hard cuts in emoji and combining marks, Han without spaces, paragraphs
          const block = unit.repeat(150) + '\n\n' + '👍'.repeat(2500) + 'e\u0301'.repeat(3000) + '中'.repeat(5000) + '\n'
          const big = block.repeat(Math.ceil(1_000_000 / block.length))
          const chunks = chunkText(big, {limit: 4000, mode})
          expect(chunks.length).to.be.greaterThan(200)
          expectRejoins(big, chunks)
        } finally {
          Intl.Segmenter.prototype.segment = original
        }
        expect(longest).to.be.at.most(4002)
        expect(longest).to.be.greaterThan(0)
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

  it('length: gives the same chunks as the whole-text reference (text without \\r, clusters that fit)', () => {
    fc.assert(
      fc.property(text.map((t) => t.replace(/\r/g, '')), fc.integer({min: 1, max: 80}), (t, limit) => {
        // inside a cluster longer than the limit any code-point cut is allowed, and the two may differ
        if (graphemes(t).some((g) => g.length > limit)) return
        expect(chunkText(t, {limit, mode: 'length'})).to.deep.equal(referenceLength(t, limit))
      }),
      {numRuns: 1000},
    )
  })

  it('plain characters (certain boundaries) agree with Intl.Segmenter', () => {
    const plain: string[] = []
    for (let c = 0x80; c < 0x10000; c++) if (isPlain(c)) plain.push(String.fromCharCode(c))
    expect(plain.length).to.be.greaterThan(20_000)
    expect(isPlain(0x301) || isPlain(0x200d) || isPlain(0x1100) || isPlain(0x600) || isPlain(0x2764)).to.equal(false)
    // Batches of 100: a boundary between 'a' and each (not Extend/SpacingMark/ZWJ/Prepend), and between
    // two of them whatever precedes (ZWJ, a virama, a regional indicator, a Hangul L jamo, a Prepend).
    for (let i = 0; i < plain.length; i += 100) {
      const batch = plain.slice(i, i + 100)
      const alternating = batch.map((ch) => 'a' + ch).join('') + 'a'
      expect([...seg.segment(alternating)].length, `in ${JSON.stringify(batch.join(''))}`).to.equal(alternating.length)
      for (const ctx of ['\u200d', '\u0915\u094d', '\u{1F1EB}', '\u1100', '\u0600']) {
        const s = batch.map((ch) => ctx + ch + ch).join('')
        const starts = new Set([...seg.segment(s)].map((x) => x.index))
        batch.forEach((ch, j) => expect(starts.has(j * (ctx.length + 2) + ctx.length + 1), `U+${ch.charCodeAt(0).toString(16)} after ${JSON.stringify(ctx)}`).to.equal(true))
      }
    }
  })

  it('chunkTextCapped stops after maxChunks and says how much was left out', () => {
    const t = 'aaaa bbbb cccc dddd'
    expect(chunkTextCapped(t, {limit: 4, mode: 'length', maxChunks: 2})).to.deep.equal({chunks: ['aaaa', 'bbbb'], cutChars: 9})
    expect(chunkTextCapped(t, {limit: 4, mode: 'length', maxChunks: 4})).to.deep.equal({chunks: ['aaaa', 'bbbb', 'cccc', 'dddd'], cutChars: 0})
    expect(chunkTextCapped('p1\n\np2\n\np3', {limit: 3, mode: 'newline', maxChunks: 1})).to.deep.equal({chunks: ['p1'], cutChars: 6})
  })

  it('returns no chunks for blank text and one for short text', () => {
    expect(chunkText('  \n\n ', {limit: 10, mode: 'length'})).to.deep.equal([])
    expect(chunkText('hi', {limit: 4000, mode: 'newline'})).to.deep.equal(['hi'])
  })
})
