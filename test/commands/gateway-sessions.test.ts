import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {installFakeClis} from '../helpers/agent-clis.js'
import {GatewayHarness, TEST_TIMINGS} from '../lib/gateway/harness.js'

const ANA = '+15551230001'
const BO = '+15551230002'

/**
 * Sessions end to end: the built gateway with the simulator as imsg and the fake claude CLI
 * (test/fixtures/agent-clis) as the agent, which remembers per CLI session id.
 */
describe('gateway: agent sessions, /new, /status, block streaming (CLI child + imsg simulator + fake claude)', function () {
  this.timeout(180_000)
  let h: GatewayHarness
  let fakes: ReturnType<typeof installFakeClis>
  let work: string

  beforeEach(async () => {
    h = new GatewayHarness()
    await h.init()
    fakes = installFakeClis(h.dir)
    work = path.join(h.dir, 'work')
    fs.mkdirSync(work)
  })
  afterEach(async () => {
    await h.dispose()
  })

  const claudeRuns = () => fakes.runs().filter((r) => r.cli === 'claude')
  const texts = async () => (await h.sent()).map((s) => s.text)
  const waitText = (re: RegExp | string, what = String(re)) =>
    h.waitFor(async () => (await texts()).find((t) => (typeof re === 'string' ? t === re : re.test(t))), what, 30_000)
  const sessionsFile = () => JSON.parse(fs.readFileSync(path.join(h.dir, 'sessions', 'sessions.json'), 'utf8')) as {sessions: Record<string, {sessionId?: string; turns: number; lastUsedAt: number}>}

  it('DMs continue the CLI session; dmScope main shares it (warned), per-sender splits it after a config edit; groups get their own; /new, /status, reset while running, idle expiry, restart', async () => {
    h.writeConfig(
      {dmPolicy: 'allowlist', allowFrom: [ANA, BO], groupPolicy: 'open', groups: {'*': {requireMention: false}}},
      {agents: {list: [{id: 'main', runtime: 'claude', cwd: work}]}},
    )
    h.start(fakes.env)
    await h.ready()
    // two people can DM and dmScope is "main": said at start-up with the exact fix
    const warn = await h.waitForLog(/share one conversation/)
    expect(warn.level).to.equal('warn')
    expect(warn.fix).to.equal('remoteclaw config set session.dmScope per-sender')

    await h.inject(ANA, 'My name is Ana')
    await waitText('Nice to meet you, Ana.')
    await h.inject(ANA, 'What is my name?')
    await waitText('Your name is Ana.')
    const [first, second] = claudeRuns()
    expect(first!.argv).not.to.include('--resume')
    const id = sessionsFile().sessions['agent:main:main']!.sessionId!
    expect(second!.argv.slice(second!.argv.indexOf('--resume'), second!.argv.indexOf('--resume') + 2)).to.deep.equal(['--resume', id])

    // dmScope "main": Bo continues the same conversation (that is what the warning is about)
    await h.inject(BO, 'What is my name?')
    await h.waitFor(async () => (await texts()).filter((t) => t === 'Your name is Ana.').length === 2, 'Bo gets the shared answer')

    // a group chat has its own session
    const g = await h.inject(ANA, 'What is my name?', ['--group', 'Team', '--participants', `${ANA},${BO}`])
    await waitText("I don't know your name yet.")
    const groupKey = `agent:main:imessage:group:${g.chat_id}`
    await h.waitFor(() => sessionsFile().sessions[groupKey], 'group session stored')

    // /status and /new: answered by the gateway, never by the agent; other /... goes to the agent
    const runsBefore = claudeRuns().length
    await h.inject(ANA, '/status')
    const status = await waitText(/^Agent main, claude: conversation started/)
    expect(status).to.match(/, 3 turns\.$/)
    await h.inject(ANA, '/new')
    await waitText('New conversation started.')
    await h.inject(ANA, '/whatever')
    await waitText('You said: /whatever')
    expect(claudeRuns().length).to.equal(runsBefore + 1)
    await h.inject(ANA, 'What is my name?')
    await h.waitFor(async () => (await texts()).filter((t) => t === "I don't know your name yet.").length === 2, 'fresh after /new')

    // sessions reset while the gateway runs: the group starts fresh at its next message
    const list = JSON.parse((await h.cli(['sessions', 'list', '--json'])).stdout)
    expect(list.sessions.map((s: {key: string}) => s.key).sort()).to.deep.equal(['agent:main:imessage:group:' + g.chat_id, 'agent:main:main'].sort())
    const reset = await h.cli(['sessions', 'reset', groupKey, '--yes'])
    expect(reset.exitCode, reset.stderr).to.equal(0)
    await h.inject(ANA, 'turn?', ['--chat-id', String(g.chat_id)])
    await h.waitFor(async () => (await texts()).filter((t) => t === 'This is turn 1 of this session.').length === 1, 'group fresh after reset')

    // a config edit applies to the next message: per-sender gives Bo his own conversation
    expect((await h.cli(['config', 'set', 'session.dmScope', 'per-sender'])).exitCode).to.equal(0)
    await h.waitForLog(/config change applied/)
    await h.inject(BO, 'My name is Bo')
    await waitText('Nice to meet you, Bo.')
    await h.waitFor(() => sessionsFile().sessions[`agent:main:imessage:dm:${BO}`], 'per-sender key')

    // idle expiry: Bo's session last used 8 days ago (default idleMinutes 7 days) starts fresh
    const file = path.join(h.dir, 'sessions', 'sessions.json')
    const doc = sessionsFile()
    doc.sessions[`agent:main:imessage:dm:${BO}`]!.lastUsedAt -= 8 * 24 * 60 * 60_000
    fs.writeFileSync(file, JSON.stringify(doc))
    await h.inject(BO, 'What is my name?')
    await h.waitFor(async () => (await texts()).filter((t) => t === "I don't know your name yet.").length === 3, 'expired session starts fresh')
    await h.waitForLog(/starting a fresh session: idle for more than 10080 minute/)

    // sessions survive a restart
    await h.inject(BO, 'My name is Robert')
    await waitText('Nice to meet you, Robert.')
    expect(await h.stop()).to.equal(0)
    h.start(fakes.env)
    await h.ready()
    await h.inject(BO, 'What is my name?')
    await waitText('Your name is Robert.')
  })

  it('block streaming: blocks in order, short ones coalesced, the final answer not sent twice; off sends one reply', async () => {
    const config = (env: Record<string, string>, streaming = 'block') =>
      h.writeConfig({dmPolicy: 'allowlist', allowFrom: [ANA]}, {agents: {list: [{id: 'main', runtime: 'claude', cwd: work, streaming, env}]}})
    config({FAKE_AGENT_BLOCKS: '3', FAKE_AGENT_BLOCK_DELAY_MS: '1500'})
    h.start({...fakes.env, REMOTECLAW_GATEWAY_TIMINGS: JSON.stringify({...TEST_TIMINGS, blockIdleMs: 300})})
    await h.ready()
    await h.inject(ANA, 'work slowly')
    await h.waitForSent(3, 30_000)
    await h.waitForLog(/reply|agent returned/)
    await new Promise((r) => setTimeout(r, 1500))
    expect(await texts()).to.deep.equal(['Block 1 of 3.', 'Block 2 of 3.', 'Block 3 of 3.'])

    // close together: one message
    config({FAKE_AGENT_BLOCKS: '3'})
    await h.waitFor(() => h.countLogs(/config change applied/) >= 1, 'reload')
    await h.inject(ANA, 'work fast')
    await waitText('Block 1 of 3.\n\nBlock 2 of 3.\n\nBlock 3 of 3.')
    await new Promise((r) => setTimeout(r, 1500))
    expect((await texts()).length).to.equal(4)

    // streaming off: only the final answer
    config({FAKE_AGENT_BLOCKS: '3'}, 'off')
    await h.waitFor(() => h.countLogs(/config change applied/) >= 2, 'reload')
    await h.inject(ANA, 'work quietly')
    await h.waitForSent(5, 30_000)
    await new Promise((r) => setTimeout(r, 1000))
    expect((await texts()).slice(4)).to.deep.equal(['Block 3 of 3.'])
  })

  it('block streaming is exactly-once across a kill -9 mid-turn', async () => {
    const hang = path.join(h.dir, 'hang-once')
    const config = (agentEnv: Record<string, string>) =>
      h.writeConfig({dmPolicy: 'allowlist', allowFrom: [ANA]}, {agents: {list: [{id: 'main', runtime: 'claude', cwd: work, streaming: 'block', env: agentEnv}]}})
    config({})
    const env = {...fakes.env, REMOTECLAW_GATEWAY_TIMINGS: JSON.stringify({...TEST_TIMINGS, blockIdleMs: 200})}
    h.start(env)
    await h.ready()
    // one answered message first, so the cursor is on disk (a first start counts from the newest row)
    await h.inject(ANA, 'hello')
    await waitText('You said: hello')
    await h.waitFor(() => fs.existsSync(path.join(h.dir, 'sessions', 'sessions.json')), 'first turn recorded')
    config({FAKE_AGENT_BLOCKS: '3', FAKE_AGENT_HANG_ONCE: hang})
    await h.waitForLog(/config change applied/)
    await h.inject(ANA, 'long job')
    await waitText('Block 1 of 3.')
    const hungAgent = Number(fs.readFileSync(hang, 'utf8'))
    await h.stop('SIGKILL')
    try {
      process.kill(hungAgent, 'SIGKILL') // a kill -9 runs no exit hook: the orphaned agent is ours to end
    } catch {
      // gone
    }
    h.start(env)
    await h.ready()
    await waitText(/Block 3 of 3\.$/)
    await h.waitForLog(/1 streamed block\(s\) were sent before a restart; not sent again/)
    await new Promise((r) => setTimeout(r, 1500))
    // every block exactly once, in order (2 and 3 arrive together after the restart, so they are one message)
    const after = (await texts()).slice(1)
    expect(after.flatMap((t) => t.split('\n\n'))).to.deep.equal(['Block 1 of 3.', 'Block 2 of 3.', 'Block 3 of 3.'])
    expect(after[0]).to.equal('Block 1 of 3.')
  })
})

describe('gateway: an agent\'s detached child (issue 10 item 4, CLI child + imsg simulator)', function () {
  this.timeout(120_000)
  let h: GatewayHarness

  beforeEach(async () => {
    h = new GatewayHarness()
    await h.init()
  })
  afterEach(async () => {
    await h.dispose()
  })

  it('`setsid sleep 40 &` neither discards the reply nor holds the session, and does not outlive the turn', async function () {
    if (!fs.existsSync('/usr/bin/setsid') && !fs.existsSync('/bin/setsid')) this.skip()
    const marker = path.join(h.dir, 'sleeper')
    // argv only; the shell here is the agent's own program, not message data
    const script = `setsid sh -c 'echo $$ > ${marker}.$1; exec sleep 40' _ "$REMOTECLAW_SENDER" >/dev/null 2>&1 & setsid sleep 40 & echo "got it"`
    h.writeConfig({dmPolicy: 'allowlist', allowFrom: [ANA, BO]}, {agents: {list: [{id: 'main', runtime: 'command', command: ['/bin/sh', '-c', script], timeoutMs: 60_000}]}})
    h.start()
    await h.ready()
    const t0 = Date.now()
    await h.inject(ANA, 'one')
    await h.inject(BO, 'two')
    const sent = await h.waitForSent(2, 30_000)
    expect(sent.map((s) => s.text)).to.deep.equal(['got it', 'got it'])
    // both answered long before the 40 s sleeps (or timeoutMs) would end; generous for a loaded machine
    expect(Date.now() - t0).to.be.below(30_000)
    for (const who of [ANA, BO]) {
      const pid = Number(fs.readFileSync(`${marker}.${who}`, 'utf8'))
      const gone = await h.waitFor(() => {
        try {
          process.kill(pid, 0)
          const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/State:\s+(\S)/)?.[1]
          return st === 'Z'
        } catch {
          return true
        }
      }, `detached sleep ${pid} ended`, 10_000)
      expect(gone).to.equal(true)
    }
  })
})
