import os from 'node:os'
import {closest, distance} from 'fastest-levenshtein'
import {z} from 'zod'
import {INHERITED_COLLECTIONS, isNonEmpty, resolveAccounts} from './accounts.js'
import {CstParseError, DUPLICATE_KEY_FIX, duplicateKeyDetail, duplicateKeys, locatePath, parseEditable} from './cst.js'
import {formatPath, shellQuote, type PathSegment} from './paths.js'
import {configSchema, DEFAULT_ACCOUNT_ID, type IMessageChannelConfig, type RemoteclawConfig} from './schema.js'
import {unwrap} from './schema-walk.js'
import {dmOpenWarning, groupsAllowlistEmptyWarning, LEGACY_LAYOUT_WARNING, overrideReplacesWarning, type ConfigWarning} from './warnings.js'

export interface ConfigIssue {
  /** Key path, e.g. channels.imessage.dmPolicy ('' for the whole file). */
  path: string
  /** "file:line:col" when the key is found in the text, else "file". */
  where: string
  line?: number
  column?: number
  message: string
  /** A command to run or a key to change. */
  fix?: string
}

export interface ValidationResult {
  errors: ConfigIssue[]
  warnings: ConfigIssue[]
}

/** One line: `file:line:col: key.path: message`. */
export function formatIssue(issue: ConfigIssue): string {
  return `${issue.where}: ${issue.path ? `${issue.path}: ` : ''}${issue.message}`
}

export {shellQuote} from './paths.js'

/** The suggestion for an unknown name: same letters ignoring case, else a close edit distance. */
export function didYouMean(name: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0) return undefined
  const lower = name.toLowerCase()
  const sameCase = candidates.find((c) => c.toLowerCase() === lower)
  if (sameCase) return sameCase
  const best = closest(lower, candidates.map((c) => c.toLowerCase()))
  const found = candidates.find((c) => c.toLowerCase() === best)!
  return distance(lower, best) <= Math.max(2, Math.floor(found.length / 3)) ? found : undefined
}

type Locator = (segs: readonly PathSegment[]) => {line: number; column: number} | undefined

/** Finds keys in the text; the concrete syntax tree is only built once an issue needs a location. */
function makeLocator(text: string): Locator {
  let root: ReturnType<typeof parseEditable>['root'] | null | undefined
  return (segs) => {
    if (root === undefined) {
      try {
        root = parseEditable(text).root
      } catch {
        root = null
      }
    }
    return root ? locatePath(root, segs) : undefined
  }
}

/**
 * What `config set` refuses in a file that JSON5 reads: a key written twice (JSON5 keeps the
 * last, silently: the gateway once lost a whole `channels` block that way), and text the
 * lossless editor cannot parse. Both are errors, so validate, the gateway and set agree.
 */
function checkEditable(text: string, file: string, data: unknown, out: Collector): void {
  if (text.trim() === '') return
  let root: ReturnType<typeof parseEditable>['root']
  try {
    root = parseEditable(text, data).root
  } catch (error) {
    const e = error as CstParseError
    out.errors.push({
      path: '',
      where: e.line ? `${file}:${e.line}:${e.column}` : file,
      line: e.line,
      column: e.column,
      message: `remoteclaw cannot edit this file without reformatting it: ${e.message}`,
      fix: 'Quote that key or value in the file (e.g. "key": ...); remoteclaw never rewrites a file it cannot keep intact.',
    })
    return
  }
  for (const d of duplicateKeys(root)) out.add('error', d.segs, duplicateKeyDetail(d.lines), DUPLICATE_KEY_FIX)
}

class Collector {
  readonly errors: ConfigIssue[] = []
  readonly warnings: ConfigIssue[] = []
  private readonly seen = new Set<string>()
  constructor(
    private readonly file: string,
    private readonly locate: Locator,
  ) {}

  add(kind: 'error' | 'warning', segs: readonly PathSegment[], message: string, fix?: string): void {
    const path = formatPath(segs)
    const key = `${kind}\0${path}\0${message}`
    if (this.seen.has(key)) return
    this.seen.add(key)
    const at = this.locate(segs)
    const issue: ConfigIssue = {
      path,
      where: at ? `${this.file}:${at.line}:${at.column}` : this.file,
      line: at?.line,
      column: at?.column,
      message,
      fix,
    }
    ;(kind === 'error' ? this.errors : this.warnings).push(issue)
  }

  /** A warning worded in warnings.ts (the same words in every place that reports it). */
  warn(segs: readonly PathSegment[], w: ConfigWarning): void {
    this.add('warning', segs, w.message, w.fix)
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** Unknown keys at every object level, each with a did-you-mean from the keys allowed there. */
function checkUnknownKeys(data: unknown, schema: z.ZodTypeAny, segs: PathSegment[], out: Collector): void {
  const t = unwrap(schema)
  if (t instanceof z.ZodObject && isPlainObject(data)) {
    const shape = t.shape as Record<string, z.ZodTypeAny>
    const allowed = Object.keys(shape)
    for (const key of Object.keys(data)) {
      const here = [...segs, key]
      if (!Object.prototype.hasOwnProperty.call(shape, key)) {
        const guess = didYouMean(key, allowed)
        const p = formatPath(here)
        const guessSet = guess !== undefined && Object.prototype.hasOwnProperty.call(data, guess)
        out.add(
          'error',
          here,
          `unknown key "${key}"${guess ? ` (did you mean "${guess}"?${guessSet ? ` It is already set next to it.` : ''})` : ''}`,
          guess && !guessSet
            ? `Rename it to ${guess}, or remove it: remoteclaw config unset ${shellQuote(p)}`
            : guess
              ? `Remove the misspelled key: remoteclaw config unset ${shellQuote(p)}`
              : `Remove it (remoteclaw config unset ${shellQuote(p)}); keys allowed here: ${allowed.join(', ')}`,
        )
        continue
      }
      checkUnknownKeys(data[key], shape[key]!, here, out)
    }
  } else if (t instanceof z.ZodRecord && isPlainObject(data)) {
    for (const key of Object.keys(data)) checkUnknownKeys(data[key], t.valueSchema as z.ZodTypeAny, [...segs, key], out)
  } else if (t instanceof z.ZodArray && Array.isArray(data)) {
    data.forEach((item, i) => checkUnknownKeys(item, t.element as z.ZodTypeAny, [...segs, i], out))
  }
}

type Trial = (segs: readonly PathSegment[], value: unknown) => ConfigIssue[]

/** A copy of plain JSON data with one value replaced. */
function withValue(data: unknown, segs: readonly PathSegment[], value: unknown): unknown {
  const copy = structuredClone(data) as Record<string | number, unknown>
  let cur: Record<string | number, unknown> = copy
  for (const s of segs.slice(0, -1)) cur = cur[s] as Record<string | number, unknown>
  cur[segs.at(-1)!] = value
  return copy
}

/** A copy of the data without keys the schema does not know (already reported above). */
function stripUnknown(data: unknown, schema: z.ZodTypeAny): unknown {
  const t = unwrap(schema)
  if (t instanceof z.ZodObject && isPlainObject(data)) {
    const shape = t.shape as Record<string, z.ZodTypeAny>
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(data)) if (Object.prototype.hasOwnProperty.call(shape, k)) out[k] = stripUnknown(v, shape[k]!)
    return out
  }
  if (t instanceof z.ZodRecord && isPlainObject(data)) {
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, stripUnknown(v, t.valueSchema as z.ZodTypeAny)]))
  }
  if (t instanceof z.ZodArray && Array.isArray(data)) return data.map((v) => stripUnknown(v, t.element as z.ZodTypeAny))
  return data
}

/**
 * Type issues (unknown keys excluded, they have their own message). Returns the typed config
 * for the semantic rules: also when unknown keys were the only problem, so one run of
 * `config validate` lists the semantic errors too.
 */
function schemaIssues(data: unknown, out: Collector, trial: Trial): RemoteclawConfig | undefined {
  const accepts = (segs: readonly PathSegment[], value: unknown) => trial(segs, value).length === 0
  const refusal = (segs: readonly PathSegment[], value: unknown) => trial(segs, value)[0]?.message ?? ''

  const parsed = configSchema.safeParse(data)
  if (parsed.success) return parsed.data
  if (parsed.error.issues.every((i) => i.code === 'unrecognized_keys')) {
    const stripped = configSchema.safeParse(stripUnknown(data, configSchema))
    if (stripped.success) return stripped.data
  }
  for (const issue of parsed.error.issues) {
    if (issue.code === 'unrecognized_keys') continue // reported with a did-you-mean above
    const segs = issue.path
    const p = formatPath(segs)
    let message = issue.message
    let fix: string | undefined
    if (issue.code === 'invalid_enum_value') {
      const options = issue.options.map(String)
      const guess = typeof issue.received === 'string' ? didYouMean(issue.received, options) : undefined
      message = `must be one of ${options.join(', ')}; got ${JSON.stringify(issue.received)}${guess ? ` (did you mean "${guess}"?)` : ''}`
      // Suggest a value that the rest of the file accepts (dmPolicy "open" also needs "*" in allowFrom).
      const first = guess ?? options[0]!
      const works = [first, ...options.filter((o) => o !== first)].find((o) => accepts(segs, o))
      fix =
        works === undefined || works === first
          ? `remoteclaw config set ${shellQuote(p)} ${first}`
          : `remoteclaw config set ${shellQuote(p)} ${works}   (${JSON.stringify(first)} would be refused: ${refusal(segs, first)})`
    } else if (issue.code === 'invalid_type') {
      message = issue.received === 'undefined' ? `is required (${issue.expected})` : `must be ${issue.expected}, not ${issue.received}`
      if (segs.length > 0 && issue.expected === 'array') {
        fix = `Lists are written as JSON5: remoteclaw config set ${shellQuote(p)} '["a", "b"]'   (or add one item: remoteclaw config set ${shellQuote(`${p}[0]`)} a)`
      } else if (segs.length > 0) fix = `Set a ${issue.expected}: remoteclaw config set ${shellQuote(p)} <value>`
    } else if (segs.length > 0) {
      fix = `Change the value: remoteclaw config set ${shellQuote(p)} <value>`
    }
    out.add('error', segs, message, fix)
  }
  return undefined
}

/** Each mention pattern must compile as a JS RegExp with flag i (how the gateway uses them). */
function checkMentionPatterns(data: unknown, out: Collector): void {
  if (!isPlainObject(data)) return
  const check = (list: unknown, base: PathSegment[]) => {
    if (!Array.isArray(list)) return
    list.forEach((pattern, i) => {
      if (typeof pattern !== 'string') return
      try {
        new RegExp(pattern, 'i')
      } catch (error) {
        const reason = (error as Error).message.replace(/^Invalid regular expression: (\/.*\/\w*: )?/, '')
        out.add(
          'error',
          [...base, i],
          `mention pattern ${JSON.stringify(pattern)} is not a valid regular expression: ${reason}`,
          'Fix the pattern; it is compiled as new RegExp(pattern, "i"). In the JSON5 file a backslash is written twice, e.g. "@bot\\\\b".',
        )
      }
    })
  }
  const messages = data.messages
  if (isPlainObject(messages) && isPlainObject(messages.groupChat)) check(messages.groupChat.mentionPatterns, ['messages', 'groupChat', 'mentionPatterns'])
  const agents = data.agents
  if (isPlainObject(agents) && Array.isArray(agents.list)) {
    agents.list.forEach((agent, i) => {
      if (isPlainObject(agent) && isPlainObject(agent.groupChat)) check(agent.groupChat.mentionPatterns, ['agents', 'list', i, 'groupChat', 'mentionPatterns'])
    })
  }
}

function accountSegs(channelSegs: PathSegment[], id: string | undefined): PathSegment[] {
  return id === undefined ? channelSegs : [...channelSegs, 'accounts', id]
}

/** Rules that need the whole parsed config: inheritance-aware access control, accounts, agents. */
function checkSemantics(config: RemoteclawConfig, out: Collector, home: string): void {
  const legacy = config.imessage !== undefined
  if (legacy && config.channels?.imessage) {
    // An error, not a warning: channels.imessage would win and every legacy key would silently stop applying.
    out.add(
      'error',
      ['imessage'],
      'both the legacy top-level "imessage" and channels.imessage exist; channels.imessage would win and imessage.* would be ignored',
      'Run `remoteclaw config migrate` before setting channels.imessage.* keys; in a file that already has both, move the keys you need into channels.imessage, then: remoteclaw config unset imessage',
    )
  } else if (legacy) {
    out.warn(['imessage'], LEGACY_LAYOUT_WARNING)
  }

  const channel: IMessageChannelConfig | undefined = config.channels?.imessage ?? config.imessage
  const channelSegs: PathSegment[] = config.channels?.imessage ? ['channels', 'imessage'] : ['imessage']
  const agentIds = (config.agents?.list ?? []).map((a) => a.id)

  // agents: unique ids, at most one default
  const seenAgents = new Map<string, number>()
  ;(config.agents?.list ?? []).forEach((agent, i) => {
    if (seenAgents.has(agent.id)) {
      out.add('error', ['agents', 'list', i, 'id'], `agent id "${agent.id}" is already used by agents.list[${seenAgents.get(agent.id)}]`, 'Give every agent its own id.')
    } else seenAgents.set(agent.id, i)
  })
  const defaults = (config.agents?.list ?? []).map((a, i) => (a.default ? i : -1)).filter((i) => i >= 0)
  if (defaults.length > 1) {
    out.add(
      'error',
      ['agents', 'list', defaults[1]!, 'default'],
      `more than one agent has default: true (agents.list[${defaults.join('], agents.list[')}])`,
      `Keep one: remoteclaw config unset agents.list[${defaults[1]}].default`,
    )
  }
  const checkAgentRef = (segs: PathSegment[], id: string | undefined) => {
    if (id === undefined || agentIds.length === 0 || agentIds.includes(id)) return
    const guess = didYouMean(id, agentIds)
    out.add(
      'error',
      segs,
      `agent "${id}" is not in agents.list${guess ? ` (did you mean "${guess}"?)` : ''}`,
      `remoteclaw config set ${shellQuote(formatPath(segs))} ${guess ?? agentIds[0]}   (agents: ${agentIds.join(', ')})`,
    )
  }

  if (!channel) return
  const accountIds = Object.keys(channel.accounts ?? {})
  const overrides = channel.accounts ?? {}

  if (channel.defaultAccount !== undefined) {
    const known = accountIds.length > 0 ? accountIds : [DEFAULT_ACCOUNT_ID]
    if (!known.includes(channel.defaultAccount)) {
      const guess = didYouMean(channel.defaultAccount, known)
      out.add(
        'error',
        [...channelSegs, 'defaultAccount'],
        `defaultAccount "${channel.defaultAccount}" is not an account (accounts: ${known.join(', ')})${guess ? `; did you mean "${guess}"?` : ''}`,
        `remoteclaw config set ${formatPath([...channelSegs, 'defaultAccount'])} ${guess ?? known[0]}`,
      )
    }
  }

  checkAgentRef([...channelSegs, 'agentId'], channel.agentId)
  for (const [chatId, group] of Object.entries(channel.groups ?? {})) checkAgentRef([...channelSegs, 'groups', chatId, 'agentId'], group.agentId)
  for (const id of accountIds) {
    checkAgentRef([...channelSegs, 'accounts', id, 'agentId'], overrides[id]!.agentId)
    for (const [chatId, group] of Object.entries(overrides[id]!.groups ?? {})) {
      checkAgentRef([...channelSegs, 'accounts', id, 'groups', chatId, 'agentId'], group.agentId)
    }
  }

  // Account overrides replace inherited maps and lists: say so where it hides something.
  for (const id of accountIds) {
    for (const key of INHERITED_COLLECTIONS) {
      if (overrides[id]![key] !== undefined && isNonEmpty(channel[key])) {
        const at = [...channelSegs, 'accounts', id, key]
        out.warn(at, overrideReplacesWarning(formatPath(at), formatPath([...channelSegs, key]), id))
      }
    }
  }

  const {accounts} = resolveAccounts(config, {home})
  const runs = new Map<string, string>()
  for (const account of accounts) {
    const override = accountIds.length > 0 ? overrides[account.id] : undefined
    // Where the fix belongs: the account when it sets the key, else the channel (so a fix
    // never loosens other accounts that merely inherit).
    const ownerOf = (...keys: (keyof typeof channel)[]) =>
      override && keys.some((k) => (override as Record<string, unknown>)[k] !== undefined) ? accountSegs(channelSegs, account.id) : channelSegs

    const who = (at: PathSegment[]) => (at[channelSegs.length] === 'accounts' ? ` (account "${account.id}")` : '')
    if (account.dmPolicy === 'open') {
      const policyAt = [...ownerOf('dmPolicy'), 'dmPolicy']
      if (!account.allowFrom.includes('*')) {
        const fixAt = [...ownerOf('dmPolicy', 'allowFrom'), 'allowFrom']
        out.add(
          'error',
          policyAt,
          `dmPolicy "open" needs "*" in ${formatPath(fixAt)}${who(fixAt)} (the "*" confirms that anyone may DM the bot)`,
          `remoteclaw config set ${shellQuote(formatPath(fixAt))} '["*"]'   (or choose another policy: remoteclaw config set ${shellQuote(formatPath(policyAt))} pairing)`,
        )
      } else {
        out.warn(policyAt, dmOpenWarning(formatPath(policyAt)))
      }
    }

    // Only when the file chooses "allowlist": as the default it is the safe start (groups ignored
    // until one is added), and warning on every config command from the first `set` is noise.
    // `channels doctor` still names it among the footguns.
    const groupPolicySet = (override as Record<string, unknown> | undefined)?.groupPolicy !== undefined || channel.groupPolicy !== undefined
    if (account.enabled && groupPolicySet && account.groupPolicy === 'allowlist' && Object.keys(account.groups).length === 0) {
      const groupsAt = [...ownerOf('groups', 'groupPolicy'), 'groups']
      out.warn(groupsAt, groupsAllowlistEmptyWarning(formatPath(groupsAt), formatPath([...ownerOf('groupPolicy'), 'groupPolicy'])))
    }

    if (account.enabled) {
      const key = `${account.cliPath}\0${account.dbPath ?? '(default chat.db)'}`
      const other = runs.get(key)
      if (other !== undefined) {
        out.add(
          'error',
          accountSegs(channelSegs, account.id),
          `accounts "${other}" and "${account.id}" both run ${account.cliPath} on ${account.dbPath ?? 'the default Messages database'}; each enabled account needs its own imsg (cliPath) or database (dbPath)`,
          `Point one at its own wrapper or chat.db, or disable it: remoteclaw config set ${shellQuote(formatPath([...accountSegs(channelSegs, account.id), 'enabled']))} false`,
        )
      } else runs.set(key, account.id)
    }
  }
}

export interface ValidateOptions {
  file: string
  text: string
  /** For `~` expansion when comparing account paths (default: $HOME). */
  home?: string
}

/**
 * Full validation of a parsed config: unknown keys with did-you-mean, schema types, mention
 * patterns, then the semantic rules (only once the schema holds, since they need the types).
 * Every issue names its key path and, where the key is in the text, file:line:col.
 */
export function validateConfig(data: unknown, source: ValidateOptions, trying = false): ValidationResult {
  const out = new Collector(source.file, makeLocator(source.text))
  checkEditable(source.text, source.file, data, out)
  checkUnknownKeys(data, configSchema, [], out)
  // The errors at a path if it held another value (one level deep: a trial does not try further).
  const trial: Trial = (segs, value) => {
    if (trying) return []
    const p = formatPath(segs)
    return validateConfig(withValue(data, segs, value), {...source, text: ''}, true).errors.filter((e) => e.path === p)
  }
  const config = schemaIssues(data, out, trial)
  checkMentionPatterns(data, out)
  if (config) checkSemantics(config, out, source.home ?? process.env.HOME ?? os.homedir())
  return {errors: out.errors, warnings: out.warnings}
}
