import JSON5 from 'json5'
import {z} from 'zod'
import {UsageError} from '../errors.js'
import type {PathSegment} from './paths.js'
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
    try {
      return JSON.parse(raw)
    } catch (error) {
      throw new UsageError(`--strict-json: the value is not valid JSON (${(error as Error).message})`, {
        code: 'bad_value',
        fix: `Quote strings as JSON, e.g. '"${raw.replaceAll("'", '')}"', or drop --strict-json to accept JSON5 and plain strings.`,
      })
    }
  }
  let parsed: unknown
  let ok = true
  try {
    parsed = JSON5.parse(raw)
  } catch {
    ok = false
  }
  const expected = schemaAt(segs)
  if (wantsString(expected)) return ok && typeof parsed === 'string' ? parsed : raw
  // A list key given a bare value: keep the text, so the error shows what was typed ("+1555", not 1555).
  if (expected && unwrap(expected) instanceof z.ZodArray && !Array.isArray(parsed)) return raw
  return ok ? parsed : raw
}
