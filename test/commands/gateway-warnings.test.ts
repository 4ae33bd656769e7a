import {expect} from 'chai'
import {execa} from 'execa'
import path from 'node:path'
import {IMSG_SIM} from '../helpers/cli.js'
import {GatewayHarness} from '../lib/gateway/harness.js'

/**
 * What the gateway says about its config, through the built CLI and the imsg simulator: each
 * warning once at start, not again on reloads that leave it as it is, again when it changes.
 */
describe('gateway: config warnings once per change (CLI child + imsg simulator)', function () {
  this.timeout(60_000)
  let h: GatewayHarness

  beforeEach(async () => {
    h = new GatewayHarness()
    await h.init()
  })
  afterEach(async () => {
    await h.dispose()
  })

  const DM_OPEN = /channels\.imessage\.dmPolicy: "open": anyone who knows this number or Apple ID can talk to your agent/
  const SHARED = (agent: string) => new RegExp(`DMs to agent "${agent}" share one conversation`)
  const agents = (id: string) => ({agents: {list: [{id, default: true, runtime: 'echo', session: {dmScope: 'main'}}]}})

  async function reload(n: number, channel: Record<string, unknown>, rest: Record<string, unknown>): Promise<void> {
    h.writeConfig(channel, rest)
    await h.waitFor(() => h.countLogs(/config change applied/) >= n, `reload ${n}`)
  }

  it('logs a warning once at start, not on reloads that keep it, and again when a reload changes it', async () => {
    const open = {dmPolicy: 'open', allowFrom: ['*']}
    h.writeConfig(open, agents('main'))
    h.start()
    await h.ready()
    expect(h.countLogs(DM_OPEN)).to.equal(1)
    expect(h.countLogs(SHARED('main'))).to.equal(1)

    // Two edits that change neither warning (the first also moves dmPolicy down a line).
    await reload(1, {textChunkLimit: 3000, ...open}, agents('main'))
    await reload(2, {textChunkLimit: 3001, ...open}, agents('main'))
    expect(h.countLogs(DM_OPEN)).to.equal(1)
    expect(h.countLogs(SHARED('main'))).to.equal(1)

    // Renaming the agent changes the shared-session warning (only that one is logged).
    await reload(3, open, agents('helper'))
    expect(h.countLogs(SHARED('helper'))).to.equal(1)
    expect(h.countLogs(DM_OPEN)).to.equal(1)

    // Gone, then back: said again.
    await reload(4, {dmPolicy: 'allowlist', allowFrom: ['+15550009001']}, agents('helper'))
    await reload(5, open, agents('helper'))
    expect(h.countLogs(DM_OPEN)).to.equal(2)
    expect(h.countLogs(SHARED('helper'))).to.equal(2)
  })

  it('two accounts that share one DM conversation in the same words: one line naming both', async () => {
    const dbB = path.join(h.dir, 'b.db')
    await execa(IMSG_SIM, ['init', '--db', dbB], {env: {HOME: h.dir}})
    h.writeConfig(
      {dmPolicy: 'allowlist', allowFrom: ['+15550009001', '+15550009002'], accounts: {a: {dbPath: h.db}, b: {dbPath: dbB}}},
      {agents: {list: [{id: 'main', runtime: 'echo'}]}},
    )
    h.start()
    await h.waitFor(() => h.countLogs(/imsg rpc running/) === 2, 'both accounts running')
    const lines = h.logs.filter((l) => SHARED('main').test(l.msg))
    expect(lines.map((l) => l.msg)).to.deep.equal([
      'accounts a, b: DMs to agent "main" share one conversation (session.dmScope is "main"): the 2 senders allowed to DM the bot (channels.imessage.allowFrom and pairing approvals) can see each other\'s context through the agent.',
    ])
    expect(lines[0]!.fix).to.equal('remoteclaw config set session.dmScope per-sender')
  })

  it('an account override that hides the channel list is said once, in the words of config validate', async () => {
    h.writeConfig({dmPolicy: 'allowlist', allowFrom: ['+15550009001'], accounts: {default: {allowFrom: ['+15550009002']}}}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    h.start()
    await h.ready()
    const logged = h.logs.filter((l) => /replaces channels\.imessage\.allowFrom/.test(l.msg)).map((l) => l.msg)
    expect(logged).to.have.length(1)
    const validate = await h.cli(['config', 'validate'], {REMOTECLAW_CONFIG_PATH: h.configPath})
    expect(validate.exitCode).to.equal(0)
    const warning = /Warning: (.*replaces channels\.imessage\.allowFrom.*)/.exec(validate.stderr)
    expect(warning, validate.stderr).to.not.equal(null)
    expect(logged[0]).to.contain(warning![1]!)
  })
})
