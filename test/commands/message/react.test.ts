import {expect} from 'chai'
import {execa} from 'execa'
import fs from 'node:fs'
import path from 'node:path'
import {IMSG_SIM, runCli, tempDir} from '../../helpers/cli.js'

const V15 = {IMSG_SIM_VERSION: '0.15.10'}
const BRIDGE = {...V15, IMSG_SIM_BRIDGE: '1'}

async function setup() {
  const t = tempDir('rc-react-')
  const db = path.join(t.dir, 'chat.db')
  const {stdout} = await execa(IMSG_SIM, ['inject', '--db', db, '--from', '+15551234567', '--text', 'lunch?', '--json'])
  const msg = JSON.parse(stdout) as {chat_id: number; guid: string}
  fs.writeFileSync(path.join(t.dir, 'remoteclaw.json'),
    JSON.stringify({channels: {imessage: {cliPath: IMSG_SIM, dbPath: db, groupPolicy: 'disabled'}}}))
  const history = async () => {
    const r = await execa(IMSG_SIM, ['rpc', '--db', db], {env: V15,
      input: JSON.stringify({jsonrpc: '2.0', id: 1, method: 'messages.history', params: {chat_id: msg.chat_id}}) + '\n'})
    return (JSON.parse(r.stdout) as {result: {messages: Array<Record<string, unknown>>}}).result.messages
  }
  return {...t, db, msg, history}
}

describe('message react and message send --reply-to (built CLI, imsg simulator)', function () {
  this.timeout(90_000)

  it('react: with the bridge puts the tapback on the message (kind, emoji, --remove); --json reports it', async () => {
    const s = await setup()
    try {
      const like = await runCli(['message', 'react', '--target', `chat_id:${s.msg.chat_id}`, '--message', s.msg.guid, '--reaction', 'like', '--json'],
        {stateDir: s.dir, env: BRIDGE})
      expect(like.exitCode, like.stderr).to.equal(0)
      expect(JSON.parse(like.stdout)).to.deep.include({messageGuid: s.msg.guid, removed: false, reaction: {kind: 'like', emoji: '👍'}})
      const party = await runCli(['message', 'react', '--target', '+15551234567', '--message', s.msg.guid, '--reaction', '🎉'], {stateDir: s.dir, env: BRIDGE})
      expect(party.exitCode, party.stderr).to.equal(0)
      expect(party.stdout).to.match(/sent 🎉 on message/)
      const rm = await runCli(['message', 'react', '--target', `chat_id:${s.msg.chat_id}`, '--message', s.msg.guid, '--reaction', 'like', '--remove'],
        {stateDir: s.dir, env: BRIDGE})
      expect(rm.exitCode, rm.stderr).to.equal(0)
      const original = (await s.history()).find((m) => m.guid === s.msg.guid)!
      expect((original.reactions as Array<{emoji: string}>).map((r) => r.emoji)).to.deep.equal(['🎉'])
    } finally {
      s.cleanup()
    }
  })

  it('react: refuses with exit 5 and the bridge fix when the bridge is not running (same with --json); bad reaction is exit 2', async () => {
    const s = await setup()
    try {
      const r = await runCli(['message', 'react', '--target', `chat_id:${s.msg.chat_id}`, '--message', s.msg.guid, '--reaction', 'love'], {stateDir: s.dir, env: V15})
      expect(r.exitCode).to.equal(5)
      expect(r.stderr).to.match(/tapbacks are not usable with this imsg: the IMCore bridge is not running/).and.match(/Fix: .*imsg launch/)
      const j = await runCli(['message', 'react', '--target', `chat_id:${s.msg.chat_id}`, '--message', s.msg.guid, '--reaction', '🎉', '--json'],
        {stateDir: s.dir, env: {...BRIDGE, IMSG_SIM_BRIDGE_NO_EMOJI: '1'}})
      expect(j.exitCode).to.equal(5)
      expect(JSON.parse(j.stdout).error).to.include({code: 'capability_unavailable'})
      const bad = await runCli(['message', 'react', '--target', `chat_id:${s.msg.chat_id}`, '--message', s.msg.guid, '--reaction', 'wave'], {stateDir: s.dir, env: BRIDGE})
      expect(bad.exitCode).to.equal(2)
      expect(bad.stderr).to.match(/invalid reaction "wave"/)
      expect((await s.history()).find((m) => m.guid === s.msg.guid)!.reactions).to.deep.equal([])
    } finally {
      s.cleanup()
    }
  })

  it('send --reply-to: threaded with the bridge; without it nothing is sent and exit 5', async () => {
    const s = await setup()
    try {
      const no = await runCli(['message', 'send', '--target', `chat_id:${s.msg.chat_id}`, '--text', 'yes', '--reply-to', s.msg.guid], {stateDir: s.dir, env: V15})
      expect(no.exitCode).to.equal(5)
      expect(no.stderr).to.match(/threaded replies are not usable/)
      expect((await s.history()).filter((m) => m.is_from_me)).to.deep.equal([])
      const yes = await runCli(['message', 'send', '--target', `chat_id:${s.msg.chat_id}`, '--text', 'yes', '--reply-to', s.msg.guid, '--json'],
        {stateDir: s.dir, env: BRIDGE})
      expect(yes.exitCode, yes.stderr).to.equal(0)
      const reply = (await s.history()).find((m) => m.is_from_me)!
      expect(reply).to.include({text: 'yes', thread_originator_guid: s.msg.guid})
    } finally {
      s.cleanup()
    }
  })

  it('channels status --probe --json lists each capability, usable or with reason and fix', async () => {
    const s = await setup()
    try {
      const off = await runCli(['channels', 'status', '--probe', '--json'], {stateDir: s.dir, env: V15})
      expect(off.exitCode, off.stderr).to.equal(0) // a missing capability does not make the account unhealthy
      const setOff = JSON.parse(off.stdout).accounts[0].capabilitySet
      expect(setOff.source).to.equal('status')
      for (const k of ['typing', 'read', 'tapback', 'emojiTapback', 'threadedReply']) {
        expect(setOff[k]).to.deep.include({usable: false, reason: 'the IMCore bridge is not running'})
        expect(setOff[k].fix).to.match(/imsg launch/)
      }
      const on = await runCli(['channels', 'status', '--probe', '--json'], {stateDir: s.dir, env: BRIDGE})
      const setOn = JSON.parse(on.stdout).accounts[0].capabilitySet
      expect([setOn.typing, setOn.read, setOn.tapback, setOn.emojiTapback, setOn.threadedReply]).to.deep.equal(Array(5).fill({usable: true}))
      const human = await runCli(['channels', 'status', '--probe'], {stateDir: s.dir, env: V15})
      expect(human.stdout).to.match(/- typing indicators: not usable, the IMCore bridge is not running/)
      expect(human.stdout.match(/Fix: On the Mac, disable System Integrity Protection/g)).to.have.length(1)
    } finally {
      s.cleanup()
    }
  })
})
