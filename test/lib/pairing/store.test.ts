import {expect} from 'chai'
import {randomBytes} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {RemoteclawError} from '../../../src/lib/errors.js'
import {
  allowFilePath,
  approve,
  approveHandle,
  ApprovedSenders,
  canonicalCode,
  deny,
  generateCode,
  isApproved,
  listApproved,
  listPending,
  looksLikeCode,
  PAIRING_CODE_ALPHABET,
  PAIRING_TTL_MS,
  pendingFilePath,
  requestPairing,
  revoke,
  type PairingContext,
} from '../../../src/lib/pairing/store.js'
import {tempDir} from '../../helpers/cli.js'

const chat = {chatId: 7, guid: 'iMessage;-;+15551230001', identifier: '+15551230001', name: ''}
const A = '+15551230001'
const B = '+15551230002'
const C = '+15551230003'
const D = '+15551230004'

async function rejection(p: Promise<unknown>): Promise<RemoteclawError> {
  try {
    await p
  } catch (error) {
    expect(error).to.be.instanceOf(RemoteclawError)
    return error as RemoteclawError
  }
  throw new Error('expected a rejection')
}

describe('pairing store', () => {
  let t: ReturnType<typeof tempDir>
  let now: number
  let ctx: PairingContext

  beforeEach(() => {
    t = tempDir()
    now = Date.parse('2026-05-01T10:00:00Z')
    ctx = {stateDir: t.dir, now: () => now, random: (n) => randomBytes(n)}
  })
  afterEach(() => t.cleanup())

  describe('codes', () => {
    it('are 8 characters from the unambiguous alphabet (no 0, O, 1, I, L)', () => {
      expect(PAIRING_CODE_ALPHABET).not.to.match(/[0O1IL]/)
      for (let i = 0; i < 200; i++) {
        const code = generateCode(randomBytes)
        expect(code).to.match(/^[A-HJKMNP-Z2-9]{8}$/)
      }
    })

    it('use rejection sampling (bytes >= 248 are skipped, not folded onto the first letters)', () => {
      const bytes = [255, 250, 248, 0, 1, 2, 3, 4, 5, 6, 7, 30, 31]
      let i = 0
      const code = generateCode((n) => Buffer.from(Array.from({length: n}, () => bytes[i++ % bytes.length]!)))
      expect(code).to.equal('ABCDEFGH')
    })

    it('compare case-insensitively, ignoring dashes and spaces', () => {
      expect(canonicalCode('abcd-efgh')).to.equal('ABCDEFGH')
      expect(looksLikeCode('abcd efgh')).to.equal(true)
      expect(looksLikeCode('+15551234567')).to.equal(false)
      expect(looksLikeCode('hello123')).to.equal(false) // l and 1 are not in the alphabet
    })
  })

  it('creates one request per sender and does not issue a second code while it is pending', async () => {
    const first = await requestPairing(ctx, 'default', {sender: A, chat})
    expect(first.status).to.equal('created')
    const again = await requestPairing(ctx, 'default', {sender: A, chat})
    expect(again.status).to.equal('pending')
    if (first.status !== 'created' || again.status !== 'pending') throw new Error('unreachable')
    expect(again.code).to.equal(first.code)
    const pending = await listPending(ctx, 'default')
    expect(pending).to.have.length(1)
    expect(pending[0]).to.include({sender: A, code: first.code, requestedAt: now, expiresAt: now + PAIRING_TTL_MS})
  })

  it('caps live requests at 3 per account, and frees a slot when one expires', async () => {
    for (const s of [A, B, C]) expect((await requestPairing(ctx, 'default', {sender: s, chat})).status).to.equal('created')
    const capped = await requestPairing(ctx, 'default', {sender: D, chat})
    expect(capped).to.deep.equal({status: 'capped', pending: 3})
    // another account has its own cap
    expect((await requestPairing(ctx, 'work', {sender: D, chat})).status).to.equal('created')
    now += PAIRING_TTL_MS + 1
    expect((await requestPairing(ctx, 'default', {sender: D, chat})).status).to.equal('created')
    expect((await listPending(ctx, 'default')).map((r) => r.sender)).to.deep.equal([D])
  })

  it('issues a new code after the old one expired', async () => {
    const first = await requestPairing(ctx, 'default', {sender: A, chat})
    now += PAIRING_TTL_MS
    const second = await requestPairing(ctx, 'default', {sender: A, chat})
    expect(second.status).to.equal('created')
    if (first.status !== 'created' || second.status !== 'created') throw new Error('unreachable')
    expect(second.code).not.to.equal(first.code)
  })

  it('approves by code (case-insensitive), moving the sender to the allowlist', async () => {
    const r = await requestPairing(ctx, 'default', {sender: A, chat})
    if (r.status !== 'created') throw new Error('unreachable')
    const res = await approve(ctx, 'default', r.code.toLowerCase())
    expect(res).to.include({handle: A, code: r.code, added: true})
    expect(await isApproved(ctx, 'default', A)).to.equal(true)
    expect(await isApproved(ctx, 'other', A)).to.equal(false)
    expect(await listPending(ctx, 'default')).to.deep.equal([])
    expect((await requestPairing(ctx, 'default', {sender: A, chat})).status).to.equal('approved')
  })

  it('tells an expired code apart from an unknown one (both exit 4)', async () => {
    const r = await requestPairing(ctx, 'default', {sender: A, chat})
    if (r.status !== 'created') throw new Error('unreachable')
    now += PAIRING_TTL_MS + 5 * 60_000
    // a write by someone else prunes the expired request; approve must still say "expired"
    await requestPairing(ctx, 'default', {sender: B, chat})
    const expired = await rejection(approve(ctx, 'default', r.code))
    expect(expired.exitCode).to.equal(4)
    expect(expired.code).to.equal('pairing_code_expired')
    expect(expired.message).to.match(/expired 5 minutes ago/)
    expect(expired.fix).to.contain(`remoteclaw pairing approve imessage ${A}`)
    const unknown = await rejection(approve(ctx, 'default', 'ZZZZZZZZ'))
    expect(unknown.exitCode).to.equal(4)
    expect(unknown.code).to.equal('pairing_code_not_found')
    expect(unknown.message).to.equal('no pairing request with code ZZZZZZZZ for account default')
    expect(await isApproved(ctx, 'default', A)).to.equal(false)
  })

  it('approves by handle and clears that sender\'s pending request', async () => {
    await requestPairing(ctx, 'default', {sender: A, chat})
    const res = await approveHandle(ctx, 'default', A)
    expect(res.added).to.equal(true)
    expect(res.code).to.be.a('string')
    expect(await listPending(ctx, 'default')).to.deep.equal([])
    expect((await approveHandle(ctx, 'default', A)).added).to.equal(false)
    expect((await listApproved(ctx, 'default')).map((a) => a.handle)).to.deep.equal([A])
  })

  it('denies a pending code, and revokes an approved sender', async () => {
    const r = await requestPairing(ctx, 'default', {sender: A, chat})
    if (r.status !== 'created') throw new Error('unreachable')
    expect((await deny(ctx, 'default', r.code)).sender).to.equal(A)
    expect(await listPending(ctx, 'default')).to.deep.equal([])
    expect((await rejection(deny(ctx, 'default', r.code))).exitCode).to.equal(4)

    await approveHandle(ctx, 'default', B)
    expect((await revoke(ctx, 'default', B)).handle).to.equal(B)
    expect(await isApproved(ctx, 'default', B)).to.equal(false)
    const missing = await rejection(revoke(ctx, 'default', B))
    expect(missing.exitCode).to.equal(4)
    expect(missing.message).to.contain('is not an approved sender')
  })

  it('writes 0600 files in a 0700 dir', async () => {
    await requestPairing(ctx, 'default', {sender: A, chat})
    await approveHandle(ctx, 'default', B)
    for (const f of [pendingFilePath(t.dir, 'default'), allowFilePath(t.dir, 'default')]) {
      expect(fs.statSync(f).mode & 0o777).to.equal(0o600)
    }
    expect(fs.statSync(path.join(t.dir, 'pairing')).mode & 0o777).to.equal(0o700)
  })

  it('tightens an existing pairing dir that is group/world readable to 0700', async () => {
    fs.mkdirSync(path.join(t.dir, 'pairing'), {mode: 0o755})
    fs.chmodSync(path.join(t.dir, 'pairing'), 0o755)
    await requestPairing(ctx, 'default', {sender: A, chat})
    expect(fs.statSync(path.join(t.dir, 'pairing')).mode & 0o777).to.equal(0o700)
  })

  it('treats an unreadable allowlist as an error naming the file, never as empty', async () => {
    await approveHandle(ctx, 'default', A)
    const file = allowFilePath(t.dir, 'default')
    fs.writeFileSync(file, '{"version":1,"approved":[{"handle":"+1555', {mode: 0o600})
    const e1 = await rejection(isApproved(ctx, 'default', A))
    expect(e1.code).to.equal('pairing_store_unreadable')
    expect(e1.message).to.contain(file)
    expect(e1.fix).to.contain('mv ')
    // the gateway path must not fall back to "nobody approved" either
    const e2 = await rejection(requestPairing(ctx, 'default', {sender: A, chat}))
    expect(e2.code).to.equal('pairing_store_unreadable')
    const cache = new ApprovedSenders(ctx, 'default')
    expect((await rejection(cache.refresh())).code).to.equal('pairing_store_unreadable')
    fs.writeFileSync(file, '{"version":1,"approved":"nope"}')
    expect((await rejection(listApproved(ctx, 'default'))).message).to.match(/unexpected content at approved/)
  })

  it('ApprovedSenders sees approvals and revocations made by another writer without a restart', async () => {
    const cache = new ApprovedSenders(ctx, 'default')
    await cache.refresh()
    expect(cache.isApproved(A)).to.equal(false)
    await approveHandle(ctx, 'default', A)
    await cache.refresh()
    expect(cache.isApproved(A)).to.equal(true)
    await revoke(ctx, 'default', A)
    await cache.refresh()
    expect(cache.isApproved(A)).to.equal(false)
    expect(cache.isApproved('')).to.equal(false)
  })

  it('loses no write when requests and approvals race (one lock for both files)', async () => {
    const senders = Array.from({length: 12}, (_, i) => `+1555123${String(i).padStart(4, '0')}`)
    // approvals by handle for half, requests for the other half, all interleaved
    await Promise.all(
      senders.map((s, i) => (i % 2 === 0 ? approveHandle(ctx, 'default', s) : requestPairing(ctx, 'default', {sender: s, chat}))),
    )
    const approved = (await listApproved(ctx, 'default')).map((a) => a.handle).sort()
    expect(approved).to.deep.equal(senders.filter((_, i) => i % 2 === 0).sort())
    expect(await listPending(ctx, 'default')).to.have.length(3)
  })
})
