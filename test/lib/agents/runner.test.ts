import {expect} from 'chai'
import {execa} from 'execa'
import fs from 'node:fs'
import path from 'node:path'
import {checkAgent, createAgentRunner, findExecutable} from '../../../src/lib/agents/runner.js'
import {buildAgentInput, type AgentInput} from '../../../src/lib/agents/types.js'
import type {AgentConfig} from '../../../src/lib/config/schema.js'
import {RemoteclawError} from '../../../src/lib/errors.js'
import type {Envelope} from '../../../src/lib/core/envelope.js'
import {createLogger, type LogRecord} from '../../../src/lib/log.js'
import {installFakeClis} from '../../helpers/agent-clis.js'
import {tempDir} from '../../helpers/cli.js'

const NODE = process.execPath

/** A node one-liner agent: argv array, no shell. */
const nodeAgent = (code: string, extra: Partial<AgentConfig> = {}): AgentConfig => ({id: 'bot', runtime: 'command', command: [NODE, '-e', code], ...extra})
const READ_STDIN = 'let d="";process.stdin.setEncoding("utf8");process.stdin.on("data",c=>d+=c).on("end",()=>{'

const env: Envelope = {
  accountId: 'work',
  chat: {chatId: 42, guid: 'iMessage;+;chat42', identifier: 'chat42', name: 'Team', participants: ['+15551230001', '+15551230002']},
  isGroup: true,
  sender: {handle: '+15551230001', raw: '5551230001', displayName: 'Ann'},
  text: 'hello there',
  attachments: [],
  createdAt: Date.parse('2026-05-01T10:00:00Z'),
  messageId: 10,
  guid: 'G10',
  isFromMe: false,
  cursor: 10,
}
const history = [{sender: '+15551230002', senderName: 'Bo', text: 'earlier', createdAt: Date.parse('2026-05-01T09:59:00Z'), messageId: 9}]
const input: AgentInput = buildAgentInput(env, 'agent:bot:imessage:group:42', history)

describe('agent runtimes', () => {
  let records: LogRecord[]
  let ctx: Parameters<typeof createAgentRunner>[1]
  let t: ReturnType<typeof tempDir>

  beforeEach(() => {
    records = []
    t = tempDir()
    ctx = {env: {...process.env}, spawn: execa, log: createLogger({level: 'debug', write: () => {}, onRecord: (r) => records.push(r)})}
  })
  afterEach(() => t.cleanup())

  it('echo replies with the text it got, and nothing for empty text', async () => {
    const r = createAgentRunner({id: 'e', runtime: 'echo'}, ctx)
    expect(await r.run(input)).to.deep.equal({text: 'hello there'})
    expect(await r.run({...input, text: '  '})).to.deep.equal({})
  })

  it('command with input json (default): one JSON object on stdin with the documented fields', async () => {
    const r = createAgentRunner(nodeAgent(`${READ_STDIN}process.stdout.write(d)})`), ctx)
    const res = await r.run(input)
    const doc = JSON.parse(res.text!)
    expect(Object.keys(doc).sort()).to.deep.equal(['accountId', 'attachments', 'channel', 'chat', 'history', 'sender', 'sessionKey', 'text'])
    expect(doc).to.deep.include({sessionKey: 'agent:bot:imessage:group:42', channel: 'imessage', accountId: 'work', text: 'hello there'})
    expect(doc.chat).to.deep.include({id: 42, isGroup: true, target: 'chat_id:42'})
    expect(doc.sender).to.deep.equal({handle: '+15551230001', name: 'Ann'})
    expect(doc.history).to.deep.equal([{sender: '+15551230002', senderName: 'Bo', text: 'earlier', createdAt: '2026-05-01T09:59:00.000Z', messageId: 9}])
  })

  it('command with input text: just the text; trimmed stdout is the reply', async () => {
    const r = createAgentRunner(nodeAgent(`${READ_STDIN}process.stdout.write("\\n  you said: "+d+"  \\n\\n")})`, {input: 'text'}), ctx)
    expect(await r.run(input)).to.deep.equal({text: 'you said: hello there'})
  })

  it('passes session, channel, account, chat and sender in env vars, with the agent env and cwd', async () => {
    const code = `const e=process.env;console.log(JSON.stringify([e.REMOTECLAW_SESSION_KEY,e.REMOTECLAW_CHANNEL,e.REMOTECLAW_ACCOUNT_ID,e.REMOTECLAW_CHAT,e.REMOTECLAW_SENDER,e.EXTRA,process.cwd()]))`
    const r = createAgentRunner(nodeAgent(code, {env: {EXTRA: 'x'}, cwd: t.dir}), ctx)
    const res = await r.run(input)
    expect(JSON.parse(res.text!)).to.deep.equal([
      'agent:bot:imessage:group:42',
      'imessage',
      'work',
      'chat_id:42',
      '+15551230001',
      'x',
      fs.realpathSync(t.dir),
    ])
  })

  it('empty stdout means no reply (not an error)', async () => {
    const r = createAgentRunner(nodeAgent(''), ctx)
    expect(await r.run(input)).to.deep.equal({})
  })

  it('output json: {text, files}; relative files resolve against cwd', async () => {
    const r = createAgentRunner(nodeAgent(`console.log(JSON.stringify({text:" hi ",files:["out.png","/abs/a.txt"]}))`, {output: 'json', cwd: t.dir}), ctx)
    expect(await r.run(input)).to.deep.equal({text: 'hi', files: [path.join(t.dir, 'out.png'), '/abs/a.txt']})
    const bad = createAgentRunner(nodeAgent(`console.log("not json")`, {output: 'json'}), ctx)
    const res = await bad.run(input)
    expect(res.text).to.equal(undefined)
    expect(res.error).to.match(/stdout is not JSON/)
  })

  it('non-zero exit: no reply, the stderr tail is logged and never returned as text', async () => {
    const r = createAgentRunner(nodeAgent(`console.log("partial");console.error("Traceback: secret internals");process.exit(3)`), ctx)
    const res = await r.run(input)
    expect(res).to.have.keys(['error'])
    expect(res.error).to.contain('exited with code 3')
    const warn = records.find((x) => x.level === 'warn')!
    expect(warn.msg).to.contain('agent run failed')
    expect(warn.fields.stderr).to.contain('Traceback: secret internals')
    expect(warn.fields.sessionKey).to.equal('agent:bot:imessage:group:42')
  })

  it('errorReply: the short configured text is the reply on failure, not the error', async () => {
    const r = createAgentRunner(nodeAgent(`console.error("boom");process.exit(1)`, {errorReply: 'Sorry, something went wrong.'}), ctx)
    const res = await r.run(input)
    expect(res.text).to.equal('Sorry, something went wrong.')
    expect(res.text).not.to.contain('boom')
  })

  it('a hung command is killed at timeoutMs and gives no reply', async () => {
    const pidFile = path.join(t.dir, 'pid')
    const code = `require("fs").writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));console.error("thinking...");setInterval(()=>{},1000)`
    const r = createAgentRunner(nodeAgent(code, {timeoutMs: 2000}), ctx)
    const res = await r.run(input)
    expect(res.text).to.equal(undefined)
    expect(res.error).to.match(/timed out after 2000 ms \(agents\.list\[0\]\.timeoutMs\); killed/)
    const pid = Number(fs.readFileSync(pidFile, 'utf8'))
    let alive = true
    try {
      process.kill(pid, 0)
    } catch {
      alive = false
    }
    expect(alive, 'the hung agent process must be gone').to.equal(false)
    expect(records.find((x) => x.level === 'warn')!.fields.stderr).to.contain('thinking...')
  })

  it('a timeout also kills what the agent spawned (its process group)', async () => {
    const pidFile = path.join(t.dir, 'grandchild')
    const child = `require("fs").writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));setInterval(()=>{},1000)`
    // the grandchild inherits stdout, so only a group kill ends the run
    const code = `require("child_process").spawn(process.execPath, ["-e", ${JSON.stringify(child)}], {stdio: "inherit"});setInterval(()=>{},1000)`
    const r = createAgentRunner(nodeAgent(code, {timeoutMs: 2000}), ctx)
    const res = await r.run(input)
    expect(res.error).to.match(/timed out/)
    const pid = Number(fs.readFileSync(pidFile, 'utf8'))
    await new Promise((resolve) => setTimeout(resolve, 100))
    let alive = true
    try {
      process.kill(pid, 0)
    } catch {
      alive = false
    }
    const state = alive ? (fs.readFileSync(`/proc/${pid}/status`, "utf8").match(/State:\s+(\S)/)?.[1] ?? "?") : "gone"
    expect(["gone", "Z"], "the grandchild must be gone (or a zombie awaiting its reaper)").to.include(state)
  })

  it('a timeout settles even when a descendant that left the process group holds stdout open', async function () {
    this.timeout(20_000)
    const pidFile = path.join(t.dir, 'escaped')
    const child = `require("fs").writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));setTimeout(()=>{},60000)`
    // detached: the grandchild gets its own process group (like setsid), out of reach of the group kill
    const code = `require("child_process").spawn(process.execPath, ["-e", ${JSON.stringify(child)}], {stdio: "inherit", detached: true}).unref();setInterval(()=>{},1000)`
    const r = createAgentRunner(nodeAgent(code, {timeoutMs: 300}), ctx)
    try {
      const res = await r.run(input)
      expect(res.text).to.equal(undefined)
      expect(res.error).to.match(/timed out after 300 ms/)
    } finally {
      if (fs.existsSync(pidFile)) {
        try {
          process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGKILL')
        } catch {
          // gone
        }
      }
    }
  })

  it('a timeoutMs beyond what a timer can hold (about 24.8 days) does not kill the agent at once', async () => {
    const r = createAgentRunner(nodeAgent(`setTimeout(()=>console.log("slow answer"),200)`, {timeoutMs: 3_000_000_000}), ctx)
    expect(await r.run(input)).to.deep.equal({text: 'slow answer'})
  })

  it('a command that does not read its stdin still works', async () => {
    const r = createAgentRunner(nodeAgent(`console.log("fixed reply")`), ctx)
    expect(await r.run(input)).to.deep.equal({text: 'fixed reply'})
  })

  describe('presets', () => {
    const dmInput = buildAgentInput({...env, isGroup: false}, 'agent:bot:main')
    beforeEach(() => {
      ctx = {...ctx, env: {...ctx.env, ...installFakeClis(t.dir).env}}
    })

    it('a missing preset binary: startup check names the CLI and how to install it; run() gives no reply', async () => {
      const empty = {env: {PATH: path.join(t.dir, 'nothing-here')}}
      let err: unknown
      try {
        checkAgent({id: 'c', runtime: 'claude'}, empty)
      } catch (error) {
        err = error
      }
      expect(err).to.be.instanceOf(RemoteclawError)
      expect((err as RemoteclawError).message).to.equal('agent "c" uses runtime claude, but Claude Code (claude) was not found on PATH')
      expect((err as RemoteclawError).fix).to.contain('npm install -g @anthropic-ai/claude-code')
      expect(() => checkAgent({id: 'c', runtime: 'claude'}, ctx)).not.to.throw()
      const r = createAgentRunner({id: 'g', runtime: 'gemini', errorReply: 'offline'}, {...ctx, env: empty.env})
      const res = await r.run(dmInput)
      expect(res.text).to.equal('offline')
      expect(res.error).to.contain('Gemini CLI (gemini) was not found')
    })
  })

  it('issue 10.4: a detached child holding stdout neither discards the reply nor holds the turn, and is killed at its end', async function () {
    this.timeout(30_000)
    const pidFile = path.join(t.dir, 'escaped')
    // like `setsid sleep 40 &`: own session and process group, inherits stdout
    const child = `require("fs").writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));setTimeout(()=>{},40000)`
    const code = `require("child_process").spawn(process.execPath, ["-e", ${JSON.stringify(child)}], {stdio: "inherit", detached: true}).unref();setTimeout(()=>{console.log("the reply");process.exit(0)},200)`
    const r = createAgentRunner(nodeAgent(code, {timeoutMs: 20_000}), ctx)
    const started = Date.now()
    const res = await r.run(input)
    expect(res).to.deep.equal({text: 'the reply'})
    // settled on exit, not at timeoutMs (20 s): generous bound for a loaded machine
    expect(Date.now() - started).to.be.below(15_000)
    const pid = Number(fs.readFileSync(pidFile, 'utf8'))
    const stateOf = () => (fs.existsSync(`/proc/${pid}/status`) ? (fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/State:\s+(\S)/)?.[1] ?? '?') : 'gone')
    // SIGKILL was sent when the turn ended; give the kernel a moment to finish it off
    let state = stateOf()
    for (let i = 0; i < 50 && state !== 'gone' && state !== 'Z'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      state = stateOf()
    }
    if (state !== 'gone' && state !== 'Z') process.kill(pid, 'SIGKILL')
    expect(['gone', 'Z'], 'the escaped descendant must be killed at the end of the turn (or be a zombie awaiting its reaper)').to.include(state)
  })

  it('issue 10.4 with a real `setsid sleep 40 &` in a shell script agent', async function () {
    if (!findExecutable('setsid', process.env)) this.skip()
    this.timeout(30_000)
    const r = createAgentRunner({id: 'sh', runtime: 'command', command: ['/bin/sh', '-c', 'setsid sleep 40 & echo done'], timeoutMs: 20_000}, ctx)
    expect(await r.run(input)).to.deep.equal({text: 'done'})
    const left = await execa('pgrep', ['-f', '^sleep 40$'], {reject: false})
    // no `sleep 40` started by this test survives (another one on the machine would carry no marker; check ours by env)
    for (const pid of String(left.stdout).split('\n').filter(Boolean)) {
      const environ = fs.existsSync(`/proc/${pid}/environ`) ? fs.readFileSync(`/proc/${pid}/environ`, 'latin1') : ''
      expect(environ, `sleep ${pid} from this run still alive`).not.to.contain(`REMOTECLAW_AGENT_RUN=${process.pid}.`)
    }
  })

  it('command runtime: input gains session {key, id, turn, isNew}; output json may return sessionId; the MCP spec is in REMOTECLAW_MCP_SERVER', async () => {
    const code = `${READ_STDIN}const i=JSON.parse(d);console.log(JSON.stringify({text:JSON.stringify([i.session,JSON.parse(process.env.REMOTECLAW_MCP_SERVER)]),sessionId:"conv-9"}))})`
    const r = createAgentRunner(nodeAgent(code, {output: 'json'}), ctx)
    const mcp = {name: 'rc', command: 'node', args: ['mcp.js'], env: {A: '1'}}
    const res = await r.run({...input, session: {key: 'agent:bot:main', id: 'conv-8', turn: 3, isNew: false}}, {mcp})
    expect(res.sessionId).to.equal('conv-9')
    expect(JSON.parse(res.text!)).to.deep.equal([{key: 'agent:bot:main', id: 'conv-8', turn: 3, isNew: false}, mcp])
    const bad = await createAgentRunner(nodeAgent(`console.log(JSON.stringify({text:"x",sessionId:5}))`, {output: 'json'}), ctx).run(input)
    expect(bad.error).to.contain('"sessionId" must be a string')
  })

  it('checkAgent: runtime command without command is a config error; a missing program is named', () => {
    expect(() => checkAgent({id: 'z', runtime: 'command'}, ctx)).to.throw(/has runtime command but no command/)
    expect(() => checkAgent({id: 'z', runtime: 'command', command: ['definitely-not-a-program-xyz']}, ctx)).to.throw(
      /command definitely-not-a-program-xyz was not found on PATH/,
    )
    expect(() => checkAgent(nodeAgent(''), ctx)).not.to.throw()
    expect(() => checkAgent({id: 'e', runtime: 'echo'}, ctx)).not.to.throw()
    expect(findExecutable('node', {PATH: path.dirname(NODE)})).to.equal(path.join(path.dirname(NODE), 'node'))
  })
})

describe('checkAgents', () => {
  it('collects every agent that cannot run, for startup logging', async () => {
    const {checkAgents} = await import('../../../src/lib/agents/runner.js')
    const problems = checkAgents(
      [
        {id: 'e', runtime: 'echo'},
        {id: 'c', runtime: 'codex'},
        {id: 'x', runtime: 'command'},
      ],
      {env: {PATH: '/nonexistent-dir'}},
    )
    expect(problems.map((p) => p.code)).to.deep.equal(['agent_not_installed', 'config_invalid'])
    expect(problems[0]!.message).to.contain('Codex CLI (codex) was not found on PATH')
    expect(problems[0]!.fix).to.contain('npm install -g @openai/codex')
  })
})
