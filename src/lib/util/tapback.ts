// Tapback names: what users may type (`--reaction`, `ackReaction`, an agent's `react`), what imsg's
// `tapback` takes, and what inbound reaction rows say (addendum §3).

/** The six classic tapback kinds as imsg's `tapback` names them (inbound rows say `emphasis`). */
export type TapbackKind = 'love' | 'like' | 'dislike' | 'laugh' | 'emphasize' | 'question'

export const TAPBACK_KINDS: readonly TapbackKind[] = ['love', 'like', 'dislike', 'laugh', 'emphasize', 'question']

const ALIASES: Record<string, TapbackKind> = {
  love: 'love', heart: 'love', '❤️': 'love', '❤': 'love',
  like: 'like', thumbsup: 'like', 'thumbs-up': 'like', '+1': 'like', '👍': 'like',
  dislike: 'dislike', thumbsdown: 'dislike', 'thumbs-down': 'dislike', '-1': 'dislike', '👎': 'dislike',
  laugh: 'laugh', haha: 'laugh', lol: 'laugh', '😂': 'laugh', '🤣': 'laugh',
  emphasize: 'emphasize', emphasis: 'emphasize', '!!': 'emphasize', '‼️': 'emphasize',
  question: 'question', '?': 'question', '❓': 'question',
}

export const TAPBACK_EMOJI: Record<TapbackKind, string> = {
  love: '❤️', like: '👍', dislike: '👎', laugh: '😂', emphasize: '‼️', question: '❓',
}

/** A classic kind, or a custom emoji (needs emoji tapback support). */
export type Reaction = {kind: TapbackKind; emoji?: undefined} | {emoji: string; kind?: undefined}

const EMOJI = /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator})/u

/**
 * Parses a reaction as users write it: a kind or alias (`like`, `heart`, `+1`), a classic emoji
 * (👍 is the `like` kind, which works without emoji support), or any other single emoji.
 * Returns undefined when the text is neither.
 */
export function parseReaction(input: string): Reaction | undefined {
  const t = input.trim()
  if (t === '') return undefined
  const kind = ALIASES[t.toLowerCase()] ?? ALIASES[t]
  if (kind) return {kind}
  // one grapheme that is an emoji (flags, skin tones and ZWJ sequences included); no text
  const segs = [...new Intl.Segmenter(undefined, {granularity: 'grapheme'}).segment(t)]
  if (segs.length === 1 && EMOJI.test(t)) return {emoji: t}
  return undefined
}

export const REACTION_HELP = `one of ${TAPBACK_KINDS.join(', ')} (or heart, +1, -1, haha, !!, ?), or a single emoji such as 🎉 (emoji tapbacks need imsg 0.15 with emoji support)`

/** How a reaction reads to people: the emoji of a kind, or the emoji itself. */
export function reactionEmoji(r: Reaction): string {
  return r.kind !== undefined ? TAPBACK_EMOJI[r.kind] : r.emoji
}
