import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {resolvedAccountValues, resolvedValue} from '../../../src/lib/config/resolved.js'
import type {RemoteclawConfig} from '../../../src/lib/config/schema.js'
import {runCli, tempDir} from '../../helpers/cli.js'

const config: RemoteclawConfig = {
  channels: {
    imessage: {
      cliPath: '~/bin/imsg',
      dmPolicy: 'allowlist',
      accounts: {bot: {dmPolicy: 'pairing', textChunkLimit: 1000}, work: {dbPath: '/x/w.db'}},
    },
  },
  messages: {groupChat: {historyLimit: 5}},
} as RemoteclawConfig

describe('config get --resolved', () => {
  it('says whether a value comes from the account, the channel, messages.* or the default', () => {
    expect(resolvedValue(config, 'dmPolicy', {accountId: 'bot', home: '/h'})).to.deep.equal({
      key: 'dmPolicy', accountId: 'bot', value: 'pairing', source: 'account', from: 'channels.imessage.accounts.bot.dmPolicy',
    })
    expect(resolvedValue(config, 'channels.imessage.dmPolicy', {accountId: 'work', home: '/h'})).to.deep.include({value: 'allowlist', source: 'channel', from: 'channels.imessage.dmPolicy'})
    // ~ expanded as the gateway does
    expect(resolvedValue(config, 'cliPath', {accountId: 'work', home: '/h'})).to.deep.include({value: '/h/bin/imsg', source: 'channel'})
    expect(resolvedValue(config, 'channels.imessage.accounts.work.historyLimit', {home: '/h'})).to.deep.include({accountId: 'work', value: 5, source: 'messages'})
    expect(resolvedValue(config, 'textChunkLimit', {accountId: 'work', home: '/h'})).to.deep.include({value: 4000, source: 'default', from: ''})
  })

  it('refuses keys that are not account keys, and an account the path contradicts', () => {
    expect(() => resolvedValue(config, 'groups.x', {home: '/h'})).to.throw(/not one/)
    expect(() => resolvedValue(config, 'channels.imessage.accounts.bot.dmPolicy', {accountId: 'work', home: '/h'})).to.throw(/names account "bot"/)
    expect(() => resolvedValue(config, 'dmPolicy', {accountId: 'nope', home: '/h'})).to.throw(/no iMessage account "nope"/)
  })

  it('lists every account key', () => {
    const all = resolvedAccountValues(config, {accountId: 'bot', home: '/h'})
    expect(all.map((v) => v.key)).to.include.members(['dmPolicy', 'cliPath', 'textChunkLimit', 'rpcTimeoutMs'])
    expect(all.find((v) => v.key === 'textChunkLimit')).to.deep.include({value: 1000, source: 'account'})
  })

  it('through the built CLI: human line with the source, --json, and exit codes', async () => {
    const t = tempDir()
    try {
      fs.writeFileSync(path.join(t.dir, 'remoteclaw.json'), JSON.stringify(config))
      const human = await runCli(['config', 'get', 'dmPolicy', '--resolved', '--account', 'work'], {stateDir: t.dir})
      expect(human.exitCode, human.stderr).to.equal(0)
      expect(human.stdout.trim()).to.equal('allowlist   (from channels.imessage.dmPolicy)')
      const json = await runCli(['config', 'get', 'rpcTimeoutMs', '--resolved', '--json'], {stateDir: t.dir})
      expect(JSON.parse(json.stdout)).to.deep.include({key: 'rpcTimeoutMs', value: 10000, source: 'default'})
      expect((await runCli(['config', 'get', 'groups.x', '--resolved'], {stateDir: t.dir})).exitCode).to.equal(2)
      expect((await runCli(['config', 'get', 'dmPolicy', '--resolved', '--account', 'nope'], {stateDir: t.dir})).exitCode).to.equal(4)
    } finally {
      t.cleanup()
    }
  })
})
