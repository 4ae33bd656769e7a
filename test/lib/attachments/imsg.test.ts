import {expect} from 'chai'
import {execa} from 'execa'
import fs from 'node:fs'
import path from 'node:path'
import {fromImsgAttachment} from '../../../src/lib/attachments/imsg.js'
import {IMSG_SIM, tempDir} from '../../helpers/cli.js'

describe('fromImsgAttachment', () => {
  it('uses original_path / total_bytes, not the documented path / byte_size', () => {
    expect(
      fromImsgAttachment({
        filename: '~/Library/Messages/Attachments/ab/GUID/IMG_1.heic',
        transfer_name: 'IMG_1.heic',
        mime_type: 'image/heic',
        total_bytes: 4096,
        original_path: '/Users/bot/Library/Messages/Attachments/ab/GUID/IMG_1.heic',
        missing: false,
        path: '/wrong',
        byte_size: 1,
      }),
    ).to.deep.equal({
      originalPath: '/Users/bot/Library/Messages/Attachments/ab/GUID/IMG_1.heic',
      name: 'IMG_1.heic',
      mimeType: 'image/heic',
      size: 4096,
      missing: false,
    })
  })

  it('falls back sensibly and marks an empty path missing', () => {
    expect(fromImsgAttachment({filename: '', original_path: '', missing: false, total_bytes: 0})).to.deep.include({originalPath: '', missing: true, size: 0})
    expect(fromImsgAttachment({filename: '~/a/b.png'})).to.deep.include({originalPath: '~/a/b.png', name: 'b.png', missing: false})
    expect(fromImsgAttachment({original_path: '/x/y.pdf', missing: true})).to.deep.include({name: 'y.pdf', missing: true, mimeType: ''})
  })

  it('maps attachment metadata exactly as the imsg simulator emits it', async function () {
    if (!fs.existsSync(IMSG_SIM)) this.skip()
    const {dir, cleanup} = tempDir()
    try {
      const db = path.join(dir, 'chat.db')
      const file = path.join(dir, 'photo one.jpg')
      fs.writeFileSync(file, Buffer.alloc(1234, 7))
      const env = {HOME: dir}
      const sim = (args: string[], input?: string) => execa(IMSG_SIM, args, {env, input, reject: false})
      expect((await sim(['inject', '--db', db, '--from', '+15551234567', '--text', 'a', '--attachment', file, '--json'])).exitCode).to.equal(0)
      expect((await sim(['inject', '--db', db, '--from', '+15551234567', '--text', 'b', '--attachment-missing', '--json'])).exitCode).to.equal(0)
      const r = await sim(['rpc', '--db', db], JSON.stringify({jsonrpc: '2.0', id: 1, method: 'messages.history', params: {chat_id: 1, attachments: true}}) + '\n')
      const msgs = JSON.parse(r.stdout.split('\n')[0]!).result.messages as Array<{text: string; attachments: Array<Record<string, unknown>>}>
      const present = fromImsgAttachment(msgs.find((m) => m.text === 'a')!.attachments[0]!)
      expect(present).to.deep.equal({originalPath: file, name: 'photo one.jpg', mimeType: 'image/jpeg', size: 1234, missing: false})
      const missing = fromImsgAttachment(msgs.find((m) => m.text === 'b')!.attachments[0]!)
      expect(missing.missing).to.equal(true)
      expect(missing.originalPath.startsWith(dir + '/Library/Messages/Attachments/')).to.equal(true)
      expect(missing.size).to.be.greaterThan(0)
    } finally {
      cleanup()
    }
  })
})
