import path from 'node:path'
import fsp from 'node:fs/promises'
import {isDeepStrictEqual} from 'node:util'
import JSON5 from 'json5'
import type {JsonObjectNode} from '@croct/json5-parser'
import type {Context} from '../context.js'
import {RemoteclawError, UsageError} from '../errors.js'
import {ensureDir700, withFileLock, writeFileAtomic600} from '../util/files.js'
import {cstGet, cstSet, cstUnset, parseCst, parseEditable, renderCst, CstParseError} from './cst.js'
import {notSetError, nothingToUnsetError, unknownKeyForGet, unknownKeyForSet} from './key-errors.js'
import {hasIn, isKnownPath} from './key-paths.js'
import {configInvalid, ConfigInvalidError, loadConfig, readConfigText, syntaxIssue} from './load.js'
import {formatPath, getAtPath, toSegments, type PathSegment} from './paths.js'
import {formatIssue, validateConfig, type ConfigIssue} from './validate.js'
import {parseCliValue} from './value.js'

/** What a mutation sees: the config file as a document, edited losslessly. */
export interface ConfigDocument {
  /** Plain value at a path (as written in the file, no defaults), or undefined. */
  get(path: string | readonly PathSegment[]): unknown
  /** Sets a value, creating missing objects/arrays; `[N]` with N == length appends. */
  set(path: string | readonly PathSegment[], value: unknown): void
  /** Removes a key or array item; false when it was not there. */
  unset(path: string | readonly PathSegment[]): boolean
}

export interface UpdateResult {
  path: string
  /** File text before ('' when the file did not exist). */
  before: string
  /** File text after (what was, or with dryRun would be, written). */
  after: string
  /** Unified diff before -> after ('' when unchanged). */
  diff: string
  changed: boolean
  /** Warnings about the resulting config, formatted one per line. */
  warnings: string[]
  /** The backup written (previous content, 0600), when the file existed and changed. */
  backupPath?: string
}

export type ConfigCtx = Pick<Context, 'configPath'> & Partial<Pick<Context, 'home' | 'stateDir'>>

export function backupPathFor(configPath: string): string {
  return `${configPath}.bak`
}

function documentFor(root: JsonObjectNode): ConfigDocument {
  return {
    get: (p) => cstGet(root, toSegments(p))?.toJSON(),
    set: (p, value) => cstSet(root, toSegments(p), value),
    unset: (p) => cstUnset(root, toSegments(p)),
  }
}

/**
 * The one way config files are written (CLI, setup wizard, gateway `/config`). Under a
 * cross-process lock on the config path:
 *  1. read the file; a syntax error is ConfigInvalidError (exit 7, file:line:col), nothing written;
 *  2. apply `edit` to the lossless CST (comments, order and formatting survive);
 *  3. validate the WHOLE result: invalid is UsageError (exit 2) with the reason, the file
 *     byte-identical; except when the file was already invalid and still is: ConfigInvalidError
 *     (exit 7) naming the existing errors (an edit that removes some of them and adds none is
 *     written, the rest reported in `warnings` as "still invalid: ...");
 *  4. unless dryRun: backup `<file>.bak` (previous content, 0600), then atomic write with mode
 *     0600 (also when the file was 0644) in a 0700 directory.
 */
export async function editConfig(
  ctx: ConfigCtx,
  /** Mutates the CST in place, or returns the complete new text (for edits the CST cannot express). */
  edit: (root: JsonObjectNode, before: string) => void | string | Promise<void | string>,
  opts: {dryRun?: boolean} = {},
): Promise<UpdateResult> {
  const file = ctx.configPath
  const run = async (): Promise<UpdateResult> => {
    const {text: before, exists} = await readConfigText(file)
    const syntax = syntaxIssue(before, file)
    if (syntax) throw configInvalid([syntax])
    const beforeData: unknown = before.trim() === '' ? {} : JSON5.parse(before)
    const priorErrors = validateConfig(beforeData, {file, text: before, home: ctx.home}).errors

    let cst: ReturnType<typeof parseEditable>
    try {
      cst = parseEditable(before, beforeData)
    } catch (error) {
      const e = error as CstParseError
      const where = e.line ? `${file}:${e.line}:${e.column}` : file
      throw new ConfigInvalidError(`${where}: cannot edit this file without reformatting it: ${e.message}`, {
        fix: 'Quote that key or value in the file (e.g. "key": ...), then retry; remoteclaw never rewrites a file it cannot keep intact.',
      })
    }
    const replaced = await edit(cst.root, cst.text)
    const after = typeof replaced === 'string' ? replaced : renderCst(cst.root, cst.fresh)
    const changed = after !== before

    // Safety net: never write text that does not parse back to exactly what the edit meant.
    let data: unknown
    try {
      data = JSON5.parse(after)
    } catch {
      data = undefined
    }
    const intended = typeof replaced === 'string' ? data : cst.root.toJSON()
    if (data === undefined || !isDeepStrictEqual(data, intended)) {
      throw new RemoteclawError(`could not edit ${file} without breaking its formatting; nothing was written`, {
        code: 'lossless_edit_failed',
        fix: 'Edit the file by hand (remoteclaw config validate checks it), and report this as a bug with the file attached.',
        details: {after},
      })
    }
    // ... and never text the editor could not edit again (config set would then refuse the file).
    try {
      if (after.trim() !== '') parseCst(after)
    } catch (error) {
      throw new RemoteclawError(`could not write ${file} in a form remoteclaw can edit again (${(error as Error).message}); nothing was written`, {
        code: 'lossless_edit_failed',
        fix: 'Edit the file by hand (remoteclaw config validate checks it), and report this as a bug with the value you set.',
        details: {after},
      })
    }
    const result = validateConfig(data, {file, text: after, home: ctx.home})
    // A file that was invalid may be repaired one error at a time (each error's fix is one
    // command): an edit that removes errors and adds none is written; what is left is reported.
    const issueKey = (e: ConfigIssue) => `${e.path}\u0000${e.message}`
    const prior = new Set(priorErrors.map(issueKey))
    const repairs = priorErrors.length > 0 && result.errors.length < priorErrors.length && result.errors.every((e) => prior.has(issueKey(e)))
    if (result.errors.length > 0 && !repairs) {
      if (priorErrors.length > 0) throw configInvalid(priorErrors)
      const first = result.errors[0]!
      const lines = result.errors.map((e) => `${e.path || '(top level)'}: ${e.message}`)
      throw new UsageError(
        `not written, the result would be invalid: ${lines[0]}${lines.length > 1 ? ` (and ${lines.length - 1} more: ${lines.slice(1).join('; ')})` : ''}`,
        {code: 'config_change_invalid', fix: first.fix ? `${first.fix}   (${file} is unchanged)` : `${file} is unchanged.`, details: {errors: result.errors}},
      )
    }
    const warnings = [
      ...result.errors.map((e) => `still invalid: ${formatIssue(e)}${e.fix ? ` (fix: ${e.fix})` : ''}`),
      ...result.warnings.map((w) => `${formatIssue(w)}${w.fix ? ` (fix: ${w.fix})` : ''}`),
    ]
    // diff is loaded only by edits: `config get` and the gateway's reads never need it.
    const diff = changed ? (await import('diff')).createPatch(file, before, after, 'before', 'after') : ''
    const out: UpdateResult = {path: file, before, after, diff, changed, warnings}
    if (opts.dryRun) return out
    if (changed) {
      // The state dir is ours: keep it 0700. A config placed elsewhere leaves its folder alone.
      if (ctx.stateDir && path.dirname(path.resolve(file)) === path.resolve(ctx.stateDir)) await ensureDir700(ctx.stateDir)
      if (exists) {
        out.backupPath = backupPathFor(file)
        await writeFileAtomic600(out.backupPath, before)
      }
      await writeFileAtomic600(file, after)
    } else if (exists) {
      await fsp.chmod(file, 0o600).catch(() => {})
    }
    return out
  }
  // A dry run only reads: no lock, so it creates nothing (not even the state dir).
  return opts.dryRun ? run() : withFileLock(file, run)
}

/** updateConfig with a ConfigDocument (get/set/unset by path). Signature shared with the gateway and wizard. */
export async function updateConfig(
  ctx: ConfigCtx,
  mutate: (doc: ConfigDocument) => void | Promise<void>,
  opts: {dryRun?: boolean} = {},
): Promise<UpdateResult> {
  return editConfig(
    ctx,
    async (root) => {
      await mutate(documentFor(root))
    },
    opts,
  )
}

export interface SetResult extends UpdateResult {
  /** Canonical key path. */
  key: string
  value: unknown
}

/** `config set`: parse the path and the value (schema-aware, see value.ts), then updateConfig. */
export async function setConfigValue(
  ctx: ConfigCtx,
  path: string,
  raw: string,
  opts: {strictJson?: boolean; dryRun?: boolean} = {},
): Promise<SetResult> {
  const segs = toSegments(path)
  if (!isKnownPath(segs)) {
    throw await unknownKeyForSet(segs, raw, opts.strictJson ? ' --strict-json' : '', async (guess) => {
      await setConfigValue(ctx, formatPath(guess), raw, {...opts, dryRun: true})
    })
  }
  const value = parseCliValue(raw, segs, opts)
  const r = await updateConfig(ctx, (doc) => doc.set(segs, value), opts)
  return {...r, key: formatPath(segs), value}
}

/** `config unset`: NotFoundError (exit 4) when the path is not in the file. */
export async function unsetConfigValue(ctx: ConfigCtx, path: string, opts: {dryRun?: boolean} = {}): Promise<SetResult> {
  const segs = toSegments(path)
  let value: unknown
  const r = await updateConfig(
    ctx,
    (doc) => {
      value = doc.get(segs)
      if (!doc.unset(segs)) throw nothingToUnsetError(segs, ctx.configPath, (p) => doc.get(p) !== undefined)
    },
    opts,
  )
  return {...r, key: formatPath(segs), value}
}

export interface GetResult {
  key: string
  value: unknown
  warnings: string[]
}

/** `config get`: the value as written in the file (the whole file without a path). Exit 4 when not set. */
export async function getConfigValue(ctx: ConfigCtx, path?: string): Promise<GetResult> {
  const loaded = await loadConfig(ctx)
  const data = loaded.text.trim() === '' ? {} : (JSON5.parse(loaded.text) as unknown)
  if (path === undefined || path === '') return {key: '', value: data, warnings: loaded.warnings}
  const segs = toSegments(path)
  const got = getAtPath(data, segs)
  if (!got.found) {
    if (!isKnownPath(segs)) throw unknownKeyForGet(segs, loaded.path, hasIn(data), loaded.config, ctx.home)
    throw notSetError(segs, loaded.path, hasIn(data), loaded.config, ctx.home)
  }
  return {key: formatPath(segs), value: got.value, warnings: loaded.warnings}
}
