import {checkAgents, killAgentLeftovers} from '../agents/runner.js'
import {findAgent, resolveAgents, type ResolvedAgents} from '../agents/resolve.js'
import {NOT_CONFIGURED_FIX, NOT_CONFIGURED_MESSAGE, resolveAccounts, type ResolvedAccount} from '../config/accounts.js'
import {ConfigInvalidError, loadConfig, type LoadedConfig} from '../config/load.js'
import type {RemoteclawConfig} from '../config/schema.js'
import type {Context} from '../context.js'
import {errorMessage, NotFoundError} from '../errors.js'
import type {Logger} from '../log.js'
import {listApproved} from '../pairing/store.js'
import {SessionTurns} from '../sessions/continuity.js'
import {checkRouting} from '../sessions/routing.js'
import {sharedDmSessionWarning} from '../sessions/scope-warning.js'
import {SessionStore} from '../sessions/store.js'
import {AccountRunner, type RunnerEvent, type RunnerTimings} from './account-runner.js'
import {createSessionRunAgent} from './agent-runtime.js'
import {createConfigCommandHandler} from './chat-commands.js'
import {ConfigWatcher} from './config-watch.js'
import {FindingsLog, issueFinding, type Finding} from './findings.js'
import {HealthRecorder} from './health.js'
import {acquireGatewayLock, type GatewayLock} from './lock.js'
import {ToolService} from './tool-service.js'
import type {RunAgent} from './ports.js'
import type {ChatCommandHandler} from './runner-types.js'
import {createSessionCommandHandler} from './session-commands.js'

export interface GatewayOptions {
  ctx: Context
  /** Only these accounts (--account); default: every enabled account. */
  accountIds?: string[]
  /** Watch the config file and apply valid changes (default true). */
  watchConfig?: boolean
  timings?: Partial<RunnerTimings>
  /** Replaces the agent runtimes (tests). */
  runAgent?: RunAgent
  onEvent?: (accountId: string, e: RunnerEvent) => void
}

/** Two accounts on the same imsg + chat.db would answer every message twice. */
export function checkAccountConflicts(accounts: ResolvedAccount[]): void {
  const seen = new Map<string, string>()
  for (const a of accounts) {
    const key = `${a.cliPath}\u0000${a.dbPath ?? '(default chat.db)'}`
    const other = seen.get(key)
    if (other) {
      throw new ConfigInvalidError(
        `accounts "${other}" and "${a.id}" use the same cliPath (${a.cliPath}) and dbPath (${a.dbPath ?? 'default ~/Library/Messages/chat.db'}); the gateway would answer every message twice`,
        {fix: `Give each account its own Messages database (dbPath) or imsg wrapper (cliPath), or disable one: remoteclaw config set ${a.keyPrefix}.enabled false`},
      )
    }
    seen.set(key, a.id)
  }
}

function selectAccounts(config: RemoteclawConfig, ctx: Context, ids: string[] | undefined): {accounts: ResolvedAccount[]; warnings: string[]} {
  const all = resolveAccounts(config, ctx)
  if (all.accounts.length === 0) {
    // The gateway cannot run on this config at all: a configuration error (exit 7), same words as elsewhere.
    throw new ConfigInvalidError(`${NOT_CONFIGURED_MESSAGE} in ${ctx.configPath}`, {fix: NOT_CONFIGURED_FIX})
  }
  let accounts: ResolvedAccount[]
  if (ids && ids.length > 0) {
    accounts = []
    for (const id of ids) {
      const found = all.accounts.find((a) => a.id === id)
      if (!found) throw new NotFoundError(`no iMessage account "${id}"`, {fix: `Known accounts: ${all.accounts.map((a) => a.id).join(', ')}.`})
      if (!found.enabled) {
        throw new ConfigInvalidError(`account "${id}" is disabled`, {fix: `Enable it: remoteclaw config set ${found.keyPrefix}.enabled true`})
      }
      accounts.push(found)
    }
  } else {
    accounts = all.accounts.filter((a) => a.enabled)
    if (accounts.length === 0) {
      throw new ConfigInvalidError('every iMessage account is disabled', {
        fix: `Enable one: remoteclaw config set ${all.accounts[0]!.keyPrefix}.enabled true`,
      })
    }
  }
  checkAccountConflicts(accounts)
  return {accounts, warnings: all.warnings}
}

/**
 * `remoteclaw gateway`: one supervised AccountRunner per account, the health file, config hot
 * reload and graceful stop. start() throws only fatal configuration errors.
 */
export class Gateway {
  private readonly runners = new Map<string, AccountRunner>()
  private readonly health: HealthRecorder
  private readonly log: Logger
  private readonly findings: FindingsLog
  private tools: ToolService | undefined
  private loaded!: LoadedConfig
  private agents!: ResolvedAgents
  private watcher: ConfigWatcher | undefined
  private lock: GatewayLock | undefined
  private stopped = false
  private stopping: Promise<void> | undefined
  private reloading = Promise.resolve()
  private turns: SessionTurns | undefined

  private constructor(private readonly o: GatewayOptions) {
    this.log = o.ctx.log.child('gateway')
    this.findings = new FindingsLog(this.log)
    this.health = new HealthRecorder(o.ctx.stateDir, o.ctx.now, (error) => this.log.warn(`cannot write the health file: ${errorMessage(error)}`))
  }

  static async start(o: GatewayOptions): Promise<Gateway> {
    const g = new Gateway(o)
    try {
      await g.boot()
    } catch (error) {
      await g.tools?.stop().catch(() => {})
      await g.lock?.release()
      throw error
    }
    return g
  }

  get accountIds(): string[] {
    return [...this.runners.keys()]
  }

  runner(id: string): AccountRunner | undefined {
    return this.runners.get(id)
  }

  private async boot(): Promise<void> {
    const {ctx} = this.o
    const loaded = await loadConfig(ctx)
    const {accounts, warnings} = selectAccounts(loaded.config, ctx, this.o.accountIds)
    this.loaded = loaded
    this.agents = resolveAgents(loaded.config)
    await this.reportFindings(loaded, warnings, accounts)

    // One gateway per state dir (the health file is no lock): throws naming the live holder.
    this.lock = await acquireGatewayLock(ctx)
    if (this.lock.tookOverFrom) this.log.info(`took over the lock of a gateway that is gone (pid ${this.lock.tookOverFrom})`)
    this.tools = new ToolService({
      ctx,
      log: ctx.log,
      config: () => this.loaded.config,
      port: (id) => this.runners.get(id)?.toolPort(),
      accounts: () => [...this.runners.keys()],
      ...(this.o.timings?.toolSendWaitMs !== undefined ? {sendWaitMs: this.o.timings.toolSendWaitMs} : {}),
    })
    // before the health file says "running"
    await this.tools.start()
    this.health.start()
    const store = new SessionStore(ctx)
    this.turns = new SessionTurns({store, log: ctx.log.child('sessions'), now: ctx.now})
    const runAgent = this.o.runAgent ?? createSessionRunAgent(ctx, ctx.log, this.turns)
    const configCommand = createConfigCommandHandler({ctx, config: () => this.loaded.config, log: this.log})
    const sessionCommand = createSessionCommandHandler({store, turns: this.turns, log: this.log, now: ctx.now})
    // /new, /reset, /status first (on by default), then /config (needs commands.config).
    const chatCommand: ChatCommandHandler = async (env, account, approved, turn) => {
      const agent = turn ? findAgent(this.agents, turn.agentId) : undefined
      const r = agent && turn ? await sessionCommand(env, account, approved, {agent, sessionKey: turn.sessionKey}) : undefined
      return r ?? configCommand(env, account, approved)
    }
    for (const a of accounts) await this.startRunner(a, runAgent, chatCommand)
    this.tools.startSchedules()
    if (this.o.watchConfig !== false) {
      this.watcher = new ConfigWatcher(ctx.configPath, () => {
        this.reloading = this.reloading
          .then(() => this.reload(runAgent, chatCommand))
          .catch((error) => this.log.error(`config change not fully applied: ${errorMessage(error)}`))
      })
      this.watcher.start()
    }
    this.log.info(`gateway running (pid ${process.pid}); accounts: ${accounts.map((a) => a.id).join(', ')}; agents: ${this.agents.agents.map((a) => `${a.id} (${a.runtime})`).join(', ')}`)
  }

  /**
   * Everything worth saying about the config now in effect, at start and after each applied
   * reload; the FindingsLog logs only what the previous config did not already say.
   */
  private async reportFindings(loaded: LoadedConfig, accountWarnings: string[], accounts: ResolvedAccount[]): Promise<void> {
    const findings: Finding[] = loaded.issues.map(issueFinding)
    const warn = (message: string, fields?: Record<string, unknown>): Finding => ({level: 'warn', message, fields})
    findings.push(...accountWarnings.map((w) => warn(w)))
    findings.push(...this.agents.warnings.map((w) => warn(w)))
    findings.push(...checkRouting(this.agents, accounts).map((w) => warn(w)))
    // Say that an agent cannot run at start (and on reload), not at the first message.
    for (const p of checkAgents(this.agents.agents, this.o.ctx)) findings.push({level: 'error', message: p.message, fields: {fix: p.fix}})
    // session.dmScope "main" with several people able to DM: they share one conversation.
    // Accounts that share it in the same words are named in one line, not one line each.
    const shared = new Map<string, {ids: string[]; fix: string}>()
    for (const a of accounts) {
      const approved = await listApproved(this.o.ctx, a.id).then(
        (l) => l.map((x) => x.handle),
        () => [],
      )
      const w = sharedDmSessionWarning(a, this.agents, approved)
      if (w) (shared.get(w.message) ?? shared.set(w.message, {ids: [], fix: w.fix}).get(w.message)!).ids.push(a.id)
    }
    for (const [message, {ids, fix}] of shared) findings.push(warn(`account${ids.length > 1 ? 's' : ''} ${ids.join(', ')}: ${message}`, {fix}))
    this.findings.report(findings)
  }

  private async startRunner(a: ResolvedAccount, runAgent: RunAgent, chatCommand: ChatCommandHandler): Promise<void> {
    const runner = new AccountRunner(a, {
      ctx: this.o.ctx,
      log: this.o.ctx.log,
      health: this.health,
      runAgent,
      agents: () => this.agents,
      chatCommand,
      observers: this.tools ? [this.tools.observer()] : [],
      timings: this.o.timings,
      onEvent: this.o.onEvent ? (e) => this.o.onEvent!(a.id, e) : undefined,
    })
    this.runners.set(a.id, runner)
    await runner.start()
  }

  /** Applies a changed config file; an invalid one is logged and the running config stays. */
  async reload(runAgent: RunAgent, chatCommand: ChatCommandHandler): Promise<void> {
    if (this.stopped) return
    const {ctx} = this.o
    let loaded: LoadedConfig
    let selected: {accounts: ResolvedAccount[]; warnings: string[]}
    try {
      loaded = await loadConfig(ctx)
      if (loaded.text === this.loaded.text) return
      selected = selectAccounts(loaded.config, ctx, this.o.accountIds)
    } catch (error) {
      const fix = (error as {fix?: string}).fix
      this.log.error(`config change not applied: ${errorMessage(error)}${fix ? ` (fix: ${fix})` : ''}; the gateway keeps running with the previous config`)
      return
    }
    this.loaded = loaded
    this.agents = resolveAgents(loaded.config)
    await this.reportFindings(loaded, selected.warnings, selected.accounts)
    const next = new Map(selected.accounts.map((a) => [a.id, a]))
    for (const [id, runner] of this.runners) {
      const a = next.get(id)
      if (a) runner.updateAccount(a)
      else {
        this.log.info(`account ${id} removed or disabled in the config; stopping it`)
        this.runners.delete(id)
        this.health.remove(id)
        await runner.stop()
      }
    }
    for (const [id, a] of next) {
      if (!this.runners.has(id)) {
        this.log.info(`account ${id} added in the config; starting it`)
        try {
          await this.startRunner(a, runAgent, chatCommand)
        } catch (error) {
          // Its messages are not answered: say why, and keep a half-started runner out of stop().
          this.runners.delete(id)
          this.health.remove(id)
          const fix = (error as {fix?: string}).fix
          this.log.error(`account ${id} not started: ${errorMessage(error)}; its messages are not answered until it starts (fix it, then restart the gateway)`, {fix})
        }
      }
    }
    this.log.info('config change applied', {file: ctx.configPath})
  }

  /** Graceful stop (SIGINT/SIGTERM): stop taking messages, finish in-flight work, close children. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true
      this.watcher?.close()
      await this.reloading
      this.log.info('stopping: no new messages; finishing what is in flight')
      this.tools?.stopSchedules()
      await Promise.all([...this.runners.values()].map((r) => r.stop()))
      await this.turns?.settled()
      // Whatever an agent started that left its process group (setsid, daemons) ends with the gateway.
      const left = await killAgentLeftovers().catch(() => 0)
      if (left > 0) this.log.info(`ended ${left} process(es) agents had left running`)
      await this.tools?.stop()
      await this.health.stop()
      await this.lock?.release()
      this.log.info('gateway stopped')
    })()
    return this.stopping
  }
}
