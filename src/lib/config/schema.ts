import {z} from 'zod'
import {parseReaction, REACTION_HELP} from '../util/tapback.js'

/**
 * The one schema for remoteclaw.json. Every key documented in the configuration reference
 * (docs/configuration.md) comes from the `.describe()` texts and ACCOUNT_DEFAULTS below (see docs.ts).
 *
 * Raw keys carry no zod defaults on purpose: account resolution (accounts.ts) must know which
 * values were set where, so defaults apply only at the end of channel -> account inheritance.
 */

export const DEFAULT_ATTACHMENT_ROOT = '/Users/*/Library/Messages/Attachments'

export const dmPolicySchema = z.enum(['pairing', 'allowlist', 'open', 'disabled'])
export const groupPolicySchema = z.enum(['open', 'allowlist', 'disabled'])
export const serviceSchema = z.enum(['imessage', 'sms', 'auto'])
export const chunkModeSchema = z.enum(['length', 'newline'])
export const pairingReplySchema = z.enum(['code', 'silent'])
export const replyThreadingSchema = z.enum(['off', 'group', 'all'])
export const reactionNotificationsSchema = z.enum(['off', 'own', 'all'])

const mentionPatterns = z
  .array(z.string())
  .describe('Regular expressions (case-insensitive) that count as addressing the bot in a group chat.')

export const groupConfigSchema = z
  .object({
    requireMention: z
      .boolean()
      .optional()
      .describe('Only answer this group when a mention pattern matches (default true).'),
    agentId: z.string().min(1).optional().describe('Agent that handles this group (overrides the account and default agent).'),
    historyLimit: z.number().int().min(0).optional().describe('Unaddressed group messages kept as context for this group (0 disables).'),
    responsePrefix: z.string().optional().describe('Text put before every reply in this group.'),
    enabled: z.boolean().optional().describe('Set false to ignore this group while keeping its entry.'),
  })
  .strict()
export type GroupConfig = z.infer<typeof groupConfigSchema>

/** Keys that may be set on the channel and overridden per account. */
export const accountFieldsShape = {
  name: z.string().optional().describe('Display name of the account in status output.'),
  enabled: z.boolean().optional().describe('Start this account with the gateway.'),
  cliPath: z
    .string()
    .min(1)
    .optional()
    .describe('Path to imsg, or to a wrapper script (e.g. SSH) that runs it; a bare name is looked up on PATH. `~` expands.'),
  dbPath: z.string().min(1).optional().describe('Messages database (chat.db) that imsg reads; passed as `imsg rpc --db`. `~` expands.'),
  remoteHost: z
    .string()
    .min(1)
    .optional()
    .describe('`user@host` of the Mac running imsg, for SCP attachment fetches and outbound staging when cliPath is an SSH wrapper.'),
  service: serviceSchema.optional().describe('Service for handle targets: imessage, sms or auto.'),
  region: z
    .string()
    .regex(/^[A-Za-z]{2}$/, 'must be a two-letter country code such as "US"')
    .optional()
    .describe('Country used to normalise phone numbers without a country code (SMS region).'),
  dmPolicy: dmPolicySchema.optional().describe('Who may DM the bot: pairing, allowlist, open (needs "*" in allowFrom) or disabled.'),
  allowFrom: z
    .array(z.string().min(1))
    .optional()
    .describe('DM allowlist: handles (phone/email), chat_id:N, chat_guid:G, chat_identifier:I, or "*".'),
  pairingReply: pairingReplySchema
    .optional()
    .describe('In pairing mode: "code" replies to an unknown sender with a code; "silent" records the request and sends nothing.'),
  groupPolicy: groupPolicySchema.optional().describe('Group chats: open, allowlist (only chats in `groups`) or disabled.'),
  groupAllowFrom: z
    .array(z.string().min(1))
    .optional()
    .describe('Senders allowed to trigger the bot in groups; falls back to allowFrom when unset.'),
  groups: z
    .record(z.string(), groupConfigSchema)
    .optional()
    .describe('Per-group settings keyed by chat_id, plus "*" for defaults. With groupPolicy allowlist, the allowlist.'),
  historyLimit: z.number().int().min(0).optional().describe('Max unaddressed group messages handed to the agent as context (0 disables).'),
  includeAttachments: z.boolean().optional().describe('Hand inbound attachments to the agent.'),
  attachmentRoots: z
    .array(z.string().min(1))
    .optional()
    .describe('Local directories (globs, `*` = one path segment) inbound attachments must lie under.'),
  remoteAttachmentRoots: z
    .array(z.string().min(1))
    .optional()
    .describe('Directories on the remote Mac (globs) that attachments may be fetched from over SCP.'),
  mediaMaxMb: z.number().positive().optional().describe('Inbound and outbound media size cap in MB.'),
  textChunkLimit: z.number().int().min(1).optional().describe('Max characters per outbound message; longer replies are split.'),
  chunkMode: chunkModeSchema.optional().describe('How long replies split: length (at newline/space before the limit) or newline (paragraphs first).'),
  maxReplyChunks: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .optional()
    .describe('Max messages one agent reply is split into (up to 1000); the rest is cut and a short note says so. `message send` refuses longer text.'),
  configWrites: z.boolean().optional().describe('Allow /config set|unset from chat (also needs commands.config).'),
  responsePrefix: z.string().optional().describe('Text put before every reply (account, then channel, then messages.responsePrefix).'),
  agentId: z.string().min(1).optional().describe('Agent that handles this account (default: the default agent).'),
  maxInboundAgeMinutes: z
    .number()
    .min(0)
    .optional()
    .describe('Inbound messages older than this are treated as backlog and not answered (0 disables the fence).'),
  rpcTimeoutMs: z.number().int().min(100).optional().describe('Per-request timeout for imsg RPC calls, in ms.'),
  outboundPerMinute: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('Max messages the bot sends to one chat per minute; more are queued, never dropped.'),
  typingIndicator: z
    .boolean()
    .optional()
    .describe('Show the typing indicator in the chat while the agent works on a reply (needs the IMCore bridge).'),
  sendReadReceipts: z
    .boolean()
    .optional()
    .describe('Mark the chat read when a message is accepted for the agent, never for dropped or pairing messages (needs the IMCore bridge).'),
  ackReaction: z
    .string()
    .refine((v) => v === 'off' || parseReaction(v) !== undefined, {message: `must be "off", ${REACTION_HELP}`})
    .optional()
    .describe('Tapback put on each accepted message at once, e.g. "like" or "👀" (emoji need emoji tapback support), or "off" (needs the IMCore bridge).'),
  replyThreading: replyThreadingSchema
    .optional()
    .describe('Answer in the thread of the triggering message: off, group (group chats only) or all; plain replies where threaded replies are not usable.'),
  reactionNotifications: reactionNotificationsSchema
    .optional()
    .describe('Which inbound tapbacks reach the agent as context with the next turn: off, own (reactions to the bot\'s messages) or all. Never answered by themselves.'),
} as const

export const accountConfigSchema = z.object(accountFieldsShape).strict()
export type AccountConfig = z.infer<typeof accountConfigSchema>

export const imessageChannelSchema = z
  .object({
    ...accountFieldsShape,
    accounts: z
      .record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'account ids use letters, digits, "_" and "-"'), accountConfigSchema)
      .optional()
      .describe('Per-account overrides keyed by account id; each may set any channel key.'),
    defaultAccount: z.string().min(1).optional().describe('Account used when a command gets no --account.'),
  })
  .strict()
export type IMessageChannelConfig = z.infer<typeof imessageChannelSchema>

/** The agent tools (docs/agents.md: Agent tools); tools/ takes the names from here. */
export const agentToolNameSchema = z.enum(['send_message', 'react', 'read_history', 'schedule_message', 'list_scheduled', 'cancel_scheduled'])

export const agentToolsSchema = z
  .object({
    enabled: z.boolean().optional().describe('Give this agent the remoteclaw MCP server (send_message, react, read_history, schedules) in every turn.'),
    allow: z.array(agentToolNameSchema).optional().describe('Only these tools (default: all of them).'),
    sendTargets: z
      .array(z.string().min(1))
      .optional()
      .describe('Chats or people send_message may write to besides the current chat: handles or chat_id:N, as `message send --target` takes them (phone numbers read with the account\'s region).'),
  })
  .strict()
export type AgentToolsConfig = z.infer<typeof agentToolsSchema>

const clockSchema = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day such as "22:00" (24-hour HH:MM)')

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', {timeZone: tz})
    return true
  } catch {
    return false
  }
}

export const schedulesSchema = z
  .object({
    missed: z
      .enum(['send', 'drop'])
      .optional()
      .describe('A scheduled message missed by more than missedGraceMinutes while the gateway was down: "send" it late with a note, or "drop" it with a log line.'),
    missedGraceMinutes: z.number().min(0).optional().describe('How late a scheduled message may go out before it counts as missed.'),
    quietHours: z
      .object({
        start: clockSchema.describe('Start of the quiet window, e.g. "22:00".'),
        end: clockSchema.describe('End of the quiet window, e.g. "07:00" (may be on the next day).'),
      })
      .strict()
      .optional()
      .describe('A daily window in which scheduled messages wait; they go out when it ends. Unset: no quiet hours.'),
    timezone: z
      .string()
      .refine(isTimeZone, 'must be an IANA time zone such as "Europe/Berlin"')
      .optional()
      .describe('Time zone of quietHours and of the times in notes (IANA name; default: the gateway host\'s).'),
    maxPendingPerChat: z.number().int().min(1).optional().describe('Most scheduled messages one chat may have waiting.'),
  })
  .strict()
export type SchedulesConfig = z.infer<typeof schedulesSchema>

export const dmScopeSchema = z.enum(['main', 'per-sender'])
export const streamingSchema = z.enum(['off', 'block'])

/** Session keys shared by `session` and its per-agent override `agents.list[].session`. */
const sessionFieldsShape = {
  idleMinutes: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('A session idle this long (minutes since its last turn) starts fresh at its next message; 0 = never expires.'),
  dmScope: dmScopeSchema
    .optional()
    .describe(
      'Who shares a DM session: "main" (every DM to an agent continues one conversation, agent:<agentId>:main) or "per-sender" (agent:<agentId>:imessage:dm:<handle>).',
    ),
} as const

export const agentRuntimeSchema = z.enum(['echo', 'command', 'claude', 'gemini', 'codex', 'opencode'])

export const agentSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_-]+$/, 'agent ids use letters, digits, "_" and "-"').describe('Agent id, used in session keys.'),
    default: z.boolean().optional().describe('The agent used when routing names no other.'),
    name: z.string().optional().describe('Display name.'),
    runtime: agentRuntimeSchema.optional().describe('echo (built in), command, or a preset: claude, gemini, codex, opencode.'),
    command: z.array(z.string().min(1)).min(1).optional().describe('argv of the command runtime (no shell), e.g. ["node", "bot.js"].'),
    args: z.array(z.string()).optional().describe('Extra arguments appended to a preset\'s argv.'),
    cwd: z.string().optional().describe('Working directory of the agent process.'),
    env: z.record(z.string(), z.string()).optional().describe('Extra environment variables for the agent process.'),
    timeoutMs: z.number().int().min(100).optional().describe('Kill the agent after this long (default 120000).'),
    input: z.enum(['json', 'text']).optional().describe('What the command gets on stdin: one JSON object (default) or just the text.'),
    output: z.enum(['text', 'json']).optional().describe('text: stdout is the reply; json: stdout is {"text", "files"}.'),
    errorReply: z.string().optional().describe('Short reply sent when the agent fails (default: nothing is sent).'),
    streaming: streamingSchema
      .optional()
      .describe('off: one reply, the final answer; block: each finished text block the agent CLI streams is sent as it completes (presets).'),
    session: z.object(sessionFieldsShape).strict().optional().describe('Per-agent override of `session` (unset keys follow `session`).'),
    groupChat: z
      .object({mentionPatterns: mentionPatterns.optional()})
      .strict()
      .optional()
      .describe('Group settings of this agent.'),
    tools: agentToolsSchema.optional().describe('Agent tools over MCP (docs/agents.md: Agent tools): which, and where send_message may write.'),
  })
  .strict()
export type AgentConfig = z.infer<typeof agentSchema>

export const configSchema = z
  .object({
    $schema: z.string().optional().describe('Editor schema hint; ignored.'),
    channels: z
      .object({
        imessage: imessageChannelSchema.optional().describe('The iMessage channel (imsg).'),
      })
      .strict()
      .optional(),
    agents: z
      .object({
        list: z.array(agentSchema).optional().describe('Agents that answer conversations.'),
      })
      .strict()
      .optional(),
    messages: z
      .object({
        responsePrefix: z.string().optional().describe('Text put before every reply, on every channel.'),
        groupChat: z
          .object({
            mentionPatterns: mentionPatterns.optional(),
            historyLimit: z.number().int().min(0).optional().describe('Default group context size for all channels.'),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    session: z
      .object(sessionFieldsShape)
      .strict()
      .optional()
      .describe('Agent sessions: each conversation continues the agent CLI\'s own session until it expires or is reset.'),
    commands: z
      .object({
        config: z.boolean().optional().describe('Allow /config get|set|unset from approved chat senders.'),
      })
      .strict()
      .optional(),
    schedules: schedulesSchema.optional().describe('Messages agents schedule with schedule_message (docs/agents.md: Agent tools).'),
    /** Legacy flat layout (pre-channels). Read with a warning; `remoteclaw config migrate` moves it. */
    imessage: imessageChannelSchema.optional().describe('Legacy location of channels.imessage; run `remoteclaw config migrate`.'),
  })
  .strict()

export type RemoteclawConfig = z.infer<typeof configSchema>

/** Defaults applied after channel -> account inheritance. */
export const ACCOUNT_DEFAULTS = {
  enabled: true,
  cliPath: 'imsg',
  service: 'auto',
  region: 'US',
  dmPolicy: 'pairing',
  allowFrom: [] as string[],
  pairingReply: 'code',
  groupPolicy: 'allowlist',
  historyLimit: 20,
  includeAttachments: false,
  attachmentRoots: [DEFAULT_ATTACHMENT_ROOT],
  remoteAttachmentRoots: [DEFAULT_ATTACHMENT_ROOT],
  mediaMaxMb: 16,
  textChunkLimit: 4000,
  chunkMode: 'length',
  maxReplyChunks: 10,
  configWrites: true,
  maxInboundAgeMinutes: 15,
  rpcTimeoutMs: 10_000,
  outboundPerMinute: 20,
  typingIndicator: true,
  sendReadReceipts: true,
  ackReaction: 'off',
  replyThreading: 'group',
  reactionNotifications: 'own',
} as const satisfies Partial<AccountConfig>

export const GROUP_DEFAULTS = {requireMention: true} as const
export const AGENT_DEFAULTS = {runtime: 'echo', timeoutMs: 120_000, input: 'json', output: 'text', streaming: 'off'} as const
export const SESSION_DEFAULTS = {idleMinutes: 10_080, dmScope: 'main'} as const
export const COMMANDS_DEFAULTS = {config: false} as const
export const AGENT_TOOLS_DEFAULTS = {enabled: true, sendTargets: [] as string[]} as const
export const SCHEDULES_DEFAULTS = {missed: 'send', missedGraceMinutes: 10, maxPendingPerChat: 20} as const

/** The account id used when channels.imessage has no `accounts` map. */
export const DEFAULT_ACCOUNT_ID = 'default'
