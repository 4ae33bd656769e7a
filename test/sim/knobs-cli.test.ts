import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {inject, RpcChild, sim, type SimEnv, simEnv, sleep} from './helpers.js'

describe('imsg-sim failure knobs', () => {
  let s: SimEnv
  let child: RpcChild | undefined
  beforeEach(async () => {
    s = await simEnv()
  })
  afterEach(() => {
    child?.kill()
    child = undefined
    s.cleanup()
  })

  it('IMSG_SIM_HANG: reads requests, never answers, ignores EOF', async () => {
    child = new RpcChild({...s.env, IMSG_SIM_HANG: '1'})
    child.request(1, 'chats.list', {})
    child.child.stdin.end()
    await sleep(400)
    expect(child.raw).to.deep.equal([])
    expect(child.child.exitCode).to.equal(null)
    child.child.kill('SIGTERM')
    await child.exited
  })

  it('IMSG_SIM_CRASH_AFTER: exit 134 after N lines, a Swift-style fatal error on stderr', async () => {
    const lines = [1, 2, 3].map((i) => JSON.stringify({jsonrpc: '2.0', id: i, method: 'chats.list', params: {}})).join('\n')
    const r = await sim(['rpc'], {...s.env, IMSG_SIM_CRASH_AFTER: '2'}, lines + '\n')
    expect(r.exitCode).to.equal(134)
    expect(r.stdout.split('\n')).to.have.length(2)
    expect(r.stderr).to.contain('Fatal error')
  })

  it('IMSG_SIM_GARBAGE / IMSG_SIM_GARBAGE_TEXT: non-JSON lines first', async () => {
    const r = await sim(['rpc'], {...s.env, IMSG_SIM_GARBAGE: '2', IMSG_SIM_GARBAGE_TEXT: 'hello from objc'},
      '{"jsonrpc":"2.0","id":1,"method":"chats.list"}\n')
    expect(r.stdout.split('\n')).to.deep.equal(['hello from objc', 'hello from objc', '{"jsonrpc":"2.0","id":1,"result":{"chats":[]}}'])
    const d = await sim(['rpc'], {...s.env, IMSG_SIM_GARBAGE: '1'}, '')
    expect(d.stdout).to.match(/^objc\[\d+\]: Class /)
  })

  it('IMSG_SIM_DELAY_MS delays responses', async () => {
    child = new RpcChild({...s.env, IMSG_SIM_DELAY_MS: '400'})
    child.request(1, 'chats.list', {})
    await sleep(150)
    expect(child.raw).to.deep.equal([])
    await child.response(1, 3000)
  })

  it('IMSG_SIM_ESCAPE_SLASHES and IMSG_SIM_SHUFFLE_KEYS keep valid JSON', async () => {
    await inject(s.env, '--from', 'a/b@example.com', '--text', 'x/y')
    const e = await sim(['rpc'], {...s.env, IMSG_SIM_ESCAPE_SLASHES: '1'}, '{"jsonrpc":"2.0","id":1,"method":"chats.list"}\n')
    expect(e.stdout).to.contain('a\\/b@example.com')
    expect(JSON.parse(e.stdout).result.chats[0].identifier).to.equal('a/b@example.com')
    const req = Array.from({length: 10}, (_, i) => JSON.stringify({jsonrpc: '2.0', id: i, method: 'chats.list'})).join('\n')
    const sh = await sim(['rpc'], {...s.env, IMSG_SIM_SHUFFLE_KEYS: '1'}, req + '\n')
    const orders = new Set(sh.stdout.trim().split('\n').map((l) => Object.keys(JSON.parse(l)).join(',')))
    expect(orders.size).to.be.greaterThan(1)
  })

  it('IMSG_SIM_NO_RPC: rpc --help prints root help without rpc (exit 0); rpc is an unknown command (exit 1)', async () => {
    const h = await sim(['rpc', '--help'], {...s.env, IMSG_SIM_NO_RPC: '1'})
    expect(h.exitCode).to.equal(0)
    expect(h.stdout.split('\n')[0]).to.equal('imsg 0.9.0')
    expect(h.stdout).to.not.contain('Run JSON-RPC over stdin/stdout')
    const r = await sim(['rpc'], {...s.env, IMSG_SIM_NO_RPC: '1'})
    expect(r.exitCode).to.equal(1)
    expect(r.stdout).to.match(/^Unknown command/)
    expect(r.stderr).to.equal('')
    const old = await sim(['rpc', '--help'], {...s.env, IMSG_SIM_VERSION: '0.2.1'})
    expect(old.stdout).to.not.contain('Run JSON-RPC')
  })
})

describe('imsg-sim CLI', () => {
  let s: SimEnv
  beforeEach(async () => {
    s = await simEnv()
  })
  afterEach(() => s.cleanup())

  it('--version prints the bare version; IMSG_SIM_VERSION overrides', async () => {
    expect((await sim(['--version'], s.env)).stdout).to.equal('0.9.0')
    expect((await sim(['-V'], {...s.env, IMSG_SIM_VERSION: '0.14.0'})).stdout).to.equal('0.14.0')
  })

  it('rpc --help is imsg\'s text with tab separators', async () => {
    const r = await sim(['rpc', '--help'], s.env)
    expect(r.exitCode).to.equal(0)
    const lines = r.stdout.split('\n')
    expect(lines.slice(0, 2)).to.deep.equal(['imsg rpc', 'Run JSON-RPC over stdin/stdout'])
    expect(lines).to.include('  --db <value>\tPath to chat.db (defaults to ~/Library/Messages/chat.db)')
    expect(lines).to.include('  --json, -j, --json-output, --jsonOutput\tEmit machine-readable JSON output')
  })

  it('root help lists rpc with a tab', async () => {
    const r = await sim(['--help'], s.env)
    expect(r.stdout).to.contain('  rpc\tRun JSON-RPC over stdin/stdout')
  })

  it('chats: text lines and NDJSON', async () => {
    const m = await inject(s.env, '--from', '+15551230000', '--text', 'x')
    const t = await sim(['chats', '--limit', '1'], s.env)
    expect(t.stdout).to.match(new RegExp(`^\\[${m.chat_id}\\] \\+15551230000 \\(\\+15551230000\\) last=\\d{4}-.+Z$`))
    const j = await sim(['chats', '--limit', '1', '--json'], s.env)
    expect(JSON.parse(j.stdout)).to.include({id: m.chat_id, identifier: '+15551230000', guid: 'iMessage;-;+15551230000', is_group: false})
  })

  it('chats without Full Disk Access prints the banner on stdout, exit 1', async () => {
    const r = await sim(['chats', '--limit', '1', '--json'], {...s.env, IMSG_SIM_FDA: 'missing'})
    expect(r.exitCode).to.equal(1)
    expect(r.stdout.split('\n')[0]).to.equal('authorization denied (code: 23)')
    expect(r.stdout).to.contain('Permission Error')
  })

  it('send: validation on stdout with exit 1, success prints sent / {"status":"sent"}', async () => {
    const none = await sim(['send', '--to', '+15550001111'], s.env)
    expect([none.exitCode, none.stdout]).to.deep.equal([1, 'Missing option: text or file'])
    const both = await sim(['send', '--to', '+15550001111', '--chat-id', '1', '--text', 'x'], s.env)
    expect(both.exitCode).to.equal(1)
    expect(both.stdout).to.match(/^Invalid option: --to/)
    const noTarget = await sim(['send', '--text', 'x'], s.env)
    expect([noTarget.exitCode, noTarget.stdout]).to.deep.equal([1, 'Missing option: --to'])
    expect((await sim(['send', '--to', '+15550001111', '--text', 'hi'], s.env)).stdout).to.equal('sent')
    expect((await sim(['send', '--to', '+15550001111', '--text', 'hi', '--json'], s.env)).stdout).to.equal('{"status":"sent"}')
    const denied = await sim(['send', '--to', '+15550001111', '--text', 'hi'], {...s.env, IMSG_SIM_AUTOMATION: 'denied'})
    expect(denied.exitCode).to.equal(1)
    expect(denied.stdout).to.contain('Not authorized to send Apple events to Messages. (-1743)')
    const sent = JSON.parse((await sim(['sent', '--json'], s.env)).stdout)
    expect(sent).to.have.length(2)
  })

  it('status --json reports rpc_methods and version', async () => {
    const st = JSON.parse((await sim(['status', '--json'], s.env)).stdout)
    expect(st.version).to.equal('0.9.0')
    expect(st.rpc_methods).to.have.length(22)
    expect(st.basic_features).to.equal(true)
  })

  it('inject: --ago backdates (Apple-epoch ns in chat.db), --count inserts in one go, --guid', async () => {
    const m = await inject(s.env, '--from', '+15550000001', '--text', 'old', '--ago', '2h', '--guid', 'FIXED-GUID')
    expect(m.guid).to.equal('FIXED-GUID')
    const Database = (await import('better-sqlite3')).default
    const db = new Database(s.db, {readonly: true})
    db.defaultSafeIntegers(true)
    const row = db.prepare('SELECT date FROM message WHERE ROWID = ?').get(m.id) as {date: bigint}
    const unixMs = Number(row.date / 1_000_000n) + 978_307_200_000
    expect(Math.abs(Date.now() - 2 * 3_600_000 - unixMs)).to.be.lessThan(60_000)
    db.close()
    const c = JSON.parse((await sim(['inject', '--from', '+15550000001', '--count', '50', '--json'], s.env)).stdout)
    expect(c).to.include({count: 50, last_id: c.first_id + 49})
  })

  it('a missing --db is created by init/inject with the schema and WAL', async () => {
    const db = path.join(s.dir, 'sub', 'new.db')
    await sim(['init', '--db', db], s.env)
    expect(fs.existsSync(db)).to.equal(true)
    const Database = (await import('better-sqlite3')).default
    const d = new Database(db, {readonly: true})
    expect(d.pragma('journal_mode', {simple: true})).to.equal('wal')
    const tables = (d.prepare("SELECT name FROM sqlite_master WHERE type='table'").all() as Array<{name: string}>).map((t) => t.name)
    expect(tables).to.include.members(['message', 'chat', 'handle', 'chat_message_join', 'chat_handle_join', 'attachment', 'message_attachment_join'])
    d.close()
  })
})

describe('imsg-sim rarer protocol failures', () => {
  let s: SimEnv
  beforeEach(async () => {
    s = await simEnv()
  })
  afterEach(() => s.cleanup())

  it('IMSG_SIM_WRITE_FAILURE=<id>: the id-less write-failure line replaces that response', async () => {
    const r = await sim(['rpc'], {...s.env, IMSG_SIM_WRITE_FAILURE: '2'},
      '{"jsonrpc":"2.0","id":1,"method":"chats.list"}\n{"jsonrpc":"2.0","id":2,"method":"chats.list"}\n')
    expect(r.stdout.split('\n')).to.deep.equal(['{"jsonrpc":"2.0","id":1,"result":{"chats":[]}}',
      '{"jsonrpc":"2.0","error":{"code":-32603,"message":"write failed"}}'])
  })

  it('IMSG_SIM_MUTATION_BLOCKED (strict): -32001 still_in_flight, then -32004 for every later send', async () => {
    const send = (id: number) => JSON.stringify({jsonrpc: '2.0', id, method: 'send', params: {to: 'a@b.com', text: 'x'}})
    const r = await sim(['rpc'], {...s.env, IMSG_SIM_VERSION: '0.14.0', IMSG_SIM_MUTATION_BLOCKED: '1'},
      [send(1), send(2), send(3)].join('\n') + '\n')
    const [a, b, c] = r.stdout.split('\n').map((l) => JSON.parse(l))
    expect(a.error).to.deep.include({code: -32001, message: 'Delivery outcome unknown'})
    expect(a.error.data).to.include({retry_safe: false, disposition: 'still_in_flight'})
    for (const x of [b, c]) {
      expect(x.error.code).to.equal(-32004)
      expect(x.error.message).to.equal('Mutation lane blocked')
      expect(x.error.data.detail).to.equal('A prior send remains in flight. Restart the RPC child before sending another mutation.')
    }
  })
})
