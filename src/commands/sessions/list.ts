import * as Flags from '@oclif/core/flags'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {resolveAccount} from '../../lib/config/accounts.js'
import {loadConfig} from '../../lib/config/load.js'
import {formatAgo, formatDuration, table} from '../../lib/pairing/format.js'
import {listSessions} from '../../lib/sessions/admin.js'

interface SessionJson {
  key: string
  agentId: string
  runtime: string
  sessionId: string | null
  accountId: string
  cwd: string
  turns: number
  createdAt: string
  lastUsedAt: string
  expiresAt: string | null
  expired: boolean
}

export default class SessionsList extends BaseCommand<typeof SessionsList> {
  static override summary = 'List agent sessions: key, agent, CLI session id, turns, last use and expiry'
  static override description = `Each session key (agent:<agentId>:main for DMs with session.dmScope "main", agent:<agentId>:imessage:dm:<handle> with "per-sender", agent:<agentId>:imessage:group:<chat_id> for groups) continues one conversation with the agent CLI until it is idle for session.idleMinutes or reset. Expired sessions are listed until their next message starts them over.

${EXIT_CODES_HELP}`
  static override examples = [
    '<%= config.bin %> sessions list',
    '<%= config.bin %> sessions list --account bot',
    '<%= config.bin %> sessions list --json',
  ]

  static override flags = {
    account: Flags.string({description: 'Only sessions whose last turn came through this account.'}),
  }

  async run(): Promise<{schemaVersion: 1; sessions: SessionJson[]}> {
    const {flags} = await this.parse(SessionsList)
    const ctx = this.ctx
    const {config} = await loadConfig(ctx)
    if (flags.account !== undefined) resolveAccount(config, flags.account, {home: ctx.home}) // exit 4 for an unknown account
    const now = ctx.now()
    const rows = await listSessions(ctx, config, {accountId: flags.account})
    const iso = (ms: number) => new Date(ms).toISOString()
    const sessions: SessionJson[] = rows.map((r) => ({
      key: r.key,
      agentId: r.agentId,
      runtime: r.runtime,
      sessionId: r.sessionId ?? null,
      accountId: r.accountId,
      cwd: r.cwd,
      turns: r.turns,
      createdAt: iso(r.createdAt),
      lastUsedAt: iso(r.lastUsedAt),
      expiresAt: r.expiresAt === null ? null : iso(r.expiresAt),
      expired: r.expired,
    }))
    if (rows.length === 0) {
      this.out('No sessions yet: the first message to an agent starts one.')
    } else {
      const lines = table(
        ['SESSION KEY', 'AGENT', 'RUNTIME', 'CLI SESSION ID', 'TURNS', 'LAST USED', 'EXPIRES'],
        rows.map((r) => [
          r.key,
          r.agentId,
          r.runtime,
          r.sessionId ?? '-',
          String(r.turns),
          formatAgo(now - r.lastUsedAt),
          r.expiresAt === null ? 'never' : r.expired ? 'expired (next message starts fresh)' : `in ${formatDuration(r.expiresAt - now)}`,
        ]),
      )
      for (const l of lines) this.out(l)
      this.out()
      this.out('Start one over with: remoteclaw sessions reset <session-key>')
    }
    return {schemaVersion: 1, sessions}
  }
}
