import {parsePhoneNumberFromString, type CountryCode} from 'libphonenumber-js'

/**
 * Handle normalisation for matching (allowlists, pairing, echo filtering). Phone numbers go
 * through libphonenumber-js: hand-rolled parsing gets national formats (trunk prefixes, 00/011
 * international prefixes, local lengths) wrong. Emails compare case-insensitively.
 */

const SERVICE_PREFIX = /^(imessage|sms|tel|mailto|auto):/i
const PHONEISH = /^[+\d(][\d\s().\-/]*$/

export function isEmailHandle(handle: string): boolean {
  return /^[^\s@]+@[^\s@]+$/.test(handle.trim().replace(SERVICE_PREFIX, ''))
}

/** E.164 (`+15551234567`) when `raw` is a possible phone number for `region`, else undefined. */
export function toE164(raw: string, region = 'US'): string | undefined {
  const h = raw.trim()
  if (!PHONEISH.test(h)) return undefined
  const digits = h.replace(/\D/g, '')
  if (digits.length < 3) return undefined
  const parsed = parsePhoneNumberFromString(h, region.toUpperCase() as CountryCode)
  if (parsed?.isPossible()) return parsed.number
  return undefined
}

/**
 * The canonical form of a handle: E.164 for phone numbers (national formats resolved with
 * `region`), lower case for emails, service prefixes (imessage:, sms:, tel:, mailto:) stripped.
 * Anything else (a short code, a Contacts name) is returned trimmed, punctuation kept.
 */
export function normalizeHandle(handle: string, region = 'US'): string {
  const h = handle.trim().replace(SERVICE_PREFIX, '').trim()
  if (h === '') return ''
  if (h.includes('@')) return h.toLowerCase()
  const e164 = toE164(h, region)
  if (e164) return e164
  if (PHONEISH.test(h)) return h.replace(/[\s().\-/]/g, '')
  return h
}

/** Same person? Phone numbers compare in E.164, emails case-insensitively. */
export function handlesEqual(a: string, b: string, region = 'US'): boolean {
  const na = normalizeHandle(a, region)
  return na !== '' && na === normalizeHandle(b, region)
}
