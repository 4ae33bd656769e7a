import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {ImsgClient} from '../../../src/lib/imsg/client.js'
import {
  ImsgDeliveryUnknownError,
  ImsgError,
  ImsgExitedError,
  ImsgMethodNotFoundError,
  ImsgMutationLaneBlockedError,
  ImsgSpawnError,
  ImsgTimeoutError,
  ImsgWatchEndedError,
} from '../../../src/lib/imsg/errors.js'
import {createLogger, type LogRecord} from '../../../src/lib/log.js'
import {IMSG_SIM, REPO_ROOT, tempDir} from '../../helpers/cli.js'

const FAKE = path.join(REPO_ROOT, 'test', 'fixtures', 'fake-imsg.mjs')

function client(env: Record<string, string> = {}, extra: Partial<Parameters<typeof ImsgClient.spawn>[0]> = {}) {
  const records: LogRecord[] = []
  const log = createLogger({level: 'debug', write: () => {}, onRecord: (r) => records.push(r)})
  const c = ImsgClient.spawn({cliPath: FAKE, env, log, requestTimeoutMs: 3000, closeGraceMs: 300, ...extra})
  return {c, records}
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a rejection')
}

describe('ImsgClient', () => {
  const open: ImsgClient[] = []
  const track = <X extends {c: ImsgClient}>(x: X): X => {
    open.push(x.c)
    return x
  }
  afterEach(async () => {
    for (const c of open.splice(0)) c.kill()
  })

  it('spawns `<cliPath> rpc --db <dbPath>` and writes jsonrpc 2.0 with integer ids, omitting null/undefined keys', async () => {
    const {dir, cleanup} = tempDir()
    try {
      const logFile = path.join(dir, 'req.log')
      const rec = path.join(dir, 'argv.json')
      const {c} = track(client({FAKE_LOG: logFile, FAKE_RECORD: rec}, {dbPath: '/tmp/x chat.db'}))
      const r = await c.chatsList({limit: 1, unread_only: undefined})
      expect(r.chats[0]!.id).to.equal(1)
      await c.request('echo', {a: null, b: 2, c: undefined})
      expect(JSON.parse(fs.readFileSync(rec, 'utf8')).argv).to.deep.equal(['rpc', '--db', '/tmp/x chat.db'])
      const lines = fs.readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
      expect(lines[0]).to.deep.equal({jsonrpc: '2.0', id: 1, method: 'chats.list', params: {limit: 1}})
      expect(lines[1]).to.deep.equal({jsonrpc: '2.0', id: 2, method: 'echo', params: {b: 2}})
      await c.close()
    } finally {
      cleanup()
    }
  })

  it('matches responses by id, not by order', async () => {
    const {c} = track(client({FAKE_OUT_OF_ORDER: '1'}))
    const [a, b] = await Promise.all([c.chatsList({limit: 5}), c.chatsList({limit: 7})])
    expect(a.chats[0]!.id).to.equal(5)
    expect(b.chats[0]!.id).to.equal(7)
  })

  it('accepts slashes escaped as \\/', async () => {
    const {c} = track(client({FAKE_ESCAPE_SLASHES: '1'}))
    const r = await c.chatsList()
    expect(r.chats[0]!.name).to.equal('https://x/y')
  })

  it('keeps non-JSON stdout lines in a bounded buffer, logs a flood once, and still answers', async () => {
    const {c, records} = track(client({FAKE_GARBAGE: '500'}))
    const r = await c.chatsList()
    expect(r.chats).to.have.length(1)
    const d = c.diagnostics()
    expect(d.stdoutLineCount).to.equal(500)
    expect(d.stdoutLines).to.have.length(20)
    expect(d.stdoutLines.at(-1)).to.equal('garbage line 499')
    expect(d.kind).to.equal('other')
    const warnings = records.filter((r) => r.level === 'warn' && r.msg.includes('non-JSON'))
    expect(warnings).to.have.length(1)
    await c.close()
    // one summary with the count at exit, still not one line per garbage line
    const all = records.filter((r) => r.msg.includes('non-JSON'))
    expect(all).to.have.length(2)
    expect(all[1]!.fields.count).to.equal(500)
  })

  it('a continuing flood is summarised with a count at most once per interval, not logged per line', async () => {
    const {c, records} = track(client({FAKE_GARBAGE_EVERY_MS: '2'}, {floodLogIntervalMs: 100}))
    await new Promise((r) => setTimeout(r, 450))
    await c.chatsList()
    const lines = c.diagnostics().stdoutLineCount
    const logs = records.filter((r) => r.msg.includes('non-JSON'))
    expect(lines).to.be.greaterThan(20)
    expect(logs.length).to.be.at.least(2).and.at.most(8)
    expect(logs[0]!.msg).to.match(/^imsg printed non-JSON output/)
    const counted = logs.slice(1).reduce((n, r) => n + (r.fields.count as number), 1)
    expect(counted).to.be.at.most(lines)
  })

  it('collects stderr tail lines into diagnostics', async () => {
    const {c} = track(client({FAKE_STDERR: 'Could not fetch group :ABGroup'}))
    await c.chatsList()
    expect(c.diagnostics().stderrLines).to.deep.equal(['Could not fetch group :ABGroup'])
  })

  it('times out a request with the method name and the likely fix', async () => {
    const {c} = track(client({FAKE_HANG: '1'}))
    const err = await rejection(c.chatsList({limit: 1}, {timeoutMs: 200}))
    expect(err).to.be.instanceOf(ImsgTimeoutError)
    expect(err.message).to.equal('imsg did not answer chats.list within 200 ms')
    const e = err as ImsgTimeoutError
    expect(e.code).to.equal('imsg_timeout')
    expect(e.fix).to.include('buffers stdin').and.include('Contacts').and.include('ssh -T')
    expect(e.retrySafe).to.equal(true)
  })

  it('a timeout above the timer maximum (~24.8 days) waits instead of firing at once', async () => {
    const {c} = track(client({}, {requestTimeoutMs: 3_000_000_000}))
    const r = await c.chatsList({limit: 1})
    expect(r.chats).to.be.an('array')
  })

  it('marks a timed-out send as not retry-safe', async () => {
    const {c} = track(client({FAKE_HANG: '1'}))
    const err = (await rejection(c.send({to: '+15551234567', text: 'hi'}, {timeoutMs: 100}))) as ImsgTimeoutError
    expect(err.retrySafe).to.equal(false)
  })

  it('maps -32001 to ImsgDeliveryUnknownError, never retry-safe', async () => {
    const {c} = track(client({FAKE_UNKNOWN: '1', FAKE_STRICT: '1'}))
    const err = (await rejection(c.send({chat_id: 1, text: 'x'}))) as ImsgDeliveryUnknownError
    expect(err).to.be.instanceOf(ImsgDeliveryUnknownError)
    expect(err.rpcCode).to.equal(-32001)
    expect(err.retrySafe).to.equal(false)
    expect(err.message).to.match(/^delivery outcome unknown; not retried/)
  })

  it('maps -32004 to ImsgMutationLaneBlockedError with restartRequired', async () => {
    const {c} = track(client({FAKE_LANE: '1'}))
    const err = (await rejection(c.send({chat_id: 1, text: 'x'}))) as ImsgMutationLaneBlockedError
    expect(err).to.be.instanceOf(ImsgMutationLaneBlockedError)
    expect(err.restartRequired).to.equal(true)
  })

  it('classifies -32603 Automation denial (-1743) with the fix', async () => {
    const {c} = track(client({FAKE_AUTOMATION: '1'}))
    const err = (await rejection(c.send({to: '+15551234567', text: 'x'}))) as ImsgError
    expect(err.code).to.equal('imsg_automation_denied')
    expect(err.kind).to.equal('automation')
    expect(err.fix).to.include('remoteclaw channels doctor --send-test')
  })

  it('classifies the 0.8.2-0.13 startup-error server as Full Disk Access', async () => {
    const {c} = track(client({FAKE_FDA_SERVER: '1'}))
    const err = (await rejection(c.chatsList())) as ImsgError
    expect(err.code).to.equal('imsg_full_disk_access')
    expect(err.message).to.include('Full Disk Access missing')
    expect(err.fix).to.include('Full Disk Access').and.include(FAKE)
  })

  it('classifies strict -32002 Database unavailable as Full Disk Access', async () => {
    const {c} = track(client({FAKE_DB_DOWN: '1', FAKE_STRICT: '1'}))
    const err = (await rejection(c.chatsList())) as ImsgError
    expect(err.rpcCode).to.equal(-32002)
    expect(err.code).to.equal('imsg_full_disk_access')
  })

  it('strict -32002 for a database that does not exist names dbPath, not Full Disk Access', async () => {
    const {dir, cleanup} = tempDir('rc-client-')
    try {
      const c = ImsgClient.spawn({cliPath: IMSG_SIM, dbPath: path.join(dir, 'missing.db'), env: {IMSG_SIM_VERSION: '0.14.0'}, log: createLogger({write: () => {}})})
      open.push(c)
      const err = (await rejection(c.chatsList())) as ImsgError
      expect(err.rpcCode).to.equal(-32002)
      expect(err.code).to.equal('db_not_found')
      expect(err.message).to.equal('imsg cannot open the Messages database: The configured Messages database does not exist. Create or copy chat.db at this path, then retry. (' + path.join(dir, 'missing.db') + ')')
      expect(err.message).not.to.include('Full Disk Access')
      expect(err.fix).to.include('dbPath').and.not.include('Full Disk Access')
    } finally {
      cleanup()
    }
  })

  it('detects a lenient server by -32601 on initialize/status', async () => {
    const {c} = track(client())
    const err = await rejection(c.initialize())
    expect(err).to.be.instanceOf(ImsgMethodNotFoundError)
    const strict = track(client({FAKE_STRICT: '1'})).c
    const st = await strict.status()
    expect(st.version).to.equal('0.14.0')
  })

  it('a banner-then-exit (≤0.8.1 no FDA) rejects pending requests with the exit code and the banner', async () => {
    const {c} = track(client({FAKE_BANNER_EXIT: 'permissionDenied(path: "/Users/u/Library/Messages/chat.db", underlying: authorization denied (code: 23))'}))
    const err = (await rejection(c.chatsList())) as ImsgExitedError
    expect(err).to.be.instanceOf(ImsgExitedError)
    expect(err.code).to.equal('imsg_full_disk_access')
    expect(err.message).to.include('exited with code 1').and.include('permissionDenied(')
    expect(err.diagnostics.stdoutLines[0]).to.match(/^permissionDenied/)
    const info = await c.exited
    expect(info.code).to.equal(1)
  })

  it('a crash mid-stream rejects every pending request with the exit code and last lines', async () => {
    const {c} = track(client({FAKE_HANG: ''}))
    const p1 = c.request('slow', {ms: 2000})
    const p2 = c.request('crash')
    const [e1, e2] = await Promise.all([rejection(p1), rejection(p2)])
    for (const e of [e1, e2]) {
      expect(e).to.be.instanceOf(ImsgExitedError)
      expect(e.message).to.include('exited with code 2').and.include('fatal: something broke')
    }
    const e3 = await rejection(c.chatsList())
    expect(e3).to.be.instanceOf(ImsgExitedError)
  })

  it('reports a missing cliPath as imsg not found with the brew fix', async () => {
    const c = ImsgClient.spawn({cliPath: '/nonexistent/imsg', log: createLogger({write: () => {}})})
    const err = (await rejection(c.chatsList())) as ImsgSpawnError
    expect(err).to.be.instanceOf(ImsgSpawnError)
    expect(err.message).to.equal('imsg not found: /nonexistent/imsg')
    expect(err.fix).to.include('brew install steipete/tap/imsg')
    expect((await c.exited).spawnError).to.equal('ENOENT')
  })

  it('a spawn that execa refuses before starting (no error event) fails requests at once and close() settles', async () => {
    const c = ImsgClient.spawn({cliPath: 'im\0sg', requestTimeoutMs: 60_000, closeGraceMs: 100, log: createLogger({write: () => {}})})
    const err = (await rejection(c.chatsList())) as ImsgSpawnError
    expect(err).to.be.instanceOf(ImsgSpawnError)
    expect(err.message).to.include('ERR_INVALID_ARG_VALUE')
    const info = await Promise.race([c.close(), new Promise((res) => setTimeout(() => res('close() hung'), 3000))])
    expect(info).to.deep.include({spawnError: 'ERR_INVALID_ARG_VALUE'})
  })

  it('attributes an id:null error to the single request in flight', async () => {
    const {c} = track(client({FAKE_ID_NULL_ERROR: '1'}))
    const err = (await rejection(c.chatsList())) as ImsgError
    expect(err.rpcCode).to.equal(-32700)
  })

  it('attributes the id-less write-failure line to the single request in flight', async () => {
    const {c} = track(client({FAKE_WRITE_FAILURE: '1'}))
    const err = (await rejection(c.chatsList())) as ImsgError
    expect(err.rpcCode).to.equal(-32603)
    expect(err.message).to.include('write failed')
  })

  it('close() ends stdin and the child exits 0', async () => {
    const {c} = client()
    await c.chatsList()
    const info = await c.close()
    expect(info).to.deep.include({code: 0, signal: null})
  })

  it('close() escalates to SIGTERM, then SIGKILL, when the child ignores EOF', async () => {
    const a = client({FAKE_IGNORE_EOF: '1'})
    expect((await a.c.close({graceMs: 200})).code).to.equal(143)
    const b = client({FAKE_IGNORE_EOF: '1', FAKE_IGNORE_TERM: '1'})
    await b.c.chatsList()
    expect((await b.c.close({graceMs: 200})).signal).to.equal('SIGKILL')
  })

  describe('watch', () => {
    it('buffers notifications that arrive before the subscribe response', async () => {
      const {c} = track(client({FAKE_EARLY_NOTIFY: '1'}))
      const stream = await c.subscribe({since_rowid: -1})
      const it = stream[Symbol.asyncIterator]()
      const ids = [(await it.next()).value.id, (await it.next()).value.id, (await it.next()).value.id]
      expect(ids).to.deep.equal([1, 2, 3])
      expect(stream.lastCursor).to.equal(3)
      await stream.unsubscribe()
      expect((await it.next()).done).to.equal(true)
    })

    it('a line longer than maxLineChars is skipped with a warning naming its size, and the stream goes on', async () => {
      const {c, records} = track(client({FAKE_LONG_LINE: '300000'}, {maxLineChars: 100_000}))
      const stream = await c.subscribe({since_rowid: -1})
      const it = stream[Symbol.asyncIterator]()
      expect((await it.next()).value.id).to.equal(3)
      const warn = records.find((r) => /imsg sent a line of 0\.3 MiB, more than the 0\.1 MiB limit/.test(r.msg))
      expect(warn, 'logged').to.not.equal(undefined)
      expect(warn!.fields?.chars).to.be.greaterThan(300_000)
      // Requests still work after the skipped line.
      expect((await c.chatsList({limit: 1})).chats).to.have.length(1)
      await stream.unsubscribe()
    })

    it('an error notification ends the stream with a typed cause and unsubscribes', async () => {
      const {dir, cleanup} = tempDir()
      try {
        const unsubLog = path.join(dir, 'unsub.log')
        const {c} = track(client({FAKE_WATCH_ERROR: '1', FAKE_LOG_UNSUB: unsubLog}))
        const stream = await c.subscribe()
        const got: number[] = []
        const err = await rejection(
          (async () => {
            for await (const m of stream) got.push(m.id)
          })(),
        )
        expect(got).to.deep.equal([3])
        expect(err).to.be.instanceOf(ImsgWatchEndedError)
        expect((err as ImsgWatchEndedError).reason).to.equal('error')
        expect(err.message).to.include('disk I/O error')
        await c.chatsList() // the auto-unsubscribe went out first (sequential server)
        expect(JSON.parse(fs.readFileSync(unsubLog, 'utf8'))).to.deep.equal({subscription: stream.subscription})
      } finally {
        cleanup()
      }
    })

    it('watch.overflow ends the stream with resumeAfterRowid', async () => {
      const {c} = track(client({FAKE_OVERFLOW: '1', FAKE_STRICT: '1'}))
      const stream = await c.subscribe({buffer_limit: 1})
      const err = (await rejection(
        (async () => {
          for await (const _ of stream) {
            // drain
          }
        })(),
      )) as ImsgWatchEndedError
      expect(err.reason).to.equal('overflow')
      expect(err.resumeAfterRowid).to.equal(9000)
      expect(stream.endCause).to.equal(err)
    })

    it('the child exiting ends the stream with reason "exited"', async () => {
      const {c} = track(client({FAKE_WATCH_EXIT: '1'}))
      const stream = await c.subscribe()
      const err = (await rejection(
        (async () => {
          for await (const _ of stream) {
            // drain
          }
        })(),
      )) as ImsgWatchEndedError
      expect(err.reason).to.equal('exited')
      expect(err.message).to.include('exited with code 3')
    })
  })
})
