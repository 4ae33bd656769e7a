/**
 * Quiet hours: a daily window ("22:00"-"07:00", may cross midnight) in one time zone during
 * which scheduled messages wait. Pure functions of a clock value, so tests inject the time.
 */
export interface QuietHours {
  /** "HH:MM", 24-hour. */
  start: string
  end: string
}

const MINUTE = 60_000
const DAY_MINUTES = 24 * 60

export function parseClock(s: string): number {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(s)
  if (!m) throw new Error(`"${s}" is not a time of day (HH:MM, 24-hour)`)
  return Number(m[1]) * 60 + Number(m[2])
}

const formatters = new Map<string, Intl.DateTimeFormat>()
function formatter(timeZone: string | undefined): Intl.DateTimeFormat {
  const key = timeZone ?? ''
  let f = formatters.get(key)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {hour: '2-digit', minute: '2-digit', hourCycle: 'h23', ...(timeZone ? {timeZone} : {})})
    formatters.set(key, f)
  }
  return f
}

/** Minutes since local midnight in the zone (the gateway's zone when undefined). */
export function minuteOfDay(t: number, timeZone?: string): number {
  const parts = formatter(timeZone).formatToParts(new Date(t))
  const h = Number(parts.find((p) => p.type === 'hour')?.value ?? 0)
  const m = Number(parts.find((p) => p.type === 'minute')?.value ?? 0)
  return (h % 24) * 60 + m
}

function inWindow(m: number, start: number, end: number): boolean {
  if (start === end) return false
  return start < end ? m >= start && m < end : m >= start || m < end
}

export function isQuiet(t: number, q: QuietHours | undefined, timeZone?: string): boolean {
  if (!q) return false
  return inWindow(minuteOfDay(t, timeZone), parseClock(q.start), parseClock(q.end))
}

/** t itself when it is outside quiet hours, else the moment the window containing t ends. */
export function nextAllowed(t: number, q: QuietHours | undefined, timeZone?: string): number {
  if (!q || !isQuiet(t, q, timeZone)) return t
  const m = minuteOfDay(t, timeZone)
  const wait = (parseClock(q.end) - m + DAY_MINUTES) % DAY_MINUTES
  // from the start of t's minute; zones with whole-minute offsets keep this exact
  return t - (t % MINUTE) + wait * MINUTE
}

/** "Fri 5 Dec 09:00" in the zone, for notes people read in the chat. */
export function formatLocal(t: number, timeZone?: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    ...(timeZone ? {timeZone, timeZoneName: 'short'} : {}),
  }).format(new Date(t))
}
