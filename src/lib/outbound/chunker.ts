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
 * every other character is kept, in order.
 */
export type ChunkMode = 'length' | 'newline'

export interface ChunkOptions {
  /** Max UTF-16 code units per chunk (textChunkLimit). */
  limit: number
  /** length: break at the last newline, else whitespace, before the limit. newline: paragraphs first. */
  mode: ChunkMode
}

const segmenter = new Intl.Segmenter(undefined, {granularity: 'grapheme'})

/** Flags per index 0..len: true where a grapheme cluster starts (or at the end). */
function graphemeBoundaries(text: string): Uint8Array {
  const b = new Uint8Array(text.length + 1)
  for (const s of segmenter.segment(text)) b[s.index] = 1
  b[text.length] = 1
  return b
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}

function isWs(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || /\s/.test(ch)
}

function push(out: string[], piece: string): void {
  const t = piece.trimEnd()
  if (t.trim() !== '') out.push(t)
}

/** Length mode over text[from, to), appending to out. */
function splitLength(text: string, limit: number, out: string[]): void {
  if (text.length <= limit) {
    push(out, text)
    return
  }
  const b = graphemeBoundaries(text)
  const len = text.length
  let start = 0
  while (len - start > limit) {
    const end = start + limit
    // 1. the last newline that leaves at most `limit` units before it
    const nl = text.lastIndexOf('\n', end)
    if (nl >= start && b[nl] && b[nl + 1]) {
      push(out, text.slice(start, nl))
      start = nl + 1
      continue
    }
    // 2. else the last whitespace (at a grapheme boundary on both sides)
    let cut = -1
    for (let q = end; q > start; q--) {
      if (b[q] && b[q + 1] && isWs(text[q]!)) {
        cut = q
        break
      }
    }
    if (cut !== -1) {
      push(out, text.slice(start, cut))
      start = cut + 1
      continue
    }
    // 3. else a hard cut at the last grapheme boundary, else code-point boundary, before the limit
    let hard = -1
    for (let q = end; q > start; q--) {
      if (b[q]) {
        hard = q
        break
      }
    }
    if (hard === -1) {
      hard = end
      if (isHighSurrogate(text.charCodeAt(hard - 1))) hard -= 1
      if (hard === start) hard = start + 2 // limit 1 and an astral character: never split the pair
    }
    push(out, text.slice(start, hard))
    start = hard
  }
  push(out, text.slice(start))
}

const FENCE = /^\s*(`{3,}|~{3,})(.*)$/

/**
 * Paragraphs (blank-line separated), with fenced code blocks kept whole. As in Markdown, a
 * fence is closed only by the same character, at least as many times, and nothing after it,
 * so a ```` block can show a ``` block inside it.
 */
function paragraphs(text: string): string[] {
  const blocks: string[] = []
  let cur: string[] = []
  let fence: string | undefined
  for (const line of text.split('\n')) {
    const m = FENCE.exec(line)
    if (m) {
      const run = m[1]!
      if (fence === undefined) fence = run
      else if (run[0] === fence[0] && run.length >= fence.length && m[2]!.trim() === '') fence = undefined
    }
    if (fence === undefined && line.trim() === '' && !m) {
      if (cur.length > 0) blocks.push(cur.join('\n'))
      cur = []
      continue
    }
    cur.push(line)
  }
  if (cur.length > 0) blocks.push(cur.join('\n'))
  return blocks
}

/** Splits `text` into chunks of at most `limit` UTF-16 code units. Blank input gives []. */
export function chunkText(text: string, opts: ChunkOptions): string[] {
  const limit = Math.max(1, Math.floor(opts.limit))
  const normalized = text.replace(/\r\n/g, '\n')
  const out: string[] = []
  if (opts.mode === 'length') {
    splitLength(normalized, limit, out)
    return out
  }
  let current = ''
  for (const block of paragraphs(normalized)) {
    const candidate = current === '' ? block : `${current}\n\n${block}`
    if (candidate.length <= limit) {
      current = candidate
      continue
    }
    if (current !== '') push(out, current)
    current = ''
    if (block.length <= limit) current = block
    else splitLength(block, limit, out)
  }
  if (current !== '') push(out, current)
  return out
}
