// What the agent sees of presence (issue 12): the message a reply answers, reactions since its last
// turn, and the `react` action a command agent with output "json" may return.
import {parseReaction, type Reaction} from '../util/tapback.js'

/** The message an inbound one answers ("reply to"). Text and sender are absent when imsg could not resolve it. */
export interface ReplyContext {
  guid: string
  text?: string
  sender?: string
}

/** One inbound reaction as the agent gets it (the command runtime's `reactions` array). */
export interface ReactionNote {
  sender: string
  senderName?: string
  /** the emoji people saw */
  emoji: string
  /** love | like | dislike | laugh | emphasis | question | custom */
  type: string
  /** false: the reaction was taken back */
  added: boolean
  messageGuid: string
  /** The reacted-to message's text, when the gateway saw it. */
  messageText?: string
  /** The reacted-to message was the bot's own. */
  toBot: boolean
  /** ISO time of the reaction */
  at: string
}

/** `react` in a command agent's JSON output: a tapback on the triggering message unless messageGuid says otherwise. */
export type AgentReact = Reaction & {messageGuid?: string}

function quote(text: string | undefined): string {
  const t = (text ?? '').replace(/\s+/g, ' ').trim()
  return `"${t.length > 60 ? `${t.slice(0, 57)}...` : t}"`
}

/** `Ana reacted 👍 to your message "see you at noon"` */
export function reactionLine(n: ReactionNote): string {
  const who = n.senderName || n.sender || 'Someone'
  const what = n.messageText === undefined ? (n.toBot ? 'your message' : 'a message') : `${n.toBot ? 'your message' : 'the message'} ${quote(n.messageText)}`
  return n.added ? `${who} reacted ${n.emoji} to ${what}` : `${who} removed their ${n.emoji} reaction from ${what}`
}

/** `(replying to +15551234567: "lunch?")` */
export function replyLine(r: ReplyContext): string {
  if (r.text === undefined) return '(replying to an earlier message)'
  return `(replying to ${r.sender ? `${r.sender}: ` : ''}${quote(r.text)})`
}

/** The lines a preset prompt puts before the message: reactions since the last turn, then the reply context. */
export function presenceLines(input: {reactions?: ReactionNote[]; replyTo?: ReplyContext}): string[] {
  return [...(input.reactions ?? []).map(reactionLine), ...(input.replyTo ? [replyLine(input.replyTo)] : [])]
}

/** Parses `react` from a JSON agent output; a string is the reason it is invalid. */
export function parseAgentReact(v: unknown): AgentReact | string | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'object' || Array.isArray(v)) return 'output "json": "react" must be an object like {"kind": "like"} or {"emoji": "🎉"}'
  const o = v as Record<string, unknown>
  const raw = typeof o.kind === 'string' ? o.kind : typeof o.emoji === 'string' ? o.emoji : undefined
  const r = raw === undefined ? undefined : parseReaction(raw)
  if (!r) return 'output "json": "react" needs "kind" (love, like, dislike, laugh, emphasize, question) or "emoji" (one emoji)'
  if (o.messageGuid !== undefined && (typeof o.messageGuid !== 'string' || o.messageGuid === '')) return 'output "json": "react.messageGuid" must be a message GUID'
  return {...r, ...(typeof o.messageGuid === 'string' ? {messageGuid: o.messageGuid} : {})}
}
