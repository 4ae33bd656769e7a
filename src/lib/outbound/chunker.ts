/**
 * The one text chunker for outbound messages (gateway replies and `message send`).
 *
 * Unit: `limit` counts UTF-16 code units (JavaScript string length), the unit of
 * textChunkLimit. A chunk never ends inside a surrogate pair, and never inside a grapheme
 * cluster (Intl.Segmenter) unless that single cluster is longer than the limit; then it is cut
 * between code points. The only case a chunk can exceed the limit is limit 1 with a character
 * outside the BMP (2 code units), which is never split.
 *
 * Whitespace at a break is consumed (a chunk is never blank and has no trailing whitespace);
 * every other character is kept, in order (also "\r\n" and the blank lines inside a chunk).
 *
 * Linear time: Intl.Segmenter is quadratic over long strings on Node 20 (80 KB took over a
 * minute), so it only ever sees a short window ending at a cut, starting at a position that is
 * certainly a grapheme boundary (see certainBoundary).
 */
export type ChunkMode = 'length' | 'newline'

export interface ChunkOptions {
  /** Max UTF-16 code units per chunk (textChunkLimit). */
  limit: number
  /** length: break at the last newline, else whitespace, before the limit. newline: paragraphs first. */
  mode: ChunkMode
}

export interface CappedChunks {
  chunks: string[]
  /** UTF-16 code units of the text that were not chunked because of maxChunks (0: all of it). */
  cutChars: number
}

const segmenter = new Intl.Segmenter(undefined, {granularity: 'grapheme'})

/** How far back from a hard cut to look for a certain boundary before segmenting from the chunk start. */
const SAFE_SPAN = 64
/** First window when segmenting forward from a chunk start (doubles only inside one long cluster). */
const WINDOW = 512

/**
 * BMP code units whose grapheme class is "Other" and that take part in no context rule (not
 * Extend/SpacingMark/Prepend/ZWJ, not Hangul jamo, not Regional_Indicator or
 * Extended_Pictographic, not an Indic conjunct consonant): letters of Latin, Greek, Cyrillic,
 * Han, Hiragana, Katakana, Hangul syllables, and Common punctuation. Between two of them there
 * is always a boundary (UAX #29 GB999), whatever precedes them. The unit test checks the table
 * against Intl.Segmenter.
 */
const PLAIN =
  /^(?![\p{Extended_Pictographic}\p{M}\uFF9E\uFF9F])(?:(?=\p{L})[\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]|[\uAC00-\uD7A3]|(?=\p{Script=Common})[\p{P}\p{Zs}])$/u
/** Per BMP code unit: 0 not looked up yet, 1 plain, 2 not. Filled on demand (a full table costs 160 ms). */
const plainCache = new Uint8Array(0x10000)

export function isPlain(c: number): boolean {
  let v = plainCache[c]!
  if (v === 0) {
    v = (c < 0xd800 || c > 0xdfff) && PLAIN.test(String.fromCharCode(c)) ? 1 : 2
    plainCache[c] = v
  }
  return v === 1
}

/** True when p (0 < p < length) is a grapheme boundary whatever the text around it. */
function certainBoundary(text: string, p: number): boolean {
  const a = text.charCodeAt(p - 1)
  const b = text.charCodeAt(p)
  if (a === 10) return true // GB4: break after LF
  if (a < 0x80 && b < 0x80) return !(a === 13 && b === 10) // only CR LF holds together in ASCII
  return (a < 0x80 || isPlain(a)) && (b < 0x80 || isPlain(b))
}

/** The code point (1 or 2 code units) that ends at p / starts at p. */
function cpBefore(text: string, p: number): string {
  const lo = text.charCodeAt(p - 1)
  return lo >= 0xdc00 && lo <= 0xdfff && p >= 2 && isHighSurrogate(text.charCodeAt(p - 2)) ? text.slice(p - 2, p) : text.slice(p - 1, p)
}

function cpAt(text: string, p: number): string {
  return isHighSurrogate(text.charCodeAt(p)) ? text.slice(p, p + 2) : text.slice(p, p + 1)
}

/** Whether two adjacent code points fall in different clusters; exact when either is whitespace (no context rule applies). */
function breaksBetween(x: string, y: string): boolean {
  let n = 0
  for (const _ of segmenter.segment(x + y)) n++
  return n === 2
}

/** A whitespace code unit at q stands alone: grapheme boundaries before and after it. */
function wsStandsAlone(text: string, q: number, start: number): boolean {
  const w = text.charCodeAt(q)
  if (q > start) {
    const a = text.charCodeAt(q - 1)
    if (a < 0x80 ? a === 13 && w === 10 : !breaksBetween(cpBefore(text, q), text[q]!)) return false
  }
  if (q + 1 < text.length) {
    const b = text.charCodeAt(q + 1)
    if (b < 0x80 ? w === 13 && b === 10 : !breaksBetween(text[q]!, cpAt(text, q + 1))) return false
  }
  return true
}

/**
 * The last grapheme boundary in [from, end] (from itself when there is none after it), where
 * `from` is a boundary. Segments forward in windows, each starting at the last boundary found,
 * so the segmenter never sees more than one window (or one long cluster) at a time.
 */
function lastBoundaryFrom(text: string, from: number, end: number): number {
  let k = from
  let w = WINDOW
  while (k < end) {
    // A boundary at p is decided by what precedes p and the code point at p: trust p <= trusted.
    const trusted = Math.min(end, k + w)
    let last = -1
    for (const s of segmenter.segment(text.slice(k, Math.min(text.length, trusted + 2)))) {
      const p = k + s.index
      if (p > trusted) break
      if (p > k) last = p
    }
    if (trusted === end) return last === -1 ? k : last
    if (last === -1) w *= 2 // k starts a cluster longer than the window
    else {
      k = last
      w = WINDOW
    }
  }
  return k
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}

function isWs(code: number): boolean {
  return code === 32 || code === 10 || code === 9 || code === 13 || (code > 127 ? /\s/.test(String.fromCharCode(code)) : code === 11 || code === 12)
}

/** Collects chunks until maxChunks; remembers where it stopped. */
class Sink {
  readonly out: string[] = []
  stoppedAt = -1
  constructor(private readonly max: number) {}

  get full(): boolean {
    return this.stoppedAt !== -1
  }

  /** Adds text[from, to) without trailing whitespace, unless blank. */
  push(text: string, from: number, to: number): void {
    if (this.full) return
    while (to > from && isWs(text.charCodeAt(to - 1))) to--
    let f = from
    while (f < to && isWs(text.charCodeAt(f))) f++
    if (f >= to) return
    if (this.out.length >= this.max) {
      this.stoppedAt = f
      return
    }
    this.out.push(text.slice(from, to))
  }
}

/** Length mode over text[from, to). */
function splitLength(text: string, from: number, to: number, limit: number, sink: Sink): void {
  let start = from
  while (to - start > limit && !sink.full) {
    const end = start + limit
    // 1. the last newline that leaves at most `limit` units before it (a CR before it is trimmed)
    let nl = -1
    // a CR LF whose CR is the first unit past the limit still breaks here (the CR is trimmed)
    const top = text.charCodeAt(end) === 13 && end + 1 < to && text.charCodeAt(end + 1) === 10 ? end + 1 : end
    for (let q = top; q >= start; q--) {
      if (text.charCodeAt(q) === 10) {
        nl = q
        break
      }
    }
    if (nl !== -1) {
      sink.push(text, start, nl)
      start = nl + 1
      continue
    }
    // 2. else the last whitespace that stands alone (not joined to a neighbour's cluster)
    let cut = -1
    for (let q = end; q > start; q--) {
      if (isWs(text.charCodeAt(q)) && wsStandsAlone(text, q, start)) {
        cut = q
        break
      }
    }
    if (cut !== -1) {
      sink.push(text, start, cut)
      start = cut + 1
      continue
    }
    // 3. else a hard cut at the last grapheme boundary, else code-point boundary, before the limit
    let safe = start
    for (let p = end; p > start && p >= end - SAFE_SPAN; p--) {
      if (certainBoundary(text, p)) {
        safe = p
        break
      }
    }
    let hard = safe === end ? end : lastBoundaryFrom(text, safe, end)
    if (hard === start) {
      hard = end
      if (isHighSurrogate(text.charCodeAt(hard - 1))) hard -= 1
      if (hard === start) hard = start + 2 // limit 1 and an astral character: never split the pair
    }
    sink.push(text, start, hard)
    start = hard
  }
  sink.push(text, start, to)
}

const FENCE = /^\s*(`{3,}|~{3,})(.*)$/

/**
 * Paragraphs (blank-line separated) as [from, to) ranges, with fenced code blocks kept whole.
 * As in Markdown, a fence is closed only by the same character, at least as many times, and
 * nothing after it, so a ```` block can show a ``` block inside it.
 */
function paragraphs(text: string): Array<[number, number]> {
  const blocks: Array<[number, number]> = []
  let bs = -1
  let be = -1
  let fence: string | undefined
  for (let ls = 0; ls <= text.length; ) {
    let le = text.indexOf('\n', ls)
    if (le === -1) le = text.length
    const line = text.slice(ls, le)
    const m = FENCE.exec(line)
    if (m) {
      const run = m[1]!
      if (fence === undefined) fence = run
      else if (run[0] === fence[0] && run.length >= fence.length && m[2]!.trim() === '') fence = undefined
    }
    if (fence === undefined && !m && line.trim() === '') {
      if (bs !== -1) blocks.push([bs, be])
      bs = -1
    } else {
      if (bs === -1) bs = ls
      be = le
    }
    ls = le + 1
  }
  if (bs !== -1) blocks.push([bs, be])
  return blocks
}

function run(text: string, opts: ChunkOptions, maxChunks: number): Sink {
  const limit = Math.max(1, Math.floor(opts.limit))
  const sink = new Sink(maxChunks)
  if (opts.mode === 'length') {
    splitLength(text, 0, text.length, limit, sink)
    return sink
  }
  // Paragraphs are packed into a chunk with the separators they had.
  let cs = -1
  let ce = -1
  for (const [bs, be] of paragraphs(text)) {
    if (sink.full) break
    if (cs !== -1 && be - cs <= limit) {
      ce = be
      continue
    }
    if (cs !== -1) sink.push(text, cs, ce)
    cs = -1
    if (be - bs <= limit) [cs, ce] = [bs, be]
    else splitLength(text, bs, be, limit, sink)
  }
  if (cs !== -1) sink.push(text, cs, ce)
  return sink
}

/** Splits `text` into chunks of at most `limit` UTF-16 code units. Blank input gives []. */
export function chunkText(text: string, opts: ChunkOptions): string[] {
  return run(text, opts, Number.POSITIVE_INFINITY).out
}

/**
 * Like chunkText, but stops after `maxChunks` chunks (without chunking the rest) and says how
 * much of the text was left out.
 */
export function chunkTextCapped(text: string, opts: ChunkOptions & {maxChunks: number}): CappedChunks {
  const sink = run(text, opts, Math.max(1, Math.floor(opts.maxChunks)))
  return {chunks: sink.out, cutChars: sink.full ? text.length - sink.stoppedAt : 0}
}
