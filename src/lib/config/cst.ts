import {
  JsonArrayNode,
  JsonIdentifierNode,
  JsonObjectNode,
  JsonParser,
  JsonParseError,
  JsonPrimitiveNode,
  JsonPropertyNode,
  JsonTokenNode,
  JsonTokenType,
  type JsonValueNode,
} from '@croct/json5-parser'
import {isDeepStrictEqual} from 'node:util'
import JSON5 from 'json5'
import {ExitCode, RemoteclawError, UsageError} from '../errors.js'
import {asIndex, formatPath, type PathSegment} from './paths.js'

/**
 * Lossless JSON5 editing on @croct/json5-parser's concrete syntax tree: comments, key order,
 * quoting and indentation of everything we do not touch survive a write.
 *
 * @croct/json5-parser 0.2 rejects reserved words as unquoted keys (`default: true`), which JSON5
 * allows (keys are IdentifierNames) and our own schema uses (agents.list[].default). This parser
 * subclass accepts them; it only ever builds keys, never values, from identifiers.
 */
class ConfigParser extends JsonParser {}
Object.defineProperty(ConfigParser.prototype, 'parseIdentifier', {
  value(this: {lexer: {consume(t: JsonTokenType): ConstructorParameters<typeof JsonTokenNode>[0] & {location: never}}}) {
    const token = this.lexer.consume(JsonTokenType.IDENTIFIER)
    const tokenNode = new JsonTokenNode(token)
    return new JsonIdentifierNode({token: tokenNode as JsonTokenNode<JsonTokenType.IDENTIFIER>, children: [tokenNode], location: token.location})
  },
})

export class CstParseError extends Error {
  constructor(
    message: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(message)
  }
}

/** Parses config text into an object CST. Empty text is an empty object. */
export function parseCst(text: string): {root: JsonObjectNode; fresh: boolean} {
  if (text.trim() === '') return {root: new ConfigParser('{}').parseValue(JsonObjectNode), fresh: true}
  try {
    const root = new ConfigParser(text).parseValue()
    if (!(root instanceof JsonObjectNode)) throw new CstParseError('the config must be a JSON5 object ({ ... })', 1, 1)
    return {root, fresh: false}
  } catch (error) {
    if (error instanceof CstParseError) throw error
    if (error instanceof JsonParseError) {
      const {line, column} = error.location.start
      throw new CstParseError(error.message.replace(/ at \d+:\d+\.?$/, ''), line, column)
    }
    throw new CstParseError((error as Error).message)
  }
}

/** U+2028/U+2029: JSON5 reads them raw inside strings, but ECMAScript and the editor's lexer do not. */
const HAS_SEPARATOR = /[\u2028\u2029]/
const escapeSeparators = (s: string): string => s.replace(/[\u2028\u2029]/g, (c) => (c === '\u2028' ? '\\u2028' : '\\u2029'))

/**
 * parseCst for a file to edit. A file with a raw U+2028/U+2029 in a string (valid JSON5, which
 * older versions wrote) is read with them escaped, when that reads back to the same data; the
 * next write then stores them escaped. `text` is what the CST renders unchanged.
 */
export function parseEditable(text: string, data?: unknown): {root: JsonObjectNode; fresh: boolean; text: string} {
  try {
    return {...parseCst(text), text}
  } catch (error) {
    if (!HAS_SEPARATOR.test(text)) throw error
    const escaped = escapeSeparators(text)
    let cst: ReturnType<typeof parseCst>
    try {
      cst = parseCst(escaped)
      if (!isDeepStrictEqual(JSON5.parse(escaped), data === undefined ? JSON5.parse(text) : data)) throw error
    } catch {
      throw error
    }
    return {...cst, text: escaped}
  }
}

/** Writes new strings (values and keys) with U+2028/U+2029 escaped: JSON.stringify leaves them raw. */
function escapeNewStrings(node: JsonValueNode | JsonPropertyNode['key']): void {
  if (node instanceof JsonObjectNode) {
    for (const p of node.properties) {
      escapeNewStrings(p.key)
      escapeNewStrings(p.value)
    }
  } else if (node instanceof JsonArrayNode) {
    node.elements.forEach(escapeNewStrings)
  } else if (node instanceof JsonPrimitiveNode && node.token.type === JsonTokenType.STRING && HAS_SEPARATOR.test(node.token.value)) {
    ;(node.token as {value: string}).value = escapeSeparators(node.token.value)
  }
}

export interface DuplicateKey {
  /** The duplicated key's path. */
  segs: PathSegment[]
  /** 1-based lines where it is written, in file order. */
  lines: number[]
}

/** Keys written more than once in the same object, anywhere in the file. */
export function duplicateKeys(root: JsonValueNode): DuplicateKey[] {
  const out: DuplicateKey[] = []
  const visit = (node: JsonValueNode, segs: PathSegment[]): void => {
    if (node instanceof JsonObjectNode) {
      const byKey = new Map<string, JsonPropertyNode[]>()
      for (const p of node.properties) {
        const k = String(p.key.toJSON())
        byKey.set(k, [...(byKey.get(k) ?? []), p])
      }
      for (const [k, props] of byKey) {
        if (props.length > 1) out.push({segs: [...segs, k], lines: props.map((p) => p.key.location.start.line)})
        visit(props.at(-1)!.value, [...segs, k])
      }
    } else if (node instanceof JsonArrayNode) {
      node.elements.forEach((e, i) => visit(e, [...segs, i]))
    }
  }
  visit(root, [])
  return out
}

/** "x is written 2 times (lines 3 and 9); only the last one counts" */
export function duplicateKeyMessage(d: DuplicateKey): string {
  return `${formatPath(d.segs)} ${duplicateKeyDetail(d.lines)}`
}

/** "is written 2 times (lines 3 and 9); only the last one counts" */
export function duplicateKeyDetail(lines: number[]): string {
  return `is written ${lines.length} times (lines ${lines.slice(0, -1).join(', ')} and ${lines.at(-1)}); only the last one counts`
}

export const DUPLICATE_KEY_FIX = 'Delete the ones you do not want from the file (remoteclaw config validate checks it), then retry.'

/** Output style for a file we create: two-space indent, unquoted keys, trailing commas. */
export const FRESH_FORMAT = {
  indentationCharacter: 'space',
  property: {unquoted: true, quote: 'double'},
  string: {quote: 'double'},
  object: {
    indentationSize: 2,
    entryIndentation: true,
    leadingIndentation: true,
    trailingIndentation: true,
    trailingComma: true,
    commaSpacing: true,
    colonSpacing: true,
  },
  array: {
    indentationSize: 2,
    entryIndentation: true,
    leadingIndentation: true,
    trailingIndentation: true,
    trailingComma: true,
    commaSpacing: true,
    colonSpacing: true,
  },
} as const

export function renderCst(root: JsonObjectNode, fresh: boolean): string {
  escapeNewStrings(root)
  if (!fresh) return root.toString()
  const out = root.toString(FRESH_FORMAT as never)
  return out.endsWith('\n') ? out : out + '\n'
}

function childOf(node: JsonValueNode, seg: PathSegment): JsonValueNode | undefined {
  if (node instanceof JsonObjectNode) {
    const key = String(seg)
    return node.has(key) ? node.get(key) : undefined
  }
  if (node instanceof JsonArrayNode) {
    const i = asIndex(seg)
    return i !== undefined && i < node.elements.length ? node.get(i) : undefined
  }
  return undefined
}

/** The CST node at a path, or undefined. */
export function cstGet(root: JsonValueNode, segs: readonly PathSegment[]): JsonValueNode | undefined {
  let cur: JsonValueNode | undefined = root
  for (const s of segs) {
    if (!cur) return undefined
    cur = childOf(cur, s)
  }
  return cur
}

export interface SourcePoint {
  line: number
  column: number
  /** How many segments of the path were found (== path length when the key itself exists). */
  depth: number
}

/**
 * Where a key path is written in the text: the position of its key (or array element). When
 * the path does not exist, the deepest existing ancestor. Undefined for the root.
 */
export function locatePath(root: JsonValueNode, segs: readonly PathSegment[]): SourcePoint | undefined {
  let cur: JsonValueNode = root
  let best: SourcePoint | undefined
  for (let d = 0; d < segs.length; d++) {
    const s = segs[d]!
    let next: JsonValueNode | undefined
    let at: {line: number; column: number} | undefined
    if (cur instanceof JsonObjectNode) {
      const prop = cur.properties.find((p) => String(p.key.toJSON()) === String(s))
      if (prop) {
        next = prop.value
        at = prop.key.location.start
      }
    } else if (cur instanceof JsonArrayNode) {
      const i = asIndex(s)
      if (i !== undefined && i < cur.elements.length) {
        next = cur.elements[i]
        at = next?.location.start
      }
    }
    if (!next || !at) break
    if (at.line > 0) best = {line: at.line, column: at.column, depth: d + 1}
    cur = next
  }
  return best
}

function cannotDescend(segs: readonly PathSegment[], d: number, what: string): UsageError {
  const parent = formatPath(segs.slice(0, d)) || '(top level)'
  return new UsageError(`cannot set ${formatPath(segs)}: ${parent} is ${what}`, {
    code: 'bad_path',
    fix: `Unset ${parent} first, or set a path that matches the config's shape (see: remoteclaw config get ${parent}).`,
  })
}

function describeNode(node: JsonValueNode): string {
  if (node instanceof JsonArrayNode) return 'a list (use [N] to index it)'
  if (node instanceof JsonObjectNode) return 'an object'
  return `a ${typeof node.toJSON()} (${JSON.stringify(node.toJSON())})`
}

/**
 * Sets a value, creating missing objects (or arrays, when the next segment is [N]) on the way.
 * An array index equal to the length appends; beyond it is an error.
 */
/**
 * A key written twice in one object: JSON5 (and remoteclaw) read the last one, while the CST
 * edits the first, so a set or unset would report success and change nothing. Refuse instead.
 */
function assertUniqueKey(obj: JsonObjectNode, key: string, segs: readonly PathSegment[], d: number): void {
  const props = obj.properties.filter((p) => String(p.key.toJSON()) === key)
  if (props.length < 2) return
  const lines = props.map((p) => p.key.location.start.line)
  throw new RemoteclawError(duplicateKeyMessage({segs: segs.slice(0, d + 1), lines}), {
    code: 'config_invalid',
    exitCode: ExitCode.CONFIG_INVALID,
    fix: DUPLICATE_KEY_FIX,
  })
}

export function cstSet(root: JsonObjectNode, segs: readonly PathSegment[], value: unknown): void {
  if (segs.length === 0) throw new UsageError('cannot set the whole config', {fix: 'Name a key path, e.g. channels.imessage.enabled'})
  const unquoted = prefersUnquotedKeys(root)
  let cur: JsonValueNode = root
  for (let d = 0; d < segs.length; d++) {
    const s = segs[d]!
    const last = d === segs.length - 1
    const nextSeg = segs[d + 1]
    const fresh = (): unknown => (last ? value : typeof nextSeg === 'number' ? [] : {})
    if (cur instanceof JsonObjectNode) {
      const key = String(s)
      assertUniqueKey(cur, key, segs, d)
      if (last || !cur.has(key)) put(cur, key, fresh(), unquoted)
      if (last) return
      cur = cur.get(key)
    } else if (cur instanceof JsonArrayNode) {
      const i = asIndex(s)
      if (i === undefined) throw cannotDescend(segs, d, 'a list (use [N] to index it)')
      const len = cur.elements.length
      if (i > len) {
        throw new UsageError(`cannot set ${formatPath(segs)}: ${formatPath(segs.slice(0, d))} has ${len} item(s)`, {
          code: 'bad_path',
          fix: `Use index ${len} to append, or an index below ${len} to replace.`,
        })
      }
      if (i === len || last) put(cur, i, fresh(), unquoted)
      if (last) return
      cur = cur.get(i)
    } else {
      throw cannotDescend(segs, d, describeNode(cur))
    }
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/** The file's key style: unquoted (`dmPolicy:`) unless most identifier-like keys are quoted. */
function prefersUnquotedKeys(root: JsonObjectNode): boolean {
  let bare = 0
  let quoted = 0
  const visit = (n: JsonValueNode) => {
    if (n instanceof JsonObjectNode) {
      for (const p of n.properties) {
        if (p.key instanceof JsonIdentifierNode) bare++
        else if (IDENTIFIER.test(String(p.key.toJSON()))) quoted++
        visit(p.value)
      }
    } else if (n instanceof JsonArrayNode) n.elements.forEach(visit)
  }
  visit(root)
  return bare >= quoted
}

function identifierKey(name: string): JsonIdentifierNode {
  const token = new JsonTokenNode({type: JsonTokenType.IDENTIFIER, value: name})
  return new JsonIdentifierNode({token, children: [token]})
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/**
 * Writes a value into an object key or array slot. New keys follow the file's quoting style,
 * also inside new objects (built entry by entry for that reason); an existing key is updated in
 * place so its surrounding comments and layout stay.
 */
function put(container: JsonObjectNode | JsonArrayNode, at: string | number, value: unknown, unquoted: boolean): void {
  const composite = (isPlainObject(value) && Object.keys(value).length > 0) || (Array.isArray(value) && value.some((v) => isPlainObject(v)))
  if (container instanceof JsonObjectNode) {
    const key = String(at)
    if (container.has(key) || !composite) {
      container.set(container.has(key) || !unquoted || !IDENTIFIER.test(key) ? key : identifierKey(key), value as never)
      return
    }
    container.set(unquoted && IDENTIFIER.test(key) ? identifierKey(key) : key, (Array.isArray(value) ? [] : {}) as never)
    fill(container.get(key) as JsonObjectNode | JsonArrayNode, value, unquoted)
    return
  }
  const i = at as number
  if (i < container.elements.length || !composite) {
    if (i < container.elements.length) container.set(i, value as never)
    else container.push(value as never)
    return
  }
  container.push((Array.isArray(value) ? [] : {}) as never)
  fill(container.get(i) as JsonObjectNode | JsonArrayNode, value, unquoted)
}

function fill(node: JsonObjectNode | JsonArrayNode, value: unknown, unquoted: boolean): void {
  if (node instanceof JsonObjectNode && isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) put(node, k, v, unquoted)
  } else if (node instanceof JsonArrayNode && Array.isArray(value)) {
    value.forEach((v, i) => put(node, i, v, unquoted))
  }
}

/** Removes a key or array element; false when it did not exist. */
export function cstUnset(root: JsonObjectNode, segs: readonly PathSegment[]): boolean {
  if (segs.length === 0) throw new UsageError('cannot unset the whole config', {fix: 'Name a key path, e.g. channels.imessage.dmPolicy'})
  let node: JsonValueNode | undefined = root
  for (let d = 0; d < segs.length && node; d++) {
    if (node instanceof JsonObjectNode) assertUniqueKey(node, String(segs[d]), segs, d)
    node = childOf(node, segs[d]!)
  }
  const parent = cstGet(root, segs.slice(0, -1))
  const s = segs.at(-1)!
  if (parent instanceof JsonObjectNode) {
    const key = String(s)
    const prop = parent.properties.find((p) => String(p.key.toJSON()) === key)
    if (!prop) return false
    removeEntry(parent, prop)
    parent.delete(key)
    return true
  }
  if (parent instanceof JsonArrayNode) {
    const i = asIndex(s)
    if (i === undefined || i >= parent.elements.length) return false
    removeEntry(parent, parent.elements[i]!)
    parent.delete(i)
    return true
  }
  return false
}

const isTok = (k: unknown, ...types: JsonTokenType[]): k is JsonTokenNode => k instanceof JsonTokenNode && types.includes(k.type)
const SPACE = [JsonTokenType.WHITESPACE]
const COMMENTS = [JsonTokenType.LINE_COMMENT, JsonTokenType.BLOCK_COMMENT]

/**
 * Removes an entry from its structure's token list the way a person would: with its comma, and
 * when it sat on its own line, with that whole line (including a comment trailing it on that
 * line). @croct/json5-parser's own delete leaves the entry's indentation behind and, for compact
 * structures such as `{a: 1}`, renders a doubled closing delimiter.
 */
function removeEntry(node: JsonObjectNode | JsonArrayNode, entry: JsonValueNode | JsonPropertyNode): void {
  const kids = node.children
  const i = kids.indexOf(entry)
  if (i < 0) return
  let end = i + 1 // exclusive
  while (isTok(kids[end], ...SPACE)) end++
  const hadComma = isTok(kids[end], JsonTokenType.COMMA)
  if (hadComma) end++
  let start = i
  while (start > 0 && isTok(kids[start - 1], ...SPACE)) start--
  const ownLine = start > 0 && isTok(kids[start - 1], JsonTokenType.NEWLINE)
  if (ownLine) {
    let j = end
    while (isTok(kids[j], ...SPACE)) j++
    if (isTok(kids[j], JsonTokenType.LINE_COMMENT)) j++
    if (isTok(kids[j], JsonTokenType.NEWLINE)) end = j + 1
    else start = i // something else follows on the line: keep the line's indentation
  } else if (!hadComma) {
    // last entry inline (`{a: 1, b: 2}`): take the comma before it instead
    let p = i - 1
    while (p > 0 && isTok(kids[p], ...SPACE)) p--
    if (isTok(kids[p], JsonTokenType.COMMA)) start = p
  } else {
    start = i
    while (isTok(kids[end], ...SPACE)) end++
  }
  kids.splice(start, end - start)
  const remaining = (node instanceof JsonObjectNode ? node.properties.length : node.elements.length) - 1
  if (remaining === 0) collapseIfEmpty(node)
}

/** An emptied structure without comments inside becomes just its delimiters: `{}` / `[]`. */
function collapseIfEmpty(node: JsonObjectNode | JsonArrayNode): void {
  const kids = node.children
  // the root also holds the file's leading/trailing comments: look only between the delimiters
  const open = kids.findIndex((k) => isTok(k, JsonTokenType.BRACE_LEFT, JsonTokenType.BRACKET_LEFT))
  let close = -1
  for (let i = kids.length - 1; i > open; i--) {
    if (isTok(kids[i], JsonTokenType.BRACE_RIGHT, JsonTokenType.BRACKET_RIGHT)) {
      close = i
      break
    }
  }
  if (open < 0 || close < 0) return
  const inner = kids.slice(open + 1, close)
  if (inner.some((k) => isTok(k, ...COMMENTS) || k instanceof JsonPropertyNode || !(k instanceof JsonTokenNode))) return
  kids.splice(open + 1, close - open - 1)
}
