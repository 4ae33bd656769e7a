import {expect} from 'chai'
import {execa} from 'execa'
import fs from 'node:fs'
import path from 'node:path'
import {cleanAttachmentCache} from '../../../src/lib/attachments/cache.js'
import {resolveInboundAttachments} from '../../../src/lib/attachments/inbound.js'
import {prepareOutboundFile} from '../../../src/lib/attachments/outbound.js'
import {RemoteclawError} from '../../../src/lib/errors.js'
import type {EnvelopeAttachment} from '../../../src/lib/core/envelope.js'
import {hostKeyFromPublicLine} from '../../../src/lib/ssh/hostkey.js'
import {tempDir} from '../../helpers/cli.js'
import {sshdUnavailableReason, startSshd, type TestSshd} from '../../helpers/sshd.js'
import {makeAccount, makeCtx} from './helpers.js'

const att = (p: string, size: number, extra: Partial<EnvelopeAttachment> = {}): EnvelopeAttachment => ({
  originalPath: p,
  name: path.basename(p),
  mimeType: '',
  size,
  missing: false,
  ...extra,
})

const HOSTILE_NAMES = [
  'sp ace.jpg',
  "q'uote.jpg",
  'dq".jpg',
  'dollar $HOME.jpg',
  'semi;cd;touch pwned.jpg',
  'tick `cd;touch pwned`.jpg',
  'sub $(cd;touch pwned).jpg',
  'new\nline.jpg',
  'star*.jpg',
  'br[a].jpg',
  '-dash.jpg',
]

describe('attachments from a remote Mac over a real sshd', function () {
  this.timeout(90_000)
  let s: TestSshd
  let t: {dir: string; cleanup: () => void}
  let macRoot: string

  before(async function () {
    if (sshdUnavailableReason()) this.skip()
    s = await startSshd()
  })
  after(async () => {
    await s?.stop()
  })
  beforeEach(() => {
    t = tempDir()
    macRoot = path.join(s.dir, 'mac-' + path.basename(t.dir), 'Library', 'Messages', 'Attachments')
    fs.mkdirSync(macRoot, {recursive: true})
  })
  afterEach(() => t.cleanup())

  const setup = (extra: Record<string, unknown> = {}) => {
    const {ctx, records} = makeCtx(path.join(t.dir, 'home'), path.join(t.dir, 'state'), {REMOTECLAW_SSH_CONFIG: s.configFile})
    const account = makeAccount({includeAttachments: true, remoteHost: s.alias, remoteAttachmentRoots: [macRoot], ...extra}, ctx.home)
    return {ctx, records, account}
  }

  it('fetches a file under the allowed root into the per-session cache (0700 dirs, 0600 files)', async () => {
    const {ctx, account} = setup()
    fs.mkdirSync(path.join(macRoot, 'ab', '00', 'GUID'), {recursive: true})
    const f = path.join(macRoot, 'ab', '00', 'GUID', 'IMG_0001.heic')
    fs.writeFileSync(f, Buffer.alloc(5000, 1))
    const r = await resolveInboundAttachments(ctx, account, [att(f, 5000, {mimeType: 'image/heic'})], {sessionKey: 'agent:main:imessage:dm:+15551234567', chatId: 1})
    expect(r.notes).to.deep.equal([])
    expect(r.items).to.have.length(1)
    const item = r.items[0]!
    expect(item).to.deep.include({name: 'IMG_0001.heic', mimeType: 'image/heic', size: 5000})
    expect(item.path.startsWith(path.join(ctx.stateDir, 'attachments', 'default-'))).to.equal(true)
    expect(fs.readFileSync(item.path).equals(fs.readFileSync(f))).to.equal(true)
    expect(fs.statSync(item.path).mode & 0o777).to.equal(0o600)
    for (let d = path.dirname(item.path); d !== ctx.stateDir; d = path.dirname(d)) expect(fs.statSync(d).mode & 0o777, d).to.equal(0o700)
  })

  it('refuses paths outside the remote roots and with .., and logs the key to change', async () => {
    const {ctx, records, account} = setup()
    const outside = path.join(s.dir, 'outside.txt')
    fs.writeFileSync(outside, 'secret')
    const r = await resolveInboundAttachments(ctx, account, [att(outside, 6), att(`${macRoot}/../../../../outside.txt`, 6)], {sessionKey: 's'})
    expect(r.items).to.deep.equal([])
    expect(r.notes).to.deep.equal([
      'attachment refused (outside the allowed attachment roots): outside.txt',
      'attachment refused (path contains ".."): outside.txt',
    ])
    const warns = records.filter((x) => x.level === 'warn')
    expect(warns.map((w) => w.fields.key)).to.deep.equal(['channels.imessage.remoteAttachmentRoots', 'channels.imessage.remoteAttachmentRoots'])
    // the refusal outside the roots gives the command that admits the file's directory, the list kept
    expect(warns[0]!.fields.fix).to.equal(`remoteclaw config set channels.imessage.remoteAttachmentRoots '${JSON.stringify([macRoot, s.dir])}'`)
    expect(fs.existsSync(path.join(ctx.stateDir, 'attachments'))).to.equal(false)
  })

  it('a file that is not on the Mac (not flagged missing) is reported missing', async () => {
    const {ctx, account} = setup()
    const r = await resolveInboundAttachments(ctx, account, [att(path.join(macRoot, 'vanished.jpg'), 5)], {sessionKey: 's', retry: {attempts: 2, delayMs: 10}})
    expect(r).to.deep.equal({items: [], notes: ['attachment missing (file not found): vanished.jpg']})
  })

  it('the default root (/Users/*/Library/Messages/Attachments) does not admit other paths', async () => {
    const {ctx, account} = setup({remoteAttachmentRoots: undefined})
    const f = path.join(macRoot, 'x.jpg')
    fs.writeFileSync(f, 'x')
    const r = await resolveInboundAttachments(ctx, account, [att(f, 1)], {sessionKey: 's'})
    expect(r.items).to.deep.equal([])
    expect(r.notes[0]).to.match(/outside the allowed attachment roots/)
  })

  it('hostile file names arrive intact and run nothing', async () => {
    const {ctx, account} = setup()
    fs.writeFileSync(path.join(macRoot, 'starX.jpg'), 'decoy')
    const atts = HOSTILE_NAMES.map((n) => {
      fs.writeFileSync(path.join(macRoot, n), `content of ${n}`)
      return att(path.join(macRoot, n), Buffer.byteLength(`content of ${n}`))
    })
    const r = await resolveInboundAttachments(ctx, account, atts, {sessionKey: 's'})
    expect(r.notes).to.deep.equal([])
    expect(r.items.map((i) => i.name)).to.deep.equal(HOSTILE_NAMES)
    for (const [i, n] of HOSTILE_NAMES.entries()) expect(fs.readFileSync(r.items[i]!.path, 'utf8')).to.equal(`content of ${n}`)
    expect(fs.readdirSync(s.remoteHome).filter((n) => n.includes('pwned'))).to.deep.equal([])
    expect(fs.existsSync(path.join(process.cwd(), 'pwned'))).to.equal(false)
  })

  it('a host key mismatch fails closed with known_hosts and the fingerprint in the log', async () => {
    const other = path.join(t.dir, 'other')
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other])
    const kh = path.join(t.dir, 'known_hosts')
    fs.writeFileSync(kh, `[127.0.0.1]:${s.port} ${fs.readFileSync(other + '.pub', 'utf8').split(' ').slice(0, 2).join(' ')}\n`)
    const cfg = path.join(t.dir, 'ssh_config')
    fs.writeFileSync(cfg, `Host *\n  UserKnownHostsFile ${kh}\n` + fs.readFileSync(s.configFile, 'utf8'))
    const {ctx, records} = makeCtx(path.join(t.dir, 'home'), path.join(t.dir, 'state'), {REMOTECLAW_SSH_CONFIG: cfg})
    const account = makeAccount({includeAttachments: true, remoteHost: s.alias, remoteAttachmentRoots: [macRoot]}, ctx.home)
    fs.writeFileSync(path.join(macRoot, 'a.jpg'), 'a')
    fs.writeFileSync(path.join(macRoot, 'b.jpg'), 'b')
    const r = await resolveInboundAttachments(ctx, account, [att(path.join(macRoot, 'a.jpg'), 1), att(path.join(macRoot, 'b.jpg'), 1)], {sessionKey: 's'})
    expect(r.items).to.deep.equal([])
    expect(r.notes).to.deep.equal(['attachment could not be fetched (host key mismatch): a.jpg', 'attachment not fetched (host key problem, see log): b.jpg'])
    const err = records.find((x) => x.level === 'error')!
    expect(err.msg).to.include('known_hosts').and.include(hostKeyFromPublicLine(s.hostPublicKey).fingerprint).and.include(kh)
  })

  it('retries a file that is still being written until it is complete', async () => {
    const {ctx, account} = setup()
    const f = path.join(macRoot, 'growing.mov')
    fs.writeFileSync(f, '')
    setTimeout(() => fs.writeFileSync(f, Buffer.alloc(1000, 1)), 300)
    setTimeout(() => fs.writeFileSync(f, Buffer.alloc(3000, 1)), 900)
    const r = await resolveInboundAttachments(ctx, account, [att(f, 3000)], {sessionKey: 's', retry: {attempts: 10, delayMs: 150}})
    expect(r.notes).to.deep.equal([])
    expect(r.items[0]!.size).to.equal(3000)
    expect(fs.statSync(r.items[0]!.path).size).to.equal(3000)
  })

  it('with unknown total_bytes, waits until two fetches agree', async () => {
    const {ctx, account} = setup()
    const f = path.join(macRoot, 'unknown-size.jpg')
    fs.writeFileSync(f, '')
    setTimeout(() => fs.writeFileSync(f, 'all of it'), 250)
    const r = await resolveInboundAttachments(ctx, account, [att(f, 0)], {sessionKey: 's', retry: {attempts: 10, delayMs: 100}})
    expect(r.notes).to.deep.equal([])
    expect(fs.readFileSync(r.items[0]!.path, 'utf8')).to.equal('all of it')
  })

  it('applies mediaMaxMb before the transfer (metadata) and after it (actual size)', async () => {
    const {ctx, account} = setup({mediaMaxMb: 0.001})
    const big = path.join(macRoot, 'never-fetched.mov')
    const liar = path.join(macRoot, 'liar.mov')
    fs.writeFileSync(liar, Buffer.alloc(50_000))
    const r = await resolveInboundAttachments(ctx, account, [att(big, 5 * 1024 * 1024), att(liar, 10)], {sessionKey: 's'})
    expect(r.items).to.deep.equal([])
    expect(r.notes).to.deep.equal(['attachment too large (5 MB > 0.001 MB): never-fetched.mov', 'attachment too large (0.1 MB > 0.001 MB): liar.mov'])
    const cached = fs.existsSync(path.join(ctx.stateDir, 'attachments')) ? fs.readdirSync(path.join(ctx.stateDir, 'attachments'), {recursive: true}) : []
    expect(cached.filter((n) => String(n).includes('liar'))).to.deep.equal([])
  })

  it('derives the Mac from a transparent wrapper at cliPath; an option-rich wrapper needs remoteHost', async () => {
    const {ctx} = setup()
    const transparent = path.join(t.dir, 'imsg-ssh')
    fs.writeFileSync(transparent, `#!/usr/bin/env bash\nexec ssh -T ${s.alias} imsg "$@"\n`, {mode: 0o700})
    const f = path.join(macRoot, 'w.jpg')
    fs.writeFileSync(f, 'wrapped')
    const account = makeAccount({includeAttachments: true, cliPath: transparent, remoteAttachmentRoots: [macRoot]}, ctx.home)
    const r = await resolveInboundAttachments(ctx, account, [att(f, 7)], {sessionKey: 's'})
    expect(r.notes).to.deep.equal([])
    expect(fs.readFileSync(r.items[0]!.path, 'utf8')).to.equal('wrapped')

    const rich = path.join(t.dir, 'imsg-rich')
    fs.writeFileSync(rich, `#!/bin/sh\nexec ssh -p ${s.port} -i ${s.identityFile} ${s.user}@127.0.0.1 imsg "$@"\n`, {mode: 0o700})
    const {ctx: ctx2, records} = makeCtx(path.join(t.dir, 'home'), path.join(t.dir, 'state2'), {REMOTECLAW_SSH_CONFIG: s.configFile})
    const account2 = makeAccount({includeAttachments: true, cliPath: rich, remoteAttachmentRoots: [macRoot]}, ctx2.home)
    const r2 = await resolveInboundAttachments(ctx2, account2, [att(f, 7)], {sessionKey: 's'})
    expect(r2.items).to.deep.equal([])
    const err = records.find((x) => x.level === 'error')!
    expect(err.msg).to.include('cannot be derived')
    expect(err.fields.fix).to.include('channels.imessage.remoteHost')
  })

  it('cache cleanup bounds size and age', async () => {
    const {ctx, account} = setup()
    const files = ['c1.jpg', 'c2.jpg', 'c3.jpg'].map((n) => {
      const f = path.join(macRoot, n)
      fs.writeFileSync(f, Buffer.alloc(1000))
      return att(f, 1000)
    })
    const r = await resolveInboundAttachments(ctx, account, files, {sessionKey: 's'})
    expect(r.items).to.have.length(3)
    const old = Date.now() / 1000 - 30 * 24 * 3600
    fs.utimesSync(r.items[0]!.path, old, old)
    fs.utimesSync(r.items[1]!.path, old + 10, old + 10)
    let res = await cleanAttachmentCache(ctx, {maxAgeMs: 24 * 3600 * 1000})
    expect(res).to.deep.include({removedFiles: 2, freedBytes: 2000})
    expect(fs.existsSync(r.items[2]!.path)).to.equal(true)
    res = await cleanAttachmentCache(ctx, {maxBytes: 500})
    expect(res.removedFiles).to.equal(1)
    expect(fs.existsSync(path.join(ctx.stateDir, 'attachments'))).to.equal(true)
    expect(fs.readdirSync(path.join(ctx.stateDir, 'attachments'))).to.deep.equal([])
  })

  describe('outbound staging', () => {
    it('copies the file to an owner-only staging dir under the bot home, and cleanup removes it', async () => {
      const {ctx, account} = setup()
      const local = path.join(t.dir, "report 'Q3' $x;`id`.pdf")
      fs.writeFileSync(local, Buffer.alloc(2048, 3))
      const prepared = await prepareOutboundFile(ctx, account, local)
      expect(prepared.remote).to.equal(true)
      expect(prepared.path.startsWith(path.join(s.remoteHome, '.remoteclaw-staging') + '/')).to.equal(true)
      expect(path.basename(prepared.path)).to.equal(path.basename(local))
      expect(fs.readFileSync(prepared.path).equals(fs.readFileSync(local))).to.equal(true)
      expect(fs.statSync(path.dirname(prepared.path)).mode & 0o777).to.equal(0o700)
      expect(fs.statSync(path.join(s.remoteHome, '.remoteclaw-staging')).mode & 0o777).to.equal(0o700)
      await prepared.cleanup()
      expect(fs.existsSync(path.dirname(prepared.path))).to.equal(false)
      await prepared.cleanup()
      expect(fs.readdirSync(s.remoteHome).filter((n) => n.includes('pwned'))).to.deep.equal([])
    })

    it('removes staging folders left by a crash once they are a day old (docs/attachments-and-ssh.md), keeps younger ones', async () => {
      const {ctx, account} = setup()
      const staging = path.join(s.remoteHome, '.remoteclaw-staging')
      const old = path.join(staging, 'left-by-crash-30h')
      const young = path.join(staging, 'in-flight-2h')
      for (const [d, hours] of [[old, 30], [young, 2]] as const) {
        fs.mkdirSync(d, {recursive: true})
        fs.writeFileSync(path.join(d, 'f.jpg'), 'x')
        const t = Date.now() / 1000 - hours * 3600
        fs.utimesSync(d, t, t)
      }
      const local = path.join(t.dir, 'a.txt')
      fs.writeFileSync(local, 'a')
      const prepared = await prepareOutboundFile(ctx, account, local)
      await prepared.cleanup()
      expect(fs.existsSync(old)).to.equal(false)
      expect(fs.existsSync(young)).to.equal(true)
      fs.rmSync(young, {recursive: true})
    })

    it('refuses missing and too-large files before any transfer', async () => {
      const {ctx, account} = setup({mediaMaxMb: 0.001})
      const missing = (await prepareOutboundFile(ctx, account, path.join(t.dir, 'nope.jpg')).catch((e: unknown) => e)) as RemoteclawError
      expect(missing.exitCode).to.equal(4)
      expect(missing.message).to.include('file not found')
      const big = path.join(t.dir, 'big.jpg')
      fs.writeFileSync(big, Buffer.alloc(5000))
      const tooBig = (await prepareOutboundFile(ctx, account, big).catch((e: unknown) => e)) as RemoteclawError
      expect(tooBig.message).to.equal(`file too large (0.1 MB > 0.001 MB): ${big}`)
      expect(tooBig.fix).to.include('channels.imessage.mediaMaxMb')
      const staging = path.join(s.remoteHome, '.remoteclaw-staging')
      expect(fs.existsSync(staging) ? fs.readdirSync(staging) : []).to.deep.equal([])
    })

    it('locally returns the file itself with a no-op cleanup', async () => {
      const {ctx} = makeCtx(path.join(t.dir, 'home'), path.join(t.dir, 'state'))
      const account = makeAccount({}, ctx.home)
      const f = path.join(t.dir, 'local.txt')
      fs.writeFileSync(f, 'x')
      const p = await prepareOutboundFile(ctx, account, f)
      expect(p).to.deep.include({path: f, remote: false})
      await p.cleanup()
      expect(fs.existsSync(f)).to.equal(true)
    })
  })
})
