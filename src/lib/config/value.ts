import JSON5 from 'json5'
import {z} from 'zod'
import {UsageError} from '../errors.js'
import {formatPath, type PathSegment} from './paths.js'
import {schemaAt, unwrap, wantsString} from './schema-walk.js'

/**
 * The value of `config set <path> <value>` (and `/config set` in chat).
 *
 * - `--strict-json`: the value must be valid JSON (strings quoted).
 * - Otherwise it parses as JSON5, else it is a plain string; where the schema wants a string at
 *   the path, the text stays a string even when it reads as a number or boolean (`+15551234567`,
 *   `42`, `true`), unless it is itself a quoted JSON5 string (to allow leading spaces).
 */
export function parseCliValue(raw: string, segs: readonly PathSegment[], opts: {strictJson?: boolean} = {}): unknown {
  if (opts.strictJson) {
    let parsed: unknown
    try {
      parsed = JSON.parse(raw)
    } catch (error) {
      if (error instanceof RangeError) throw tooDeep(segs)
      throw new UsageError(`--strict-json: the value is not valid JSON (${(error as Error).message})`, {
        code: 'bad_value',
        fix: `Quote strings as JSON, e.g. '"${raw.replaceAll("'", '')}"', or drop --strict-json to accept JSON5 and plain strings.`,
      })
    }
    checkStorable(parsed, segs)
    return parsed
  }
  let parsed: unknown
  let ok = true
  try {
    parsed = JSON5.parse(raw)
  } catch (error) {
    if (error instanceof RangeError) throw tooDeep(segs) // the parser's own recursion overflowed
    ok = false
  }
  if (ok) checkStorable(parsed, segs)
  const expected = schemaAt(segs)
  if (wantsString(expected)) return ok && typeof parsed === 'string' ? parsed : raw
  // A list key given a bare value: keep the text, so the error shows what was typed ("+1555", not 1555).
  if (expected && unwrap(expected) instanceof z.ZodArray && !Array.isArray(parsed)) return raw
  return ok ? parsed : raw
}

/** How deeply a value may nest (objects and lists); the deepest config key is far shallower. */
export const MAX_VALUE_DEPTH = 32

function tooDeep(segs: readonly PathSegment[]): UsageError {
  return new UsageError(`the value for ${formatPath(segs)} nests more than ${MAX_VALUE_DEPTH} levels of objects or lists`, {
    code: 'bad_value',
    fix: `Set the inner keys one at a time (remoteclaw config set ${formatPath(segs)}.<key> <value>), at most ${MAX_VALUE_DEPTH} levels deep.`,
  })
}

/**
 * Values a config file can hold: JSON numbers are finite (JSON5's Infinity/NaN, or 1e400, which
 * reads as Infinity, would not survive a write), and nesting is bounded (checked without
 * recursion, before anything else walks the value).
 */
export function checkStorable(value: unknown, segs: readonly PathSegment[]): void {
  const stack: Array<[unknown, number, readonly PathSegment[]]> = [[value, 0, segs]]
  while (stack.length > 0) {
    const [v, depth, at] = stack.pop()!
    if (typeof v === 'number' && !Number.isFinite(v)) {
      throw new UsageError(`${formatPath(at)}: ${String(v)} is not a number a config file can hold (JSON numbers are finite)`, {
        code: 'bad_value',
        fix: 'Use a finite number (JSON has no Infinity or NaN, and 1e400 reads as Infinity).',
      })
    }
    if (v === null || typeof v !== 'object') continue
    if (depth >= MAX_VALUE_DEPTH) throw tooDeep(segs)
    if (Array.isArray(v)) v.forEach((x, i) => stack.push([x, depth + 1, [...at, i]]))
    else for (const [k, x] of Object.entries(v)) stack.push([x, depth + 1, [...at, k]])
  }
}
