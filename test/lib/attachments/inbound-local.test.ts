import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {buildAgentInput} from '../../../src/lib/agents/types.js'
import {resolveAccount} from '../../../src/lib/config/accounts.js'
import {resolveInboundAttachments} from '../../../src/lib/attachments/inbound.js'
import {resetAttachmentNotices, resolveInboundAttachments as seamResolve} from '../../../src/lib/gateway/attachments-seam.js'
import type {Envelope, EnvelopeAttachment} from '../../../src/lib/core/envelope.js'
import {tempDir} from '../../helpers/cli.js'
import {makeAccount, makeCtx} from './helpers.js'

const att = (p: string, size: number, extra: Partial<EnvelopeAttachment> = {}): EnvelopeAttachment => ({
  originalPath: p,
  name: path.basename(p),
  mimeType: '',
  size,
  missing: false,
  ...extra,
})

describe('inbound attachments (imsg on this machine)', () => {
  let dir: string
  let cleanup: () => void
  let root: string
  beforeEach(() => {
    ;({dir, cleanup} = tempDir())
    root = path.join(dir, 'home', 'Library', 'Messages', 'Attachments')
    fs.mkdirSync(root, {recursive: true})
  })
  afterEach(() => cleanup())

  it('includeAttachments off: no items, a count note', async () => {
    const {ctx} = makeCtx(path.join(dir, 'home'), path.join(dir, 'state'))
    const account = makeAccount({}, ctx.home)
    const r = await resolveInboundAttachments(ctx, account, [att('/x/a.jpg', 1), att('/x/b.jpg', 1)], {sessionKey: 's'})
    expect(r).to.deep.equal({items: [], notes: ['2 attachment(s) left out']})
  })

  it('includeAttachments off, through the gateway seam: the agent text gets the count note, the log the key once per chat', async () => {
    const {ctx, records} = makeCtx(path.join(dir, 'home'), path.join(dir, 'state'))
    const account = makeAccount({}, ctx.home)
    resetAttachmentNotices()
    const env = {accountId: 'default', chat: {chatId: 7}, sender: {handle: '+15551234567'}, attachments: [att('/x/a.jpg', 1), att('/x/b.jpg', 1)]} as unknown as Envelope
    for (let i = 0; i < 2; i++) {
      const r = await seamResolve(ctx, env, account, 's', ctx.log)
      expect(r).to.deep.equal({attachments: [], notes: ['2 attachment(s) left out']})
    }
    expect(records.filter((x) => x.msg.includes('channels.imessage.includeAttachments is off'))).to.have.length(1)
  })

  it('the agent input lists each attachment as {path, mimeType, name, size} (docs/attachments-and-ssh.md, issue 5)', async () => {
    const {ctx} = makeCtx(path.join(dir, 'home'), path.join(dir, 'state'))
    const account = makeAccount({includeAttachments: true, attachmentRoots: ['~/Library/Messages/Attachments']}, ctx.home)
    const f = path.join(root, 'IMG.png')
    fs.writeFileSync(f, 'png!')
    const env = {accountId: 'default', chat: {chatId: 7, guid: '', identifier: '', name: '', participants: []}, isGroup: false, sender: {handle: '+15551234567', raw: '+15551234567'}, text: 'hi', attachments: [att(f, 4)]} as unknown as Envelope
    const r = await seamResolve(ctx, env, account, 's', ctx.log)
    const input = JSON.parse(JSON.stringify(buildAgentInput(env, 's', [], {attachments: r.attachments})))
    expect(input.attachments).to.deep.equal([{path: fs.realpathSync(f), mimeType: 'image/png', name: 'IMG.png', size: 4}])
  })

  it('hands over files under the allowed root with path, mimeType, name and size', async () => {
    const {ctx} = makeCtx(path.join(dir, 'home'), path.join(dir, 'state'))
    const account = makeAccount({includeAttachments: true, attachmentRoots: ['~/Library/Messages/Attachments']}, ctx.home)
    fs.mkdirSync(path.join(root, 'ab', 'GUID'), {recursive: true})
    const f = path.join(root, 'ab', 'GUID', 'IMG 1.png')
    fs.writeFileSync(f, Buffer.alloc(100))
    const r = await resolveInboundAttachments(ctx, account, [att(f, 100), att('~/Library/Messages/Attachments/ab/GUID/IMG 1.png', 100)], {sessionKey: 's'})
    expect(r.notes).to.deep.equal([])
    expect(r.items).to.deep.equal([
      {path: fs.realpathSync(f), mimeType: 'image/png', name: 'IMG 1.png', size: 100},
      {path: fs.realpathSync(f), mimeType: 'image/png', name: 'IMG 1.png', size: 100},
    ])
  })

  it('refuses paths outside the roots, with .., and symlinks that escape; logs the key', async () => {
    const {ctx, records} = makeCtx(path.join(dir, 'home'), path.join(dir, 'state'))
    const account = makeAccount({includeAttachments: true, attachmentRoots: [root]}, ctx.home, true)
    const outside = path.join(dir, 'secret.txt')
    fs.writeFileSync(outside, 'secret')
    fs.symlinkSync(outside, path.join(root, 'innocent.jpg'))
    fs.writeFileSync(path.join(root, 'ok.jpg'), 'x')
    const r = await resolveInboundAttachments(
      ctx,
      account,
      [att(outside, 6), att(root + '/../../../../secret.txt', 6), att(path.join(root, 'innocent.jpg'), 6)],
      {sessionKey: 's'},
    )
    expect(r.items).to.deep.equal([])
    expect(r.notes).to.have.length(3)
    expect(r.notes[1]).to.include('".."')
    for (const n of r.notes) expect(n).to.match(/^attachment refused/)
    const warns = records.filter((x) => x.level === 'warn')
    expect(warns).to.have.length(3)
    expect(warns[0]!.fields.key).to.equal('channels.imessage.accounts.bot.attachmentRoots')
    expect(warns[0]!.msg).to.include('channels.imessage.accounts.bot.attachmentRoots')
  })

  it('a refusal for an account that inherits its roots names the channel key and the command that admits the file', async () => {
    const {ctx, records} = makeCtx(path.join(dir, 'home'), path.join(dir, 'state'))
    const channel = {includeAttachments: true, attachmentRoots: [root], accounts: {bot: {}, own: {attachmentRoots: [root]}}}
    const inherits = resolveAccount({channels: {imessage: channel}}, 'bot', ctx)
    const own = resolveAccount({channels: {imessage: channel}}, 'own', ctx)
    const elsewhere = path.join(dir, 'Downloads')
    fs.mkdirSync(elsewhere)
    const f = path.join(elsewhere, 'a.jpg')
    fs.writeFileSync(f, 'x')
    for (const account of [inherits, own]) await resolveInboundAttachments(ctx, account, [att(f, 1)], {sessionKey: 's'})
    const [w1, w2] = records.filter((x) => x.level === 'warn')
    const list = JSON.stringify([root, fs.realpathSync(elsewhere)])
    expect(w1!.fields.key).to.equal('channels.imessage.attachmentRoots')
    expect(w1!.fields.fix).to.equal(`remoteclaw config set channels.imessage.attachmentRoots '${list}'`)
    expect(w1!.msg).to.include(`add its directory to channels.imessage.attachmentRoots to admit it: remoteclaw config set channels.imessage.attachmentRoots '${list}'`)
    expect(w2!.fields.key).to.equal('channels.imessage.accounts.own.attachmentRoots')
    expect(w2!.fields.fix).to.equal(`remoteclaw config set channels.imessage.accounts.own.attachmentRoots '${list}'`)
  })

  it('reports missing attachments without touching them, and applies mediaMaxMb', async () => {
    const {ctx} = makeCtx(path.join(dir, 'home'), path.join(dir, 'state'))
    const account = makeAccount({includeAttachments: true, attachmentRoots: [root], mediaMaxMb: 1}, ctx.home)
    const big = path.join(root, 'big.mov')
    fs.writeFileSync(big, Buffer.alloc(1024 * 1024 + 1))
    const liar = path.join(root, 'liar.mov')
    fs.writeFileSync(liar, Buffer.alloc(2 * 1024 * 1024))
    const r = await resolveInboundAttachments(
      ctx,
      account,
      [att(path.join(root, 'gone.jpg'), 5, {missing: true}), att(big, 3 * 1024 * 1024), att(liar, 10), att(path.join(root, 'nofile.jpg'), 5)],
      {sessionKey: 's'},
    )
    expect(r.items).to.deep.equal([])
    expect(r.notes).to.deep.equal([
      'attachment missing (not downloaded to the Mac yet, or deleted): gone.jpg',
      'attachment too large (3 MB > 1 MB): big.mov',
      'attachment too large (2 MB > 1 MB): liar.mov',
      'attachment missing (file not found): nofile.jpg',
    ])
  })

  it('waits for a file that is still being written', async () => {
    const {ctx} = makeCtx(path.join(dir, 'home'), path.join(dir, 'state'))
    const account = makeAccount({includeAttachments: true, attachmentRoots: [root]}, ctx.home)
    const f = path.join(root, 'growing.jpg')
    fs.writeFileSync(f, '')
    setTimeout(() => fs.writeFileSync(f, 'half'), 100)
    setTimeout(() => fs.writeFileSync(f, 'half-and-rest'), 300)
    const r = await resolveInboundAttachments(ctx, account, [att(f, 13)], {sessionKey: 's', retry: {attempts: 8, delayMs: 80}})
    expect(r.notes).to.deep.equal([])
    expect(r.items[0]!.size).to.equal(13)
  })

  it('gives up after bounded retries with a note', async () => {
    const {ctx} = makeCtx(path.join(dir, 'home'), path.join(dir, 'state'))
    const account = makeAccount({includeAttachments: true, attachmentRoots: [root]}, ctx.home)
    const f = path.join(root, 'stuck.jpg')
    fs.writeFileSync(f, 'part')
    const r = await resolveInboundAttachments(ctx, account, [att(f, 1000)], {sessionKey: 's', retry: {attempts: 3, delayMs: 10}})
    expect(r.items).to.deep.equal([])
    expect(r.notes).to.deep.equal(['attachment not ready (still being written): stuck.jpg'])
  })
})
