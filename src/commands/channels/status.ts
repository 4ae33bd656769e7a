import * as Flags from '@oclif/core/flags'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {remoteHostInUse} from '../../lib/attachments/remote.js'
import {resolveAccount, resolveAccounts} from '../../lib/config/accounts.js'
import {loadConfig} from '../../lib/config/load.js'
import {readGatewayHealth} from '../../lib/gateway/health.js'
import {createLogger} from '../../lib/log.js'
import type {ProbeResult} from '../../lib/imsg/probe-result.js'
import {buildStatus, renderStatus, type StatusJson} from '../../lib/imsg/status.js'

export default class ChannelsStatus extends BaseCommand<typeof ChannelsStatus> {
  static override summary = 'Show the iMessage accounts and, with --probe, check imsg live'
  static override description = `Without --probe: each account's configuration and, when a gateway runs, its live state (from the gateway's health file).
With --probe: for each enabled account, checks that cliPath is found and executable, that \`imsg rpc\` is supported (judged by its help text), that dbPath is readable (Full Disk Access), that a live rpc session answers chats.list within --timeout, and reports imsg's version, protocol, capabilities and round-trip latency. Every failed check prints a fix. A hung imsg is killed at the timeout.

--json prints one document with schemaVersion 1 (see docs/setup-and-doctor.md).

${EXIT_CODES_HELP}
(0: every account healthy; 5: an account is unhealthy, none is configured, or the gateway died; 6: imsg unreachable: not found, SSH failure or timeout; 7: config invalid)`
  static override examples = [
    '<%= config.bin %> channels status',
    '<%= config.bin %> channels status --probe',
    '<%= config.bin %> channels status --probe --account bot --timeout 5000 --json',
  ]

  static override flags = {
    probe: Flags.boolean({description: 'Run live checks against imsg (spawns `imsg rpc`).'}),
    account: Flags.string({description: 'Only this account id (default: every account).'}),
    timeout: Flags.integer({description: 'Probe time limit per account in ms (default: the account\'s rpcTimeoutMs, 10000).', min: 100}),
  }

  async run(): Promise<StatusJson> {
    const {flags} = await this.parse(ChannelsStatus)
    const ctx = this.ctx
    const loaded = await loadConfig(ctx)
    for (const w of loaded.warnings) this.note(`Warning: ${w}`)
    const all = resolveAccounts(loaded.config, {home: ctx.home})
    for (const w of all.warnings) this.note(`Warning: ${w}`)
    const accounts = flags.account ? [resolveAccount(loaded.config, flags.account, {home: ctx.home})] : all.accounts
    let probes: Map<string, ProbeResult> | undefined
    if (flags.probe) {
      probes = new Map()
      if (!this.jsonEnabled() && accounts.length > 0) this.note(`Probing ${accounts.filter((a) => a.enabled).length} account(s)...`)
      // The checks report imsg's stray output themselves; the client's log shows only with --verbose.
      const probeCtx = {...ctx, log: createLogger({level: this.isVerbose ? 'debug' : 'error'})}
      // Only --probe runs imsg: its client and execa stay unloaded for the plain status.
      const {probeAccount} = await import('../../lib/imsg/probe.js')
      const results = await Promise.all(
        accounts.map(async (a) => probeAccount(a, probeCtx, {timeoutMs: flags.timeout ?? a.rpcTimeoutMs, remoteHost: await remoteHostInUse(ctx, a)})),
      )
      for (const r of results) probes.set(r.accountId, r)
    }
    const gateway = await readGatewayHealth(ctx)
    const status = buildStatus({configPath: loaded.path, warnings: [...loaded.warnings, ...all.warnings], accounts, probes, gateway})
    for (const line of renderStatus(status)) this.out(line)
    process.exitCode = status.exitCode
    return status
  }
}
