import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {CONFIG_REFERENCE_DOC, defaultFor, readSection, referenceRows, renderConfigReference} from '../../../src/lib/config/docs.js'
import {REPO_ROOT} from '../../helpers/cli.js'

describe('config reference (generated from the schema)', () => {
  it('docs/configuration.md section config-reference is current (regenerate: npx tsx scripts/gen-config-docs.ts)', () => {
    expect(CONFIG_REFERENCE_DOC).to.equal('docs/configuration.md')
    const doc = fs.readFileSync(path.join(REPO_ROOT, CONFIG_REFERENCE_DOC), 'utf8')
    expect(readSection(doc, 'config-reference')).to.equal(renderConfigReference())
  })

  it('the README links to the configuration page instead of carrying the reference', () => {
    const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8')
    expect(readSection(readme, 'config-reference')).to.equal(undefined)
    expect(readme).to.contain('(docs/configuration.md)')
  })

  it('documents every key of both seed docs with type, default and description', () => {
    const rows = new Map(referenceRows().map((r) => [r.path, r]))
    for (const key of [
      'enabled', 'cliPath', 'dbPath', 'remoteHost', 'service', 'region', 'dmPolicy', 'allowFrom', 'groupPolicy', 'groupAllowFrom',
      'historyLimit', 'includeAttachments', 'attachmentRoots', 'remoteAttachmentRoots', 'mediaMaxMb', 'textChunkLimit', 'chunkMode',
      'configWrites', 'responsePrefix', 'defaultAccount', 'accounts.<id>', 'groups.<chat_id>.requireMention',
    ]) {
      const row = rows.get(`channels.imessage.${key}`)
      expect(row, key).to.not.equal(undefined)
      expect(row!.description, key).to.not.equal('')
    }
    for (const key of ['agents.list[].id', 'agents.list[].default', 'agents.list[].groupChat.mentionPatterns', 'messages.groupChat.mentionPatterns', 'messages.groupChat.historyLimit', 'messages.responsePrefix', 'commands.config']) {
      expect(rows.has(key), key).to.equal(true)
    }
    expect(rows.get('channels.imessage.mediaMaxMb')!.default).to.equal(16)
    expect(rows.get('channels.imessage.textChunkLimit')!.default).to.equal(4000)
    expect(rows.get('channels.imessage.dmPolicy')!.default).to.equal('pairing')
    expect(rows.get('channels.imessage.groupPolicy')!.default).to.equal('allowlist')
    expect(rows.get('channels.imessage.configWrites')!.default).to.equal(true)
    expect(rows.get('channels.imessage.groups.<chat_id>.requireMention')!.default).to.equal(true)
  })

  it('knows defaults for account overrides and agents', () => {
    expect(defaultFor(['channels', 'imessage', 'accounts', 'bot', 'mediaMaxMb'])).to.equal(16)
    expect(defaultFor(['agents', 'list', 3, 'runtime'])).to.equal('echo')
    expect(defaultFor(['channels', 'imessage', 'dbPath'])).to.equal(undefined)
  })
})
