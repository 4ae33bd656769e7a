import {expect} from 'chai'
import {execa} from 'execa'
import fs from 'node:fs'
import path from 'node:path'
import {createAgentRunner} from '../../../src/lib/agents/runner.js'
import {buildAgentInput, type AgentInput, type McpServerSpec} from '../../../src/lib/agents/types.js'
import type {AgentConfig} from '../../../src/lib/config/schema.js'
import type {Envelope} from '../../../src/lib/core/envelope.js'
import {createLogger, type LogRecord} from '../../../src/lib/log.js'
import {FAKE_CLIS, installFakeClis} from '../../helpers/agent-clis.js'
import {tempDir} from '../../helpers/cli.js'
import {dmEnvelope} from '../../helpers/envelope.js'

const env: Envelope = dmEnvelope()
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex')

describe('preset agent CLIs (fake CLIs following each documented event stream)', function () {
  this.timeout(60_000)
  let t: ReturnType<typeof tempDir>
  let fakes: ReturnType<typeof installFakeClis>
  let records: LogRecord[]
  let cwd: string

  beforeEach(() => {
    t = tempDir()
    fakes = installFakeClis(t.dir)
    records = []
    cwd = path.join(t.dir, 'work')
    fs.mkdirSync(cwd)
  })
  afterEach(() => t.cleanup())

  const runner = (runtime: AgentConfig['runtime'], extraEnv: Record<string, string> = {}, extra: Partial<AgentConfig> = {}) =>
    createAgentRunner(
      {id: 'a', runtime, cwd, ...extra},
      {env: {...fakes.env, ...extraEnv}, spawn: execa, log: createLogger({level: 'debug', write: () => {}, onRecord: (r) => records.push(r)})},
    )
  const input = (text: string, sessionId?: string, turn = 1): AgentInput => ({
    ...buildAgentInput({...env, text}, 'agent:a:main'),
    session: {key: 'agent:a:main', ...(sessionId ? {id: sessionId} : {}), turn, isNew: sessionId === undefined},
  })

  for (const cli of FAKE_CLIS) {
    describe(cli, () => {
      it('captures the session id and resumes it: the second turn remembers the first', async () => {
        const r = runner(cli)
        const first = await r.run(input('My name is Ana'))
        expect(first.error).to.equal(undefined)
        expect(first.text).to.equal('Nice to meet you, Ana.')
        expect(first.sessionId).to.be.a('string').and.not.equal('')
        const second = await r.run(input('What is my name?', first.sessionId, 2))
        expect(second).to.deep.equal({text: 'Your name is Ana.', sessionId: first.sessionId})
        // without the id the CLI starts over and does not know
        const fresh = await r.run(input('What is my name?'))
        expect(fresh.text).to.equal("I don't know your name yet.")
        expect(fresh.sessionId).not.to.equal(first.sessionId)
      })

      it('reports a refused resume (the CLI\'s documented signal) without errorReply', async () => {
        const r = runner(cli, {}, {errorReply: 'sorry'})
        const res = await r.run(input('hi', cli === 'opencode' ? 'ses_unknown' : '0b7e6f1c-0000-4000-8000-000000000000', 2))
        expect(res.resumeRefused).to.equal(true)
        expect(res.text).to.equal(undefined)
        const first = await r.run(input('hi'))
        const knob = await runner(cli, {FAKE_AGENT_REFUSE_RESUME: '1'}).run(input('hi', first.sessionId, 2))
        expect(knob.resumeRefused).to.equal(true)
      })

      it('a failure mid-stream is a failure (stream and exit code): no answer, the block already finished was reported', async () => {
        const blocks: string[] = []
        const r = runner(cli, {FAKE_AGENT_FAIL: 'midstream', FAKE_AGENT_BLOCKS: '3'})
        const res = await r.run(input('work'), {onBlock: (b) => blocks.push(b)})
        expect(res.error).to.be.a('string').and.match(/is_error|turn\.failed|result error|opencode error/)
        expect(res.text).to.equal(undefined)
        // the synthetic API-error message claude streams is not an answer block
        expect(blocks).to.deep.equal(['Block 1 of 3.'])
        expect(records.some((r) => r.level === 'warn' && r.msg.startsWith('agent run failed'))).to.equal(true)
      })

      it('multi-block output: each finished text block in order, never tool calls, tool output or reasoning', async () => {
        const blocks: string[] = []
        const r = runner(cli, {FAKE_AGENT_BLOCKS: '3'})
        const res = await r.run(input('work'), {onBlock: (b) => blocks.push(b)})
        expect(blocks).to.deep.equal(['Block 1 of 3.', 'Block 2 of 3.', 'Block 3 of 3.'])
        const expected = {claude: 'Block 3 of 3.', codex: 'Block 3 of 3.', gemini: 'Block 1 of 3.Block 2 of 3.Block 3 of 3.', opencode: 'Block 1 of 3.\n\nBlock 2 of 3.\n\nBlock 3 of 3.'}[cli]
        expect(res.text).to.equal(expected)
        expect(JSON.stringify([res, blocks])).not.to.match(/secret/)
      })

      it('an image attachment reaches the CLI natively; other files are paths in the prompt', async () => {
        const dir = path.join(t.dir, 'Attachments with space')
        fs.mkdirSync(dir)
        const img = path.join(dir, 'photo one.png')
        fs.writeFileSync(img, PNG)
        const r = runner(cli)
        const res = await r.run({
          ...input('what is this?'),
          attachments: [
            {path: img, mimeType: 'image/png', name: 'photo one.png', size: PNG.length},
            {path: path.join(dir, 'notes.pdf'), mimeType: 'application/pdf', name: 'notes.pdf', size: 3},
          ],
        })
        expect(res.error).to.equal(undefined)
        expect(res.text).to.match(/^I see 1 image\(s\): /)
        expect(res.text).to.contain(cli === 'claude' ? `image/png ${PNG.length} bytes` : 'photo one.png')
        expect(res.text).to.contain(`notes.pdf (application/pdf, 3 bytes): ${path.join(dir, 'notes.pdf')}`)
      })

      it('an MCP server spec reaches the CLI the way it takes one', async () => {
        const spec: McpServerSpec = {name: 'remoteclaw', command: '/usr/bin/node', args: ['/srv/mcp.js', '--account', 'default'], env: {REMOTECLAW_TOKEN: 'a "quoted" value'}}
        const r = runner(cli)
        const res = await r.run(input('mcp?'), {mcp: spec})
        const got = JSON.parse(res.text!)
        expect({name: got.name, command: got.command, args: got.args, env: got.env}).to.deep.equal(spec)
        if (cli === 'claude') expect(got.allowedTools).to.deep.equal(['mcp__remoteclaw__*'])
        if (cli === 'opencode') expect(got.type).to.equal('local')
      })

      it('a message starting with "-" stays the message', async () => {
        const res = await runner(cli).run(input('-rf everything'))
        expect(res.text).to.equal('You said: -rf everything')
      })
    })
  }

  it('group context goes before the message, attachments that are not images after it', async () => {
    const group = {...env, isGroup: true, chat: {...env.chat, chatId: 42}, sender: {...env.sender, displayName: 'Ann'}, text: 'hello there'}
    const hist = [{sender: '+15551230002', senderName: 'Bo', text: 'earlier', createdAt: 0, messageId: 9}]
    const res = await runner('codex').run(buildAgentInput(group, 'agent:a:imessage:group:42', hist))
    expect(res.text).to.equal('You said: Earlier messages in this group chat, for context:\nBo (+15551230002): earlier\n\nMessage from Ann (+15551230001):\nhello there')
  })

  it('gemini: the MCP settings file merges the operator\'s system settings and is removed after the run', async () => {
    const sys = path.join(t.dir, 'system-settings.json')
    fs.writeFileSync(sys, JSON.stringify({mcpServers: {theirs: {command: 'x'}}, general: {a: 1}}))
    const r = runner('gemini', {GEMINI_CLI_SYSTEM_SETTINGS_PATH: sys})
    await r.run(input('hello'), {mcp: {name: 'rc', command: 'node', args: [], env: {}}})
    const run = fakes.runs().find((x) => x.cli === 'gemini') as unknown as {settingsFile: string}
    expect(run.settingsFile).not.to.equal(sys)
    expect(fs.existsSync(run.settingsFile), 'per-run settings file removed').to.equal(false)
  })

  it('opencode: a resumed session runs with --dir of the agent cwd (it hangs without)', async () => {
    const r = runner('opencode')
    const first = await r.run(input('My name is Bo'))
    const second = await r.run(input('what is my name', first.sessionId, 2))
    expect(second.text).to.equal('Your name is Bo.')
    const argv = fakes.runs().at(-1)!.argv
    expect(argv.slice(argv.indexOf('-s'), argv.indexOf('-s') + 4)).to.deep.equal(['-s', first.sessionId, '--dir', fs.realpathSync(cwd) === cwd ? cwd : cwd])
  })

  it('codex: exec options come before `resume <id>`, images after it, `--` before the prompt', async () => {
    const img = path.join(t.dir, 'a.png')
    fs.writeFileSync(img, PNG)
    const r = runner('codex', {}, {args: ['-s', 'workspace-write']})
    const first = await r.run(input('My name is Cy'))
    const second = await r.run({...input('what is my name', first.sessionId, 2), attachments: [{path: img, mimeType: 'image/png', name: 'a.png', size: 1}]})
    expect(second.error).to.equal(undefined)
    expect(fakes.runs().at(-1)!.argv).to.deep.equal(['exec', '--json', '--skip-git-repo-check', '-s', 'workspace-write', 'resume', first.sessionId, '-i', img, '--', 'what is my name\n\n'.trim()])
  })
})
