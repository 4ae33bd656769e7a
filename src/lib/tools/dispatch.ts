import path from 'node:path'
import {errorMessage} from '../errors.js'
import {formatTarget, parseTarget, TARGET_FORMS, type Target} from '../imsg/targets.js'
import type {ImsgMessage} from '../imsg/types.js'
import type {Logger} from '../log.js'
import {argSchemas, describeIssues, toolDefinition, type ToolArgs} from './definitions.js'
import type {ToolCallWire, ToolDefinitionWire} from './protocol.js'
import {formatLocal, nextAllowed} from './quiet-hours.js'
import {effectiveDue, type ResolvedScheduleConfig} from './schedule-runner.js'
import {isOpen, type ScheduleRecord, type ScheduleStore} from './schedule-store.js'
import {TOOL_NAMES, ToolRefusal, type HostSendResult, type ToolHost, type ToolName, type TurnScope} from './types.js'

export interface DispatcherOptions {
  host: ToolHost
  store: ScheduleStore
  log: Logger
  now: () => number
  random: (size: number) => Buffer
  scheduleConfig: () => ResolvedScheduleConfig
  /** A schedule was added or cancelled (the runner looks again). */
  onSchedulesChanged?: () => void
  /** How long a send_message call waits for delivery before answering "queued" (default 30 s). */
  sendWaitMs?: number
}

/** How many recent messages are searched to check that a messageGuid belongs to the current chat. */
const GUID_CHECK_DEPTH = 200

function isToolName(s: string): s is ToolName {
  return (TOOL_NAMES as readonly string[]).includes(s)
}

/** Handles compare by the handle alone (imessage:+1555 is +1555); chats by their canonical form. */
function targetKey(t: Target): string {
  return t.kind === 'handle' ? `handle:${t.handle}` : formatTarget(t)
}

/**
 * The gateway's side of every tool call: scope checks, argument validation, the call itself
 * through the ToolHost, and one log line per call. Never throws: a refusal becomes a tool error
 * the agent can read.
 */
export class ToolDispatcher {
  constructor(private readonly o: DispatcherOptions) {}

  list(scope: TurnScope): ToolDefinitionWire[] {
    return scope.tools.allow.map((n) => toolDefinition(n))
  }

  async call(scope: TurnScope, tool: string, rawArgs: unknown): Promise<ToolCallWire> {
    const fields = {session: scope.sessionKey, tool, account: scope.accountId, agent: scope.agentId, chat: scope.chat.target}
    try {
      const text = await this.run(scope, tool, rawArgs)
      this.o.log.info(`tool ${tool}: ok`, {...fields, outcome: 'ok'})
      return {text, isError: false}
    } catch (error) {
      if (error instanceof ToolRefusal) {
        this.o.log.warn(`tool ${tool}: refused: ${error.message}`, {...fields, outcome: error.code})
        return {text: error.message, isError: true}
      }
      this.o.log.error(`tool ${tool}: failed: ${errorMessage(error)}`, {...fields, outcome: 'failed'})
      return {text: `${tool} failed: ${errorMessage(error)}`, isError: true}
    }
  }

  private async run(scope: TurnScope, tool: string, rawArgs: unknown): Promise<string> {
    if (!isToolName(tool)) throw new ToolRefusal('not_found', `there is no tool "${tool}"; the tools are ${TOOL_NAMES.join(', ')}`)
    if (!scope.tools.allow.includes(tool)) {
      throw new ToolRefusal('not_allowed', `${tool} is not enabled for agent "${scope.agentId}" (the operator sets agents.list[].tools.allow)`)
    }
    const parsed = argSchemas[tool].safeParse(rawArgs ?? {})
    if (!parsed.success) throw new ToolRefusal('invalid_arguments', `invalid arguments for ${tool}: ${describeIssues(parsed.error)}`)
    const args = parsed.data as never
    switch (tool) {
      case 'send_message':
        return this.sendMessage(scope, args)
      case 'react':
        return this.react(scope, args)
      case 'read_history':
        return this.readHistory(scope, args)
      case 'schedule_message':
        return this.scheduleMessage(scope, args)
      case 'list_scheduled':
        return this.listScheduled(scope)
      case 'cancel_scheduled':
        return this.cancelScheduled(scope, args)
    }
  }

  /** The canonical target and its chat_id, when the agent may send there. */
  private resolveTarget(scope: TurnScope, requested: string | undefined): {target: string; chatId: number; current: boolean} {
    if (requested === undefined) return {target: scope.chat.target, chatId: scope.chat.chatId, current: true}
    let t: Target
    try {
      t = parseTarget(requested, {region: scope.region})
    } catch {
      throw new ToolRefusal('invalid_arguments', `target "${requested}" is not a target; use ${TARGET_FORMS}`)
    }
    const key = targetKey(t)
    let current: Target | undefined
    try {
      current = parseTarget(scope.chat.target, {region: scope.region})
    } catch {
      current = undefined
    }
    if (current && targetKey(current) === key) return {target: scope.chat.target, chatId: scope.chat.chatId, current: true}
    const allowed = scope.tools.sendTargets.some((entry) => {
      try {
        return targetKey(parseTarget(entry, {region: scope.region})) === key
      } catch {
        return false // a bad entry admits nothing; config validation names it
      }
    })
    if (!allowed) {
      throw new ToolRefusal(
        'not_allowed',
        `sending to ${requested} is not allowed: agent "${scope.agentId}" may send to the current chat, and to other chats only when the operator lists them in agents.list[].tools.sendTargets`,
      )
    }
    return {target: formatTarget(t), chatId: t.kind === 'chat_id' ? t.chatId : 0, current: false}
  }

  private async sendMessage(scope: TurnScope, args: ToolArgs<'send_message'>): Promise<string> {
    const text = args.text.trim()
    const files = args.files ?? []
    if (text === '' && files.length === 0) throw new ToolRefusal('invalid_arguments', 'nothing to send: give text, files or both')
    const relative = files.find((f) => !path.isAbsolute(f))
    if (relative) throw new ToolRefusal('invalid_arguments', `files must be absolute paths on the gateway host; "${relative}" is not`)
    const dest = this.resolveTarget(scope, args.target)
    const where = dest.current ? 'the current chat' : dest.target
    const pending = this.o.host.send({
      accountId: scope.accountId,
      sessionKey: scope.sessionKey,
      target: dest.target,
      chatId: dest.chatId,
      text,
      ...(files.length > 0 ? {files} : {}),
      journalKey: `tool:${this.o.random(8).toString('hex')}`,
      label: dest.current ? `${scope.chat.label} (send_message)` : `${dest.target} (send_message from ${scope.sessionKey})`,
    })
    const waitMs = this.o.sendWaitMs ?? 30_000
    let timer: NodeJS.Timeout | undefined
    const res = await Promise.race([
      pending,
      new Promise<'waiting'>((resolve) => {
        timer = setTimeout(() => resolve('waiting'), waitMs)
      }),
    ]).finally(() => clearTimeout(timer))
    if (res === 'waiting') {
      pending.catch(() => {}) // settles later and logs itself
      return `Queued for ${where}: the chat's outbound rate limit holds it; it will be sent, do not send it again.`
    }
    return this.sendOutcome(res, where)
  }

  private sendOutcome(res: HostSendResult, where: string): string {
    switch (res.status) {
      case 'sent':
        return `Sent to ${where}.`
      case 'interrupted':
        throw new ToolRefusal('unavailable', `the gateway is stopping; the message to ${where} is kept and sent when it starts again`)
      case 'unknown':
        throw new ToolRefusal('failed', `the message to ${where} may or may not have arrived (${res.detail ?? 'no answer from iMessage'}); it is not retried, do not send it again`)
      default:
        throw new ToolRefusal('failed', `the message to ${where} was not sent: ${res.detail ?? 'send failed'}`)
    }
  }

  private async react(scope: TurnScope, args: ToolArgs<'react'>): Promise<string> {
    if ((args.kind === undefined) === (args.emoji === undefined)) {
      throw new ToolRefusal('invalid_arguments', 'give exactly one of kind (love, like, dislike, laugh, emphasize, question) or emoji')
    }
    const guid = args.messageGuid ?? scope.triggerGuid
    if (!guid) throw new ToolRefusal('invalid_arguments', 'no message to react to in this turn: give messageGuid (from read_history)')
    if (guid !== scope.triggerGuid) {
      const recent = await this.chatHistory(scope, GUID_CHECK_DEPTH)
      if (!recent.some((m) => m.guid === guid)) {
        throw new ToolRefusal('not_found', `message ${guid} is not among the recent messages of the current chat; only those can get a tapback`)
      }
    }
    const reaction = args.kind ?? args.emoji!
    await this.o.host.react({accountId: scope.accountId, chat: scope.chat, messageGuid: guid, reaction})
    return `Reacted ${reaction} to message ${guid}.`
  }

  /** The current chat's messages, newest first; refuses where the chat has no chat_id. */
  private async chatHistory(scope: TurnScope, limit: number, before?: Date): Promise<ImsgMessage[]> {
    if (scope.chat.chatId <= 0) throw new ToolRefusal('unavailable', 'this chat has no chat_id yet, so its history cannot be read')
    const messages = await this.o.host.history({accountId: scope.accountId, chat: scope.chat, limit, ...(before ? {before} : {})})
    // imsg filters by chat_id already; this keeps another chat's row out whatever the host returns
    return messages.filter((m) => m.chat_id === undefined || m.chat_id === scope.chat.chatId)
  }

  private async readHistory(scope: TurnScope, args: ToolArgs<'read_history'>): Promise<string> {
    const messages = await this.chatHistory(scope, args.limit, args.before ? new Date(args.before) : undefined)
    const out = messages
      .slice(0, args.limit)
      .reverse()
      .map((m) => ({
        guid: m.guid,
        sender: m.is_from_me ? 'me' : m.sender,
        fromMe: m.is_from_me,
        text: m.text ?? '',
        time: m.created_at,
        attachments: (m.attachments ?? []).map((a) => ({
          name: a.transfer_name ?? (a.filename ? path.basename(String(a.filename)) : ''),
          mimeType: a.mime_type ?? '',
          size: a.total_bytes ?? 0,
        })),
      }))
    return JSON.stringify({chat: scope.chat.target, messages: out}, null, 1)
  }

  private scheduleView(r: ScheduleRecord, c: ResolvedScheduleConfig): Record<string, unknown> {
    const due = effectiveDue(r, c)
    return {
      id: r.id,
      text: r.text,
      at: new Date(r.dueAt).toISOString(),
      ...(due !== r.dueAt ? {sendsAt: new Date(due).toISOString(), heldBy: 'quiet hours'} : {}),
      status: r.status,
    }
  }

  private async scheduleMessage(scope: TurnScope, args: ToolArgs<'schedule_message'>): Promise<string> {
    if ((args.at === undefined) === (args.inMinutes === undefined)) {
      throw new ToolRefusal('invalid_arguments', 'give exactly one of at (ISO 8601 time) or inMinutes')
    }
    const now = this.o.now()
    const dueAt = args.at !== undefined ? Date.parse(args.at) : now + args.inMinutes! * 60_000
    if (dueAt <= now) throw new ToolRefusal('invalid_arguments', `at ${args.at} is in the past (it is now ${new Date(now).toISOString()})`)
    if (dueAt - now > 366 * 24 * 3600_000) throw new ToolRefusal('invalid_arguments', 'schedules reach at most one year ahead')
    const c = this.o.scheduleConfig()
    const rec = await this.o.store.add(
      (id) => ({
        id,
        accountId: scope.accountId,
        agentId: scope.agentId,
        sessionKey: scope.sessionKey,
        chat: {...scope.chat},
        text: args.text,
        dueAt,
        createdAt: now,
        status: 'pending',
      }),
      () => this.o.random(4).toString('hex'),
      (open) => {
        const mine = open.filter((r) => r.accountId === scope.accountId && r.chat.target === scope.chat.target)
        if (mine.length >= c.maxPendingPerChat) {
          throw new ToolRefusal(
            'limit',
            `this chat already has ${mine.length} scheduled messages, the most allowed (schedules.maxPendingPerChat); cancel one first`,
          )
        }
      },
    )
    this.o.onSchedulesChanged?.()
    const sendsAt = nextAllowed(dueAt, c.quietHours, c.timezone)
    const when = formatLocal(dueAt, c.timezone)
    return sendsAt === dueAt
      ? `Scheduled ${rec.id} for ${when}.`
      : `Scheduled ${rec.id} for ${when}; that is within quiet hours, so it is sent at ${formatLocal(sendsAt, c.timezone)}.`
  }

  private async listScheduled(scope: TurnScope): Promise<string> {
    const c = this.o.scheduleConfig()
    const mine = (await this.o.store.list()).filter((r) => isOpen(r) && r.accountId === scope.accountId && r.chat.target === scope.chat.target)
    return JSON.stringify({scheduled: mine.map((r) => this.scheduleView(r, c))}, null, 1)
  }

  private async cancelScheduled(scope: TurnScope, args: ToolArgs<'cancel_scheduled'>): Promise<string> {
    const res = await this.o.store.cancel(
      args.id,
      `cancelled by agent ${scope.agentId} (${scope.sessionKey})`,
      (x) => x.accountId === scope.accountId && x.chat.target === scope.chat.target,
    )
    if (!res) throw new ToolRefusal('not_found', `no scheduled message ${args.id} in this chat; list_scheduled shows them`)
    const st = res.record.status
    if (!res.cancelled) throw new ToolRefusal('not_found', `scheduled message ${args.id} is already ${st === 'firing' ? 'being sent' : st}`)
    this.o.onSchedulesChanged?.()
    return `Cancelled ${args.id}.`
  }
}
