import type {AgentInput} from '../types.js'
import {claude} from './claude.js'
import {codex} from './codex.js'
import {gemini} from './gemini.js'
import {opencode} from './opencode.js'
import {presenceLines} from '../presence-context.js'
import {NATIVE_IMAGE_TYPES, type Preset, type PresetName} from './types.js'

export * from './types.js'

/** The agent CLIs run in their machine-readable streaming mode, one module each. */
export const PRESETS: Record<PresetName, Preset> = {claude, gemini, codex, opencode}

export function isPreset(runtime: string): runtime is PresetName {
  return Object.prototype.hasOwnProperty.call(PRESETS, runtime)
}

/** Attachments a preset CLI takes natively (images it can show its model), and the rest. */
export function splitAttachments(input: AgentInput): {images: AgentInput['attachments']; files: AgentInput['attachments']} {
  const images = input.attachments.filter((a) => NATIVE_IMAGE_TYPES.has(a.mimeType.toLowerCase()))
  return {images, files: input.attachments.filter((a) => !images.includes(a))}
}

/**
 * The prompt a preset CLI gets: kept group messages as context, then the message itself, then
 * the attachments that do not go natively, as paths on this host.
 */
export function presetPrompt(input: AgentInput, files: AgentInput['attachments'] = []): string {
  let text = input.text
  if (input.history.length > 0) {
    const lines = input.history.map((h) => `${h.senderName ? `${h.senderName} (${h.sender})` : h.sender}: ${h.text}`)
    const from = input.sender.name ? `${input.sender.name} (${input.sender.handle})` : input.sender.handle
    text = `Earlier messages in this group chat, for context:\n${lines.join('\n')}\n\nMessage from ${from}:\n${input.text}`
  }
  // reactions since the last turn and the quoted message this one replies to (issue 12)
  const presence = presenceLines(input)
  if (presence.length > 0) text = `${presence.join('\n')}\n${text}`
  if (files.length === 0) return text
  return `${text}\n\nAttached files:\n${files.map((f) => `- ${f.name} (${f.mimeType}, ${f.size} bytes): ${f.path}`).join('\n')}`
}
