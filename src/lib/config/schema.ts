import {z} from 'zod'

/**
 * The one schema for remoteclaw.json. Every key documented in the README's configuration
 * reference comes from the `.describe()` texts and ACCOUNT_DEFAULTS below (see docs.ts).
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
    groupChat: z
      .object({mentionPatterns: mentionPatterns.optional()})
      .strict()
      .optional()
      .describe('Group settings of this agent.'),
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
    commands: z
      .object({
        config: z.boolean().optional().describe('Allow /config get|set|unset from approved chat senders.'),
      })
      .strict()
      .optional(),
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
} as const satisfies Partial<AccountConfig>

export const GROUP_DEFAULTS = {requireMention: true} as const
export const AGENT_DEFAULTS = {runtime: 'echo', timeoutMs: 120_000, input: 'json', output: 'text'} as const
export const COMMANDS_DEFAULTS = {config: false} as const

/** The account id used when channels.imessage has no `accounts` map. */
export const DEFAULT_ACCOUNT_ID = 'default'
