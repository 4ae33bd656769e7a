import {z} from 'zod'
import {asIndex, type PathSegment} from './paths.js'
import {ACCOUNT_DEFAULTS, AGENT_DEFAULTS, AGENT_TOOLS_DEFAULTS, COMMANDS_DEFAULTS, configSchema, GROUP_DEFAULTS, SCHEDULES_DEFAULTS, SESSION_DEFAULTS} from './schema.js'
import {unwrap} from './schema-walk.js'

/** Where the generated reference lives, between `<!-- section:config-reference -->` markers. */
export const CONFIG_REFERENCE_DOC = 'docs/configuration.md'

/**
 * The configuration reference in docs/configuration.md, generated from the zod schema's `.describe()` texts and
 * the *_DEFAULTS objects (run `npx tsx scripts/gen-config-docs.ts`; a test fails when stale).
 */
export interface ReferenceRow {
  path: string
  type: string
  default?: unknown
  description: string
}

const has = (o: object, k: string | number): boolean => Object.prototype.hasOwnProperty.call(o, String(k))

/** The default that applies when a key is not set, or undefined when there is none. */
export function defaultFor(segs: readonly PathSegment[]): unknown {
  const s = segs.map(String)
  let rest: string[] | undefined
  if (s[0] === 'channels' && s[1] === 'imessage') rest = s.slice(2)
  else if (s[0] === 'imessage') rest = s.slice(1)
  if (rest) {
    if (rest[0] === 'accounts' && rest.length > 2) rest = rest.slice(2)
    if (rest[0] === 'groups' && rest.length === 3) return has(GROUP_DEFAULTS, rest[2]!) ? GROUP_DEFAULTS[rest[2] as keyof typeof GROUP_DEFAULTS] : undefined
    if (rest.length === 1 && has(ACCOUNT_DEFAULTS, rest[0]!)) return ACCOUNT_DEFAULTS[rest[0] as keyof typeof ACCOUNT_DEFAULTS]
    return undefined
  }
  if (s[0] === 'agents' && s[1] === 'list' && s.length === 4 && asIndex(segs[2]!) !== undefined) {
    return has(AGENT_DEFAULTS, s[3]!) ? AGENT_DEFAULTS[s[3] as keyof typeof AGENT_DEFAULTS] : undefined
  }
  if (s[0] === 'agents' && s[1] === 'list' && s[3] === 'tools' && s.length === 5 && has(AGENT_TOOLS_DEFAULTS, s[4]!)) {
    return AGENT_TOOLS_DEFAULTS[s[4] as keyof typeof AGENT_TOOLS_DEFAULTS]
  }
  if (s[0] === 'schedules' && s.length === 2 && has(SCHEDULES_DEFAULTS, s[1]!)) return SCHEDULES_DEFAULTS[s[1] as keyof typeof SCHEDULES_DEFAULTS]
  if (s[0] === 'session' && s.length === 2 && has(SESSION_DEFAULTS, s[1]!)) return SESSION_DEFAULTS[s[1] as keyof typeof SESSION_DEFAULTS]
  if (s[0] === 'commands' && s.length === 2 && has(COMMANDS_DEFAULTS, s[1]!)) return COMMANDS_DEFAULTS[s[1] as keyof typeof COMMANDS_DEFAULTS]
  if (s.join('.') === 'messages.groupChat.historyLimit') return ACCOUNT_DEFAULTS.historyLimit
  return undefined
}

function typeName(t: z.ZodTypeAny): string {
  const u = unwrap(t)
  if (u instanceof z.ZodString) return 'string'
  if (u instanceof z.ZodBoolean) return 'boolean'
  if (u instanceof z.ZodNumber) {
    const min = u.minValue
    const base = u.isInt ? 'integer' : 'number'
    if (min === null || min === undefined) return base
    return u._def.checks.some((c) => c.kind === 'min' && !c.inclusive) ? `${base} > ${min}` : `${base} ≥ ${min}`
  }
  if (u instanceof z.ZodEnum) return (u.options as string[]).map((o) => `"${o}"`).join(' \\| ')
  if (u instanceof z.ZodArray) return `${typeName(u.element as z.ZodTypeAny)}[]`
  if (u instanceof z.ZodRecord) return `map of ${typeName(u.valueSchema as z.ZodTypeAny)}`
  if (u instanceof z.ZodObject) return 'object'
  return 'value'
}

/** The description of a (possibly wrapped) schema: the outermost `.describe()` text. */
function description(t: z.ZodTypeAny): string {
  let cur: z.ZodTypeAny | undefined = t
  while (cur) {
    if (cur.description) return cur.description
    if (cur instanceof z.ZodOptional || cur instanceof z.ZodNullable) cur = cur.unwrap() as z.ZodTypeAny
    else if (cur instanceof z.ZodDefault) cur = cur.removeDefault() as z.ZodTypeAny
    else if (cur instanceof z.ZodEffects) cur = cur.innerType() as z.ZodTypeAny
    else cur = undefined
  }
  return ''
}

const MAP_KEY: Record<string, string> = {accounts: '<id>', groups: '<chat_id>', env: '<NAME>'}

function walk(t: z.ZodTypeAny, path: string, segs: PathSegment[], rows: ReferenceRow[]): void {
  const u = unwrap(t)
  if (u instanceof z.ZodObject) {
    for (const [key, child] of Object.entries(u.shape as Record<string, z.ZodTypeAny>)) {
      const p = path ? `${path}.${key}` : key
      const cs = [...segs, key]
      if (path === '' && key === 'imessage') {
        rows.push({path: 'imessage', type: 'object', description: `${description(child)} Same keys as channels.imessage.`})
        continue
      }
      const cu = unwrap(child)
      if (key === 'accounts' && cu instanceof z.ZodRecord) {
        rows.push({
          path: `${p}.<id>`,
          type: 'object',
          description: `${description(child)} Any key of channels.imessage above except accounts and defaultAccount; unset keys inherit (maps and lists replace, see below).`,
        })
        continue
      }
      const isLeaf = !(cu instanceof z.ZodObject) && !(cu instanceof z.ZodRecord && unwrap(cu.valueSchema as z.ZodTypeAny) instanceof z.ZodObject) && !(cu instanceof z.ZodArray && unwrap(cu.element as z.ZodTypeAny) instanceof z.ZodObject)
      if (isLeaf) {
        rows.push({path: p, type: typeName(child), default: defaultFor(cs.length === 4 && cs[1] === 'list' ? ['agents', 'list', 0, key] : cs), description: description(child)})
        continue
      }
      const desc = description(child)
      if (cu instanceof z.ZodRecord) {
        const k = MAP_KEY[key] ?? '<key>'
        if (desc) rows.push({path: p, type: 'map', description: desc})
        walk(cu.valueSchema as z.ZodTypeAny, `${p}.${k}`, [...cs, k], rows)
      } else if (cu instanceof z.ZodArray) {
        if (desc) rows.push({path: `${p}[]`, type: 'list', description: desc})
        walk(cu.element as z.ZodTypeAny, `${p}[]`, [...cs, 0], rows)
      } else {
        if (desc) rows.push({path: p, type: 'object', description: desc})
        walk(child, p, cs, rows)
      }
    }
  }
}

export function referenceRows(): ReferenceRow[] {
  const rows: ReferenceRow[] = []
  walk(configSchema, '', [], rows)
  return rows
}

const cell = (s: string) => s.replaceAll('\n', ' ').replace(/(?<!\\)\|/g, '\\|')

/** Markdown for the section `config-reference` of docs/configuration.md (without the markers). */
export function renderConfigReference(): string {
  const lines = [
    '## Configuration reference',
    '',
    'The config file is JSON5 (comments, unquoted keys and trailing commas are fine): `REMOTECLAW_CONFIG_PATH`, else',
    '`$REMOTECLAW_STATE_DIR/remoteclaw.json`, else `~/.remoteclaw/remoteclaw.json` (`remoteclaw config path` prints it).',
    'A missing file is an empty config. Paths in `cliPath`, `dbPath` and `attachmentRoots` expand a leading `~`.',
    'Unknown keys are errors with a did-you-mean; `remoteclaw config validate` lists every problem with file:line:col.',
    '',
    '**Accounts and inheritance.** Every `channels.imessage` key is the default for all accounts; `channels.imessage.accounts.<id>`',
    'overrides it per account. Without an `accounts` map there is one account, `default`. Scalars override one by one;',
    '**maps and lists replace, they are not merged** (`groups`, `allowFrom`, `groupAllowFrom`, `attachmentRoots`,',
    '`remoteAttachmentRoots`): an account that sets `groups` sees only its own groups. Validation warns wherever an account',
    "override hides a non-empty inherited map or list. `channels.imessage.enabled: false` turns every account off.",
    'The default account is `defaultAccount`, else the account named `default`, else the first one.',
    'Defaults below apply after inheritance.',
    '',
    'Checks beyond types: `dmPolicy: "open"` needs `"*"` in the effective `allowFrom` (an error that prints the fixing',
    "command); mention patterns must compile as JavaScript regular expressions with flag `i`; `defaultAccount` must name",
    'an account; two enabled accounts may not share both `cliPath` and `dbPath`; `agentId` must name an agent in',
    '`agents.list` (when the list is not empty); agent ids are unique with at most one `default`; the legacy top-level',
    '`imessage` and `channels.imessage` may not both exist. Warnings: the legacy layout alone (read as `channels.imessage`;',
    'run `remoteclaw config migrate`), `groupPolicy: "allowlist"` with no `groups` (every group message is ignored),',
    '`dmPolicy: "open"`, and account overrides hiding inherited maps.',
    '',
    '| key | type | default | description |',
    '|---|---|---|---|',
  ]
  for (const r of referenceRows()) {
    const def = r.default === undefined ? '' : `\`${JSON.stringify(r.default)}\``
    lines.push(`| \`${cell(r.path)}\` | ${cell(r.type)} | ${cell(def)} | ${cell(r.description)} |`)
  }
  return lines.join('\n')
}

/** Replaces the text between `<!-- section:NAME -->` and `<!-- /section:NAME -->`. */
export function replaceSection(doc: string, name: string, content: string): string {
  const open = `<!-- section:${name} -->`
  const close = `<!-- /section:${name} -->`
  const a = doc.indexOf(open)
  const b = doc.indexOf(close)
  if (a < 0 || b < a) throw new Error(`the document has no ${open} ... ${close} markers`)
  return `${doc.slice(0, a + open.length)}\n${content}\n${doc.slice(b)}`
}

export function readSection(doc: string, name: string): string | undefined {
  const open = `<!-- section:${name} -->`
  const close = `<!-- /section:${name} -->`
  const a = doc.indexOf(open)
  const b = doc.indexOf(close)
  if (a < 0 || b < a) return undefined
  return doc.slice(a + open.length + 1, b - 1)
}
