import {isDeepStrictEqual} from 'node:util'
import {JsonObjectNode, type JsonPropertyNode} from '@croct/json5-parser'
import JSON5 from 'json5'
import {RemoteclawError} from '../errors.js'
import {editConfig, type ConfigCtx, type UpdateResult} from './store.js'

export interface MigrateResult extends UpdateResult {
  /** False when there was no legacy top-level `imessage` to move. */
  migrated: boolean
}

function findProp(obj: JsonObjectNode, key: string): JsonPropertyNode | undefined {
  return obj.properties.find((p) => String(p.key.toJSON()) === key)
}

/** Leading whitespace of the line holding `index`. */
function lineIndent(text: string, index: number): string {
  const start = text.lastIndexOf('\n', index - 1) + 1
  return /^[ \t]*/.exec(text.slice(start))![0]
}

/** The indentation unit used inside a block: first deeper-indented line, else two spaces. */
function indentUnit(block: string, base: string): string {
  for (const line of block.split('\n').slice(1)) {
    const m = /^[ \t]*/.exec(line)![0]
    if (line.trim() !== '' && m.length > base.length && m.startsWith(base)) return m.slice(base.length)
  }
  return base.includes('\t') ? '\t' : '  '
}

/**
 * Moves the legacy flat layout (`imessage.*` at the top level, as in the older docs) under
 * `channels.imessage`, as a text edit: every comment, key order and value formatting inside
 * the block is kept; its lines are indented one level deeper. Refuses when both exist.
 */
export function migrateText(before: string, root: JsonObjectNode, file: string): string | undefined {
  const legacy = findProp(root, 'imessage')
  if (!legacy) return undefined
  const channels = findProp(root, 'channels')
  if (channels) {
    const value = channels.value
    if (!(value instanceof JsonObjectNode)) {
      throw new RemoteclawError(`${file}: "channels" is not an object; cannot move "imessage" under it`, {
        code: 'migrate_conflict',
        fix: 'Fix "channels" by hand (it must be an object like { imessage: {...} }), then rerun: remoteclaw config migrate',
      })
    }
    if (findProp(value, 'imessage')) {
      const a = legacy.key.location.start
      const b = findProp(value, 'imessage')!.key.location.start
      throw new RemoteclawError(
        `${file}: both the legacy top-level "imessage" (line ${a.line}) and channels.imessage (line ${b.line}) exist; refusing to merge them automatically`,
        {
          code: 'migrate_conflict',
          fix: 'Move the keys you still need from imessage into channels.imessage by hand, then: remoteclaw config unset imessage   (only channels.imessage is read while both exist)',
        },
      )
    }
  }
  const start = legacy.key.location.start.index
  const end = legacy.value.location.end.index
  if (start < 0 || end <= start) throw new RemoteclawError(`${file}: cannot locate the "imessage" block`, {fix: 'Move imessage under channels by hand.'})
  const span = before.slice(start, end)
  const keyText = before.slice(start, legacy.key.location.end.index)
  const q = keyText.startsWith('"') || keyText.startsWith("'") ? keyText[0] : ''

  if (channels) {
    // Insert as the first entry of the existing (imessage-less) channels object, and delete the old block.
    const channelsValue = channels.value as JsonObjectNode
    const open = channelsValue.location.start.index
    const indent = lineIndent(before, channels.key.location.start.index)
    const unit = indentUnit(span, lineIndent(before, start))
    const inner = indent + unit
    const moved = span.split('\n').join(`\n${unit}`)
    const closeIdx = channelsValue.location.end.index - 1
    // an empty body holding only comments keeps them: insert before them instead of replacing it
    const emptyBody = channelsValue.properties.length === 0 && !/\/[/*]/.test(before.slice(open + 1, closeIdx))
    const inserted = emptyBody ? `\n${inner}${moved},\n${indent}` : `\n${inner}${moved},`
    let text = before
    // drop the legacy property, a following comma, and its whole line when it stood alone
    const lineStart = text.lastIndexOf('\n', start - 1) + 1
    const removeStart = text.slice(lineStart, start).trim() === '' ? lineStart : start
    let removeEnd = end + /^\s*,?[ \t]*/.exec(text.slice(end))![0].length
    if (removeStart === lineStart && text[removeEnd] === '\n') removeEnd++
    const ops: {at: number; del: number; ins: string}[] = [
      {at: removeStart, del: removeEnd - removeStart, ins: ''},
      emptyBody ? {at: open + 1, del: closeIdx - open - 1, ins: inserted} : {at: open + 1, del: 0, ins: inserted},
    ]
    ops.sort((x, y) => y.at - x.at)
    for (const op of ops) text = text.slice(0, op.at) + op.ins + text.slice(op.at + op.del)
    return text
  }

  if (!span.includes('\n')) {
    return `${before.slice(0, start)}${q}channels${q}: { ${span} }${before.slice(end)}`
  }
  const indent = lineIndent(before, start)
  const unit = indentUnit(span, indent)
  const trailingComma = /,\s*(\/\/[^\n]*\s*|\/\*[\s\S]*?\*\/\s*)*[}\]]$/.test(span) ? ',' : ''
  const moved = span.split('\n').join(`\n${unit}`)
  return `${before.slice(0, start)}${q}channels${q}: {\n${indent}${unit}${moved}${trailingComma}\n${indent}}${before.slice(end)}`
}

/** `config migrate`: the legacy layout moved under channels.imessage through the usual safe write. */
export async function migrateConfig(ctx: ConfigCtx, opts: {dryRun?: boolean} = {}): Promise<MigrateResult> {
  let migrated = false
  const r = await editConfig(
    ctx,
    (root, before) => {
      const text = migrateText(before, root, ctx.configPath)
      if (text === undefined) return before
      // Re-indenting is a text edit: make sure it moved the block and changed no value (a
      // multi-line string continued with a backslash would otherwise gain the new indentation).
      const {imessage, ...rest} = JSON5.parse(before) as Record<string, unknown>
      const channels = (rest.channels ?? {}) as Record<string, unknown>
      if (!isDeepStrictEqual(JSON5.parse(text), {...rest, channels: {...channels, imessage}})) {
        throw new RemoteclawError(`could not move "imessage" under channels in ${ctx.configPath} without changing a value; nothing was written`, {
          code: 'lossless_edit_failed',
          fix: 'Move the imessage block under channels by hand (channels: { imessage: {...} }), then check it: remoteclaw config validate',
        })
      }
      migrated = true
      return text
    },
    opts,
  )
  return {...r, migrated}
}
