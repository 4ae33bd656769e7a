import type {AgentAttachment, McpServerSpec} from '../types.js'

export type PresetName = 'claude' | 'gemini' | 'codex' | 'opencode'

/** What one preset run needs to build its argv. */
export interface PresetRequest {
  /** The text prompt: group context, the message, and attachments that do not go natively. */
  prompt: string
  /** Image attachments the CLI takes natively (see NATIVE_IMAGE_TYPES). */
  images: AgentAttachment[]
  /** The agent's `args`, after the preset's own flags. */
  args: string[]
  /** The CLI session to resume; absent starts a new one. */
  resumeId?: string
  mcp?: McpServerSpec
  /** The agent's working directory (absolute). */
  cwd: string
  /** The environment the CLI will get (to merge with a config the operator already passes). */
  env: NodeJS.ProcessEnv
  /** A private (0700) folder for this run's files, removed when the run ends. */
  scratch: () => Promise<string>
}

export interface PresetInvocation {
  argv: string[]
  /** Absent: stdin is /dev/null (codex and opencode wait for EOF on an open pipe, claude 3 s). */
  stdin?: string
  /** Added to the CLI's environment. */
  env?: Record<string, string>
}

/** What the stream said about one turn. */
export interface ParsedTurn {
  /** The final answer only: never tool calls, tool output or thinking. */
  text?: string
  sessionId?: string
  /** Failure for the log (never sent to a chat). */
  error?: string
  resumeRefused?: boolean
}

export interface ProcessEnd {
  /** undefined when killed by a signal. */
  code: number | undefined
  signal?: string
  stderr: string
}

/** Reads one run's JSON events in order; finish() is called once the process has ended. */
export interface TurnParser {
  event(e: Record<string, unknown>): void
  finish(end: ProcessEnd): ParsedTurn
}

export interface Preset {
  name: PresetName
  /** Executable looked up on PATH. */
  bin: string
  label: string
  install: string
  build(req: PresetRequest): Promise<PresetInvocation>
  /** `onBlock` gets each finished assistant text block (block streaming). */
  parser(onBlock: (text: string) => void): TurnParser
}

/** Image types every preset CLI hands to its model natively; others (HEIC, ...) go as a path in the prompt. */
export const NATIVE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp'])

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
export const obj = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined

/** The common end of a run: a refused resume first, then the exit status, then what the stream said. */
export function exitFailure(end: ProcessEnd, label: string): string | undefined {
  if (end.signal) return `${label} was killed by ${end.signal}`
  if (end.code !== 0) return `${label} exited with code ${end.code}`
  return undefined
}
