import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js'
import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {FAKE_CLIS, installFakeClis} from '../helpers/agent-clis.js'
import {REPO_ROOT} from '../helpers/cli.js'
import {GatewayHarness, TEST_TIMINGS} from '../lib/gateway/harness.js'

const TOOLS_AGENT = path.join(REPO_ROOT, 'test', 'fixtures', 'tools-agent.mjs')
const ANN = '+15550001001'
const BEN = '+15550001002'
const ALLOWED = '+15550002222'
const OTHER = '+15550003333'

interface TurnResults {
  spec: {command: string; args: string[]; env: Record<string, string>}
  results: Array<{name: string; isError: boolean; text: string}>
}

/**
 * End to end: the built gateway with the imsg simulator, and a `command` agent that is a real MCP
 * client (the SDK's Client started from REMOTECLAW_MCP_SERVER, the spec the gateway hands it).
 */
describe('agent tools (built gateway + simulator + MCP-client agent)', function () {
  this.timeout(120_000)
  let h: GatewayHarness
  let resultsFile: string

  beforeEach(async () => {
    h = new GatewayHarness()
    await h.init()
    resultsFile = path.join(h.dir, 'tool-results.jsonl')
  })
  afterEach(async () => {
    await h.dispose()
  })

  function configure(tools: Record<string, unknown> = {}, channel: Record<string, unknown> = {}, rest: Record<string, unknown> = {}, agentEnv: Record<string, string> = {}): void {
    h.writeConfig(
      {dmPolicy: 'allowlist', allowFrom: [ANN], ...channel},
      {
        agents: {list: [{id: 'main', default: true, runtime: 'command', command: [process.execPath, TOOLS_AGENT], env: {TOOLS_RESULTS: resultsFile, ...agentEnv}, tools}]},
        ...rest,
      },
    )
  }

  function turns(): TurnResults[] {
    if (!fs.existsSync(resultsFile)) return []
    return fs
      .readFileSync(resultsFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as TurnResults)
  }

  function ask(calls: Array<{name: string; arguments?: Record<string, unknown>}>): string {
    return `tools: ${JSON.stringify(calls)}`
  }

  async function sentTexts(): Promise<string[]> {
    return (await h.sent()).map((r) => r.text)
  }

  it('send_message: to the current chat, to a target in tools.sendTargets, and a refused target', async () => {
    configure({sendTargets: [ALLOWED]})
    h.start()
    await h.ready()
    const inbound = await h.inject(
      ANN,
      ask([
        {name: 'send_message', arguments: {text: 'working on it'}},
        {name: 'send_message', arguments: {text: 'fyi from the bot', target: ALLOWED}},
        {name: 'send_message', arguments: {text: 'leaked', target: OTHER}},
      ]),
    )
    const sent = await h.waitForSent(3)
    const done = await h.waitFor(async () => (await h.sent()).find((r) => r.text === 'done (3 calls)'), 'the final reply')
    const progress = sent.find((r) => r.text === 'working on it')!
    expect(progress.chat_id).to.equal(inbound.chat_id)
    expect(done.chat_id).to.equal(inbound.chat_id)
    const fyi = sent.find((r) => r.text === 'fyi from the bot')!
    expect(fyi.chat_id).not.to.equal(inbound.chat_id)
    expect(await sentTexts()).not.to.include('leaked')
    expect(await sentTexts()).to.have.length(3)

    const [turn] = turns()
    expect(turn!.results[0]!.text).to.equal('send_message,react,read_history,schedule_message,list_scheduled,cancel_scheduled')
    expect(turn!.results.slice(1).map((r) => r.isError)).to.deep.equal([false, false, true])
    expect(turn!.results[3]!.text).to.contain('not allowed').and.contain('tools.sendTargets')
    const refused = h.findLog(/^tool send_message: refused/)
    expect(refused).to.include({tool: 'send_message', outcome: 'not_allowed', session: 'agent:main:main'})
    expect(h.countLogs(/^tool send_message: ok/)).to.equal(2)
  })

  it('read_history: only the current chat', async () => {
    configure()
    h.start()
    await h.ready()
    await h.inject(BEN, 'secret plans of Ben') // not allowed: dropped, but in chat.db
    await h.inject(ANN, 'hello from Ann')
    await h.waitForSent(1)
    await h.inject(ANN, ask([{name: 'read_history', arguments: {limit: 50}}]))
    await h.waitFor(() => turns()[0], 'the agent turn')
    const r = turns()[0]!.results[1]!
    expect(r.isError, r.text).to.equal(false)
    const doc = JSON.parse(r.text) as {messages: Array<{text: string; sender: string; fromMe: boolean}>}
    const texts = doc.messages.map((m) => m.text)
    expect(texts).to.include('hello from Ann')
    expect(texts.some((t) => t.includes('secret plans'))).to.equal(false)
    expect(doc.messages.find((m) => m.text === 'hello from Ann')).to.include({sender: ANN, fromMe: false})
    const big = await callWithSpec(turns()[0]!.spec, 'read_history', {limit: 51})
    expect(big.text).to.contain('not valid') // the turn has ended: the token is refused before the limit is looked at
  })

  it('a token used after its turn ended is refused, and nothing is sent', async () => {
    configure()
    h.start()
    await h.ready()
    await h.inject(ANN, ask([{name: 'send_message', arguments: {text: 'in the turn'}}]))
    await h.waitFor(async () => (await h.sent()).find((r) => r.text === 'done (1 calls)'), 'the final reply')
    const {spec} = turns()[0]!
    const late = await callWithSpec(spec, 'send_message', {text: 'after the turn'})
    expect(late.isError).to.equal(true)
    expect(late.text).to.contain('token is not valid')
    expect(await sentTexts()).to.deep.equal(['in the turn', 'done (1 calls)'])
    await h.waitForLog(/unknown or expired token/)
  })

  it('a schedule made in a turn is sent once after a gateway restart', async () => {
    configure()
    h.start()
    await h.ready()
    const at = new Date(Date.now() + 20_000).toISOString()
    await h.inject(ANN, ask([{name: 'schedule_message', arguments: {text: 'stretch your legs', at}}]))
    await h.waitFor(async () => (await h.sent()).find((r) => r.text === 'done (1 calls)'), 'the final reply')
    expect(turns()[0]!.results[1]!.text).to.match(/^Scheduled [0-9a-f]{8} for /)
    expect(await h.stop()).to.equal(0)
    const listed = JSON.parse((await h.cli(['schedule', 'list', '--json'])).stdout) as {schedules: Array<{id: string; status: string; chat: string}>}
    expect(listed.schedules).to.have.length(1)
    expect(listed.schedules[0]!.status).to.equal('pending')
    expect(fs.statSync(path.join(h.dir, 'schedules.json')).mode & 0o777).to.equal(0o600)
    // down past the due time (within the grace period: no "late" note)
    await h.waitFor(() => Date.now() > Date.parse(at) + 500, 'the due time', 40_000)
    h.start()
    await h.ready()
    const row = await h.waitFor(async () => (await h.sent()).find((r) => r.text === 'stretch your legs'), 'the scheduled message')
    expect(row.chat_id).to.be.greaterThan(0)
    await h.waitForLog(/schedule [0-9a-f]{8}: sent/)
    expect(await h.stop()).to.equal(0)
    h.start()
    await h.ready()
    const after = JSON.parse((await h.cli(['schedule', 'list', '--all', '--json'])).stdout) as {schedules: Array<{status: string}>}
    expect(after.schedules.map((s) => s.status)).to.deep.equal(['sent'])
    expect((await sentTexts()).filter((t) => t === 'stretch your legs')).to.have.length(1)
  })

  it('a gateway killed (kill -9) at the moment a schedule fires sends it exactly once after the restart', async () => {
    configure()
    // every imsg answer takes 1.5 s: the send is in flight long enough to kill the gateway in it
    h.start({IMSG_SIM_DELAY_MS: '1500'})
    await h.ready()
    const at = new Date(Date.now() + 15_000).toISOString()
    await h.inject(ANN, ask([{name: 'schedule_message', arguments: {text: 'pick up the kids', at}}]))
    const file = path.join(h.dir, 'schedules.json')
    await h.waitFor(() => {
      try {
        return (JSON.parse(fs.readFileSync(file, 'utf8')) as {schedules: Array<{status: string}>}).schedules.some((s) => s.status === 'firing')
      } catch {
        return false
      }
    }, 'the schedule to be firing', 30_000)
    const childPid = h.healthFile().accounts.default?.childPid
    await h.stop('SIGKILL')
    // the orphaned imsg finishes (or drops) the send it had: let it go before the next start
    if (childPid) await h.waitFor(() => !alive(childPid), 'the old imsg to exit', 20_000)
    h.start()
    await h.ready()
    await h.waitFor(async () => {
      const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as {schedules: Array<{status: string}>}
      return doc.schedules.every((s) => s.status === 'sent')
    }, 'the schedule to be settled sent', 30_000)
    await h.waitFor(async () => (await sentTexts()).includes('pick up the kids'), 'the scheduled message')
    // and again after one more restart: never a second copy
    expect(await h.stop()).to.equal(0)
    h.start()
    await h.ready()
    expect((await sentTexts()).filter((t) => t === 'pick up the kids')).to.have.length(1)
  })

  it('each preset CLI (claude, codex, gemini, opencode) gets the tools through its own per-run MCP configuration', async () => {
    const fakes = installFakeClis(h.dir)
    const work = path.join(h.dir, 'work')
    fs.mkdirSync(work)
    const presetConfig = (cli: string) =>
      h.writeConfig({dmPolicy: 'allowlist', allowFrom: [ANN]}, {agents: {list: [{id: 'main', runtime: cli, cwd: work, env: {TOOLS_RESULTS: resultsFile}}]}})
    presetConfig('claude')
    h.start(fakes.env)
    await h.ready()
    for (const [i, cli] of FAKE_CLIS.entries()) {
      if (i > 0) {
        presetConfig(cli)
        await h.waitFor(() => h.countLogs(/config change applied/) >= i, `the config change to ${cli}`)
      }
      await h.inject(ANN, ask([{name: 'send_message', arguments: {text: `progress from ${cli}`}}]))
      await h.waitFor(async () => (await sentTexts()).includes(`progress from ${cli}`), `the tool send of ${cli}`, 30_000)
      await h.waitFor(async () => (await sentTexts()).filter((t) => t === 'done (1 calls)').length === i + 1, `the final answer of ${cli}`, 30_000)
    }
    const all = turns()
    expect(all).to.have.length(4)
    for (const t of all) {
      expect(t.results[1]).to.include({name: 'send_message', isError: false})
      expect(t.spec.env.REMOTECLAW_TOOLS_TOKEN).to.be.a('string')
    }
    // four turns, four different tokens
    expect(new Set(all.map((t) => t.spec.env.REMOTECLAW_TOOLS_TOKEN)).size).to.equal(4)
    const claudeArgv = fakes.runs().find((r) => r.cli === 'claude')!.argv
    expect(claudeArgv).to.include('--mcp-config')
  })

  it('tool sends obey the rate limit and the send journal: the held one is journaled, and sent once after a restart', async () => {
    configure({}, {outboundPerMinute: 2})
    const timings = {REMOTECLAW_GATEWAY_TIMINGS: JSON.stringify({...TEST_TIMINGS, toolSendWaitMs: 1500})}
    h.start(timings)
    await h.ready()
    await h.inject(
      ANN,
      ask([
        {name: 'send_message', arguments: {text: 'one'}},
        {name: 'send_message', arguments: {text: 'two'}},
        {name: 'send_message', arguments: {text: 'three'}},
      ]),
    )
    await h.waitFor(() => turns()[0], 'the agent turn')
    const results = turns()[0]!.results.slice(1)
    expect(results.map((r) => r.text.split(':')[0])).to.deep.equal(['Sent to the current chat.', 'Sent to the current chat.', 'Queued for the current chat'])
    await h.waitForLog(/outbound rate limit of 2\/min reached/)
    expect(await sentTexts()).to.deep.equal(['one', 'two'])
    // the held send is in the account's send journal under its tool key
    const accountDir = path.join(h.dir, 'gateway', 'accounts', 'default')
    const journaled = () => fs.readdirSync(accountDir).some((f) => /"inboundGuid":"tool:[0-9a-f]{16}"[^}]*"texts":\["three"\]/.test(fs.readFileSync(path.join(accountDir, f), 'utf8')))
    await h.waitFor(journaled, 'the journal entry of the held send')
    expect(await h.stop()).to.equal(0)
    expect(await sentTexts()).to.deep.equal(['one', 'two'])
    h.start(timings)
    await h.ready()
    await h.waitFor(async () => (await sentTexts()).includes('three'), 'the held send after the restart')
    await h.waitFor(async () => (await sentTexts()).includes('done (3 calls)'), 'the final reply')
    const texts = await sentTexts()
    for (const t of ['one', 'two', 'three', 'done (3 calls)']) expect(texts.filter((x) => x === t), t).to.have.length(1)
    expect(turns()).to.have.length(1) // the turn was not run again
  })
})

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** A call with a spec saved from an earlier turn (what a leaked or replayed token would do). */
async function callWithSpec(spec: TurnResults['spec'], name: string, args: Record<string, unknown>): Promise<{isError: boolean; text: string}> {
  const client = new Client({name: 'late', version: '1'})
  await client.connect(new StdioClientTransport({command: spec.command, args: spec.args, env: spec.env, stderr: 'ignore'}))
  try {
    const r = (await client.callTool({name, arguments: args})) as {isError?: boolean; content: Array<{text?: string}>}
    return {isError: Boolean(r.isError), text: r.content.map((c) => c.text ?? '').join('')}
  } finally {
    await client.close().catch(() => {})
  }
}
