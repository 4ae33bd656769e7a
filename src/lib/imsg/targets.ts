import {UsageError} from '../errors.js'
import {isEmailHandle, toE164} from './handles.js'
import type {ChatSelector, SendService, SendTarget} from './types.js'

/**
 * Delivery targets, one syntax everywhere (`message send --target`, allowFrom entries, the
 * gateway's reply routing):
 *   chat_id:123 | chat_guid:<guid> | chat_identifier:<id> | imessage:<handle> | sms:<handle> |
 *   a bare phone number | an email address
 */
export type Target =
  | {kind: 'chat_id'; chatId: number}
  | {kind: 'chat_guid'; chatGuid: string}
  | {kind: 'chat_identifier'; chatIdentifier: string}
  /** A person. `handle` is normalised (E.164 / lower-case email); `service` only when the target named one. */
  | {kind: 'handle'; handle: string; service?: Exclude<SendService, 'auto'>}

export const TARGET_FORMS =
  'chat_id:<number>, chat_guid:<guid>, chat_identifier:<id>, imessage:<phone|email>, sms:<phone>, or a bare phone number / email'

function bad(input: string, why: string): UsageError {
  return new UsageError(`invalid target "${input}": ${why}`, {
    code: 'invalid_target',
    fix: `Use one of: ${TARGET_FORMS}. List chats with their chat_id: imsg chats --limit 20`,
  })
}

function parseHandle(input: string, raw: string, region: string, service?: 'imessage' | 'sms'): Target {
  const h = raw.trim()
  if (h === '') throw bad(input, 'the handle after the prefix is empty')
  if (isEmailHandle(h)) {
    if (service === 'sms') throw bad(input, 'SMS needs a phone number, not an email address')
    return {kind: 'handle', handle: h.toLowerCase(), service}
  }
  const e164 = toE164(h, region)
  if (!e164) throw bad(input, `"${h}" is neither a phone number (region ${region}) nor an email address`)
  return {kind: 'handle', handle: e164, service}
}

/** Parses a target string; throws UsageError (exit 2) with the accepted forms. */
export function parseTarget(input: string, opts: {region?: string} = {}): Target {
  const region = (opts.region ?? 'US').toUpperCase()
  const s = input.trim()
  if (s === '') throw bad(input, 'it is empty')
  const m = /^([a-z_]+):(.*)$/i.exec(s)
  const prefix = m?.[1]?.toLowerCase()
  const rest = m?.[2] ?? ''
  switch (prefix) {
    case 'chat_id': {
      const v = rest.trim()
      if (!/^\d+$/.test(v)) throw bad(input, 'chat_id must be a positive integer')
      const n = Number(v)
      if (!Number.isSafeInteger(n) || n <= 0) throw bad(input, 'chat_id must be a positive integer')
      return {kind: 'chat_id', chatId: n}
    }
    case 'chat_guid':
      if (rest.trim() === '') throw bad(input, 'chat_guid is empty')
      return {kind: 'chat_guid', chatGuid: rest.trim()}
    case 'chat_identifier':
      if (rest.trim() === '') throw bad(input, 'chat_identifier is empty')
      return {kind: 'chat_identifier', chatIdentifier: rest.trim()}
    case 'imessage':
    case 'sms':
      return parseHandle(input, rest, region, prefix)
    case 'tel':
      return parseHandle(input, rest, region)
    case 'mailto':
      return parseHandle(input, rest, region)
    default:
      if (prefix !== undefined && !isEmailHandle(s)) {
        throw bad(input, `unknown prefix "${prefix}:"`)
      }
      return parseHandle(input, s, region)
  }
}

/** `send` params for a target (exactly one target form; protocol §4.5). */
export function targetToSendParams(t: Target, opts: {service?: SendService; region?: string} = {}): SendTarget {
  switch (t.kind) {
    case 'chat_id':
      return {chat_id: t.chatId}
    case 'chat_guid':
      return {chat_guid: t.chatGuid}
    case 'chat_identifier':
      return {chat_identifier: t.chatIdentifier}
    case 'handle': {
      const service = t.service ?? opts.service
      return {
        to: t.handle,
        ...(service ? {service} : {}),
        ...(opts.region ? {region: opts.region.toUpperCase()} : {}),
      }
    }
  }
}

/** The canonical string of a target (round-trips through parseTarget). */
export function formatTarget(t: Target): string {
  switch (t.kind) {
    case 'chat_id':
      return `chat_id:${t.chatId}`
    case 'chat_guid':
      return `chat_guid:${t.chatGuid}`
    case 'chat_identifier':
      return `chat_identifier:${t.chatIdentifier}`
    case 'handle':
      return t.service ? `${t.service}:${t.handle}` : t.handle
  }
}

/**
 * A chat selector for methods that take no `to` (tapback): a person's 1:1 chat is found by its
 * chat_identifier, which is the handle.
 */
export function targetToChatSelector(t: Target): ChatSelector {
  return t.kind === 'handle' ? {chat_identifier: t.handle} : (targetToSendParams(t) as ChatSelector)
}
