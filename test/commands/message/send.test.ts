import {expect} from 'chai'
import {execa} from 'execa'
import fs from 'node:fs'
import path from 'node:path'
import {IMSG_SIM, runCli, tempDir} from '../../helpers/cli.js'

interface Sent {
  id: number
  guid: string
  chat_id: number
  to: string
  text: string
  file?: string
  service: string
}

async function setup(extra: Record<string, unknown> = {}) {
  const t = tempDir('rc-send-')
  const db = path.join(t.dir, 'chat.db')
  const {stdout} = await execa(IMSG_SIM, ['inject', '--db', db, '--from', '+15551234567', '--text', 'hello', '--json'])
  const chatId = (JSON.parse(stdout) as {chat_id: number}).chat_id
  fs.writeFileSync(
    path.join(t.dir, 'remoteclaw.json'),
    JSON.stringify({channels: {imessage: {cliPath: IMSG_SIM, dbPath: db, groupPolicy: 'disabled', ...extra}}}),
  )
  const sent = async (): Promise<Sent[]> => JSON.parse((await execa(IMSG_SIM, ['sent', '--db', db, '--json'])).stdout) as Sent[]
  return {...t, db, chatId, sent}
}

describe('message send (built CLI, imsg simulator as cliPath)', function () {
  this.timeout(60_000)

  it('sends long text in order, one chunk at a time, and --json reports each id/guid', async () => {
    const s = await setup({textChunkLimit: 20})
    try {
      const text = 'first paragraph here and more words\nsecond line of text that is long'
      const r = await runCli(['message', 'send', '--target', `chat_id:${s.chatId}`, '--text', text, '--json'], {stateDir: s.dir})
      expect(r.exitCode, r.stderr).to.equal(0)
      const doc = JSON.parse(r.stdout)
      const rows = await s.sent()
      expect(rows.map((x) => x.text)).to.deep.equal(['first paragraph here', 'and more words', 'second line of text', 'that is long'])
      expect(doc).to.deep.include({schemaVersion: 1, accountId: 'default', target: `chat_id:${s.chatId}`, chunkLimit: 20, chunkMode: 'length'})
      expect(doc.parts).to.deep.equal(
        rows.map((row, index) => ({index, kind: 'text', length: row.text.length, id: row.id, guid: row.guid, transport: 'applescript'})),
      )
    } finally {
      s.cleanup()
    }
  })

  it('newline mode splits at paragraphs', async () => {
    const s = await setup({textChunkLimit: 30, chunkMode: 'newline'})
    try {
      const r = await runCli(['message', 'send', '--target', '+15551234567', '--text', 'para one\n\npara two\n\na third paragraph here'], {stateDir: s.dir})
      expect(r.exitCode, r.stderr).to.equal(0)
      expect((await s.sent()).map((x) => x.text)).to.deep.equal(['para one\n\npara two', 'a third paragraph here'])
      expect(r.stdout).to.match(/^sent 2 messages to \+15551234567 \(/)
    } finally {
      s.cleanup()
    }
  })

  it('reads the text from stdin and normalises a national phone number with the region', async () => {
    const s = await setup()
    try {
      const r = await runCli(['message', 'send', '--target', '(555) 123-4567'], {stateDir: s.dir, input: 'from stdin $100 "quoted"\n'})
      expect(r.exitCode, r.stderr).to.equal(0)
      const rows = await s.sent()
      expect(rows).to.have.length(1)
      expect(rows[0]).to.deep.include({to: '+15551234567', text: 'from stdin $100 "quoted"'})
    } finally {
      s.cleanup()
    }
  })

  it('keeps \\r\\n from stdin: every character but whitespace at a chunk break arrives', async () => {
    const s = await setup({textChunkLimit: 20})
    try {
      const r = await runCli(['message', 'send', '--target', '+15551234567'], {stateDir: s.dir, input: 'line one\r\nline two\r\n\r\nthird line is longer\r\n'})
      expect(r.exitCode, r.stderr).to.equal(0)
      expect((await s.sent()).map((x) => x.text)).to.deep.equal(['line one\r\nline two', 'third line is longer'])
    } finally {
      s.cleanup()
    }
  })

  it('text needing more than maxReplyChunks messages: exit 2, nothing sent, and the suggested fix works', async () => {
    const s = await setup({textChunkLimit: 10, maxReplyChunks: 2})
    try {
      const text = 'aaaaaaaa bbbbbbbb cccccccc dddddddd'
      const r = await runCli(['message', 'send', '--target', '+15551234567', '--text', text], {stateDir: s.dir})
      expect(r.exitCode).to.equal(2)
      expect(r.stderr).to.include('the text needs more than 2 messages of up to 10 characters (channels.imessage.maxReplyChunks is 2); nothing was sent')
      expect(await s.sent()).to.deep.equal([])
      const fix = /remoteclaw (config set \S+ \d+)/.exec(r.stderr)
      expect(fix, r.stderr).to.not.equal(null)
      const f = await runCli(fix![1]!.split(' '), {stateDir: s.dir})
      expect(f.exitCode, f.stderr).to.equal(0)
      const again = await runCli(['message', 'send', '--target', '+15551234567', '--text', text, '--json'], {stateDir: s.dir})
      expect(again.exitCode, again.stderr).to.equal(0)
      expect((await s.sent()).map((x) => x.text)).to.deep.equal(['aaaaaaaa', 'bbbbbbbb', 'cccccccc', 'dddddddd'])
    } finally {
      s.cleanup()
    }
  })

  it('passes --file for a local imsg', async () => {
    const s = await setup()
    try {
      const file = path.join(s.dir, 'photo.jpg')
      fs.writeFileSync(file, 'jpeg')
      const r = await runCli(['message', 'send', '--target', `chat_id:${s.chatId}`, '--text', 'look', '--file', file, '--json'], {stateDir: s.dir})
      expect(r.exitCode, r.stderr).to.equal(0)
      const doc = JSON.parse(r.stdout)
      expect(doc.parts.map((p: {kind: string}) => p.kind)).to.deep.equal(['text', 'file'])
      const rows = await s.sent()
      expect(rows.map((x) => x.text)).to.deep.equal(['look', ''])
      expect(rows[1]!.file).to.include('photo.jpg')
    } finally {
      s.cleanup()
    }
  })

  it('a missing --file is exit 4 and nothing is sent', async () => {
    const s = await setup()
    try {
      const r = await runCli(['message', 'send', '--target', `chat_id:${s.chatId}`, '--text', 'look', '--file', path.join(s.dir, 'nope.jpg')], {stateDir: s.dir})
      expect(r.exitCode).to.equal(4)
      expect(r.stderr).to.include(`Error: file not found: ${path.join(s.dir, 'nope.jpg')}`)
      expect(await s.sent()).to.deep.equal([])
    } finally {
      s.cleanup()
    }
  })

  it('-32001: "delivery outcome unknown; not retried", exit 1, and nothing after it is sent', async () => {
    const s = await setup({textChunkLimit: 10})
    try {
      const env = {IMSG_SIM_VERSION: '0.14.0', IMSG_SIM_SEND_UNKNOWN: '1'}
      const r = await runCli(['message', 'send', '--target', `chat_id:${s.chatId}`, '--text', 'aaaa bbbb cccc dddd'], {stateDir: s.dir, env})
      expect(r.exitCode).to.equal(1)
      expect(r.stderr).to.include(
        'Error: delivery outcome unknown; not retried (part 1 of 2; 0 sent before it, 1 not attempted): imsg said "Messages accepted the send but no matching chat.db row was confirmed; it may have been delivered. Do not retry."',
      )
      expect(r.stderr).to.include('Fix: imsg could not confirm whether the message went out, so it was NOT retried')
      // exactly one attempt (the simulator writes the row before answering -32001), no retry, no second chunk
      expect((await s.sent()).map((x) => x.text)).to.deep.equal(['aaaa bbbb'])
      const j = await runCli(['message', 'send', '--target', `chat_id:${s.chatId}`, '--text', 'x', '--json'], {stateDir: s.dir, env})
      expect(j.exitCode).to.equal(1)
      const doc = JSON.parse(j.stdout)
      expect(doc.error.code).to.equal('imsg_delivery_unknown')
      expect(doc.error.details.retrySafe).to.equal(false)
    } finally {
      s.cleanup()
    }
  })

  it('Automation denied (-1743): the fix points at the user session and doctor --send-test', async () => {
    const s = await setup()
    try {
      const r = await runCli(['message', 'send', '--target', '+15551234567', '--text', 'hi'], {stateDir: s.dir, env: {IMSG_SIM_AUTOMATION: 'denied'}})
      expect(r.exitCode).to.equal(1)
      expect(r.stderr).to.include(
        'Error: imsg could not send: Messages refused Apple Events (Automation permission denied): AppleScript failed: 0:50: execution error: Not authorized to send Apple events to Messages. (-1743)',
      )
      expect(r.stderr).to.include("Run imsg in the logged-in Messages user's own session").and.include('remoteclaw channels doctor --send-test')
    } finally {
      s.cleanup()
    }
  })

  describe('Full Disk Access missing', () => {
    for (const [version, message] of [
      ['0.5.0', 'Error: imsg cannot read the Messages database (Full Disk Access missing); imsg exited with code 1 before answering send; it printed: permissionDenied(path: "<DB>", underlying: authorization denied (code: 23))'],
      ['0.9.0', 'Error: imsg cannot read the Messages database (Full Disk Access missing): authorization denied (code: 23)'],
      ['0.14.0', 'Error: imsg cannot read the Messages database (Full Disk Access missing): The configured Messages database could not be opened read-only. Verify the path and grant Full Disk Access to the supervising process, then retry. (<DB>)'],
    ] as const) {
      it(`imsg ${version}: a chat_id send fails with the Full Disk Access fix`, async () => {
        const s = await setup()
        try {
          const r = await runCli(['message', 'send', '--target', `chat_id:${s.chatId}`, '--text', 'hi'], {
            stateDir: s.dir,
            env: {IMSG_SIM_FDA: 'missing', IMSG_SIM_VERSION: version},
          })
          expect(r.exitCode).to.equal(1)
          expect(r.stderr.split('\n')[0]).to.equal(message.replace('<DB>', s.db))
          expect(r.stderr).to.include(`Fix: Grant Full Disk Access to the exact process context that runs ${IMSG_SIM}`)
          expect(r.stderr).to.not.include('WARN') // the client's log stays quiet without --verbose
        } finally {
          s.cleanup()
        }
      })
    }

    it('imsg 0.14.0 (degraded mode): a direct send to a handle still works', async () => {
      const s = await setup()
      try {
        const r = await runCli(['message', 'send', '--target', '+15551234567', '--text', 'hi'], {
          stateDir: s.dir,
          env: {IMSG_SIM_FDA: 'missing', IMSG_SIM_VERSION: '0.14.0'},
        })
        expect(r.exitCode, r.stderr).to.equal(0)
        expect(r.stdout).to.match(/^sent 1 message to \+15551234567/)
      } finally {
        s.cleanup()
      }
    })
  })

  it('a hung imsg: the send times out with the wrapper fix and is not retried', async () => {
    const s = await setup({rpcTimeoutMs: 800})
    try {
      const r = await runCli(['message', 'send', '--target', '+15551234567', '--text', 'hi'], {stateDir: s.dir, env: {IMSG_SIM_HANG: '1'}})
      expect(r.exitCode).to.equal(1)
      expect(r.stderr).to.include('Error: delivery outcome unknown; not retried: imsg did not answer send within 800 ms')
      expect(r.stderr).to.include('buffers stdin').and.include('check the chat before sending again')
    } finally {
      s.cleanup()
    }
  })

  it('imsg crashing mid-send reports the exit code and its last words', async () => {
    const s = await setup({textChunkLimit: 10})
    try {
      const r = await runCli(['message', 'send', '--target', `chat_id:${s.chatId}`, '--text', 'aaaa bbbb cccc dddd'], {
        stateDir: s.dir,
        env: {IMSG_SIM_CRASH_AFTER: '1'},
      })
      expect(r.exitCode).to.equal(1)
      expect(r.stderr).to.include(
        'Error: imsg exited with code 134 before answering send; it printed: imsg/RPCServer.swift:212: Fatal error: simulated crash (IMSG_SIM_CRASH_AFTER) (part 2 of 2; 1 sent before it)',
      )
    } finally {
      s.cleanup()
    }
  })

  it('garbage lines on stdout do not disturb a send', async () => {
    const s = await setup()
    try {
      const r = await runCli(['message', 'send', '--target', `chat_id:${s.chatId}`, '--text', 'ok'], {stateDir: s.dir, env: {IMSG_SIM_GARBAGE: '20'}})
      expect(r.exitCode, r.stderr).to.equal(0)
      expect((await s.sent()).map((x) => x.text)).to.deep.equal(['ok'])
    } finally {
      s.cleanup()
    }
  })

  it('an unknown chat_id is imsg\'s -32602 error', async () => {
    const s = await setup()
    try {
      const r = await runCli(['message', 'send', '--target', 'chat_id:999', '--text', 'x'], {stateDir: s.dir})
      expect(r.exitCode).to.equal(1)
      expect(r.stderr).to.include('Error: imsg send failed (-32602 Invalid params): unknown chat_id 999')
    } finally {
      s.cleanup()
    }
  })

  for (const [target, message] of [
    ['chat_id:abc', 'invalid target "chat_id:abc": chat_id must be a positive integer'],
    ['', 'invalid target "": it is empty'],
  ] as const) {
    it(`rejects --target ${JSON.stringify(target)} with exit 2 before spawning imsg`, async () => {
      const s = await setup({cliPath: '/nonexistent/imsg'})
      try {
        const r = await runCli(['message', 'send', '--target', target, '--text', 'x'], {stateDir: s.dir})
        expect(r.exitCode).to.equal(2)
        expect(r.stderr).to.include(`Error: ${message}`)
        const j = await runCli(['message', 'send', '--target', target, '--text', 'x', '--json'], {stateDir: s.dir})
        expect(j.exitCode).to.equal(2)
        expect(JSON.parse(j.stdout).error.code).to.equal('invalid_target')
      } finally {
        s.cleanup()
      }
    })
  }

  it('nothing to send: exit 2', async () => {
    const s = await setup()
    try {
      const r = await runCli(['message', 'send', '--target', '+15551234567'], {stateDir: s.dir, input: '  \n'})
      expect(r.exitCode).to.equal(2)
      expect(r.stderr).to.include('Error: nothing to send')
    } finally {
      s.cleanup()
    }
  })

  it('imsg not found: the brew fix', async () => {
    const s = await setup({cliPath: '/nonexistent/imsg'})
    try {
      const r = await runCli(['message', 'send', '--target', '+15551234567', '--text', 'x'], {stateDir: s.dir})
      expect(r.exitCode).to.equal(1)
      expect(r.stderr).to.include('Error: imsg not found: /nonexistent/imsg')
      expect(r.stderr).to.include('brew install steipete/tap/imsg')
    } finally {
      s.cleanup()
    }
  })
})
