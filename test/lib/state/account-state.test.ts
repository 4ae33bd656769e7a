import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {AccountState} from '../../../src/lib/state/account-state.js'
import {tempDir} from '../../helpers/cli.js'

describe('AccountState (cursor, guid dedupe, send journal)', () => {
  let t: ReturnType<typeof tempDir>
  beforeEach(() => {
    t = tempDir('rc-state-')
  })
  afterEach(() => t.cleanup())

  it('persists the cursor and the dedupe set across reopen, files 0600 in a 0700 dir', async () => {
    const s = await AccountState.open(t.dir, 'acct')
    await s.markDone('G1', 10)
    await s.markDone('G2', 12)
    // No close(): as after kill -9, the journal alone must carry the records.
    const again = await AccountState.open(t.dir, 'acct')
    expect(again.cursor).to.equal(12)
    expect(again.has('G1')).to.equal(true)
    expect(again.has('G2')).to.equal(true)
    expect(again.has('G3')).to.equal(false)
    const dir = path.join(t.dir, 'gateway', 'accounts', 'acct')
    expect(fs.statSync(dir).mode & 0o777).to.equal(0o700)
    expect(fs.statSync(path.join(dir, 'state.json')).mode & 0o777).to.equal(0o600)
    expect(fs.statSync(path.join(dir, 'journal.ndjson')).mode & 0o777).to.equal(0o600)
    await again.close()
  })

  it('never moves the cursor backwards', async () => {
    const s = await AccountState.open(t.dir, 'a')
    await s.markDone('X', 50)
    await s.markDone('Y', 40)
    await s.setCursor(30)
    expect(s.cursor).to.equal(50)
    await s.close()
  })

  it('ignores a torn last journal line (crash mid-write)', async () => {
    const s = await AccountState.open(t.dir, 'a')
    await s.markDone('G1', 5)
    fs.appendFileSync(s.journalFile, '{"t":"done","guid":"G2","cur')
    const again = await AccountState.open(t.dir, 'a')
    expect(again.cursor).to.equal(5)
    expect(again.has('G2')).to.equal(false)
    await again.close()
  })

  it('refuses an unreadable snapshot instead of silently starting over', async () => {
    const s = await AccountState.open(t.dir, 'a')
    await s.close()
    fs.writeFileSync(s.snapshotFile, 'not json')
    let err: unknown
    try {
      await AccountState.open(t.dir, 'a')
    } catch (error) {
      err = error
    }
    expect((err as {code?: string}).code).to.equal('state_corrupt')
    expect((err as {fix?: string}).fix).to.contain('mv ')
  })

  it('bounds the dedupe set (oldest forgotten first)', async () => {
    const s = await AccountState.open(t.dir, 'a', {maxSeen: 100, compactEvery: 50})
    for (let i = 0; i < 250; i++) await s.markDone(`G${i}`, i)
    expect(s.seenCount).to.equal(100)
    expect(s.has('G0')).to.equal(false)
    expect(s.has('G249')).to.equal(true)
    await s.close()
    const again = await AccountState.open(t.dir, 'a', {maxSeen: 100})
    expect(again.seenCount).to.equal(100)
    expect(again.has('G249')).to.equal(true)
    await again.close()
  })

  it('journals started sends until settled; settling marks the inbound handled', async () => {
    const s = await AccountState.open(t.dir, 'a')
    await s.beginSend({inboundGuid: 'IN1', chatId: 3, texts: ['a', 'b'], sent: 0, startedAt: 1})
    await s.chunkSent('IN1', 1)
    const crashed = await AccountState.open(t.dir, 'a')
    expect(crashed.pending()).to.deep.equal([{inboundGuid: 'IN1', chatId: 3, texts: ['a', 'b'], sent: 1, startedAt: 1}])
    expect(crashed.has('IN1')).to.equal(false)
    await crashed.settleSend('IN1')
    const later = await AccountState.open(t.dir, 'a')
    expect(later.pending()).to.deep.equal([])
    expect(later.has('IN1')).to.equal(true)
    await later.close()
  })

  it('a journal write that fails at once (open error) rejects, and later records are still written', async () => {
    const s = await AccountState.open(t.dir, 'a')
    fs.rmSync(s.journalFile)
    fs.mkdirSync(s.journalFile) // open(journal) fails synchronously with EISDIR
    let err: unknown
    await s.markDone('G1', 1).catch((error) => (err = error))
    expect((err as {code?: string}).code).to.equal('EISDIR')
    fs.rmdirSync(s.journalFile)
    // Before the fix the failed loop left `flushing` set: this never settled and close() spun forever.
    const r = await Promise.race([s.markDone('G2', 2).then(() => 'written'), new Promise<string>((res) => setTimeout(() => res('hung'), 1_000))])
    expect(r).to.equal('written')
    await s.close()
    const again = await AccountState.open(t.dir, 'a')
    expect(again.cursor).to.equal(2)
    expect(again.has('G2')).to.equal(true)
    await again.close()
  })

  it('group-commits concurrent records (all durable, one order-independent result)', async () => {
    const s = await AccountState.open(t.dir, 'a')
    await Promise.all(Array.from({length: 200}, (_, i) => s.markDone(`C${i}`, i + 1)))
    const again = await AccountState.open(t.dir, 'a')
    expect(again.cursor).to.equal(200)
    expect(again.seenCount).to.equal(200)
    await again.close()
  })

  it('a tracked send keeps its entry id and per-chunk attempt numbers across a crash (journal replay and snapshot)', async () => {
    const s1 = await AccountState.open(t.dir, 'default')
    await s1.beginSend({inboundGuid: 'g1', chatId: 3, texts: ['a', 'b'], sent: 0, startedAt: 1, id: 'e-1', tracked: true})
    expect(await s1.nextAttempt('g1', 1)).to.equal(1)
    expect(await s1.nextAttempt('g1', 1)).to.equal(2)
    // no close(): a crash; the journal is replayed
    const s2 = await AccountState.open(t.dir, 'default')
    expect(s2.pendingSend('g1')).to.deep.include({id: 'e-1', tracked: true, attempts: {'1': 2}})
    await s2.close()
    const s3 = await AccountState.open(t.dir, 'default')
    expect(s3.pendingSend('g1')?.attempts).to.deep.equal({'1': 2})
    await s3.close()
  })
})
