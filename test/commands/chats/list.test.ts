import {expect} from 'chai'
import {execa} from 'execa'
import fs from 'node:fs'
import path from 'node:path'
import {IMSG_SIM, runCli, tempDir} from '../../helpers/cli.js'

async function inject(db: string, ...args: string[]): Promise<{chat_id: number}> {
  const {stdout} = await execa(IMSG_SIM, ['inject', '--db', db, '--json', ...args])
  return JSON.parse(stdout) as {chat_id: number}
}

describe('chats list (built CLI, imsg simulator as cliPath)', function () {
  this.timeout(60_000)
  let t: ReturnType<typeof tempDir>
  let db: string
  beforeEach(() => {
    t = tempDir('rc-chats-')
    db = path.join(t.dir, 'chat.db')
  })
  afterEach(() => t.cleanup())

  function config(extra: Record<string, unknown>, top: Record<string, unknown> = {}): void {
    fs.writeFileSync(path.join(t.dir, 'remoteclaw.json'), JSON.stringify({...top, channels: {imessage: {cliPath: IMSG_SIM, dbPath: db, ...extra}}}))
  }

  it('lists DMs and groups with chat_id and the gateway verdict, with admit commands that run', async () => {
    const dm = await inject(db, '--from', '+15551234567', '--text', 'hi')
    const stranger = await inject(db, '--from', '+15559990000', '--text', 'hello')
    const group = await inject(db, '--from', '+15551234567', '--group', 'Family', '--participants', '+15552220000', '--text', 'hey all')
    config({dmPolicy: 'allowlist', allowFrom: ['+15551234567'], groupPolicy: 'allowlist'})
    const r = await runCli(['chats', 'list', '--json'], {stateDir: t.dir})
    expect(r.exitCode, r.stderr).to.equal(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.schemaVersion).to.equal(1)
    const byId = new Map<number, {answers: string; isGroup: boolean; admit?: string; name: string}>(doc.chats.map((c: {chatId: number}) => [c.chatId, c]))
    expect(byId.get(dm.chat_id)).to.deep.include({answers: 'yes', isGroup: false})
    expect(byId.get(stranger.chat_id)).to.deep.include({answers: 'no', isGroup: false})
    const g = byId.get(group.chat_id)!
    expect(g).to.deep.include({answers: 'no', isGroup: true, name: 'Family'})
    expect(g.admit).to.equal(`remoteclaw config set 'channels.imessage.groups["${group.chat_id}"]' '{}'`)

    // The admit command for the group works, and afterwards the verdict changes.
    const [, ...args] = (byId.get(stranger.chat_id)!.admit as string).match(/'[^']*'|\S+/g)!.map((s) => s.replace(/^'|'$/g, ''))
    const admitted = await runCli(args, {stateDir: t.dir})
    expect(admitted.exitCode, admitted.stderr).to.equal(0)
    const gArgs = g.admit!.match(/'[^']*'|\S+/g)!.map((s) => s.replace(/^'|'$/g, '')).slice(1)
    expect((await runCli(gArgs, {stateDir: t.dir})).exitCode).to.equal(0)
    const after = JSON.parse((await runCli(['chats', 'list', '--json'], {stateDir: t.dir})).stdout)
    const afterById = new Map<number, {answers: string}>(after.chats.map((c: {chatId: number}) => [c.chatId, c]))
    expect(afterById.get(stranger.chat_id)!.answers).to.equal('yes')
    // requireMention defaults to true and no mention pattern is set: still not answered, and it says why.
    expect(afterById.get(group.chat_id)!.answers).to.equal('no')
  })

  it('says "when mentioned" for a group with mention patterns, and "after pairing" for strangers', async () => {
    const stranger = await inject(db, '--from', '+15559990000', '--text', 'hello')
    const group = await inject(db, '--from', '+15551234567', '--group', 'Work', '--participants', '+15552220000', '--text', 'hey')
    config({dmPolicy: 'pairing', groupPolicy: 'open'}, {messages: {groupChat: {mentionPatterns: ['@bot']}}})
    const r = await runCli(['chats', 'list'], {stateDir: t.dir})
    expect(r.exitCode, r.stderr).to.equal(0)
    expect(r.stdout).to.include(`chat_id:${group.chat_id}  group  Work`)
    expect(r.stdout).to.include('answered when mentioned')
    expect(r.stdout).to.include(`chat_id:${stranger.chat_id}  DM  +15559990000`)
    expect(r.stdout).to.include('after pairing')
    expect(r.stdout).to.include('remoteclaw pairing approve imessage +15559990000')
  })

  it('without an account configured it exits 4 with the fix', async () => {
    const r = await runCli(['chats', 'list', '--json'], {stateDir: t.dir})
    expect(r.exitCode).to.equal(4)
    expect(JSON.parse(r.stdout).error.fix).to.be.a('string')
  })
})
