import {distance} from 'fastest-levenshtein'
import {z} from 'zod'
import {referenceRows} from './docs.js'
import {formatPath, getAtPath, type PathSegment} from './paths.js'
import {schemaAt, unwrap} from './schema-walk.js'
import {didYouMean} from './validate.js'

/** True when the schema has a key at this path (map keys and list indexes are any key/index). */
export function isKnownPath(segs: readonly PathSegment[]): boolean {
  return segs.length > 0 && schemaAt(segs) !== undefined
}

let concrete: PathSegment[][] | undefined

/**
 * The key paths of the configuration reference (the same schema walk as the README) that can be
 * typed as they are: no `<id>`/`<chat_id>` placeholders, no `[]` list items.
 */
function concretePaths(): PathSegment[][] {
  concrete ??= referenceRows()
    .map((r) => r.path)
    .filter((p) => !p.includes('<') && !p.includes('[]'))
    .map((p) => p.split('.'))
  return concrete
}

/** The keys an object at this path allows, or undefined when it is not an object. */
export function keysAt(segs: readonly PathSegment[]): string[] | undefined {
  const t = segs.length === 0 ? schemaAt([]) : schemaAt(segs)
  const u = t ? unwrap(t) : undefined
  return u instanceof z.ZodObject ? Object.keys(u.shape as object) : undefined
}

/** Index of the first segment the schema does not know, or -1 when the path is known. */
export function firstUnknown(segs: readonly PathSegment[]): number {
  for (let i = 0; i < segs.length; i++) if (schemaAt(segs.slice(0, i + 1)) === undefined) return i
  return -1
}

/**
 * The known key path closest to a mistyped one: first a did-you-mean at the level that went
 * wrong (`channels.imessage.dmPolcy` -> `channels.imessage.dmPolicy`), else the reference path
 * whose last key is closest (`dmPolcy` or `dmPolicy` alone -> `channels.imessage.dmPolicy`).
 */
export function suggestKeyPath(segs: readonly PathSegment[]): PathSegment[] | undefined {
  let cur = [...segs]
  // Level by level: each pass repairs one mistyped segment (at most a few typos are worth guessing).
  for (let pass = 0; pass < 3; pass++) {
    const i = firstUnknown(cur)
    if (i < 0) return pass > 0 ? cur : undefined
    const allowed = keysAt(cur.slice(0, i))
    const guess = allowed ? didYouMean(String(cur[i]), allowed) : undefined
    if (!guess) break
    cur = [...cur.slice(0, i), guess, ...cur.slice(i + 1)]
  }
  if (firstUnknown(cur) < 0) return cur
  const last = String(segs.at(-1) ?? '')
  const candidates = concretePaths()
  const lastKeys = [...new Set(candidates.map((p) => String(p.at(-1))))]
  // Stricter than at one level: across every key, "nope" must not become "name".
  const lower = last.toLowerCase()
  const key =
    lastKeys.find((k) => k.toLowerCase() === lower) ??
    lastKeys.find((k) => distance(lower, k.toLowerCase()) <= Math.max(1, Math.floor(k.length / 4)))
  if (!key) return undefined
  // Several keys share a name (responsePrefix, historyLimit): the one whose path reads closest.
  const typed = formatPath(segs)
  const matches = candidates.filter((p) => p.at(-1) === key)
  matches.sort((a, b) => sharedPrefix(b.join('.'), typed) - sharedPrefix(a.join('.'), typed) || a.length - b.length)
  return matches[0]
}

function sharedPrefix(a: string, b: string): number {
  let n = 0
  while (n < a.length && n < b.length && a[n] === b[n]) n++
  return n
}

/** Whether a path is set in the file. */
export type HasPath = (segs: readonly PathSegment[]) => boolean

export const hasIn =
  (data: unknown): HasPath =>
  (segs) =>
    getAtPath(data, segs).found

/** The longest leading part of the path (not all of it) that the file sets ([] for the whole file). */
export function nearestSetAncestor(segs: readonly PathSegment[], has: HasPath): PathSegment[] {
  for (let n = segs.length - 1; n > 0; n--) if (has(segs.slice(0, n))) return segs.slice(0, n)
  return []
}

/** "the top level" or the path, for messages about where a key would go. */
export function levelName(segs: readonly PathSegment[]): string {
  return segs.length === 0 ? 'the top level' : formatPath(segs)
}
