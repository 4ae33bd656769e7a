import {parsePhoneNumberFromString, type CountryCode} from 'libphonenumber-js'

/**
 * Local stand-in for src/lib/imsg/handles.ts normalizeHandle(handle, region) until that lands;
 * switch the import below and delete this body then. Same contract: E.164 for phone numbers,
 * lower-case for emails, service prefixes (imessage:, sms:, tel:, mailto:) stripped, anything
 * unparseable returned trimmed.
 */
export function normalizeHandle(handle: string, region = 'US'): string {
  let h = handle.trim()
  h = h.replace(/^(imessage|sms|tel|mailto|auto):/i, '')
  if (h === '') return ''
  if (h.includes('@')) return h.toLowerCase()
  if (/^[+\d][\d\s().-]*$/.test(h)) {
    const parsed = parsePhoneNumberFromString(h, region.toUpperCase() as CountryCode)
    if (parsed?.isPossible()) return parsed.number
    return h.replace(/[\s().-]/g, '')
  }
  return h
}
