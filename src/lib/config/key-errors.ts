import {NotFoundError, RemoteclawError, UsageError} from '../errors.js'
import {defaultFor} from './docs.js'
import {firstUnknown, keysAt, levelName, nearestSetAncestor, suggestKeyPath, type HasPath} from './key-paths.js'
import {formatPath, type PathSegment} from './paths.js'
import {resolvedValue} from './resolved.js'
import type {RemoteclawConfig} from './schema.js'
import {shellQuote} from './validate.js'

/**
 * The errors of `config get/set/unset` for a path that is not set or not a config key. Each fix
 * is a command that runs on the file as it is (never "set" an unknown key, never "get" an unset
 * parent): the suggested-fixes test executes them.
 */


const cmd = (verb: string, segs: readonly PathSegment[]) => `remoteclaw config ${verb}${segs.length > 0 ? ` ${shellQuote(formatPath(segs))}` : ''}`

/** `remoteclaw config get <deepest part of the path that is set>` (the whole file when none is). */
function seeWhatIsSet(segs: readonly PathSegment[], has: HasPath): string {
  return `See what is set: ${cmd('get', nearestSetAncestor(segs, has))}`
}

/** How to read or set a known key that the file does not set. */
function unsetKeyFix(segs: readonly PathSegment[], has: HasPath, config: RemoteclawConfig | undefined, home: string | undefined): string {
  const set = `set it with: ${cmd('set', segs)} <value>`
  if (config && home !== undefined) {
    try {
      resolvedValue(config, formatPath(segs), {home})
      return `See the value in use: ${cmd('get', segs)} --resolved; ${set}`
    } catch {
      // Not an account key, or no account yet: --resolved would fail, so do not suggest it.
    }
  }
  return `${seeWhatIsSet(segs, has)}; ${set}`
}

function withDefault(segs: readonly PathSegment[]): string {
  const def = defaultFor(segs)
  return def === undefined ? '' : ` (default: ${JSON.stringify(def)})`
}

/** Why the path is not a key: which segment, and what is allowed there. */
function unknownReason(segs: readonly PathSegment[]): {what: string; allowed: string} {
  const i = Math.max(firstUnknown(segs), 0)
  const parent = segs.slice(0, i)
  const keys = keysAt(parent)
  if (!keys) return {what: `${levelName(parent)} holds a value, it has no keys`, allowed: `Set the value itself: ${cmd('set', parent)} <value>`}
  return {what: `${levelName(parent)} has no key "${String(segs[i])}"`, allowed: `Keys allowed at ${levelName(parent)}: ${keys.join(', ')}`}
}

/** `config get` of a known key the file does not set (exit 4). */
export function notSetError(segs: readonly PathSegment[], file: string, has: HasPath, config?: RemoteclawConfig, home?: string): NotFoundError {
  return new NotFoundError(`${formatPath(segs)} is not set in ${file}${withDefault(segs)}`, {
    code: 'config_path_not_found',
    fix: unsetKeyFix(segs, has, config, home),
  })
}

/** `config unset` of a path the file does not set (exit 4): nothing to remove. */
export function nothingToUnsetError(segs: readonly PathSegment[], file: string, has: HasPath): NotFoundError {
  const guess = firstUnknown(segs) >= 0 ? suggestKeyPath(segs) : undefined
  if (guess && has(guess)) {
    return new NotFoundError(`${formatPath(segs)} is not a config key and not set in ${file} (did you mean ${formatPath(guess)}?)`, {
      code: 'config_unknown_key',
      fix: cmd('unset', guess),
    })
  }
  const unknown = firstUnknown(segs) >= 0
  return new NotFoundError(
    `${formatPath(segs)} is not set in ${file}, nothing to remove${unknown ? ` (it is not a config key: ${unknownReason(segs).what}${guess ? `; did you mean ${formatPath(guess)}? It is not set either` : ''})` : withDefault(segs)}`,
    {code: unknown ? 'config_unknown_key' : 'config_path_not_found', fix: seeWhatIsSet(guess ?? segs, has)},
  )
}

/** `config get` of a path that is not a config key (exit 2). */
export function unknownKeyForGet(segs: readonly PathSegment[], file: string, has: HasPath, config: RemoteclawConfig, home: string | undefined): UsageError {
  const guess = suggestKeyPath(segs)
  const {what, allowed} = unknownReason(segs)
  if (!guess) {
    return new UsageError(`${formatPath(segs)} is not a config key: ${what}`, {code: 'config_unknown_key', fix: `${seeWhatIsSet(segs, has)}. ${allowed}`})
  }
  const fix = has(guess) ? cmd('get', guess) : unsetKeyFix(guess, has, config, home)
  const def = defaultFor(guess)
  const state = has(guess) ? '' : ` It is not set in ${file}${def === undefined ? '' : `; its default is ${JSON.stringify(def)}`}.`
  return new UsageError(`${formatPath(segs)} is not a config key (did you mean ${formatPath(guess)}?${state})`, {
    code: 'config_unknown_key',
    fix,
  })
}

/**
 * `config set` of a path that is not a config key (exit 2). `trySet` dry-runs the same value at
 * the suggested key: the fix is that command when it would be written, else what stands in its way.
 */
export async function unknownKeyForSet(
  segs: readonly PathSegment[],
  raw: string,
  flags: string,
  trySet: (guess: readonly PathSegment[]) => Promise<void>,
): Promise<UsageError> {
  const guess = suggestKeyPath(segs)
  const {what, allowed} = unknownReason(segs)
  if (!guess) return new UsageError(`${formatPath(segs)} is not a config key: ${what}`, {code: 'config_unknown_key', fix: allowed})
  const message = `${formatPath(segs)} is not a config key (did you mean ${formatPath(guess)}?)`
  try {
    await trySet(guess)
  } catch (error) {
    if (!(error instanceof RemoteclawError)) throw error
    return new UsageError(`${message}; setting ${formatPath(guess)} to that would be refused too: ${error.message}`, {code: 'config_unknown_key', fix: error.fix})
  }
  return new UsageError(message, {code: 'config_unknown_key', fix: `${cmd('set', guess)} ${shellQuote(raw)}${flags}`})
}
