import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {execa} from 'execa'
import {IMSG_SIM} from '../helpers/cli.js'
import {GatewayHarness} from '../lib/gateway/harness.js'

/**
 * End to end: the built CLI (`bin/run.js gateway`) as a child process, with the imsg simulator
 * as imsg. Assertions are on what the simulator recorded as sent and on the gateway's log.
 */
describe('remoteclaw gateway (CLI child + imsg simulator)', function () {
  this.timeout(60_000)
  let h: GatewayHarness

  beforeEach(async () => {
    h = new GatewayHarness()
    await h.init()
  })
  afterEach(async () => {
    await h.dispose()
  })

  it('pairs an unknown sender once, answers after approval, and stops on SIGTERM with exit 0', async () => {
    h.writeConfig({}, {agents: {list: [{id: 'main', default: true, runtime: 'echo'}]}})
    h.start()
    await h.ready()
    await h.inject('+15550000001', 'hello')
    const [code] = await h.waitForSent(1)
    expect(code!.text).to.match(/pairing code: [A-Z2-9]{8}/)
    // No second code while one is pending.
    await h.inject('+15550000001', 'hello again')
    await h.waitForLog(/code already sent, not sent again/)
    expect(await h.sent()).to.have.length(1)
    const m = /pairing code: ([A-Z2-9]{8})/.exec(code!.text)!
    const {approve} = await import('../../src/lib/pairing/store.js')
    const {randomBytes} = await import('node:crypto')
    await approve({stateDir: h.dir, now: Date.now, random: randomBytes}, 'default', m[1]!.toLowerCase())
    await h.inject('+15550000001', 'now answer me')
    const sent = await h.waitForSent(2)
    expect(sent[1]!.text).to.equal('now answer me')
    expect(sent[1]!.chat_id).to.equal(sent[0]!.chat_id)
    const code0 = await h.stop()
    expect(code0, `signal ${h.exitSignal} ${h.logs.slice(-5).map((l) => l.msg).join(' | ')}`).to.equal(0)
    const health = h.healthFile()
    expect(health.accounts.default!.running).to.equal(false)
    expect(fs.statSync(path.join(h.dir, 'gateway', 'health.json')).mode & 0o777).to.equal(0o600)
    expect(fs.statSync(path.join(h.dir, 'gateway', 'accounts', 'default', 'state.json')).mode & 0o777).to.equal(0o600)
  })

  it('after dbPath changes (the bot moved), the old cursor is not applied to the new chat.db: its first message is answered', async () => {
    const sender = '+15550007000'
    h.writeConfig({dmPolicy: 'allowlist', allowFrom: [sender]}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    h.start()
    await h.ready()
    for (let i = 1; i <= 5; i++) await h.inject(sender, `old ${i}`)
    await h.waitForSent(5)
    expect(await h.stop()).to.equal(0)

    // A fresh chat.db: its rows start at 1, far below the cursor saved for the old one.
    const dbB = path.join(h.dir, 'moved', 'chat.db')
    fs.mkdirSync(path.dirname(dbB))
    const simB = (args: string[]) => execa(IMSG_SIM, [...args, '--db', dbB], {env: {HOME: h.dir}})
    await simB(['init'])
    h.writeConfig({dmPolicy: 'allowlist', allowFrom: [sender], dbPath: dbB}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    h.logs = []
    h.start()
    await h.ready()
    await h.waitForLog(/imsg source changed/)
    await simB(['inject', '--from', sender, '--text', 'hello from the new Mac'])
    const sentB = await h.waitFor(async () => {
      const rows = JSON.parse(String((await simB(['sent', '--json'])).stdout)) as Array<{text: string}>
      return rows.length > 0 ? rows : undefined
    }, 'the reply in the new database')
    expect(sentB.map((r) => r.text)).to.deep.equal(['hello from the new Mac'])
  })

  it('after chat.db is replaced at the same path (its ROWIDs start lower), the gateway starts over by the first-start rule and answers new messages', async () => {
    const sender = '+15550009000'
    h.writeConfig({dmPolicy: 'allowlist', allowFrom: [sender]}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    h.start()
    await h.ready()
    for (let i = 1; i <= 6; i++) await h.inject(sender, `old ${i}`)
    await h.waitForSent(6)
    expect(await h.stop()).to.equal(0)

    // Messages was reset (or the bot moved behind the same wrapper): a fresh database at the same path.
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(h.db + suffix, {force: true})
    await h.init()
    await h.inject(sender, 'already there before the restart')
    h.start()
    await h.ready()
    for (let i = 1; i <= 5; i++) await h.inject(sender, `new ${i}`)
    const sent = await h.waitForSent(5)
    expect(sent.map((r) => r.text)).to.deep.equal(['new 1', 'new 2', 'new 3', 'new 4', 'new 5'])
    expect(h.findLog(/chat\.db was replaced at the same path: its newest message is row 1, below the saved cursor/)).to.not.equal(undefined)
  })

  it('first start answers nothing that existed before it: the highest ROWID counts, not the newest chat by date', async () => {
    h.writeConfig({dmPolicy: 'open', allowFrom: ['*']}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    // Row 1 in chat A dated now; row 2 in chat B dated 10 minutes ago (inside the 15-minute age fence).
    await h.inject('+15550008001', 'row 1, chat A, now')
    await h.inject('+15550008002', 'row 2, chat B, 10 minutes ago', ['--ago', '10m'])
    h.start()
    await h.ready()
    await h.inject('+15550008003', 'after the start')
    await h.waitForSent(1)
    await new Promise((r) => setTimeout(r, 500))
    expect((await h.sent()).map((x) => x.text)).to.deep.equal(['after the start'])
    expect(h.findLog(/first start: answering messages after row 2 /), 'cursor at the highest ROWID').to.not.equal(undefined)
  })

  it('a pairing code whose send cannot be journaled is logged with the approve command; the gateway keeps running', async () => {
    h.writeConfig({}, {agents: {list: [{id: 'main', default: true, runtime: 'echo'}]}})
    h.start()
    await h.ready()
    // The send journal cannot be written (a directory where the file goes): beginSend fails.
    const journal = path.join(h.dir, 'gateway', 'accounts', 'default', 'journal.ndjson')
    fs.rmSync(journal, {force: true})
    fs.mkdirSync(journal)
    await h.inject('+15550000002', 'hello')
    const line = await h.waitForLog(/pairing code could not be sent/)
    expect(line.msg).to.contain('remoteclaw pairing approve')
    await new Promise((r) => setTimeout(r, 300))
    expect(h.exitCode, h.logs.slice(-5).map((l) => l.msg).join(' | ')).to.equal(undefined)
    fs.rmdirSync(journal)
    const c = await h.stop()
    expect(c, h.logs.slice(-8).map((l) => `${l.level} ${l.msg}`).join('\n')).to.equal(0)
  })

  it('ignores a group message without a mention (logged with the key) and answers one with a mention', async () => {
    h.writeConfig({groups: {'*': {requireMention: true}}, groupPolicy: 'open'}, {agents: {list: [{id: 'main', runtime: 'echo', groupChat: {mentionPatterns: ['@bot']}}]}})
    h.start()
    await h.ready()
    const g = await h.inject('+15550000002', 'just chatting', ['--group', 'Team', '--participants', '+15550000002,+15550000003'])
    await h.waitForLog(/not addressed to the bot/)
    await h.inject('+15550000003', '@bot what time is it', ['--chat-id', String(g.chat_id)])
    const sent = await h.waitForSent(1)
    expect(sent[0]!.text).to.equal('@bot what time is it')
    expect(sent[0]!.chat_id).to.equal(g.chat_id)
    expect(sent).to.have.length(1)
  })

  it('logs every drop reason at info with what would admit it', async () => {
    h.writeConfig({dmPolicy: 'allowlist', allowFrom: ['+15550000010'], maxInboundAgeMinutes: 15}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    h.start()
    await h.ready()
    // not allowed
    await h.inject('+15550000011', 'let me in')
    const access = await h.waitForLog(/not in channels\.imessage\.allowFrom \(dmPolicy allowlist\)/)
    expect(access.level).to.equal('info')
    expect(String(access.admit)).to.contain("remoteclaw config set channels.imessage.allowFrom")
    // backlog: one summary line for the batch
    await h.inject('+15550000010', 'old 1', ['--ago', '20m'])
    await h.inject('+15550000010', 'old 2', ['--ago', '30m'])
    const backlog = await h.waitForLog(/dropped \(backlog\)/)
    expect(backlog.level).to.equal('info')
    expect(String(backlog.admit)).to.contain('maxInboundAgeMinutes')
    await h.inject('+15550000010', 'first')
    await h.waitForSent(1)
    // from me: the owner typing from their phone on the bot's Apple ID
    await h.sim(['send', '--to', '+15550000010', '--text', 'typed by the owner'])
    const fromMe = await h.waitForLog(/dropped \(from-me\)/)
    expect(fromMe.level).to.equal('info')
    // The person writes the same words the bot just sent (imsg returned the send's id and guid):
    // an is_from_me=0 row is a person's message, answered, never dropped as an echo.
    await h.inject('+15550000010', 'ok')
    const reply = await h.waitFor(async () => (await h.sent()).find((s) => s.text === 'ok'), 'the reply')
    await h.inject('+15550000010', reply.text, ['--chat-id', String(reply.chat_id)])
    await h.waitFor(async () => (await h.sent()).filter((s) => s.text === 'ok').length === 2, 'the repeat answered')
    expect(h.findLog(/dropped \(echo\)/)).to.equal(undefined)
    const texts = (await h.sent()).map((s) => s.text)
    expect(texts).to.deep.equal(['first', 'typed by the owner', 'ok', 'ok'])
    expect(h.countLogs(/dropped \(backlog\)/)).to.equal(1)
    expect(h.findLog(/dropped \(backlog\) 2 messages/)).to.not.equal(undefined)
  })

  it('drops duplicates by guid across a restart (the dedupe set is persisted)', async () => {
    h.writeConfig({dmPolicy: 'open', allowFrom: ['*']}, {agents: {list: [{id: 'main', runtime: 'echo'}]}})
    h.start()
    await h.ready()
    await h.inject('+15550000020', 'one')
    await h.inject('+15550000021', 'two')
    await h.waitForSent(2)
    expect(await h.stop()).to.equal(0)
    // Rewind the persisted cursor to "from the beginning": imsg replays every row.
    const file = path.join(h.dir, 'gateway', 'accounts', 'default', 'state.json')
    const state = JSON.parse(fs.readFileSync(file, 'utf8')) as {cursor: number; seen: string[]}
    expect(state.seen.length).to.be.greaterThanOrEqual(2)
    fs.writeFileSync(file, JSON.stringify({...state, cursor: -1}))
    h.start()
    await h.ready()
    await h.waitFor(() => h.countLogs(/dropped \(duplicate\)/) >= 2, 'two duplicate drops')
    await h.inject('+15550000020', 'three')
    const sent = await h.waitForSent(3)
    expect(sent.map((s) => s.text)).to.deep.equal(['one', 'two', 'three'])
  })
})
