import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {execa} from 'execa'
import {IMSG_SIM, REPO_ROOT} from '../helpers/cli.js'
import {GatewayHarness, TEST_TIMINGS} from '../lib/gateway/harness.js'

const ECHO_AGENT = path.join(REPO_ROOT, 'examples', 'agents', 'echo-agent.mjs')

describe('gateway: agents, pairing, config reload and /config (CLI child + imsg simulator)', function () {
  this.timeout(60_000)
  let h: GatewayHarness

  beforeEach(async () => {
    h = new GatewayHarness()
    await h.init()
  })
  afterEach(async () => {
    await h.dispose()
  })

  it('a hung agent command is killed at timeoutMs, the chat gets nothing, and the next message is answered', async () => {
    h.writeConfig(
      {dmPolicy: 'allowlist', allowFrom: ['+15550001000']},
      {agents: {list: [{id: 'main', runtime: 'command', command: [process.execPath, ECHO_AGENT], timeoutMs: 800}]}},
    )
    h.start()
    await h.ready()
    await h.inject('+15550001000', 'please hang now')
    await h.waitForLog(/timed out after 800 ms/)
    await h.inject('+15550001000', 'are you there')
    const sent = await h.waitForSent(1)
    expect(sent.map((s) => s.text)).to.deep.equal(['You said: are you there'])
  })

  it('a preset agent whose CLI is not installed is reported at startup with the install fix, and the gateway keeps running', async () => {
    h.writeConfig({}, {agents: {list: [{id: 'main', runtime: 'claude'}]}})
    // PATH without a `claude` binary (node stays reachable through process.execPath)
    h.start({PATH: '/usr/bin:/bin'})
    await h.ready()
    const line = await h.waitForLog(/claude/i)
    expect(line.level).to.equal('error')
    expect(JSON.stringify(line)).to.match(/install|npm/i)
    expect(h.exitCode).to.equal(undefined)
  })

  it('pairing: at most 3 pending codes, no second code while pending, a new code after expiry', async () => {
    h.writeConfig({}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    h.start()
    await h.ready()
    await h.injectBatch([1, 2, 3, 4].map((i) => ({from: `+1555000200${i}`, text: `hi from ${i}`})))
    await h.waitForLog(/3 pairing requests already pending/)
    await h.inject('+15550002001', 'hi again')
    await h.waitForLog(/code already sent, not sent again/)
    const codes = await h.sent()
    expect(codes).to.have.length(3)
    expect(new Set(codes.map((c) => c.to ?? c.chat_identifier)).size).to.equal(3)
    // Expire sender 1's code (as an hour passing would), then it writes again: a new code.
    const file = path.join(h.dir, 'pairing', 'imessage-default.json')
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as {requests: Array<{sender: string; expiresAt: number; requestedAt: number}>}
    for (const r of doc.requests) if (r.sender === '+15550002001') (r.expiresAt = Date.now() - 1000), (r.requestedAt = Date.now() - 3_601_000)
    fs.writeFileSync(file, JSON.stringify(doc))
    await h.inject('+15550002001', 'hello once more')
    const after = await h.waitForSent(4)
    const first = /pairing code: (\w+)/.exec(codes[0]!.text)![1]
    const renewed = /pairing code: (\w+)/.exec(after[3]!.text)![1]
    expect(renewed).to.not.equal(first)
  })

  it('concurrent `pairing approve` (CLI child processes) while the gateway writes the pairing store loses no write', async () => {
    h.writeConfig({}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    h.start()
    await h.ready()
    await h.injectBatch([1, 2, 3].map((i) => ({from: `+1555000300${i}`, text: `hi ${i}`})))
    const codes = await h.waitForSent(3)
    const codeOf = (handle: string) => /pairing code: (\w+)/.exec(codes.find((c) => (c.to ?? c.chat_identifier) === handle)!.text)![1]!
    // Approvals race the gateway recording new requests from two more senders.
    const [r1, r2] = await Promise.all([
      h.cli(['pairing', 'approve', 'imessage', codeOf('+15550003001')]),
      h.cli(['pairing', 'approve', 'imessage', codeOf('+15550003002').toLowerCase()]),
      h.injectBatch([4, 5].map((i) => ({from: `+1555000300${i}`, text: `hi ${i}`}))),
    ])
    expect(r1!.exitCode, r1!.stderr).to.equal(0)
    expect(r2!.exitCode, r2!.stderr).to.equal(0)
    await h.injectBatch([1, 2].map((i) => ({from: `+1555000300${i}`, text: `approved ${i}`})))
    await h.waitFor(async () => (await h.sent()).filter((s) => s.text.startsWith('approved')).length === 2, 'both approved senders answered')
    const allow = JSON.parse(fs.readFileSync(path.join(h.dir, 'pairing', 'imessage-default-allow.json'), 'utf8')) as {approved: Array<{handle: string}>}
    expect(allow.approved.map((a) => a.handle).sort()).to.deep.equal(['+15550003001', '+15550003002'])
    const pending = JSON.parse(fs.readFileSync(path.join(h.dir, 'pairing', 'imessage-default.json'), 'utf8')) as {requests: Array<{sender: string}>}
    const senders = pending.requests.map((r) => r.sender)
    expect(senders).to.include('+15550003003')
    expect(senders).to.not.include('+15550003001')
    expect(senders).to.not.include('+15550003002')
  })

  it('applies a valid config edit without a restart and keeps the running config on an invalid one', async () => {
    h.writeConfig({dmPolicy: 'allowlist', allowFrom: []}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    h.start()
    await h.ready()
    await h.inject('+15550004000', 'first try')
    await h.waitForLog(/not in channels\.imessage\.allowFrom/)
    h.writeConfig({dmPolicy: 'allowlist', allowFrom: ['+15550004000']}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    await h.waitForLog(/config change applied/)
    await h.inject('+15550004000', 'second try')
    await h.waitForSent(1)
    fs.writeFileSync(h.configPath, '{ channels: { imessage: { dmPolicy: "nonsense", ')
    await h.waitForLog(/config change not applied/)
    await h.inject('+15550004000', 'third try')
    const sent = await h.waitForSent(2)
    expect(sent.map((s) => s.text)).to.deep.equal(['second try', 'third try'])
    expect(h.countLogs(/imsg rpc running/)).to.equal(1)
  })

  it('a reply longer than maxReplyChunks: the first N chunks, then a note to the chat, and a warn naming the key', async () => {
    h.writeConfig({dmPolicy: 'open', allowFrom: ['*'], textChunkLimit: 60, maxReplyChunks: 3}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    h.start()
    await h.ready()
    const long = Array.from({length: 40}, (_, i) => `word${i}`).join(' ').repeat(3)
    await h.inject('+15550004200', long)
    const sent = await h.waitForSent(4)
    await new Promise((r) => setTimeout(r, 500))
    const texts = (await h.sent()).map((x) => x.text)
    expect(texts).to.have.length(4)
    expect(texts.slice(0, 3).every((t) => t.length <= 60 && long.includes(t))).to.equal(true)
    expect(texts[3]).to.match(/^\[reply cut: [\d,]+ more characters were not sent\]$/)
    const warn = await h.waitForLog(/is longer than 3 messages/)
    expect(warn.msg).to.contain('raise channels.imessage.maxReplyChunks to send more')
    expect(sent.length).to.equal(4)
  })

  it('a key written twice: refused at start (exit 7) and on reload (logged, previous config kept), naming both lines', async () => {
    // JSON5 keeps the last `channels` block: the gateway once ran without the first one's cliPath
    const dup = (db: string) =>
      `{\n  channels: {imessage: {cliPath: ${JSON.stringify(IMSG_SIM)}, dbPath: ${JSON.stringify(db)}, dmPolicy: "open", allowFrom: ["*"]}},\n  agents: {list: [{id: "main", runtime: "echo"}]},\n  channels: {imessage: {dmPolicy: "open", allowFrom: ["*"]}},\n}\n`
    fs.writeFileSync(h.configPath, dup(h.db))
    h.start()
    await h.waitFor(() => h.exitCode !== undefined, 'the gateway to exit')
    expect(h.exitCode).to.equal(7)
    const refusal = h.logs.map((l) => l.msg).join('\n')
    expect(refusal).to.contain(`${h.configPath}:2:3: channels: is written 2 times (lines 2 and 4); only the last one counts`)

    h.writeConfig({dmPolicy: 'open', allowFrom: ['*']}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    h.start()
    await h.ready()
    fs.writeFileSync(h.configPath, dup(h.db).replaceAll('"open"', '"disabled"'))
    const log = await h.waitForLog(/config change not applied/)
    expect(log.msg).to.contain('channels: is written 2 times (lines 2 and 4)').and.contain('keeps running with the previous config')
    await h.inject('+15550004100', 'still answered')
    const sent = await h.waitForSent(1)
    expect(sent.map((x) => x.text)).to.deep.equal(['still answered'])
  })

  it('/config get|set from an approved sender writes through the validated writer; refused when configWrites is false', async () => {
    h.writeConfig({dmPolicy: 'allowlist', allowFrom: ['+15550005000']}, {agents: {list: [{id: 'main', runtime: 'echo'}]}, commands: {config: true}})
    h.start()
    await h.ready()
    await h.inject('+15550005000', '/config get channels.imessage.dmPolicy')
    await h.waitForSent(1)
    await h.inject('+15550005000', '/config set channels.imessage.responsePrefix [bot]')
    await h.waitFor(async () => (await h.sent()).find((s) => s.text.startsWith('Set ')), 'set reply')
    await h.waitForLog(/config change applied/)
    await h.inject('+15550005000', 'hello')
    await h.waitFor(async () => (await h.sent()).find((s) => s.text === '[bot] hello'), 'prefixed reply')
    await h.inject('+15550005000', '/config set channels.imessage.dmPolicy bogus')
    await h.waitFor(async () => (await h.sent()).find((s) => s.text.startsWith('Not done:')), 'refusal of an invalid value')
    const texts = (await h.sent()).map((s) => s.text)
    expect(texts[0]).to.equal('channels.imessage.dmPolicy = "allowlist"')
    expect(fs.readFileSync(h.configPath, 'utf8')).to.contain('responsePrefix')
    expect(fs.readFileSync(h.configPath, 'utf8')).to.not.contain('bogus')

    h.writeConfig({dmPolicy: 'allowlist', allowFrom: ['+15550005000'], configWrites: false}, {agents: {list: [{id: 'main', runtime: 'echo'}]}, commands: {config: true}})
    await h.waitFor(() => h.countLogs(/config change applied/) >= 2, 'reload')
    await h.inject('+15550005000', '/config set channels.imessage.dmPolicy open')
    await h.waitFor(async () => (await h.sent()).find((s) => s.text.startsWith('Refused')), 'refusal')
    expect(fs.readFileSync(h.configPath, 'utf8')).to.not.contain('"open"')
  })

  it('/config runs only for senders approved by name: under open DMs ("*") a stranger\'s /config set is not run and goes to the agent as text', async () => {
    h.writeConfig({dmPolicy: 'open', allowFrom: ['*']}, {agents: {list: [{id: 'main', runtime: 'echo'}]}, commands: {config: true}})
    h.start()
    await h.ready()
    const before = fs.readFileSync(h.configPath, 'utf8')
    await h.inject('+15550006000', '/config set channels.imessage.responsePrefix pwned')
    const line = await h.waitForLog(/\/config from \+15550006000 not run: only senders approved by name/)
    expect(String(line.admit)).to.equal('remoteclaw pairing approve imessage +15550006000')
    const sent = await h.waitForSent(1)
    expect(sent[0]!.text).to.equal('/config set channels.imessage.responsePrefix pwned')
    expect(fs.readFileSync(h.configPath, 'utf8')).to.equal(before)
  })

  it('refuses two accounts on the same cliPath + dbPath with exit 7', async () => {
    h.writeConfig({accounts: {a: {}, b: {}}})
    h.start()
    await h.waitFor(() => h.exitCode !== undefined, 'exit')
    expect(h.exitCode).to.equal(7)
    expect(h.logs.map((l) => l.msg).join('\n')).to.match(/both run|use the same cliPath/)
  })

  it('loop breaker: a chat writing faster than a person types is paused; each message in the pause is logged', async () => {
    h.writeConfig({dmPolicy: 'open', allowFrom: ['*'], outboundPerMinute: 100}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    h.start()
    await h.ready()
    await h.injectBatch(Array.from({length: 12}, (_, i) => ({from: '+15550006000', text: `burst ${i}`})))
    await h.waitForLog(/faster than a person types; replies to this chat are paused/)
    await h.waitFor(() => h.countLogs(/dropped \(loop-breaker\)/) >= 4, 'four loop-breaker drops')
    const sent = await h.waitForSent(8)
    await new Promise((r) => setTimeout(r, 500))
    expect((await h.sent()).map((s) => s.text)).to.deep.equal(sent.slice(0, 8).map((s) => s.text))
    expect(h.countLogs(/dropped \(loop-breaker\)/)).to.equal(4)
    const line = h.findLog(/dropped \(loop-breaker\)/)!
    expect(line.level).to.equal('info')
    // Another chat is unaffected.
    await h.inject('+15550006001', 'unrelated')
    await h.waitFor(async () => (await h.sent()).find((s) => s.text === 'unrelated'), 'other chat answered')
  })

  it('SIGTERM while an agent turn runs: the turn finishes, its reply is sent, then exit 0', async () => {
    h.writeConfig(
      {dmPolicy: 'allowlist', allowFrom: ['+15550007000']},
      {agents: {list: [{id: 'main', runtime: 'command', command: [process.execPath, ECHO_AGENT], timeoutMs: 10_000}]}},
    )
    h.start()
    await h.ready()
    await h.inject('+15550007000', 'a slow question')
    await new Promise((r) => setTimeout(r, 400)) // the agent is running now
    const code = await h.stop('SIGTERM')
    expect(code).to.equal(0)
    expect((await h.sent()).map((x) => x.text)).to.deep.equal(['You said: a slow question'])
  })

  it('SIGTERM with an agent turn that outlasts drainTimeoutMs: logged, the process exits 0 and the agent is killed', async () => {
    const agent = path.join(h.dir, 'slow-agent.mjs')
    const pidFile = path.join(h.dir, 'agent.pid')
    fs.writeFileSync(agent, `import fs from 'node:fs'\nfs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid))\nsetTimeout(() => process.stdout.write('late'), 20000)\n`)
    h.writeConfig({dmPolicy: 'open', allowFrom: ['*']}, {agents: {list: [{id: 'main', runtime: 'command', command: [process.execPath, agent], timeoutMs: 30_000}]}})
    h.start({REMOTECLAW_GATEWAY_TIMINGS: JSON.stringify({...TEST_TIMINGS, drainTimeoutMs: 300})})
    await h.ready()
    await h.inject('+15550007000', 'a question the agent is slow to answer')
    const agentPid = Number(await h.waitFor(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8'), 'the agent running'))
    // Before the fix the gateway logged "gateway stopped" and then waited for the agent; the harness SIGKILLs after 5 s.
    expect(await h.stop('SIGTERM')).to.equal(0)
    expect(h.findLog(/stopping with 1 agent turn\(s\) unfinished/)).to.not.equal(undefined)
    const alive = () => {
      try {
        process.kill(agentPid, 0)
        return true
      } catch {
        return false
      }
    }
    await h.waitFor(() => !alive(), 'the agent killed', 3_000)
  })

  it('runs one supervised child per account, each with its own cursor; --account selects', async () => {
    const db2 = path.join(h.dir, 'chat2.db')
    await execa(IMSG_SIM, ['init', '--db', db2])
    h.writeConfig(
      {dmPolicy: 'open', allowFrom: ['*'], accounts: {home: {}, work: {dbPath: db2, responsePrefix: '[work]'}}},
      {agents: {list: [{id: 'main', runtime: 'echo'}]}},
    )
    h.start()
    await h.waitFor(() => h.countLogs(/imsg rpc running/) >= 2, 'two children')
    await h.inject('+15550009000', 'to home')
    await execa(IMSG_SIM, ['inject', '--db', db2, '--from', '+15550009001', '--text', 'to work'])
    await h.waitForSent(1)
    const work = await h.waitFor(async () => {
      const r = await execa(IMSG_SIM, ['sent', '--json', '--db', db2])
      const rows = JSON.parse(String(r.stdout)) as Array<{text: string}>
      return rows.length > 0 ? rows : undefined
    }, 'work reply')
    expect(work.map((r) => r.text)).to.deep.equal(['[work] to work'])
    expect((await h.sent()).map((r) => r.text)).to.deep.equal(['to home'])
    expect(fs.existsSync(path.join(h.dir, 'gateway', 'accounts', 'home', 'state.json'))).to.equal(true)
    expect(fs.existsSync(path.join(h.dir, 'gateway', 'accounts', 'work', 'state.json'))).to.equal(true)
    expect(Object.keys(h.healthFile().accounts).sort()).to.deep.equal(['home', 'work'])
    expect(await h.stop()).to.equal(0)
    h.start({}, ['--account', 'work'])
    await h.ready()
    expect(Object.keys(h.healthFile().accounts)).to.deep.equal(['work'])
    expect(await h.stop()).to.equal(0)
  })

  it('an account added by a config reload that cannot start is logged with its fix; the gateway keeps running and stops cleanly', async () => {
    const db2 = path.join(h.dir, 'chat2.db')
    await execa(IMSG_SIM, ['init', '--db', db2])
    const agents = {agents: {list: [{id: 'main', runtime: 'echo'}]}}
    h.writeConfig({dmPolicy: 'open', allowFrom: ['*'], accounts: {home: {}}}, agents)
    h.start()
    await h.ready()
    const workState = path.join(h.dir, 'gateway', 'accounts', 'work', 'state.json')
    fs.mkdirSync(path.dirname(workState), {recursive: true})
    fs.writeFileSync(workState, '{torn', {mode: 0o600})
    h.writeConfig({dmPolicy: 'open', allowFrom: ['*'], accounts: {home: {}, work: {dbPath: db2}}}, agents)
    const line = await h.waitForLog(/account work.*not started/)
    expect(line.level).to.equal('error')
    expect(line.msg).to.contain('state.json is unreadable')
    expect(String(line.fix)).to.contain('mv ')
    await h.inject('+15550009000', 'still answered')
    await h.waitForSent(1)
    expect(await h.stop()).to.equal(0)
    expect(h.findLog(/gateway stopped/)).to.not.equal(undefined)
  })

  it('refuses a second gateway on the same state dir (exit 1, names the running pid)', async () => {
    h.writeConfig({}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    h.start()
    await h.ready()
    const second = await h.cli(['gateway'])
    expect(second.exitCode).to.equal(1)
    expect(second.stderr).to.contain(`another gateway (pid ${h.healthFile().pid}, started `)
    expect(second.stderr).to.contain('is running with state dir')
    expect(second.stderr).to.contain('Fix:')
  })

  it('attachments: off = logged once per chat with the key; on = handed to the agent; agent files are sent after the text', async () => {
    const photo = path.join(h.dir, 'photo.jpg')
    fs.writeFileSync(photo, 'jpeg bytes')
    const reply = path.join(h.dir, 'reply.txt')
    fs.writeFileSync(reply, 'a file from the agent')
    const agent = path.join(h.dir, 'files-agent.mjs')
    fs.writeFileSync(
      agent,
      `let raw = ''
process.stdin.on('data', (c) => (raw += c))
process.stdin.on('end', () => {
  const t = JSON.parse(raw)
  process.stdout.write(JSON.stringify({text: 'got ' + t.attachments.map((a) => a.name + ':' + a.size).join(','), files: t.attachments.length ? [${JSON.stringify(reply)}] : []}))
})
`,
    )
    const agents = {agents: {list: [{id: 'main', runtime: 'command', command: [process.execPath, agent], output: 'json'}]}}
    h.writeConfig({dmPolicy: 'open', allowFrom: ['*'], attachmentRoots: [h.dir]}, agents)
    h.start()
    await h.ready()
    await h.inject('+15550010000', 'look', ['--attachment', photo])
    await h.inject('+15550010000', 'again', ['--attachment', photo])
    await h.waitForSent(2)
    expect(h.countLogs(/attachment\(s\) not passed to the agent: channels\.imessage\.includeAttachments is off/)).to.equal(1)
    expect((await h.sent()).map((x) => x.text)).to.deep.equal(['got', 'got'])
    h.writeConfig({dmPolicy: 'open', allowFrom: ['*'], attachmentRoots: [h.dir], includeAttachments: true}, agents)
    await h.waitForLog(/config change applied/)
    await h.inject('+15550010000', 'and now', ['--attachment', photo])
    const sent = await h.waitForSent(4)
    expect(sent[2]!.text).to.equal('got photo.jpg:10')
    expect((sent[3] as unknown as {file?: string}).file).to.contain('reply.txt')
  })

  it('pairingReply silent records the request and sends nothing; a group prefix overrides the account prefix', async () => {
    h.writeConfig(
      {pairingReply: 'silent', responsePrefix: '[acct]', groupPolicy: 'open', groups: {'*': {requireMention: false, responsePrefix: '[group]'}}},
      {agents: {list: [{id: 'main', runtime: 'echo'}]}},
    )
    h.start()
    await h.ready()
    await h.inject('+15550011000', 'who are you')
    await h.waitForLog(/code not sent \(pairingReply silent\)/)
    const list = await h.cli(['pairing', 'list', 'imessage', '--json'])
    expect(list.stdout).to.contain('+15550011000')
    await h.inject('+15550011001', 'hello group', ['--group', 'G', '--participants', '+15550011001,+15550011002'])
    const sent = await h.waitForSent(1)
    expect(sent.map((x) => x.text)).to.deep.equal(['[group] hello group'])
  })
})

