import {z} from 'zod'
import {asIndex, type PathSegment} from './paths.js'
import {configSchema} from './schema.js'

/** Strips optional/nullable/default/effects wrappers. */
export function unwrap(t: z.ZodTypeAny): z.ZodTypeAny {
  for (;;) {
    if (t instanceof z.ZodOptional || t instanceof z.ZodNullable) t = t.unwrap()
    else if (t instanceof z.ZodDefault) t = t.removeDefault()
    else if (t instanceof z.ZodEffects) t = t.innerType()
    else if (t instanceof z.ZodLazy) t = t.schema
    else return t
  }
}

/** The schema of the value at a path, or undefined when the path is not a config key. */
export function schemaAt(segs: readonly PathSegment[], root: z.ZodTypeAny = configSchema): z.ZodTypeAny | undefined {
  let cur: z.ZodTypeAny | undefined = root
  for (const s of segs) {
    if (!cur) return undefined
    const t = unwrap(cur)
    if (t instanceof z.ZodObject) cur = (t.shape as Record<string, z.ZodTypeAny>)[String(s)]
    else if (t instanceof z.ZodRecord) cur = t.valueSchema as z.ZodTypeAny
    else if (t instanceof z.ZodArray) cur = asIndex(s) === undefined ? undefined : (t.element as z.ZodTypeAny)
    else return undefined
  }
  return cur
}

/** True when the schema wants a string (or a string enum) at this point. */
export function wantsString(t: z.ZodTypeAny | undefined): boolean {
  if (!t) return false
  const u = unwrap(t)
  return u instanceof z.ZodString || u instanceof z.ZodEnum || (u instanceof z.ZodLiteral && typeof u.value === 'string')
}
