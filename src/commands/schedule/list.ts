import * as Flags from '@oclif/core/flags'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {formatDuration, table} from '../../lib/pairing/format.js'
import {formatLocal} from '../../lib/tools/quiet-hours.js'
import {isOpen, ScheduleStore, type ScheduleStatus} from '../../lib/tools/schedule-store.js'

interface ScheduleJson {
  id: string
  accountId: string
  agentId: string
  sessionKey: string
  chat: string
  text: string
  dueAt: string
  createdAt: string
  status: ScheduleStatus
  settledAt?: string
  detail?: string
}
export interface ScheduleListJson {
  schemaVersion: 1
  schedules: ScheduleJson[]
}

const PREVIEW = 40

function preview(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim()
  return one.length > PREVIEW ? one.slice(0, PREVIEW - 1) + '…' : one
}

export default class ScheduleList extends BaseCommand<typeof ScheduleList> {
  static override summary = 'List the messages agents have scheduled'
  static override description = `Agents schedule messages with their schedule_message tool (see docs/agents.md, Agent tools). This lists those still waiting (or being sent), soonest first; --all adds the ones sent, cancelled, dropped or failed in the last 7 days.
Cancel one with: remoteclaw schedule cancel <ID>

${EXIT_CODES_HELP}`
  static override examples = [
    '<%= config.bin %> schedule list',
    '<%= config.bin %> schedule list --all',
    '<%= config.bin %> schedule list --account bot --json',
  ]

  static override flags = {
    account: Flags.string({description: 'Only schedules of this account.'}),
    all: Flags.boolean({description: 'Also list schedules that are done (last 7 days).'}),
  }

  async run(): Promise<ScheduleListJson> {
    const {flags} = await this.parse(ScheduleList)
    const ctx = this.ctx
    const store = new ScheduleStore(ctx.stateDir, ctx.now)
    const now = ctx.now()
    const rows = (await store.list()).filter((r) => (flags.all || isOpen(r)) && (!flags.account || r.accountId === flags.account))
    const schedules: ScheduleJson[] = rows.map((r) => ({
      id: r.id,
      accountId: r.accountId,
      agentId: r.agentId,
      sessionKey: r.sessionKey,
      chat: r.chat.target,
      text: r.text,
      dueAt: new Date(r.dueAt).toISOString(),
      createdAt: new Date(r.createdAt).toISOString(),
      status: r.status,
      ...(r.settledAt ? {settledAt: new Date(r.settledAt).toISOString()} : {}),
      ...(r.detail ? {detail: r.detail} : {}),
    }))
    if (rows.length === 0) {
      this.out(flags.all ? 'No scheduled messages.' : 'No scheduled messages waiting. (--all also shows those done in the last 7 days)')
    } else {
      const showAccount = new Set(rows.map((r) => r.accountId)).size > 1
      const body = rows.map((r) => [
        r.id,
        ...(showAccount ? [r.accountId] : []),
        r.chat.target,
        formatLocal(r.dueAt),
        r.status === 'pending' ? (r.dueAt > now ? `in ${formatDuration(r.dueAt - now)}` : 'due') : r.status,
        preview(r.text),
      ])
      for (const l of table(['ID', ...(showAccount ? ['ACCOUNT'] : []), 'CHAT', 'DUE', 'STATUS', 'TEXT'], body)) this.out(l)
    }
    return {schemaVersion: 1, schedules}
  }
}
