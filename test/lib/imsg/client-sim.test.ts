import {expect} from 'chai'
import {execa} from 'execa'
import path from 'node:path'
import {ImsgClient, type WatchStream} from '../../../src/lib/imsg/client.js'
import {ImsgDeliveryUnknownError, ImsgError, ImsgExitedError, ImsgWatchEndedError} from '../../../src/lib/imsg/errors.js'
import type {ImsgMessage} from '../../../src/lib/imsg/types.js'
import {createLogger} from '../../../src/lib/log.js'
import {IMSG_SIM, tempDir} from '../../helpers/cli.js'

/** The client against the real simulator (bin/imsg-sim, built dist/), one knob at a time. */
describe('ImsgClient against imsg-sim', function () {
  this.timeout(30_000)
  let dir: string
  let db: string
  let cleanup: () => void
  const clients: ImsgClient[] = []

  const inject = async (text: string, from = '+15551234567') =>
    JSON.parse((await execa(IMSG_SIM, ['inject', '--db', db, '--from', from, '--text', text, '--json'])).stdout) as {id: number; chat_id: number}

  const spawn = (env: Record<string, string> = {}) => {
    const c = ImsgClient.spawn({cliPath: IMSG_SIM, dbPath: db, env, requestTimeoutMs: 5000, closeGraceMs: 500, log: createLogger({level: 'error', write: () => {}})})
    clients.push(c)
    return c
  }

  const take = async (s: WatchStream, n: number): Promise<ImsgMessage[]> => {
    const out: ImsgMessage[] = []
    for await (const m of s) {
      out.push(m)
      if (out.length >= n) break
    }
    return out
  }

  const rejection = async (p: Promise<unknown>): Promise<Error> => {
    try {
      await p
    } catch (error) {
      return error as Error
    }
    throw new Error('expected a rejection')
  }

  beforeEach(async () => {
    ;({dir, cleanup} = tempDir('rc-client-sim-'))
    db = path.join(dir, 'chat.db')
    await inject('first')
  })
  afterEach(async () => {
    for (const c of clients.splice(0)) c.kill()
    cleanup()
  })

  for (const version of ['0.9.0', '0.14.0']) {
    it(`${version}: chats.list, history (newest first), send echoed on the watch stream`, async () => {
      const c = spawn({IMSG_SIM_VERSION: version})
      const {chats} = await c.chatsList({limit: 5})
      expect(chats).to.have.length(1)
      const chatId = chats[0]!.id
      await inject('second')
      const {messages} = await c.messagesHistory({chat_id: chatId, limit: 10})
      expect(messages.map((m) => m.text)).to.deep.equal(['second', 'first'])
      const stream = await c.subscribe({debounce_ms: 10})
      const sent = await c.send({chat_id: chatId, text: 'pong'})
      const [echo] = await take(stream, 1)
      expect(echo).to.deep.include({text: 'pong', is_from_me: true})
      if (sent.guid) expect(echo!.guid).to.equal(sent.guid)
      await stream.unsubscribe()
      expect((await c.close()).code).to.equal(0)
    })
  }

  it('IMSG_SIM_EARLY_NOTIFY: backlog notifications before the subscribe response are not lost', async () => {
    await inject('second')
    const c = spawn({IMSG_SIM_EARLY_NOTIFY: '1'})
    const stream = await c.subscribe({since_rowid: -1, debounce_ms: 10})
    const got = await take(stream, 2)
    expect(got.map((m) => m.text)).to.deep.equal(['first', 'second'])
  })

  it('IMSG_SIM_ESCAPE_SLASHES and IMSG_SIM_SHUFFLE_KEYS: responses still parse and match', async () => {
    const c = spawn({IMSG_SIM_ESCAPE_SLASHES: '1', IMSG_SIM_SHUFFLE_KEYS: '1'})
    const [a, b] = await Promise.all([c.chatsList({limit: 1}), c.chatsList({limit: 2})])
    expect(a.chats[0]!.guid).to.equal(b.chats[0]!.guid)
    expect(a.chats[0]!.guid).to.include(';-;')
  })

  it('IMSG_SIM_WATCH_ERROR_AFTER: the error notification ends the stream with reason "error"', async () => {
    const c = spawn({IMSG_SIM_WATCH_ERROR_AFTER: '1'})
    const stream = await c.subscribe({debounce_ms: 10})
    await inject('a')
    await inject('b')
    const got: string[] = []
    const err = (await rejection(
      (async () => {
        for await (const m of stream) got.push(m.text)
      })(),
    )) as ImsgWatchEndedError
    expect(err).to.be.instanceOf(ImsgWatchEndedError)
    expect(err.reason).to.equal('error')
    expect(err.message).to.match(/^imsg watch \d+ ended with an error: /)
    expect(got.length).to.be.at.most(1)
    // the client stays usable after a terminal watch error
    expect((await c.chatsList()).chats.length).to.equal(1)
  })

  it('IMSG_SIM_BUFFER_OVERFLOW (strict): watch.overflow ends the stream with resume_after_rowid', async () => {
    for (let i = 0; i < 5; i++) await inject(`m${i}`)
    const c = spawn({IMSG_SIM_VERSION: '0.14.0', IMSG_SIM_BUFFER_OVERFLOW: '1'})
    // a backlog of 6 rows against a buffer of 2
    const stream = await c.subscribe({since_rowid: -1, buffer_limit: 2, debounce_ms: 10})
    const err = (await rejection(
      (async () => {
        for await (const _ of stream) {
          // drain
        }
      })(),
    )) as ImsgWatchEndedError
    expect(err.reason).to.equal('overflow')
    expect(err.resumeAfterRowid).to.be.a('number')
    expect(err.code).to.equal('imsg_watch_overflow')
  })

  it('IMSG_SIM_SEND_UNKNOWN (strict): -32001 is ImsgDeliveryUnknownError, retrySafe false', async () => {
    const c = spawn({IMSG_SIM_VERSION: '0.14.0', IMSG_SIM_SEND_UNKNOWN: '1'})
    const err = (await rejection(c.send({to: '+15551234567', text: 'x'}))) as ImsgDeliveryUnknownError
    expect(err).to.be.instanceOf(ImsgDeliveryUnknownError)
    expect(err.retrySafe).to.equal(false)
  })

  it('IMSG_SIM_AUTOMATION=denied: classified as automation', async () => {
    const c = spawn({IMSG_SIM_AUTOMATION: 'denied'})
    const err = (await rejection(c.send({to: '+15551234567', text: 'x'}))) as ImsgError
    expect(err.code).to.equal('imsg_automation_denied')
  })

  it('IMSG_SIM_CRASH_AFTER mid-stream: pending requests and the watch end with exit code 134', async () => {
    const c = spawn({IMSG_SIM_CRASH_AFTER: '2'})
    const stream = await c.subscribe({debounce_ms: 10})
    await c.chatsList() // line 2: the server crashes after writing it
    const err = (await rejection(
      (async () => {
        for await (const _ of stream) {
          // drain
        }
      })(),
    )) as ImsgWatchEndedError
    expect(err.reason).to.equal('exited')
    expect(err.message).to.include('exited with code 134')
    const e2 = await rejection(c.chatsList())
    expect(e2).to.be.instanceOf(ImsgExitedError)
    expect((await c.exited).code).to.equal(134)
  })

  it('IMSG_SIM_GARBAGE: non-JSON lines are classified and kept, requests still work', async () => {
    const c = spawn({IMSG_SIM_GARBAGE: '100'})
    await c.chatsList()
    const d = c.diagnostics()
    expect(d.stdoutLineCount).to.equal(100)
    expect(d.stdoutLines).to.have.length(20)
    expect(d.kind).to.equal('other')
  })

  it('IMSG_SIM_FDA=missing on 0.8.0: the banner before exit is classified as Full Disk Access', async () => {
    const c = spawn({IMSG_SIM_FDA: 'missing', IMSG_SIM_VERSION: '0.8.0'})
    const err = (await rejection(c.chatsList())) as ImsgExitedError
    expect(err.code).to.equal('imsg_full_disk_access')
    expect(err.diagnostics.stdoutLines.join('\n')).to.include('Permission Error: Cannot access Messages database')
  })

  it('no orphaned imsg: killing the parent process makes the child exit', async () => {
    const script = `
      import {ImsgClient} from ${JSON.stringify(path.resolve('src/lib/imsg/client.ts'))}
      const c = ImsgClient.spawn({cliPath: ${JSON.stringify(IMSG_SIM)}, dbPath: ${JSON.stringify(db)}})
      await c.chatsList()
      console.log(c.pid)
      setInterval(() => {}, 1000)
    `
    const parent = execa(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {reject: false})
    const pid = await new Promise<number>((resolve) => parent.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))))
    expect(pid).to.be.greaterThan(0)
    const alive = (p: number) => {
      try {
        process.kill(p, 0)
        return true
      } catch {
        return false
      }
    }
    expect(alive(pid)).to.equal(true)
    parent.kill('SIGTERM')
    await parent
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100))
    expect(alive(pid)).to.equal(false)
  })
})
