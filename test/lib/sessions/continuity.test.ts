import {expect} from 'chai'
import {execa} from 'execa'
import fs from 'node:fs'
import path from 'node:path'
import {resolveAgents, type ResolvedAgent} from '../../../src/lib/agents/resolve.js'
import {createAgentRunner} from '../../../src/lib/agents/runner.js'
import {buildAgentInput} from '../../../src/lib/agents/types.js'
import type {RemoteclawConfig} from '../../../src/lib/config/schema.js'
import type {Envelope} from '../../../src/lib/core/envelope.js'
import {createLogger, type LogRecord} from '../../../src/lib/log.js'
import {SessionTurns} from '../../../src/lib/sessions/continuity.js'
import {sessionKeyFor} from '../../../src/lib/sessions/keys.js'
import {SessionStore, sessionsFile} from '../../../src/lib/sessions/store.js'
import {installFakeClis} from '../../helpers/agent-clis.js'
import {tempDir} from '../../helpers/cli.js'
import {dmEnvelope} from '../../helpers/envelope.js'

const env: Envelope = dmEnvelope({text: ''})

describe('session continuity (store + fake CLIs, injected clock)', function () {
  this.timeout(60_000)
  let t: ReturnType<typeof tempDir>
  let fakes: ReturnType<typeof installFakeClis>
  let records: LogRecord[]
  let now: number
  let store: SessionStore
  let turns: SessionTurns
  let cwd: string
  const key = 'agent:main:main'

  beforeEach(() => {
    t = tempDir()
    fakes = installFakeClis(t.dir)
    records = []
    now = Date.parse('2026-05-01T10:00:00Z')
    cwd = path.join(t.dir, 'work')
    fs.mkdirSync(cwd)
    store = new SessionStore({stateDir: path.join(t.dir, 'state')})
    turns = new SessionTurns({store, log: createLogger({level: 'debug', write: () => {}, onRecord: (r) => records.push(r)}), now: () => now})
  })
  afterEach(() => t.cleanup())

  const agentOf = (config: RemoteclawConfig): ResolvedAgent => resolveAgents(config).defaultAgent
  const claude = (extra: Record<string, unknown> = {}, top: RemoteclawConfig = {}) => agentOf({...top, agents: {list: [{id: 'main', runtime: 'claude', cwd, ...extra}]}})
  const say = async (agent: ResolvedAgent, text: string, extraEnv: Record<string, string> = {}, k = key) => {
    const runner = createAgentRunner(agent, {env: {...fakes.env, ...extraEnv}, spawn: execa, log: createLogger({level: 'error', write: () => {}})})
    const r = await turns.run({agent, runner, sessionKey: k, accountId: 'default', input: buildAgentInput({...env, text}, k)})
    await turns.settled(k)
    return r
  }

  it('stores the CLI session id and resumes it on the next turn; the record has the documented fields', async () => {
    const agent = claude()
    const r1 = await say(agent, 'My name is Ana')
    expect(r1.session).to.include({turn: 1, isNew: true})
    now += 60_000
    const r2 = await say(agent, 'What is my name?')
    expect(r2.text).to.equal('Your name is Ana.')
    expect(r2.session).to.deep.include({turn: 2, isNew: false, id: r1.sessionId})
    const rec = (await store.get(key))!
    expect(rec).to.deep.include({key, agentId: 'main', runtime: 'claude', sessionId: r1.sessionId, cwd, accountId: 'default', turns: 2, createdAt: now - 60_000, lastUsedAt: now})
    const file = sessionsFile(path.join(t.dir, 'state'))
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600)
    expect(fs.statSync(path.dirname(file)).mode & 0o777).to.equal(0o700)
  })

  it('a failed turn never replaces a good id', async () => {
    const agent = claude()
    const r1 = await say(agent, 'My name is Ana')
    const bad = await say(agent, 'hello', {FAKE_AGENT_FAIL: 'midstream'})
    expect(bad.error).to.be.a('string')
    expect((await store.get(key))!).to.deep.include({sessionId: r1.sessionId, turns: 1})
    expect((await say(agent, 'What is my name?')).text).to.equal('Your name is Ana.')
  })

  it('a refused resume is logged once and the same turn runs once more, fresh; the new id is stored', async () => {
    const agent = claude()
    const r1 = await say(agent, 'My name is Ana')
    fs.rmSync(fakes.store, {recursive: true}) // the CLI forgot the session (expired, other machine)
    const r2 = await say(agent, 'What is my name?')
    expect(r2.error).to.equal(undefined)
    expect(r2.text).to.equal("I don't know your name yet.")
    expect(r2.session).to.include({isNew: true, turn: 1})
    const warns = records.filter((r) => r.level === 'warn' && r.msg.includes('refused to resume'))
    expect(warns).to.have.length(1)
    expect(warns[0]!.msg).to.contain(r1.sessionId!)
    const rec = (await store.get(key))!
    expect(rec.sessionId).to.equal(r2.sessionId).and.not.equal(r1.sessionId)
    expect(rec.turns).to.equal(1)
    expect(fakes.runs().filter((r) => r.cli === 'claude')).to.have.length(3)
  })

  it('idle longer than session.idleMinutes starts fresh (logged); 0 never expires; the per-agent override wins', async () => {
    const agent = claude({}, {session: {idleMinutes: 30}})
    await say(agent, 'My name is Ana')
    now += 29 * 60_000
    expect((await say(agent, 'What is my name?')).text).to.equal('Your name is Ana.')
    now += 31 * 60_000
    const r = await say(agent, 'What is my name?')
    expect(r.text).to.equal("I don't know your name yet.")
    expect(r.session.freshReason).to.contain('idle for more than 30 minute(s)')
    expect(records.some((x) => x.level === 'info' && x.msg.includes('starting a fresh session: idle'))).to.equal(true)
    const never = claude({session: {idleMinutes: 0}}, {session: {idleMinutes: 30}})
    await say(never, 'My name is Bo')
    now += 365 * 24 * 60 * 60_000
    expect((await say(never, 'What is my name?')).text).to.equal('Your name is Bo.')
  })

  it('a change of runtime or cwd starts fresh (logged)', async () => {
    await say(claude(), 'My name is Ana')
    const other = path.join(t.dir, 'other')
    fs.mkdirSync(other)
    const moved = await say(claude({cwd: other}), 'What is my name?')
    expect(moved.text).to.equal("I don't know your name yet.")
    expect(moved.session.freshReason).to.contain("cwd changed")
    const codex = agentOf({agents: {list: [{id: 'main', runtime: 'codex', cwd: other}]}})
    const switched = await say(codex, 'What is my name?')
    expect(switched.session.freshReason).to.equal("the agent's runtime changed from claude to codex")
    expect((await store.get(key))!.runtime).to.equal('codex')
  })

  it('a reset while a turn runs is not undone by that turn', async () => {
    const agent = claude()
    await say(agent, 'My name is Ana')
    const running = say(agent, 'turn?', {FAKE_AGENT_SLEEP_MS: '1500'})
    await new Promise((r) => setTimeout(r, 500))
    expect(await store.remove([key])).to.deep.equal([key])
    await running
    expect(await store.get(key)).to.equal(undefined)
    expect((await say(agent, 'What is my name?')).text).to.equal("I don't know your name yet.")
  })

  it('concurrent writers (the gateway and `sessions reset`) never lose a write', async () => {
    const base = {agentId: 'a', runtime: 'echo', cwd: '/', accountId: 'default', createdAt: 1, lastUsedAt: 1, turns: 1, epoch: 'e'}
    const other = new SessionStore({stateDir: path.join(t.dir, 'state')})
    await Promise.all(Array.from({length: 20}, (_, i) => (i % 2 ? store : other).update(`k${i}`, () => ({...base, key: `k${i}`}))))
    expect((await store.list()).map((r) => r.key).sort()).to.deep.equal(Array.from({length: 20}, (_, i) => `k${i}`).sort())
  })

  it('an unreadable store is an error naming the fix; the turn still answers, without continuity', async () => {
    const file = sessionsFile(path.join(t.dir, 'state'))
    fs.mkdirSync(path.dirname(file), {recursive: true})
    fs.writeFileSync(file, '{broken')
    let err: {message: string; fix?: string} | undefined
    await store.list().catch((e) => (err = e))
    expect(err!.message).to.contain('is unreadable')
    expect(err!.fix).to.contain(`mv ${file} ${file}.broken`)
    const r = await say(claude(), 'hello')
    expect(r.text).to.equal('You said: hello')
    expect(fs.readFileSync(file, 'utf8')).to.equal('{broken')
  })

  it('command runtime: session {key, id, turn, isNew} in, sessionId out, handed back next turn', async () => {
    const code = `let d="";process.stdin.on("data",c=>d+=c).on("end",()=>{const s=JSON.parse(d).session;console.log(JSON.stringify({text:JSON.stringify(s),sessionId:"conv-"+s.turn}))})`
    const agent = agentOf({agents: {list: [{id: 'main', runtime: 'command', command: [process.execPath, '-e', code], output: 'json', cwd}]}})
    const a = await say(agent, 'one')
    expect(JSON.parse(a.text!)).to.deep.equal({key, turn: 1, isNew: true})
    const b = await say(agent, 'two')
    expect(JSON.parse(b.text!)).to.deep.equal({key, id: 'conv-1', turn: 2, isNew: false})
  })

  it('session keys: dmScope main shares one DM session, per-sender gives each handle its own; groups their own', () => {
    expect(sessionKeyFor('main', env)).to.equal('agent:main:main')
    expect(sessionKeyFor('main', env, 'per-sender')).to.equal('agent:main:imessage:dm:+15551230001')
    expect(sessionKeyFor('main', {...env, isGroup: true, chat: {...env.chat, chatId: 42}}, 'per-sender')).to.equal('agent:main:imessage:group:42')
    const a = resolveAgents({session: {dmScope: 'per-sender'}, agents: {list: [{id: 'x'}, {id: 'y', session: {dmScope: 'main'}}]}})
    expect(a.agents.map((x) => x.session.dmScope)).to.deep.equal(['per-sender', 'main'])
    expect(a.agents[1]!.session.dmScopeKey).to.equal('agents.list[1].session.dmScope')
    expect(resolveAgents({}).defaultAgent.session).to.deep.include({idleMinutes: 10_080, dmScope: 'main'})
  })
})
