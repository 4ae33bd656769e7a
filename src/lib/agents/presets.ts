import {presenceLines} from './presence-context.js'
import type {AgentInput} from './types.js'

/**
 * argv templates over the command runtime for agent CLIs in their non-interactive mode.
 * Each gets a plain-text prompt (group context first, then the message); `args` from the agent
 * config go after the preset's own flags; `command` (if set) replaces the executable, e.g.
 * ["/opt/homebrew/bin/claude"] or ["npx", "-y", "@google/gemini-cli"].
 * Flags as documented by each tool (late 2026):
 *   claude -p                          prompt on stdin, answer on stdout
 *   gemini --prompt=<text>             headless mode; `=` keeps a text starting with "-" a value
 *   codex exec --skip-git-repo-check - prompt on stdin ("-"), final message on stdout, progress on stderr
 *   opencode run -- <text>             message as positional; stdin closed at once (it reads stdin to EOF)
 */
export type PresetName = 'claude' | 'gemini' | 'codex' | 'opencode'

export interface PresetInvocation {
  argv: string[]
  stdin: string
}

export interface Preset {
  name: PresetName
  /** Executable looked up on PATH. */
  bin: string
  /** Human name for messages. */
  label: string
  install: string
  build(prompt: string, args: string[]): PresetInvocation
}

export const PRESETS: Record<PresetName, Preset> = {
  claude: {
    name: 'claude',
    bin: 'claude',
    label: 'Claude Code',
    install: 'npm install -g @anthropic-ai/claude-code',
    build: (prompt, args) => ({argv: ['-p', ...args], stdin: prompt}),
  },
  gemini: {
    name: 'gemini',
    bin: 'gemini',
    label: 'Gemini CLI',
    install: 'npm install -g @google/gemini-cli',
    build: (prompt, args) => ({argv: [...args, `--prompt=${prompt}`], stdin: ''}),
  },
  codex: {
    name: 'codex',
    bin: 'codex',
    label: 'Codex CLI',
    install: 'npm install -g @openai/codex',
    build: (prompt, args) => ({argv: ['exec', '--skip-git-repo-check', ...args, '-'], stdin: prompt}),
  },
  opencode: {
    name: 'opencode',
    bin: 'opencode',
    label: 'opencode',
    install: 'npm install -g opencode-ai',
    build: (prompt, args) => ({argv: ['run', ...args, '--', prompt], stdin: ''}),
  },
}

export function isPreset(runtime: string): runtime is PresetName {
  return Object.prototype.hasOwnProperty.call(PRESETS, runtime)
}

/** The prompt a preset CLI gets: kept group messages as context, then the message itself. */
export function presetPrompt(input: AgentInput): string {
  // reactions since the last turn and the quoted message this one replies to (issue 12)
  const presence = presenceLines(input)
  if (presence.length > 0) return `${presence.join('\n')}\n${basePrompt(input)}`
  return basePrompt(input)
}

function basePrompt(input: AgentInput): string {
  if (input.history.length === 0) return input.text
  const lines = input.history.map((h) => `${h.senderName ? `${h.senderName} (${h.sender})` : h.sender}: ${h.text}`)
  const from = input.sender.name ? `${input.sender.name} (${input.sender.handle})` : input.sender.handle
  return `Earlier messages in this group chat, for context:\n${lines.join('\n')}\n\nMessage from ${from}:\n${input.text}`
}
