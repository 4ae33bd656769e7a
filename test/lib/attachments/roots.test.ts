import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {DEFAULT_ATTACHMENT_ROOT} from '../../../src/lib/config/schema.js'
import {expandRoot, isUnderRoots, normalizeAttachmentPath, realpathRoots, remoteHomeFor} from '../../../src/lib/attachments/roots.js'
import {tempDir} from '../../helpers/cli.js'

describe('attachment roots', () => {
  it('default root: * is exactly one path segment', () => {
    const roots = [DEFAULT_ATTACHMENT_ROOT]
    expect(isUnderRoots('/Users/bot/Library/Messages/Attachments/ab/01/GUID/IMG_1.heic', roots)).to.equal(true)
    expect(isUnderRoots('/Users/bot/Library/Messages/Attachments/.hidden', roots)).to.equal(true)
    expect(isUnderRoots('/Users/a/b/Library/Messages/Attachments/x.jpg', roots)).to.equal(false)
    expect(isUnderRoots('/Users/Library/Messages/Attachments/x.jpg', roots)).to.equal(false)
    expect(isUnderRoots('/Users/bot/Library/Messages/Attachments', roots)).to.equal(false)
    expect(isUnderRoots('/Users/bot/Library/Messages/chat.db', roots)).to.equal(false)
    expect(isUnderRoots('/Users/bot/Library/Messages/AttachmentsEvil/x', roots)).to.equal(false)
    expect(isUnderRoots('/etc/passwd', roots)).to.equal(false)
  })

  it('normalises: ~ for the right user, no .., absolute only', () => {
    expect(normalizeAttachmentPath('~/Library/Messages/Attachments/x.jpg', remoteHomeFor('bot'))).to.deep.equal({
      ok: true,
      path: '/Users/bot/Library/Messages/Attachments/x.jpg',
    })
    expect(normalizeAttachmentPath('/Users//bot/./Library/x', '/h')).to.deep.equal({ok: true, path: '/Users/bot/Library/x'})
    expect(normalizeAttachmentPath('/Users/bot/Library/Messages/Attachments/../../chat.db', '/h')).to.deep.include({ok: false, reason: 'path contains ".."'})
    expect(normalizeAttachmentPath('relative/x', '/h').ok).to.equal(false)
    expect(normalizeAttachmentPath('~/x', undefined).ok).to.equal(false)
    expect(normalizeAttachmentPath('', '/h').ok).to.equal(false)
    expect(expandRoot('~/Attachments', '/Users/bot')).to.equal('/Users/bot/Attachments')
  })

  it('resolves symlinks in the literal part of local roots', async () => {
    const {dir, cleanup} = tempDir()
    try {
      fs.mkdirSync(path.join(dir, 'real', 'Attachments'), {recursive: true})
      fs.symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'))
      const roots = await realpathRoots([path.join(dir, 'link', 'Attachments'), path.join(dir, 'link', '*')])
      expect(roots).to.include(path.join(fs.realpathSync(dir), 'real', 'Attachments'))
      expect(roots).to.include(path.join(fs.realpathSync(dir), 'real', '*'))
    } finally {
      cleanup()
    }
  })
})

describe('attachment roots with odd names', () => {
  it('matches names containing newlines and control characters by their segments', () => {
    expect(isUnderRoots('/Users/bot/Library/Messages/Attachments/a\nb.jpg', [DEFAULT_ATTACHMENT_ROOT])).to.equal(true)
    expect(isUnderRoots('/Users/bot\n/x/Library/Messages/Attachments/a.jpg', [DEFAULT_ATTACHMENT_ROOT])).to.equal(false)
  })
})
