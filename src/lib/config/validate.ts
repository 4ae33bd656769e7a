import {configSchema} from './schema.js'

export interface ConfigIssue {
  /** Dotted key path, e.g. channels.imessage.dmPolicy */
  path: string
  /** "file:line:col" when known, else "file: path" */
  where: string
  message: string
  fix?: string
}

export interface ValidationResult {
  errors: ConfigIssue[]
  warnings: ConfigIssue[]
}

function keyPath(segments: (string | number)[]): string {
  return segments
    .map((s, i) => (typeof s === 'number' ? `[${s}]` : /^[A-Za-z_$][\w$]*$/.test(s) ? (i === 0 ? s : `.${s}`) : `["${s}"]`))
    .join('')
}

/**
 * Schema and semantic validation of a parsed config. (First version: schema issues with key
 * paths; the config issue extends it with did-you-mean, line/column and semantic rules.)
 */
export function validateConfig(data: unknown, source: {file: string; text: string}): ValidationResult {
  const errors: ConfigIssue[] = []
  const parsed = configSchema.safeParse(data)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const p = keyPath(issue.path)
      errors.push({path: p, where: `${source.file}: ${p || '(top level)'}`, message: issue.message})
    }
  }
  return {errors, warnings: []}
}
