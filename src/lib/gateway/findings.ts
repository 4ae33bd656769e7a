import type {ConfigIssue} from '../config/validate.js'
import {formatIssue} from '../config/validate.js'
import type {Logger} from '../log.js'

/** Something the gateway says about its config (a warning, or an agent that cannot run). */
export interface Finding {
  level: 'warn' | 'error'
  message: string
  fields?: Record<string, unknown>
  /** What makes two findings the same; default: the message. */
  key?: string
}

/** A config warning as the gateway logs it; same finding when only its line moved. */
export function issueFinding(issue: ConfigIssue): Finding {
  return {
    level: 'warn',
    message: `${formatIssue(issue)}${issue.fix ? ` (fix: ${issue.fix})` : ''}`,
    key: `${issue.path}\0${issue.message}\0${issue.fix ?? ''}`,
  }
}

/**
 * Logs what start-up and each config reload find, each finding once: a reload logs only the
 * findings the previous config did not have (new or changed), so a warning that still holds is
 * not repeated every time the file is saved; one that went away and came back is logged again.
 */
export class FindingsLog {
  private shown = new Set<string>()

  constructor(private readonly log: Logger) {}

  report(findings: Finding[]): void {
    const now = new Set<string>()
    for (const f of findings) {
      const key = `${f.level}\0${f.key ?? f.message}`
      if (now.has(key)) continue
      now.add(key)
      if (!this.shown.has(key)) this.log[f.level](f.message, f.fields)
    }
    this.shown = now
  }
}
