import {UsageError} from '../errors.js'

/**
 * Config key paths as users type them: `a.b.c`, `agents.list[0].id`,
 * `channels.imessage.groups["42"].requireMention` (single or double quoted bracket keys with
 * backslash escapes, for keys holding dots, digits, quotes or "*").
 *
 * A segment is a string (object key) or a number (array index, from `[N]`). Bare segments may be
 * digits (`groups.42`): they stay string keys and index arrays when the container is an array.
 */
export type PathSegment = string | number

/** Segments that could reach Object.prototype: refused in every path (exit 2). */
export const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])

const BARE_FORMAT = /^[A-Za-z_$][A-Za-z0-9_$-]*$/
const BARE_CHAR = /[^.[\]"'\s]/

const PATH_FIX = 'Write keys as a.b.c, array items as list[0], and keys with dots or digits quoted: groups["42"].requireMention'

function syntaxError(input: string, index: number, why: string): UsageError {
  return new UsageError(`invalid config path ${JSON.stringify(input)} at character ${index + 1}: ${why}`, {
    code: 'bad_path',
    fix: PATH_FIX,
  })
}

const ESCAPES: Record<string, string> = {n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', '0': '\0'}

/** Parses a key path. Throws UsageError (exit 2) on bad syntax or a forbidden segment. */
export function parsePath(input: string): PathSegment[] {
  const segs: PathSegment[] = []
  let i = 0
  const n = input.length
  if (n === 0) throw syntaxError(input, 0, 'the path is empty')
  let expectSegment = true // at start or right after a "."
  while (i < n) {
    const c = input[i]!
    if (c === '[') {
      i++
      const q = input[i]
      if (q === '"' || q === "'") {
        i++
        let key = ''
        let closed = false
        while (i < n) {
          const ch = input[i]!
          if (ch === '\\') {
            const e = input[i + 1]
            if (e === undefined) throw syntaxError(input, i, 'dangling backslash')
            if (e === 'u') {
              const hex = input.slice(i + 2, i + 6)
              if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw syntaxError(input, i, 'bad \\u escape (use \\uXXXX)')
              key += String.fromCharCode(Number.parseInt(hex, 16))
              i += 6
              continue
            }
            key += ESCAPES[e] ?? e
            i += 2
            continue
          }
          if (ch === q) {
            closed = true
            i++
            break
          }
          key += ch
          i++
        }
        if (!closed) throw syntaxError(input, i, `unterminated ${q}quoted${q} key`)
        if (input[i] !== ']') throw syntaxError(input, i, 'expected "]" after the quoted key')
        i++
        segs.push(key)
      } else {
        const m = /^\d+/.exec(input.slice(i))
        if (!m) throw syntaxError(input, i, 'expected an index like [0] or a quoted key like ["42"]')
        if (m[0].length > 1 && m[0].startsWith('0')) throw syntaxError(input, i, 'array indexes have no leading zeros')
        i += m[0].length
        if (input[i] !== ']') throw syntaxError(input, i, 'expected "]"')
        i++
        const index = Number(m[0])
        if (!Number.isSafeInteger(index)) throw syntaxError(input, i, 'array index too large')
        segs.push(index)
      }
      expectSegment = false
      continue
    }
    if (c === '.') {
      if (expectSegment) throw syntaxError(input, i, 'empty key (two dots, or a leading dot)')
      expectSegment = true
      i++
      // a "." must be followed by a bare key, not a bracket
      if (i >= n) throw syntaxError(input, i - 1, 'the path ends with "."')
      if (input[i] === '[') throw syntaxError(input, i, 'write a["b"], not a.["b"]')
      continue
    }
    if (!expectSegment) throw syntaxError(input, i, 'expected "." or "[" between keys')
    let key = ''
    while (i < n && BARE_CHAR.test(input[i]!)) key += input[i++]
    if (key === '') throw syntaxError(input, i, `unexpected ${JSON.stringify(input[i])}; quote such keys: ["key"]`)
    segs.push(key)
    expectSegment = false
  }
  for (const s of segs) {
    if (typeof s === 'string' && FORBIDDEN_SEGMENTS.has(s)) {
      throw new UsageError(`config path ${JSON.stringify(input)} uses the reserved key "${s}"`, {
        code: 'forbidden_path',
        fix: '__proto__, constructor and prototype are refused in config paths; no config key uses them.',
      })
    }
  }
  return segs
}

/** The canonical text of a path: bare identifiers, [N] for indexes, ["..."] (JSON escapes) otherwise. */
export function formatPath(segs: readonly PathSegment[]): string {
  let out = ''
  for (const s of segs) {
    if (typeof s === 'number') out += `[${s}]`
    else if (BARE_FORMAT.test(s)) out += out === '' ? s : `.${s}`
    else out += `[${JSON.stringify(s)}]`
  }
  return out
}

/** Accepts a path string or already-parsed segments. */
export function toSegments(p: string | readonly PathSegment[]): PathSegment[] {
  if (typeof p === 'string') return parsePath(p)
  for (const s of p) {
    if (typeof s === 'string' && FORBIDDEN_SEGMENTS.has(s)) parsePath(formatPath([s]))
  }
  return [...p]
}

/** A string segment that indexes an array ("0", "12"), or undefined. */
export function asIndex(seg: PathSegment): number | undefined {
  if (typeof seg === 'number') return seg
  return /^(0|[1-9]\d*)$/.test(seg) ? Number(seg) : undefined
}

/** Reads a value from plain data (own properties only). */
export function getAtPath(data: unknown, segs: readonly PathSegment[]): {found: boolean; value?: unknown} {
  let cur: unknown = data
  for (const s of segs) {
    if (Array.isArray(cur)) {
      const i = asIndex(s)
      if (i === undefined || i >= cur.length) return {found: false}
      cur = cur[i]
    } else if (cur !== null && typeof cur === 'object') {
      const k = String(s)
      if (!Object.prototype.hasOwnProperty.call(cur, k)) return {found: false}
      cur = (cur as Record<string, unknown>)[k]
    } else {
      return {found: false}
    }
  }
  return {found: true, value: cur}
}

/** Quotes a path or value for a POSIX shell when it needs it (for fix commands users paste). */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`
}
