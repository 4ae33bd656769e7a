import {expect} from 'chai'
import path from 'node:path'
import {AccountRunner} from '../../../src/lib/gateway/account-runner.js'
import {HealthRecorder} from '../../../src/lib/gateway/health.js'
import type {AgentTurn} from '../../../src/lib/gateway/ports.js'
import type {RunnerEvent} from '../../../src/lib/gateway/runner-types.js'
import type {TurnObserver} from '../../../src/lib/gateway/turn.js'
import {resolveAccount} from '../../../src/lib/config/accounts.js'
import {resolveAgents} from '../../../src/lib/agents/resolve.js'
import {createContext} from '../../../src/lib/context.js'
import {createLogger} from '../../../src/lib/log.js'
import type {RemoteclawConfig} from '../../../src/lib/config/schema.js'
import {IMSG_SIM} from '../../helpers/cli.js'
import {GatewayHarness, TEST_TIMINGS} from './harness.js'

const ALLOWED = '+15550001111'
const STRANGER = '+15550002222'

describe('Turn seam: observers, turn context and block streaming (in process, imsg simulator)', function () {
  this.timeout(60_000)
  let h: GatewayHarness
  let runner: AccountRunner | undefined
  beforeEach(async () => {
    h = new GatewayHarness()
    await h.init()
  })
  afterEach(async () => {
    await runner?.stop()
    runner = undefined
    await h.dispose()
  })

  it('accepted only for messages that reach the agent; started/ended wrap the run; context and onBlock reach runAgent; blocks are sent before the reply', async () => {
    const calls: string[] = []
    const events: RunnerEvent[] = []
    const observer: TurnObserver = {
      accepted: ({env}) => void calls.push(`accepted ${env.sender.handle}`),
      started: async (turn) => {
        turn.context.env.TOOLS_TOKEN = 'tok-1'
        turn.context.values.set('session', {id: 'abc'})
        calls.push(`started ${turn.env.sender.handle}`)
      },
      ended: (turn, outcome) => void calls.push(`ended ${turn.env.sender.handle} ${outcome.kind} ${outcome.status}`),
    }
    const seen: AgentTurn[] = []
    const runAgent = async (turn: AgentTurn) => {
      seen.push(turn)
      calls.push('runAgent')
      await turn.onBlock?.('first block')
      await turn.onBlock?.('second block')
      return {text: 'final answer'}
    }
    const config = {
      channels: {imessage: {cliPath: IMSG_SIM, dbPath: h.db, dmPolicy: 'pairing', pairingReply: 'silent', allowFrom: [ALLOWED]}},
    } as unknown as RemoteclawConfig
    const log = createLogger({level: 'warn', write: () => {}})
    const ctx = createContext({env: {...process.env, HOME: h.dir}, home: h.dir, stateDir: h.dir, configPath: path.join(h.dir, 'remoteclaw.json'), log})
    const agents = resolveAgents(config)
    runner = new AccountRunner(resolveAccount(config, undefined, ctx), {
      ctx,
      log,
      health: new HealthRecorder(h.dir, Date.now),
      runAgent,
      agents: () => agents,
      observers: [observer],
      timings: TEST_TIMINGS,
      onEvent: (e) => events.push(e),
    })
    await runner.start()
    await h.waitFor(() => events.some((e) => e.type === 'child-started'), 'child start')
    await h.inject(STRANGER, 'hello?')
    await h.waitFor(() => events.some((e) => e.type === 'dropped' && e.reason.startsWith('pairing')), 'the stranger is held for pairing')
    await h.inject(ALLOWED, 'do the thing')
    const sent = await h.waitForSent(2)
    await h.waitFor(() => calls.some((c) => c.startsWith('ended')), 'ended')

    // blocks that arrive together are coalesced into one message (block streaming), before the reply
    expect(sent.map((s) => s.text)).to.deep.equal(['first block\n\nsecond block', 'final answer'])
    expect(calls).to.deep.equal([`accepted ${ALLOWED}`, `started ${ALLOWED}`, 'runAgent', `ended ${ALLOWED} agent sent`])
    expect(seen).to.have.length(1)
    expect(seen[0]!.context?.env).to.deep.equal({TOOLS_TOKEN: 'tok-1'})
    expect(seen[0]!.context?.values.get('session')).to.deep.equal({id: 'abc'})
  })
})
