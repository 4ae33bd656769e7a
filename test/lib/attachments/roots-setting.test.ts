import {expect} from 'chai'
import {execa} from 'execa'
import fs from 'node:fs'
import path from 'node:path'
import {resolveAccount} from '../../../src/lib/config/accounts.js'
import {configSchema} from '../../../src/lib/config/schema.js'
import type {RemoteMac} from '../../../src/lib/attachments/remote.js'
import {admitRootCommand, attachmentRootsSetting} from '../../../src/lib/attachments/roots-setting.js'
import {matchingRoot} from '../../../src/lib/attachments/roots.js'
import {RUN_JS, tempDir} from '../../helpers/cli.js'

const HOME = '/home/op'
const MAC: RemoteMac = {remoteHost: 'bot@mac-mini', user: 'bot', host: 'mac-mini', derived: true, sshOptions: []}
const DEFAULT_ROOT = '/Users/*/Library/Messages/Attachments'

function account(channel: Record<string, unknown>, id?: string) {
  return resolveAccount(configSchema.parse({channels: {imessage: channel}}), id, {home: HOME})
}

describe('attachment roots setting (which list, which key to extend)', () => {
  it('local imsg: attachmentRoots, `~` expanded for this user', () => {
    const s = attachmentRootsSetting(account({attachmentRoots: ['~/Pictures']}), undefined, HOME)
    expect(s).to.deep.include({key: 'attachmentRoots', keyPath: 'channels.imessage.attachmentRoots', roots: ['/home/op/Pictures'], unusable: [], home: HOME})
  })

  it('remote Mac: remoteAttachmentRoots, `~` expanded for the user on the Mac', () => {
    const s = attachmentRootsSetting(account({remoteAttachmentRoots: ['~/Downloads', DEFAULT_ROOT]}), MAC, HOME)
    expect(s).to.deep.include({key: 'remoteAttachmentRoots', keyPath: 'channels.imessage.remoteAttachmentRoots', roots: ['/Users/bot/Downloads', DEFAULT_ROOT], home: '/Users/bot'})
  })

  it('an account that inherits the channel list extends the channel key; one with its own list extends its own', () => {
    const channel = {remoteAttachmentRoots: ['/Volumes/Shared'], accounts: {bot: {}, work: {remoteAttachmentRoots: ['/Users/work/In']}}}
    const inherits = attachmentRootsSetting(account(channel, 'bot'), MAC, HOME)
    expect(inherits).to.deep.include({keyPath: 'channels.imessage.remoteAttachmentRoots', configured: ['/Volumes/Shared']})
    const own = attachmentRootsSetting(account(channel, 'work'), MAC, HOME)
    expect(own).to.deep.include({keyPath: 'channels.imessage.accounts.work.remoteAttachmentRoots', configured: ['/Users/work/In']})
    // Nobody sets it: the default, extended where the account lives.
    const dflt = attachmentRootsSetting(account({accounts: {bot: {}}}, 'bot'), MAC, HOME)
    expect(dflt).to.deep.include({keyPath: 'channels.imessage.accounts.bot.remoteAttachmentRoots', configured: [DEFAULT_ROOT]})
  })

  it('roots that can never match: `~` with no user on the Mac, relative paths', () => {
    const alias: RemoteMac = {remoteHost: 'mac-mini', host: 'mac-mini', derived: false, sshOptions: []}
    const s = attachmentRootsSetting(account({remoteAttachmentRoots: ['~/Downloads', 'Library/x', DEFAULT_ROOT]}), alias, HOME)
    expect(s.roots).to.deep.equal([DEFAULT_ROOT])
    expect(s.unusable).to.deep.equal(['~/Downloads', 'Library/x'])
  })

  it('the admit command keeps the whole list, adds the directory literally, and quotes for the shell', () => {
    const s = attachmentRootsSetting(account({remoteAttachmentRoots: [DEFAULT_ROOT], accounts: {bot: {}}}, 'bot'), MAC, HOME)
    expect(admitRootCommand(s, '/Users/bot/Downloads/a.jpg')).to.equal(
      `remoteclaw config set channels.imessage.remoteAttachmentRoots '["/Users/*/Library/Messages/Attachments","/Users/bot/Downloads"]'`,
    )
    expect(admitRootCommand(s, '/Users/bot/new\nline/a.jpg')).to.equal(undefined)
  })

  describe('the admit command, run as printed (built CLI)', function () {
    this.timeout(120_000)
    let tmp: ReturnType<typeof tempDir>
    before(() => {
      tmp = tempDir('rc-admit-')
      const bin = path.join(tmp.dir, 'bin')
      fs.mkdirSync(bin)
      fs.writeFileSync(path.join(bin, 'remoteclaw'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(RUN_JS)} "$@"\n`, {mode: 0o700})
    })
    after(() => tmp.cleanup())

    for (const [label, dir] of [
      ['a plain directory', '/Users/bot/Downloads'],
      ['glob characters, spaces and a quote', "/Users/bot/Down loads [1]/it's (*)"],
    ] as const) {
      it(`${label}: an inheriting account's file is admitted, the channel's other roots kept`, async () => {
        const state = fs.mkdtempSync(path.join(tmp.dir, 'state-'))
        const cfg = {channels: {imessage: {remoteAttachmentRoots: [DEFAULT_ROOT], accounts: {bot: {includeAttachments: true, dbPath: "/db/bot.db"}, other: {dbPath: "/db/other.db"}}}}}
        fs.writeFileSync(path.join(state, 'remoteclaw.json'), JSON.stringify(cfg), {mode: 0o600})
        const file = `${dir}/IMG 1.jpg`
        const before = attachmentRootsSetting(account(cfg.channels.imessage, 'bot'), MAC, HOME)
        expect(matchingRoot(file, before.roots)).to.equal(undefined)
        const cmd = admitRootCommand(before, file)!
        const r = await execa('sh', ['-c', cmd], {
          reject: false,
          env: {PATH: `${path.join(tmp.dir, 'bin')}:${process.env.PATH}`, HOME: state, REMOTECLAW_STATE_DIR: state, NO_COLOR: '1', CI: '1'},
        })
        expect(r.exitCode, `${cmd}\n${r.stderr}`).to.equal(0)
        const written = configSchema.parse(JSON.parse(fs.readFileSync(path.join(state, 'remoteclaw.json'), 'utf8')))
        const after = attachmentRootsSetting(resolveAccount(written, 'bot', {home: HOME}), MAC, HOME)
        expect(matchingRoot(file, after.roots)).to.not.equal(undefined)
        // a sibling directory is not admitted by the escaped root
        expect(matchingRoot(`${dir}x/IMG 1.jpg`, after.roots)).to.equal(undefined)
        expect(after.configured[0]).to.equal(DEFAULT_ROOT)
        // the channel list changed: the other inheriting account sees the same roots
        expect(attachmentRootsSetting(resolveAccount(written, 'other', {home: HOME}), MAC, HOME).configured).to.deep.equal(after.configured)
      })
    }
  })
})
