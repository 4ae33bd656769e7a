import {z} from 'zod/v4'
import type {ToolDefinitionWire} from './protocol.js'
import type {ToolName} from './types.js'

/**
 * The agent tools' argument schemas: validated here in the gateway, and sent as JSON Schema in
 * the tool list (zod v4's toJSONSchema, so the two cannot drift). The MCP process has no copy.
 */
export const HISTORY_MAX = 50
export const TEXT_MAX = 20_000
export const SCHEDULE_MAX_MINUTES = 366 * 24 * 60

const TAPBACK_KINDS = ['love', 'like', 'dislike', 'laugh', 'emphasize', 'question'] as const

const isoTime = z.string().refine((s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(s) && !Number.isNaN(Date.parse(s)), {
  message: 'must be an ISO 8601 date and time, e.g. 2026-12-05T09:00:00+01:00',
})

export const argSchemas = {
  send_message: z
    .object({
      text: z.string().max(TEXT_MAX).describe('The message text.').default(''),
      files: z.array(z.string().min(1)).max(10).optional().describe('Absolute paths of files on the gateway host to send after the text.'),
      target: z
        .string()
        .min(1)
        .optional()
        .describe('Another chat or person (a handle or chat_id:N). Only targets the operator listed in tools.sendTargets are allowed; omit it to write to the current chat.'),
    })
    .strict(),
  react: z
    .object({
      kind: z.enum(TAPBACK_KINDS).optional().describe('A classic tapback.'),
      emoji: z.string().min(1).max(16).optional().describe('An emoji tapback (where the Mac supports emoji tapbacks).'),
      messageGuid: z.string().min(1).optional().describe('The message to react to (a guid from read_history); default: the message that started this turn.'),
    })
    .strict(),
  read_history: z
    .object({
      limit: z.number().int().min(1).max(HISTORY_MAX, `limit must be at most ${HISTORY_MAX}`).default(20).describe(`How many messages (1-${HISTORY_MAX}, default 20).`),
      before: isoTime.optional().describe('Only messages sent before this time (ISO 8601), to page back.'),
    })
    .strict(),
  schedule_message: z
    .object({
      text: z.string().min(1).max(TEXT_MAX).describe('The message to send later.'),
      at: isoTime.optional().describe('When, as an ISO 8601 date and time with its offset.'),
      inMinutes: z.number().int().min(1).max(SCHEDULE_MAX_MINUTES).optional().describe('When, in minutes from now (instead of at).'),
    })
    .strict(),
  list_scheduled: z.object({}).strict(),
  cancel_scheduled: z.object({id: z.string().min(1).describe('The id schedule_message or list_scheduled gave.')}).strict(),
} satisfies Record<ToolName, z.ZodType>

export type ToolArgs<N extends ToolName> = z.output<(typeof argSchemas)[N]>

const META: Record<ToolName, {title: string; description: string}> = {
  send_message: {
    title: 'Send a message',
    description:
      'Send a message now to the current iMessage chat (e.g. progress, or a file), besides your final answer. A target other than the current chat works only if the operator allowed it.',
  },
  react: {
    title: 'React with a tapback',
    description: 'Add a tapback (love, like, dislike, laugh, emphasize, question, or an emoji) to a message in the current chat.',
  },
  read_history: {
    title: 'Read the chat',
    description: `Read recent messages of the current chat, oldest first: sender, text, time and attachments (names and types only). At most ${HISTORY_MAX} per call; page back with before.`,
  },
  schedule_message: {
    title: 'Schedule a message',
    description:
      'Send a message to the current chat later (a reminder). Give either at (ISO 8601 with offset) or inMinutes. Quiet hours set by the operator may hold it until they end.',
  },
  list_scheduled: {title: 'List scheduled messages', description: 'List the messages scheduled for the current chat that have not been sent yet.'},
  cancel_scheduled: {title: 'Cancel a scheduled message', description: 'Cancel a message scheduled for the current chat, by its id.'},
}

const wireCache = new Map<ToolName, ToolDefinitionWire>()

export function toolDefinition(name: ToolName): ToolDefinitionWire {
  let d = wireCache.get(name)
  if (!d) {
    const schema = z.toJSONSchema(argSchemas[name], {io: 'input'}) as Record<string, unknown>
    delete schema.$schema
    d = {name, ...META[name], inputSchema: {...schema, type: 'object'}}
    wireCache.set(name, d)
  }
  return d
}

/** "limit: limit must be at most 50; before: must be an ISO 8601 ..." */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const where = i.path.length > 0 ? `${i.path.join('.')}: ` : ''
      if (i.code === 'unrecognized_keys') return `unknown argument ${i.keys.map((k) => `"${k}"`).join(', ')}`
      return `${where}${i.message}`
    })
    .join('; ')
}
