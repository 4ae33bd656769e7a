// Parameter reading for both protocol eras: lenient coercion (≤0.13, §3.3) and strict validation
// (0.14+, §3.4). Where the reference gives no exact -32602 text, the simulator's wording is listed in
// /work/notes/sim-contract.md.
import {appleNs} from './db.js'
import {invalidParams, internalError, RpcError} from './send.js'

type Kind = 'int' | 'bool' | 'string' | 'strarray' | 'array'

const STRICT: Record<string, Record<string, Kind>> = {
  'chats.list': {limit: 'int', unread_only: 'bool', unreadOnly: 'bool'},
  'messages.history': {chat_id: 'int', limit: 'int', participants: 'strarray', start: 'string', end: 'string',
    attachments: 'bool', convert_attachments: 'bool'},
  'watch.subscribe': {chat_id: 'int', since_rowid: 'int', participants: 'strarray', start: 'string', end: 'string',
    attachments: 'bool', convert_attachments: 'bool', include_reactions: 'bool', debounce_ms: 'int', debounceMs: 'int',
    buffer_limit: 'int', bufferLimit: 'int'},
  'watch.unsubscribe': {subscription: 'int'},
  send: {to: 'string', chat_id: 'int', chat_identifier: 'string', chat_guid: 'string', text: 'string', file: 'string',
    service: 'string', region: 'string', transport: 'string', text_formatting: 'array', textFormatting: 'array',
    formatting: 'array', reply_to: 'string', replyTo: 'string', reply_to_guid: 'string', message_guid: 'string',
    allow_sms_fallback: 'bool', allowSMSFallback: 'bool'},
  'send.rich': {chat_id: 'int', chat_identifier: 'string', chat_guid: 'string', text: 'string', message: 'string',
    part_index: 'int', dd_scan: 'bool', effect_id: 'string', subject: 'string', reply_to: 'string', replyTo: 'string',
    reply_to_guid: 'string', message_guid: 'string', text_formatting: 'array', textFormatting: 'array'},
  typing: {to: 'string', chat_id: 'int', chat_identifier: 'string', chat_guid: 'string', typing: 'bool', service: 'string'},
  read: {to: 'string', chat_id: 'int', chat_identifier: 'string', chat_guid: 'string'},
  tapback: {chat_id: 'int', chat_identifier: 'string', chat_guid: 'string', message_id: 'string', messageId: 'string',
    message_guid: 'string', messageGuid: 'string', message: 'string', reaction: 'string', kind: 'string', emoji: 'string',
    remove: 'bool', part_index: 'int', partIndex: 'int'},
  initialize: {protocol_version: 'int'},
  status: {},
  'messages.after': {since_rowid: 'int', chat_id: 'int', limit: 'int', attachments: 'bool', convert_attachments: 'bool',
    include_reactions: 'bool'},
}

const ALIASES: string[][] = [
  ['unread_only', 'unreadOnly'],
  ['debounce_ms', 'debounceMs'],
  ['buffer_limit', 'bufferLimit'],
  ['text_formatting', 'textFormatting', 'formatting'],
  ['reply_to', 'replyTo', 'reply_to_guid', 'message_guid'],
  ['allow_sms_fallback', 'allowSMSFallback'],
]

/** Strict (0.14+) generic checks: unknown keys, nulls, JSON types, alias pairs. */
export function validateStrict(method: string, params: Record<string, unknown>): void {
  const schema = STRICT[method]
  if (!schema) return
  for (const [key, value] of Object.entries(params)) {
    const kind = schema[key]
    if (kind === undefined) throw invalidParams(`unknown ${method} param: ${key}`)
    if (value === null) throw invalidParams(`${key} must not be null`)
    switch (kind) {
      case 'int':
        if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidParams(`${key} must be an integer`)
        break
      case 'bool':
        if (typeof value !== 'boolean') throw invalidParams(`${key} must be a boolean`)
        break
      case 'string':
        if (typeof value !== 'string') throw invalidParams(`${key} must be a string`)
        break
      case 'strarray':
        if (!Array.isArray(value) || value.some((x) => typeof x !== 'string')) {
          throw invalidParams(`${key} must be an array of strings`)
        }
        break
      case 'array':
        if (!Array.isArray(value)) throw invalidParams(`${key} must be an array`)
        break
    }
  }
  const own = method === 'tapback'
    ? [['message_id', 'messageId', 'message_guid', 'messageGuid', 'message'], ['reaction', 'kind'], ['part_index', 'partIndex']]
    : method === 'send.rich' ? [['text', 'message']] : []
  for (const group of [...ALIASES.filter((g) => method !== 'tapback' || !g.includes('message_guid')), ...own]) {
    const present = group.filter((k) => k in params)
    if (present.length > 1) throw invalidParams(`use only one of ${present.join(', ')}`)
  }
}

/** First present alias. */
export function pick(params: Record<string, unknown>, ...keys: string[]): unknown {
  for (const k of keys) if (params[k] !== undefined && params[k] !== null) return params[k]
  return undefined
}

// ---- lenient coercion (≤0.13): loose types, nulls read as absent

export function lInt(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v)
  if (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v)) return Number.parseInt(v, 10)
  return undefined
}

export function lBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v
  if (v === 'true' || v === 1 || v === '1') return true
  if (v === 'false' || v === 0 || v === '0') return false
  return undefined
}

export function lStr(v: unknown): string | undefined {
  if (typeof v === 'string') return v
  if (typeof v === 'number') return String(v)
  return undefined
}

export function lStrArray(v: unknown): string[] | undefined {
  if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string').map((s) => s.trim()).filter((s) => s !== '')
  return undefined
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/

/** ISO-8601 with a timezone -> Apple ns; bad dates are -32603 before 0.14 and -32602 from 0.14 (§3.7). */
export function isoToApple(value: string, strict: boolean): bigint {
  const ms = ISO.test(value) ? Date.parse(value) : Number.NaN
  if (Number.isNaN(ms)) {
    const text = `Invalid ISO8601 date: ${value}`
    throw strict ? invalidParams(text) : internalError(text)
  }
  return appleNs(ms)
}

export {RpcError}
