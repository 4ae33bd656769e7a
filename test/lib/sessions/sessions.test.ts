import {expect} from 'chai'
import {resolveAgents} from '../../../src/lib/agents/resolve.js'
import {resolveAccount} from '../../../src/lib/config/accounts.js'
import type {RemoteclawConfig} from '../../../src/lib/config/schema.js'
import {dmSessionKey, groupSessionKey, sessionKeyFor} from '../../../src/lib/sessions/keys.js'
import {QueueRejectedError, SessionQueue} from '../../../src/lib/sessions/queue.js'
import {checkRouting, routeAgent} from '../../../src/lib/sessions/routing.js'

const dmEnv = {isGroup: false, chat: {chatId: 5, guid: '', identifier: '', name: '', participants: []}}
const groupEnv = (chatId: number) => ({isGroup: true, chat: {chatId, guid: '', identifier: '', name: '', participants: []}})

function deferred(): {promise: Promise<void>; resolve: () => void} {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return {promise, resolve}
}

describe('session keys', () => {
  it('DMs share the main session; each group has its own', () => {
    expect(dmSessionKey('main')).to.equal('agent:main:main')
    expect(groupSessionKey('ops', 42)).to.equal('agent:ops:imessage:group:42')
    expect(sessionKeyFor('ops', dmEnv)).to.equal('agent:ops:main')
    expect(sessionKeyFor('ops', groupEnv(7))).to.equal('agent:ops:imessage:group:7')
  })
})

describe('routing', () => {
  const config: RemoteclawConfig = {
    agents: {list: [{id: 'a'}, {id: 'b', default: true}, {id: 'c'}, {id: 'g'}]},
    channels: {
      imessage: {
        accounts: {
          work: {agentId: 'c', groups: {'42': {agentId: 'a'}, '*': {agentId: 'g'}, '43': {}}},
          home: {},
          typo: {agentId: 'nope'},
        },
      },
    },
  }
  const agents = resolveAgents(config)
  const acc = (id: string) => resolveAccount(config, id, {home: '/h'})

  it('groups.<id>.agentId, then groups["*"].agentId, then the account agentId, then the default agent', () => {
    expect(routeAgent(agents, acc('work'), groupEnv(42))).to.deep.include({sessionKey: 'agent:a:imessage:group:42', via: 'group'})
    expect(routeAgent(agents, acc('work'), groupEnv(43))).to.deep.include({sessionKey: 'agent:g:imessage:group:43', via: 'groups-default'})
    expect(routeAgent(agents, acc('work'), dmEnv)).to.deep.include({sessionKey: 'agent:c:main', via: 'account'})
    expect(routeAgent(agents, acc('home'), dmEnv)).to.deep.include({sessionKey: 'agent:b:main', via: 'default'})
  })

  it('an unknown agentId falls back to the default agent and is reported', () => {
    const r = routeAgent(agents, acc('typo'), dmEnv)
    expect(r.agent.id).to.equal('b')
    expect(r.unknownAgentId).to.deep.equal({key: 'channels.imessage.accounts.typo.agentId', id: 'nope'})
    const warnings = checkRouting(agents, [acc('work'), acc('home'), acc('typo')])
    expect(warnings).to.have.length(1)
    expect(warnings[0]).to.contain('channels.imessage.accounts.typo.agentId is "nope"')
  })

  it('without agents, the built-in echo agent with a startup warning; first agent when none is default', () => {
    const none = resolveAgents({})
    expect(none.defaultAgent).to.include({id: 'main', runtime: 'echo', builtin: true})
    expect(none.warnings[0]).to.match(/no agent configured.*built-in echo agent/)
    expect(resolveAgents({agents: {list: [{id: 'x'}, {id: 'y'}]}}).defaultAgent.id).to.equal('x')
    const two = resolveAgents({agents: {list: [{id: 'x', default: true}, {id: 'y', default: true}]}})
    expect(two.defaultAgent.id).to.equal('x')
    expect(two.warnings[0]).to.contain('several agents have default: true')
  })

  it('mention patterns: the agent\'s own, else messages.groupChat.mentionPatterns', () => {
    const r = resolveAgents({
      messages: {groupChat: {mentionPatterns: ['@all']}},
      agents: {list: [{id: 'x', groupChat: {mentionPatterns: ['@x']}}, {id: 'y'}]},
    })
    expect(r.agents.map((a) => a.mentionPatterns)).to.deep.equal([['@x'], ['@all']])
  })
})

describe('SessionQueue', () => {
  it('runs one task at a time per session, in order, and sessions concurrently', async () => {
    const q = new SessionQueue()
    const log: string[] = []
    const gateA = deferred()
    const a1 = q.enqueue('A', async () => {
      log.push('a1 start')
      await gateA.promise
      log.push('a1 end')
      return 1
    })
    const a2 = q.enqueue('A', async () => {
      log.push('a2')
      return 2
    })
    const b1 = q.enqueue('B', async () => {
      log.push('b1')
      return 3
    })
    expect(await b1).to.equal(3) // B is not blocked by A's running task
    expect(log).to.deep.equal(['a1 start', 'b1'])
    expect(q.pendingFor('A')).to.equal(1)
    gateA.resolve()
    expect(await Promise.all([a1, a2])).to.deep.equal([1, 2])
    expect(log).to.deep.equal(['a1 start', 'b1', 'a1 end', 'a2'])
  })

  it('a failing task rejects only its own promise', async () => {
    const q = new SessionQueue()
    const bad = q.enqueue('A', async () => {
      throw new Error('boom')
    })
    const good = q.enqueue('A', async () => 'ok')
    let msg = ''
    await bad.catch((e: Error) => (msg = e.message))
    expect(msg).to.equal('boom')
    expect(await good).to.equal('ok')
  })

  it('is bounded overall and per session', async () => {
    const q = new SessionQueue({maxPending: 3, maxPendingPerKey: 2})
    const gate = deferred()
    const running = q.enqueue('A', () => gate.promise) // running, not waiting
    await Promise.resolve()
    const w = [q.enqueue('A', async () => 1), q.enqueue('A', async () => 2)]
    expect(q.hasCapacity('A')).to.equal(false)
    const perKey = await q.enqueue('A', async () => 3).catch((e: unknown) => e)
    expect(perKey).to.be.instanceOf(QueueRejectedError)
    expect((perKey as QueueRejectedError).reason).to.equal('key_full')
    const runningB = q.enqueue('B', () => gate.promise) // starts at once: not waiting
    w.push(q.enqueue('B', async () => 4))
    expect(q.pending).to.equal(3)
    const full = await q.enqueue('C', async () => 5).catch((e: unknown) => e)
    expect((full as QueueRejectedError).reason).to.equal('full')
    gate.resolve()
    await Promise.all([running, runningB])
    expect(await Promise.all(w)).to.deep.equal([1, 2, 4])
  })

  it('drain() finishes queued and running work and refuses new work', async () => {
    const q = new SessionQueue()
    const gate = deferred()
    const done: number[] = []
    void q.enqueue('A', async () => {
      await gate.promise
      done.push(1)
    })
    void q.enqueue('A', async () => {
      done.push(2)
    })
    const drained = q.drain()
    const late = await q.enqueue('B', async () => 3).catch((e: unknown) => e)
    expect((late as QueueRejectedError).reason).to.equal('closed')
    gate.resolve()
    expect(await drained).to.deep.equal({drained: true, remaining: 0})
    expect(done).to.deep.equal([1, 2])
  })

  it('drain() with a timeout reports what is left; cancelPending() hands back unstarted work', async () => {
    const q = new SessionQueue()
    const gate = deferred()
    void q.enqueue('A', () => gate.promise)
    const waiting = q.enqueue('A', async () => 'never')
    const r = await q.drain({timeoutMs: 30})
    expect(r).to.deep.equal({drained: false, remaining: 2})
    expect(q.cancelPending()).to.equal(1)
    const err = await waiting.catch((e: unknown) => e)
    expect((err as QueueRejectedError).reason).to.equal('closed')
    gate.resolve()
    await q.onIdle()
    expect(q.running).to.equal(0)
  })
})

describe('SessionQueue (property)', () => {
  it('for any arrival order and task durations: per-session order kept, never two runs of one session at once', async () => {
    const fc = await import('fast-check')
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({min: 0, max: 3})), {minLength: 1, maxLength: 30}), async (tasks) => {
        const q = new SessionQueue()
        const running = new Set<string>()
        const order: Record<string, number[]> = {}
        let overlap = false
        await Promise.all(
          tasks.map(([key, ticks], i) =>
            q.enqueue(key, async () => {
              if (running.has(key)) overlap = true
              running.add(key)
              for (let k = 0; k < ticks; k++) await new Promise((r) => setImmediate(r))
              ;(order[key] ??= []).push(i)
              running.delete(key)
            }),
          ),
        )
        expect(overlap).to.equal(false)
        for (const [key, seen] of Object.entries(order)) {
          expect(seen).to.deep.equal(tasks.map(([k], i) => (k === key ? i : -1)).filter((i) => i >= 0))
        }
      }),
      {numRuns: 100},
    )
  })
})
