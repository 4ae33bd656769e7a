import {expect} from 'chai'
import {execa} from 'execa'
import {randomBytes} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {
  approveHandle,
  isApproved,
  listApproved,
  listPending,
  PAIRING_TTL_MS,
  requestPairing,
  type PairingContext,
} from '../../../src/lib/pairing/store.js'
import {IMSG_SIM, runCli, tempDir} from '../../helpers/cli.js'

const A = '+15551230001'
const B = '+15551230002'

describe('pairing commands (built CLI)', () => {
  let t: ReturnType<typeof tempDir>
  let ctx: PairingContext
  let db: string

  const writeConfig = (channel: Record<string, unknown> = {}) =>
    fs.writeFileSync(
      path.join(t.dir, 'remoteclaw.json'),
      JSON.stringify({channels: {imessage: {cliPath: IMSG_SIM, dbPath: db, ...channel}}}),
      {mode: 0o600},
    )
  const cli = (...args: string[]) => runCli(args, {stateDir: t.dir})

  beforeEach(() => {
    t = tempDir()
    db = path.join(t.dir, 'chat.db')
    ctx = {stateDir: t.dir, now: () => Date.now(), random: randomBytes}
    writeConfig()
  })
  afterEach(() => t.cleanup())

  async function pending(sender: string, chatId = 0, c: PairingContext = ctx): Promise<string> {
    const r = await requestPairing(c, 'default', {sender, senderName: 'Ann', chat: {chatId}})
    if (r.status !== 'created') throw new Error(`expected created, got ${r.status}`)
    return r.code
  }

  it('list: code, sender, chat, requested and expires in; --json has the documented shape', async () => {
    const code = await pending(A, 7)
    const human = await cli('pairing', 'list', 'imessage')
    expect(human.exitCode).to.equal(0)
    const [header, row] = human.stdout.split('\n')
    expect(header).to.match(/^CODE\s+SENDER\s+CHAT\s+REQUESTED\s+EXPIRES IN$/)
    expect(row).to.match(new RegExp(`^${code}\\s+\\+15551230001 \\(Ann\\)\\s+chat_id:7\\s+just now\\s+59 minutes$`))
    const json = await cli('pairing', 'list', '--json')
    const doc = JSON.parse(json.stdout)
    expect(doc.schemaVersion).to.equal(1)
    expect(doc.requests).to.have.length(1)
    expect(doc.requests[0]).to.include({accountId: 'default', code, sender: A, senderName: 'Ann'})
    expect(doc.requests[0].expiresInSeconds).to.be.within(3500, 3600)
    expect(Date.parse(doc.requests[0].expiresAt) - Date.parse(doc.requests[0].requestedAt)).to.equal(PAIRING_TTL_MS)
    expect((await cli('pairing', 'list', '--approved')).stdout).to.contain('No approved senders.')
  })

  it('approve: case-insensitive code; the request becomes an approved sender', async () => {
    const code = await pending(A)
    const r = await cli('pairing', 'approve', 'imessage', code.toLowerCase())
    expect(r.exitCode, r.stderr).to.equal(0)
    expect(r.stdout).to.contain(`Approved ${A} (code ${code}) for account default`)
    expect(await isApproved(ctx, 'default', A)).to.equal(true)
    expect(await listPending(ctx, 'default')).to.deep.equal([])
    const list = await cli('pairing', 'list', 'imessage', '--approved')
    expect(list.stdout).to.match(new RegExp(`\\+15551230001\\s+just now\\s+code ${code}`))
  })

  it('approve: "no such code" and "expired" are different messages, both exit 4 (also under --json)', async () => {
    const old = await pending(A, 0, {...ctx, now: () => Date.now() - PAIRING_TTL_MS - 10 * 60_000})
    const expired = await cli('pairing', 'approve', 'imessage', old)
    expect(expired.exitCode).to.equal(4)
    expect(expired.stderr).to.match(new RegExp(`Error: pairing code ${old} expired 10 minutes ago`))
    expect(expired.stderr).to.contain(`Fix: Ask ${A} to send another message for a new code`)
    const none = await cli('pairing', 'approve', 'imessage', 'ZZZZ2222')
    expect(none.exitCode).to.equal(4)
    expect(none.stderr).to.contain('Error: no pairing request with code ZZZZ2222 for account default')
    const json = await cli('pairing', 'approve', 'imessage', 'ZZZZ2222', '--json')
    expect(json.exitCode).to.equal(4)
    expect(JSON.parse(json.stdout).error).to.include({code: 'pairing_code_not_found', exitCode: 4})
  })

  it('approve by handle, in any format, also after the code expired', async () => {
    await pending(A, 0, {...ctx, now: () => Date.now() - 2 * PAIRING_TTL_MS})
    const r = await cli('pairing', 'approve', 'imessage', '(555) 123-0001', '--json')
    expect(r.exitCode, r.stdout + r.stderr).to.equal(0)
    expect(JSON.parse(r.stdout)).to.include({handle: A, added: true, notified: false})
    expect(await isApproved(ctx, 'default', A)).to.equal(true)
  })

  it('validates the channel and catches a missing one (exit 2)', async () => {
    const bad = await cli('pairing', 'approve', 'telegram', 'ABCD2345')
    expect(bad.exitCode).to.equal(2)
    expect(bad.stderr).to.contain('unknown channel "telegram"; pairing supports: imessage')
    const missing = await cli('pairing', 'approve', 'ABCD2345')
    expect(missing.exitCode).to.equal(2)
    expect(missing.stderr).to.contain('Fix: Run: remoteclaw pairing approve imessage ABCD2345')
    expect((await cli('pairing', 'list', 'sms')).exitCode).to.equal(2)
  })

  it('with several accounts, approve and deny find the account that issued the code; list shows an ACCOUNT column', async () => {
    fs.writeFileSync(
      path.join(t.dir, 'remoteclaw.json'),
      JSON.stringify({channels: {imessage: {cliPath: IMSG_SIM, accounts: {bot: {dbPath: `${db}-bot`}, home: {dbPath: `${db}-home`}}}}}),
    )
    const r1 = await requestPairing(ctx, 'home', {sender: A, chat: {chatId: 0}})
    const r2 = await requestPairing(ctx, 'home', {sender: B, chat: {chatId: 0}})
    if (r1.status !== 'created' || r2.status !== 'created') throw new Error('unreachable')
    const list = await cli('pairing', 'list')
    expect(list.stdout.split('\n')[0]).to.match(/^ACCOUNT\s+CODE/)
    expect(list.stdout).to.match(new RegExp(`home\\s+${r1.code}`))
    const ok = await cli('pairing', 'approve', 'imessage', r1.code, '--json')
    expect(ok.exitCode, ok.stdout + ok.stderr).to.equal(0)
    expect(JSON.parse(ok.stdout)).to.include({accountId: 'home', handle: A})
    expect(await isApproved(ctx, 'home', A)).to.equal(true)
    expect((await cli('pairing', 'deny', 'imessage', r2.code)).stdout).to.contain('(account home)')
    // an explicit --account is respected (and the code is not there)
    const wrong = await cli('pairing', 'approve', 'imessage', r1.code, '--account', 'bot')
    expect(wrong.exitCode).to.equal(4)
    expect(wrong.stderr).to.contain('for account bot')
  })

  it('unknown --account is exit 4', async () => {
    const r = await cli('pairing', 'list', '--account', 'nope')
    expect(r.exitCode).to.equal(4)
    expect(r.stderr).to.contain('no iMessage account "nope"')
  })

  it('deny removes a request; revoke removes an approved sender; unknown ones exit 4', async () => {
    const code = await pending(A)
    const d = await cli('pairing', 'deny', 'imessage', code)
    expect(d.exitCode).to.equal(0)
    expect(d.stdout).to.contain(`Denied pairing request ${code} from ${A}`)
    expect(await listPending(ctx, 'default')).to.deep.equal([])
    expect((await cli('pairing', 'deny', 'imessage', code)).exitCode).to.equal(4)

    await approveHandle(ctx, 'default', B)
    const r = await cli('pairing', 'revoke', 'imessage', '555-123-0002')
    expect(r.exitCode, r.stderr).to.equal(0)
    expect(r.stdout).to.contain(`Revoked ${B}`)
    expect(await isApproved(ctx, 'default', B)).to.equal(false)
    const again = await cli('pairing', 'revoke', 'imessage', B)
    expect(again.exitCode).to.equal(4)
    expect(again.stderr).to.contain(`${B} is not an approved sender of account default`)
  })

  it('revoke says when allowFrom still admits the sender', async () => {
    writeConfig({allowFrom: [B]})
    await approveHandle(ctx, 'default', B)
    const r = await cli('pairing', 'revoke', 'imessage', B)
    expect(r.exitCode).to.equal(0)
    expect(r.stderr).to.contain(`still allowed by channels.imessage.allowFrom`)
  })

  it('approve does not promise access where dmPolicy ignores pairing approvals (allowlist, disabled)', async () => {
    writeConfig({dmPolicy: 'allowlist'})
    const r = await cli('pairing', 'approve', 'imessage', A)
    expect(r.exitCode).to.equal(0)
    expect(r.stdout).not.to.contain('their next message reaches the agent')
    expect(r.stderr).to.contain('channels.imessage.dmPolicy is allowlist').and.contain('channels.imessage.allowFrom')
    writeConfig({dmPolicy: 'pairing'})
    const ok = await cli('pairing', 'approve', 'imessage', B)
    expect(ok.stdout).to.contain('their next message reaches the agent')
    expect(ok.stderr).not.to.contain('dmPolicy')
  })

  it('an unreadable store is an error naming the file (exit 1), not an empty list', async () => {
    await pending(A)
    const file = path.join(t.dir, 'pairing', 'imessage-default.json')
    fs.writeFileSync(file, '{not json')
    const r = await cli('pairing', 'list')
    expect(r.exitCode).to.equal(1)
    expect(r.stderr).to.contain(`pairing store ${file} cannot be read`)
    expect(r.stdout).not.to.contain('No pending')
  })

  it('approve --notify sends the approval message through the account\'s imsg', async () => {
    await execa(IMSG_SIM, ['init', '--db', db], {env: {HOME: t.dir}})
    const code = await pending(A)
    const r = await cli('pairing', 'approve', 'imessage', code, '--notify', '--json')
    expect(r.exitCode, r.stdout + r.stderr).to.equal(0)
    expect(JSON.parse(r.stdout)).to.include({handle: A, notified: true})
    const sent = JSON.parse(String((await execa(IMSG_SIM, ['sent', '--json', '--db', db], {env: {HOME: t.dir}})).stdout))
    expect(sent).to.have.length(1)
    expect(sent[0]).to.include({to: A})
    expect(sent[0].text).to.match(/approved/i)
  })

  it('concurrent CLI approvals while another process keeps writing requests lose no write', async () => {
    const codes = [await pending(A), await pending(B)]
    let done = false
    let writes = 0
    const writer = (async () => {
      // the "gateway": keeps writing the same store until both CLI approvals have finished
      while (!done || writes < 5) {
        await requestPairing(ctx, 'default', {sender: `+1555999${String(writes % 50).padStart(4, '0')}`, chat: {chatId: 0}})
        await approveHandle(ctx, 'default', `+1555888${String(writes).padStart(4, '0')}`)
        writes++
      }
    })()
    const results = await Promise.all(codes.map((c) => cli('pairing', 'approve', 'imessage', c)))
    done = true
    await writer
    for (const r of results) expect(r.exitCode, r.stderr).to.equal(0)
    const approved = new Set((await listApproved(ctx, 'default')).map((a) => a.handle))
    expect(approved.has(A) && approved.has(B)).to.equal(true)
    expect(approved.size).to.equal(2 + writes)
  })
})
