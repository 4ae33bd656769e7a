import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {inject, RpcChild, sim, type SimEnv, simEnv} from './helpers.js'

const FOUNDATION = 'The data couldn\u2019t be read because it isn\u2019t in the correct format.'

describe('imsg-sim rpc, lenient era (0.9.0)', () => {
  let s: SimEnv
  beforeEach(async () => {
    s = await simEnv()
  })
  afterEach(() => s.cleanup())

  async function session(lines: string[], env: Record<string, string> = {}) {
    const r = await sim(['rpc'], {...s.env, ...env}, lines.join('\n') + '\n')
    const json = r.stdout.trim() === '' ? [] : r.stdout.trim().split('\n').map((l) => {
      try {
        return JSON.parse(l)
      } catch {
        return {nonJson: l}
      }
    })
    return {...r, json}
  }

  it('frames envelopes and reproduces the §3.3 error texts', async () => {
    const r = await session([
      '   ',
      'not json',
      '[{"jsonrpc":"2.0","id":1,"method":"chats.list"}]',
      '{"jsonrpc":"1.0","id":2,"method":"chats.list"}',
      '{"id":3}',
      '{"id":"s-4","method":"nope"}',
      '{"method":"nope"}',
      '{"id":5,"method":"chats.list"}',
      '{"method":"chats.list"}',
      '{"id":null,"method":"chats.list"}',
    ])
    expect(r.exitCode).to.equal(0)
    expect(r.json).to.deep.equal([
      {jsonrpc: '2.0', id: null, error: {code: -32700, message: 'Parse error', data: FOUNDATION}},
      {jsonrpc: '2.0', id: null, error: {code: -32600, message: 'Invalid Request', data: 'request must be an object'}},
      {jsonrpc: '2.0', id: 2, error: {code: -32600, message: 'Invalid Request', data: 'jsonrpc must be 2.0'}},
      {jsonrpc: '2.0', id: 3, error: {code: -32600, message: 'Invalid Request', data: 'method is required'}},
      {jsonrpc: '2.0', id: 's-4', error: {code: -32601, message: 'Method not found', data: 'nope'}},
      {jsonrpc: '2.0', id: null, error: {code: -32601, message: 'Method not found', data: 'nope'}},
      {jsonrpc: '2.0', id: 5, result: {chats: []}},
      {jsonrpc: '2.0', id: null, result: {chats: []}},
    ])
  })

  it('answers invalid UTF-8 with -32700 "invalid utf8"', async () => {
    const input = Buffer.concat([Buffer.from([0xff, 0xfe, 0x7b, 0x0a]), Buffer.from('{"id":1,"method":"chats.list"}\n')])
    const {execa} = await import('execa')
    const {IMSG_SIM} = await import('./helpers.js')
    const raw = await execa(IMSG_SIM, ['rpc'], {input, env: s.env, reject: false})
    const lines = String(raw.stdout).trim().split('\n').map((l) => JSON.parse(l))
    expect(lines[0]).to.deep.equal({jsonrpc: '2.0', id: null, error: {code: -32700, message: 'Parse error', data: 'invalid utf8'}})
    expect(lines[1]).to.deep.include({id: 1})
    expect(raw.exitCode).to.equal(0)
  })

  it('coerces loosely, ignores unknown keys and nulls, treats non-object params as {}', async () => {
    for (let i = 0; i < 3; i++) await inject(s.env, '--from', `+1555000000${i}`, '--text', `m${i}`)
    const r = await session([
      '{"id":1,"method":"chats.list","params":{"limit":"2","chatId":99,"bogus":null}}',
      '{"id":2,"method":"chats.list","params":[1,2]}',
      '{"id":3,"method":"messages.history","params":{"chat_id":"1","limit":null}}',
    ])
    expect(r.json[0].result.chats).to.have.length(2)
    expect(r.json[1].result.chats).to.have.length(3)
    expect(r.json[2].result.messages).to.have.length(1)
  })

  it('processes requests strictly in order, even with a slow response', async () => {
    const lines = Array.from({length: 20}, (_, i) => JSON.stringify({jsonrpc: '2.0', id: i + 1, method: 'chats.list', params: {}}))
    const r = await session(lines, {IMSG_SIM_DELAY_MS: '5'})
    expect(r.json.map((l: {id: number}) => l.id)).to.deep.equal(Array.from({length: 20}, (_, i) => i + 1))
  })

  it('chats.list: newest activity first, empty chats omitted, name fallback, participants, is_group, limit', async () => {
    await inject(s.env, '--from', '+15551230001', '--text', 'old', '--ago', '2h')
    await inject(s.env, '--from', 'Zed@Example.com', '--group', 'Family', '--participants', '+15551230003,+15551230002', '--text', 'hi', '--ago', '1h')
    await inject(s.env, '--from', '+15551230002', '--text', 'newest')
    const r = await session(['{"jsonrpc":"2.0","id":1,"method":"chats.list","params":{}}',
      '{"jsonrpc":"2.0","id":2,"method":"chats.list","params":{"limit":1}}', '{"jsonrpc":"2.0","id":3,"method":"chats.list","params":{"limit":0}}'])
    const chats = r.json[0].result.chats
    expect(chats.map((c: {identifier: string}) => c.identifier)).to.deep.equal(['+15551230002', chats[1].identifier, '+15551230001'])
    expect(chats[0]).to.deep.equal({id: chats[0].id, identifier: '+15551230002', guid: 'iMessage;-;+15551230002',
      name: '+15551230002', service: 'iMessage', last_message_at: chats[0].last_message_at, participants: ['+15551230002'], is_group: false})
    expect(chats[0].last_message_at).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(chats[1]).to.include({name: 'Family', is_group: true})
    expect(chats[1].guid).to.match(/^iMessage;\+;chat\d+$/)
    expect(chats[1].participants).to.deep.equal(['+15551230002', '+15551230003', 'Zed@Example.com'])
    expect(r.json[1].result.chats).to.have.length(1)
    expect(r.json[2].result.chats).to.have.length(1) // clamped to >= 1
  })

  it('messages.history: newest first, reactions excluded, start inclusive / end exclusive, participant filter, limit', async () => {
    const g = await inject(s.env, '--from', '+15550000001', '--group', 'G', '--participants', '+15550000002', '--text', 'a', '--ago', '30m')
    const b = await inject(s.env, '--from', '+15550000002', '--chat-id', String(g.chat_id), '--text', 'b', '--ago', '20m')
    await inject(s.env, '--from', '+15550000002', '--chat-id', String(g.chat_id), '--reaction', 'love', '--target', b.guid)
    await inject(s.env, '--from', '+15550000001', '--chat-id', String(g.chat_id), '--text', 'c', '--ago', '10m')
    const all = await session([JSON.stringify({id: 1, method: 'messages.history', params: {chat_id: g.chat_id}})])
    const msgs = all.json[0].result.messages
    expect(msgs.map((m: {text: string}) => m.text)).to.deep.equal(['c', 'b', 'a'])
    const bMsg = msgs[1]
    expect(bMsg.reactions).to.have.length(1)
    expect(bMsg.reactions[0]).to.include({type: 'love', emoji: '\u2764\ufe0f', sender: '+15550000002', is_from_me: false})
    expect(msgs[0].attachments).to.deep.equal([])
    for (const m of msgs) {
      expect(Object.values(m)).to.not.include(null)
      expect(m).to.include({chat_id: g.chat_id, chat_name: 'G', is_group: true})
    }
    const start = msgs[1].created_at
    const end = msgs[0].created_at
    const r = await session([
      JSON.stringify({id: 1, method: 'messages.history', params: {chat_id: g.chat_id, start, end}}),
      JSON.stringify({id: 2, method: 'messages.history', params: {chat_id: g.chat_id, participants: '+15550000001'}}),
      JSON.stringify({id: 3, method: 'messages.history', params: {chat_id: g.chat_id, participants: ['+15550000001'], limit: 1}}),
      JSON.stringify({id: 4, method: 'messages.history', params: {}}),
      JSON.stringify({id: 5, method: 'messages.history', params: {chat_id: g.chat_id, start: 'yesterday'}}),
    ])
    expect(r.json[0].result.messages.map((m: {text: string}) => m.text)).to.deep.equal(['b'])
    expect(r.json[1].result.messages.map((m: {text: string}) => m.text)).to.deep.equal(['c', 'a'])
    expect(r.json[2].result.messages.map((m: {text: string}) => m.text)).to.deep.equal(['c'])
    expect(r.json[3].error).to.deep.equal({code: -32602, message: 'Invalid params', data: 'chat_id is required'})
    expect(r.json[4].error).to.deep.equal({code: -32603, message: 'Internal error', data: 'Invalid ISO8601 date: yesterday'})
  })

  it('encodes attachments: raw filename with ~, original_path expanded, total_bytes, missing', async () => {
    const file = path.join(s.dir, 'photo.jpg')
    fs.writeFileSync(file, Buffer.alloc(1234))
    const m = await inject(s.env, '--from', '+15550000009', '--attachment', file, '--attachment-missing')
    const r = await session([
      JSON.stringify({id: 1, method: 'messages.history', params: {chat_id: m.chat_id, attachments: true}}),
      JSON.stringify({id: 2, method: 'messages.history', params: {chat_id: m.chat_id}}),
    ])
    const [present, missing] = r.json[0].result.messages[0].attachments
    expect(present).to.deep.equal({filename: '~/photo.jpg', transfer_name: 'photo.jpg', uti: 'public.jpeg',
      mime_type: 'image/jpeg', total_bytes: 1234, is_sticker: false, original_path: file, missing: false})
    expect(missing.missing).to.equal(true)
    expect(missing.filename.startsWith('~/Library/Messages/Attachments/')).to.equal(true)
    expect(missing.original_path).to.equal(path.join(s.dir, missing.filename.slice(2)))
    expect(r.json[1].result.messages[0].attachments).to.deep.equal([])
  })

  it('send: validation texts, result shape per version, the row it writes', async () => {
    const g = await inject(s.env, '--from', '+15550000001', '--group', 'Team', '--participants', '+15550000002', '--text', 'x')
    const bad = await session([
      '{"id":1,"method":"send","params":{"to":"+15550000001"}}',
      '{"id":2,"method":"send","params":{"to":"+15550000001","chat_id":1,"text":"x"}}',
      '{"id":3,"method":"send","params":{"text":"x"}}',
      '{"id":4,"method":"send","params":{"to":"+15550000001","text":"x","service":"iMessage"}}',
      '{"id":5,"method":"send","params":{"chat_id":999,"text":"x"}}',
      '{"id":6,"method":"send","params":{"to":"+15550000001","text":"x","transport":"carrier-pigeon"}}',
      `{"id":7,"method":"send","params":{"to":"+15550000001","file":"${s.dir}/nope.png"}}`,
    ])
    expect(bad.json.map((l: {error: {data: string}}) => l.error.data)).to.deep.equal([
      'text or file is required', 'use to or chat_*; not both', 'to is required for direct sends', 'invalid service',
      'unknown chat_id 999', 'invalid transport', `AppleScript failed: Attachment not found at ${s.dir}/nope.png`,
    ])
    expect(bad.json.map((l: {error: {code: number}}) => l.error.code)).to.deep.equal([-32602, -32602, -32602, -32602, -32602, -32602, -32603])

    const ok = await session([
      '{"id":1,"method":"send","params":{"to":"(555) 000-0007","text":"hello","region":"US"}}',
      JSON.stringify({id: 2, method: 'send', params: {chat_id: g.chat_id, text: 'team'}}),
    ])
    const r1 = ok.json[0].result
    expect(Object.keys(r1)).to.deep.equal(['ok', 'transport', 'id', 'guid'])
    expect(r1).to.include({ok: true, transport: 'applescript'})
    const sent = JSON.parse((await sim(['sent', '--json'], s.env)).stdout)
    expect(sent).to.have.length(2)
    expect(sent[0]).to.include({id: r1.id, guid: r1.guid, to: '+15550000007', chat_identifier: '+15550000007', text: 'hello', service: 'iMessage'})
    expect(sent[1]).to.include({chat_id: g.chat_id, text: 'team'})

    const v5 = await session(['{"id":1,"method":"send","params":{"to":"a@b.com","text":"x"}}'], {IMSG_SIM_VERSION: '0.5.0'})
    expect(v5.json[0].result).to.deep.equal({ok: true})
    const v10 = await session(['{"id":1,"method":"send","params":{"to":"a@b.com","text":"x","service":"sms"}}'], {IMSG_SIM_VERSION: '0.10.0'})
    expect(Object.keys(v10.json[0].result)).to.deep.equal(['ok', 'transport', 'id', 'guid', 'message_id', 'chat_guid', 'service'])
    expect(v10.json[0].result).to.include({chat_guid: 'SMS;-;a@b.com', service: 'SMS', message_id: v10.json[0].result.guid})
  })

  it('send with a file writes an attachment row; attachment-only results omit id/guid', async () => {
    const file = path.join(s.dir, 'doc.pdf')
    fs.writeFileSync(file, 'pdf')
    const r = await session([JSON.stringify({id: 1, method: 'send', params: {to: 'x@y.com', file}})])
    expect(r.json[0].result).to.deep.equal({ok: true, transport: 'applescript'})
    const sent = JSON.parse((await sim(['sent', '--json'], s.env)).stdout)
    expect(sent[0]).to.include({to: 'x@y.com', text: '', file})
  })

  it('IMSG_SIM_AUTOMATION=denied: -32603 with the -1743 AppleScript text, nothing written', async () => {
    const r = await session(['{"id":1,"method":"send","params":{"to":"a@b.com","text":"x"}}'], {IMSG_SIM_AUTOMATION: 'denied'})
    expect(r.json[0]).to.deep.equal({jsonrpc: '2.0', id: 1, error: {code: -32603, message: 'Internal error',
      data: 'AppleScript failed: 0:50: execution error: Not authorized to send Apple events to Messages. (-1743)'}})
    expect(JSON.parse((await sim(['sent', '--json'], s.env)).stdout)).to.deep.equal([])
  })

  it('bridge methods answer -32603 "bridge not started" (params checked first); methods of later versions are -32601', async () => {
    const r = await session(['{"id":1,"method":"tapback","params":{"chat_guid":"iMessage;-;+15551234567","message_id":"G","reaction":"like"}}', '{"id":2,"method":"status","params":{}}'])
    expect(r.json[0].error).to.deep.equal({code: -32603, message: 'Internal error',
      data: 'The bridge is not started. Run imsg launch explicitly before using bridge methods.'})
    expect(r.json[1].error).to.deep.equal({code: -32601, message: 'Method not found', data: 'status'})
  })

  describe('startup without Full Disk Access / with a bad --db (§3.9)', () => {
    const FIRST = 'authorization denied (code: 23)'
    it('0.3–0.6: one raw non-JSON line, exit 1', async () => {
      const r = await session(['{"id":1,"method":"chats.list"}'], {IMSG_SIM_FDA: 'missing', IMSG_SIM_VERSION: '0.6.0'})
      expect(r.exitCode).to.equal(1)
      expect(r.stdout).to.equal(`permissionDenied(path: "${s.db}", underlying: authorization denied (code: 23))`)
    })
    it('0.7–0.8.1: the banner on stdout, exit 1', async () => {
      const r = await sim(['rpc'], {...s.env, IMSG_SIM_FDA: 'missing', IMSG_SIM_VERSION: '0.8.1'}, '')
      expect(r.exitCode).to.equal(1)
      const lines = r.stdout.split('\n')
      expect(lines[0]).to.equal(FIRST)
      expect(lines[2]).to.equal('\u26a0\ufe0f  Permission Error: Cannot access Messages database')
      expect(lines[4]).to.equal(`The Messages database at ${s.db} requires Full Disk Access permission.`)
      expect(lines).to.include('For more details, see: https://github.com/steipete/imsg#permissions-troubleshooting')
    })
    it('0.8.2–0.13: startup error server answers every line with -32603 banner, exit 1 at EOF', async () => {
      const r = await session(['{"id":1,"method":"chats.list"}', '{"method":"send"}', 'garbage'], {IMSG_SIM_FDA: 'missing'})
      expect(r.exitCode).to.equal(1)
      expect(r.json.map((l: {id: unknown}) => l.id)).to.deep.equal([1, null, null])
      for (const l of r.json) {
        expect(l.error.code).to.equal(-32603)
        expect(l.error.data).to.contain('Permission Error').and.contain('Full Disk Access')
        expect(l.error.data.split('\n')[0]).to.equal(FIRST)
      }
    })
    it('a missing chat.db behaves the same with "unable to open database file"', async () => {
      const r = await session(['{"id":1,"method":"chats.list"}'], {IMSG_SIM_DB: path.join(s.dir, 'absent.db')})
      expect(r.exitCode).to.equal(1)
      expect(r.json[0].error.data.split('\n')[0]).to.equal('unable to open database file (code: 14)')
      expect(fs.existsSync(path.join(s.dir, 'absent.db'))).to.equal(false)
    })
  })

  it('--db selects the database over IMSG_SIM_DB', async () => {
    const other = path.join(s.dir, 'other.db')
    await sim(['inject', '--db', other, '--from', '+15550000001', '--text', 'x'], s.env)
    const r = await sim(['rpc', '--db', other], s.env, '{"id":1,"method":"chats.list"}\n')
    expect(JSON.parse(r.stdout).result.chats).to.have.length(1)
  })
})
