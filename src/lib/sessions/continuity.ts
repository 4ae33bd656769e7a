import path from 'node:path'
import {isPreset} from '../agents/presets/index.js'
import type {ResolvedAgent} from '../agents/resolve.js'
import type {AgentInput, AgentResult, AgentRunner, AgentRunOptions, AgentSession} from '../agents/types.js'
import {errorMessage} from '../errors.js'
import type {Logger} from '../log.js'
import {newEpoch, type SessionRecord, type SessionStore} from './store.js'

/** The session a turn ran in, for the caller's log and `/status`. */
export interface TurnSession extends AgentSession {
  /** Why this turn started a fresh session (absent when it continued one). */
  freshReason?: string
}

export interface SessionTurnResult extends AgentResult {
  session: TurnSession
}

export interface SessionTurnRequest {
  agent: ResolvedAgent
  runner: AgentRunner
  sessionKey: string
  accountId: string
  /** The agent input without `session` (added here). */
  input: AgentInput
  opts?: AgentRunOptions
}

/**
 * Runs one agent turn inside its session: looks the session key up in the store, decides
 * whether to continue (resume the CLI's own id) or start fresh, and records the outcome.
 * Rules (issue 14): a failed turn never replaces a good id; a resume the CLI refuses is logged
 * once and the same turn runs once more as a fresh session; a change of the agent's runtime or
 * cwd, or `idleMinutes` without a turn, starts fresh (logged).
 */
export class SessionTurns {
  /**
   * Store writes still running, per key. A turn's outcome is recorded after its answer is
   * returned (off the reply's path); the next turn of the same key, /status and a stop wait for it.
   */
  private readonly writes = new Map<string, Promise<void>>()

  constructor(
    private readonly d: {store: SessionStore; log: Logger; now: () => number},
  ) {}

  /** Resolves when the outcome of the last turn of `key` (or of every key) is in the store. */
  async settled(key?: string): Promise<void> {
    if (key !== undefined) await this.writes.get(key)
    else await Promise.all([...this.writes.values()])
  }

  private cwdOf(agent: ResolvedAgent): string {
    return path.resolve(agent.cwd ?? process.cwd())
  }

  /** Why `rec` cannot be continued by `agent` now, or undefined when it can. */
  freshReason(rec: SessionRecord | undefined, agent: ResolvedAgent, now: number): string | undefined {
    if (!rec) return 'no session yet'
    if (rec.runtime !== agent.runtime) return `the agent's runtime changed from ${rec.runtime} to ${agent.runtime}`
    const cwd = this.cwdOf(agent)
    if (rec.cwd !== cwd) return `the agent's cwd changed from ${rec.cwd} to ${cwd}`
    const idle = agent.session.idleMinutes
    if (idle > 0 && now - rec.lastUsedAt > idle * 60_000) return `idle for more than ${idle} minute(s) (session.idleMinutes)`
    return undefined
  }

  async run(req: SessionTurnRequest): Promise<SessionTurnResult> {
    const {agent, sessionKey: key} = req
    const log = this.d.log
    let rec: SessionRecord | undefined
    let storeOk = true
    await this.writes.get(key)
    try {
      rec = await this.d.store.get(key)
    } catch (error) {
      storeOk = false
      log.error(`${key}: ${errorMessage(error)}; this turn runs without the earlier conversation`, {fix: (error as {fix?: string}).fix})
    }
    const started = this.d.now()
    const why = this.freshReason(rec, agent, started)
    if (why && rec) log.info(`${key}: starting a fresh session: ${why}`, {agent: agent.id, previous: rec.sessionId})
    let session: TurnSession = why
      ? {key, turn: 1, isNew: true, freshReason: why}
      : {key, ...(rec!.sessionId ? {id: rec!.sessionId} : {}), turn: rec!.turns + 1, isNew: false}
    let res = await req.runner.run({...req.input, session: strip(session)}, req.opts)
    let refused: string | undefined
    if (res.resumeRefused) {
      refused = session.id
      log.warn(`${key}: agent "${agent.id}" (${agent.runtime}) refused to resume its session ${session.id ?? ''} (unknown or expired); the earlier context is lost, answering this message in a fresh session`, {
        agent: agent.id,
      })
      session = {key, turn: 1, isNew: true, freshReason: 'the agent CLI refused to resume the stored session'}
      res = await req.runner.run({...req.input, session: strip(session)}, req.opts)
      if (res.resumeRefused) res = {error: 'the agent CLI refused a fresh session as a resume (no session id was passed)'}
    }
    if (storeOk) {
      const w = this.record(req, rec, session, res, refused).finally(() => {
        if (this.writes.get(key) === w) this.writes.delete(key)
      })
      this.writes.set(key, w)
    }
    const out: SessionTurnResult = {...res, session: {...session, ...(res.sessionId && !res.error ? {id: res.sessionId} : {})}}
    delete out.resumeRefused
    return out
  }

  private async record(req: SessionTurnRequest, rec: SessionRecord | undefined, session: TurnSession, res: AgentResult, refused: string | undefined): Promise<void> {
    const {agent, sessionKey: key} = req
    const now = this.d.now()
    const needsId = isPreset(agent.runtime)
    const ok = !res.error && !(needsId && !res.sessionId)
    if (!res.error && needsId && !res.sessionId) {
      this.d.log.warn(`${key}: agent "${agent.id}" answered but its stream carried no session id; the stored session is kept`, {agent: agent.id})
    }
    try {
      await this.d.store.update(key, (cur) => {
        if (!ok) {
          // A failed turn never replaces a good id; a refused id is not good any more.
          if (refused && cur && cur.sessionId === refused) return null
          return undefined
        }
        // Reset (sessions reset, /new) while this turn ran on the old session: do not bring it back.
        if (!session.isNew && cur?.epoch !== rec?.epoch) return undefined
        const continued = !session.isNew && cur
        return {
          key,
          agentId: agent.id,
          runtime: agent.runtime,
          ...((res.sessionId ?? (continued ? cur.sessionId : undefined)) ? {sessionId: res.sessionId ?? cur!.sessionId} : {}),
          cwd: this.cwdOf(agent),
          accountId: req.accountId,
          createdAt: continued ? cur.createdAt : now,
          lastUsedAt: now,
          turns: continued ? cur.turns + 1 : 1,
          epoch: continued ? cur.epoch : newEpoch(),
        }
      })
    } catch (error) {
      this.d.log.error(`${key}: the session could not be saved: ${errorMessage(error)}; the next message may start fresh`, {fix: (error as {fix?: string}).fix})
    }
  }
}

function strip(s: TurnSession): AgentSession {
  return {key: s.key, ...(s.id ? {id: s.id} : {}), turn: s.turn, isNew: s.isNew}
}
