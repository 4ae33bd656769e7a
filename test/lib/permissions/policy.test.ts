import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {resolveAccount} from '../../../src/lib/config/accounts.js'
import {configSchema} from '../../../src/lib/config/schema.js'
import {dmPolicySentence, findFootguns, groupPolicySentence} from '../../../src/lib/permissions/policy.js'
import {describeLocalContext, inspectWrapper, readSqliteHeader, resolveBinary} from '../../../src/lib/permissions/process-context.js'
import {tempDir} from '../../helpers/cli.js'

const account = (channel: Record<string, unknown>) => resolveAccount(configSchema.parse({channels: {imessage: channel}}), undefined, {home: '/home/u'})

describe('doctor: who can reach the bot', () => {
  it('says it in one sentence per policy', () => {
    expect(dmPolicySentence(account({dmPolicy: 'disabled'}))).to.match(/^DMs: nobody can reach/)
    expect(dmPolicySentence(account({dmPolicy: 'allowlist', allowFrom: ['+15555550123']}))).to.include('only 1 allowlisted sender (+15555550123)')
    expect(dmPolicySentence(account({dmPolicy: 'pairing'}))).to.include('sent a pairing code')
    expect(dmPolicySentence(account({dmPolicy: 'pairing'}))).to.match(/^DMs: senders you approved with a pairing code can reach the bot;/)
    expect(dmPolicySentence(account({dmPolicy: 'pairing', allowFrom: ['+15551234567']}))).to.match(
      /^DMs: 1 allowlisted sender \(\+15551234567\) and senders you approved with a pairing code can reach the bot;/,
    )
    expect(dmPolicySentence(account({dmPolicy: 'pairing', pairingReply: 'silent'}))).to.include('recorded silently')
    expect(dmPolicySentence(account({dmPolicy: 'open', allowFrom: ['*']}))).to.include('anyone who texts')
    expect(groupPolicySentence(account({groupPolicy: 'disabled'}))).to.include('ignores every group chat')
    expect(groupPolicySentence(account({groupPolicy: 'open'}))).to.include('any participant in any group chat')
    expect(groupPolicySentence(account({groupPolicy: 'allowlist', groups: {'42': {}, '7': {}}, groupAllowFrom: ['+15555550123']}))).to.include(
      'only 1 allowlisted sender in 2 listed chats (chat_id 7, 42)',
    )
    for (const s of [dmPolicySentence(account({})), groupPolicySentence(account({}))]) expect(s.split(/\.\s/)).to.have.length(1)
  })

  it('"*" in allowFrom admits every DM sender under allowlist and pairing too, as the gateway does', () => {
    for (const dmPolicy of ['allowlist', 'pairing']) {
      const a = account({dmPolicy, allowFrom: ['*', '+15555550123'], groupPolicy: 'disabled'})
      expect(dmPolicySentence(a), dmPolicy).to.match(/^DMs: anyone who texts this account gets an answer/)
      expect(findFootguns(a, 'wrapper').map((f) => f.id), dmPolicy).to.deep.equal(['dm_open'])
      expect(findFootguns(a, 'wrapper')[0]!.message).to.include(`dmPolicy is "${dmPolicy}"`)
      // nobody is sent a pairing code when "*" admits everyone
      expect(findFootguns(a, 'local').map((f) => f.id), dmPolicy).to.deep.equal(['dm_open'])
    }
  })

  it('groups["*"] under allowlist admits every group chat, as the gateway does', () => {
    const star = groupPolicySentence(account({groupPolicy: 'allowlist', groups: {'*': {requireMention: true}}}))
    expect(star).to.match(/^Groups: any participant in any group chat can trigger the bot, when a mention pattern matches/)
    expect(star).to.include('"*"')
    // a listed chat that inherits enabled:false from "*" is not reachable
    expect(groupPolicySentence(account({groupPolicy: 'allowlist', groups: {'*': {enabled: false}, '42': {}, '7': {enabled: true}}}))).to.include('1 listed chat (chat_id 7)')
  })

  it('finds the footguns and nothing on a careful config', () => {
    const ids = (c: Record<string, unknown>, d: 'local' | 'wrapper' = 'wrapper') => findFootguns(account(c), d).map((f) => f.id)
    expect(ids({groupPolicy: 'allowlist'})).to.deep.equal(['groups_allowlist_empty'])
    // "*" in groups admits every chat under allowlist (docs/access-control.md: Who gets through: groups): not empty
    expect(ids({groupPolicy: 'allowlist', groups: {'*': {requireMention: true}}})).to.deep.equal([])
    expect(ids({groupPolicy: 'disabled', dmPolicy: 'open', allowFrom: ['*']})).to.deep.equal(['dm_open'])
    expect(ids({groupPolicy: 'disabled', dmPolicy: 'open'})).to.deep.equal(['open_without_star'])
    expect(ids({groupPolicy: 'disabled'}, 'local')).to.deep.equal(['pairing_reply_personal_number'])
    expect(ids({groupPolicy: 'disabled', pairingReply: 'silent'}, 'local')).to.deep.equal([])
    expect(ids({groupPolicy: 'allowlist', groups: {'42': {}}})).to.deep.equal([])
    const f = findFootguns(account({groupPolicy: 'allowlist'}), 'wrapper')[0]!
    expect(f.fix).to.include(`remoteclaw config set 'channels.imessage.groups["<chat_id>"]' '{}'`)
  })
})

describe('doctor: process context helpers', () => {
  let tmp: ReturnType<typeof tempDir>
  before(() => {
    tmp = tempDir('rc-ctx-')
  })
  after(() => tmp.cleanup())

  it('reads the SQLite header without native sqlite', async () => {
    const ok = path.join(tmp.dir, 'ok.db')
    fs.writeFileSync(ok, Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), Buffer.alloc(100)]))
    expect(await readSqliteHeader(ok)).to.deep.equal({ok: true})
    const short = path.join(tmp.dir, 'short.db')
    fs.writeFileSync(short, 'SQLite')
    expect(await readSqliteHeader(short)).to.include({ok: false, reason: 'not_sqlite'})
    expect(await readSqliteHeader(path.join(tmp.dir, 'none.db'))).to.include({ok: false, reason: 'missing'})
  })

  it('resolves a bare name on PATH and follows symlinks (Homebrew Cellar paths)', async () => {
    const cellar = path.join(tmp.dir, 'Cellar', 'imsg', '0.9.0', 'bin')
    const bin = path.join(tmp.dir, 'bin')
    fs.mkdirSync(cellar, {recursive: true})
    fs.mkdirSync(bin)
    fs.writeFileSync(path.join(cellar, 'imsg'), '#!/bin/sh\n', {mode: 0o755})
    fs.symlinkSync(path.join(cellar, 'imsg'), path.join(bin, 'imsg'))
    const r = await resolveBinary('imsg', {PATH: `/nonexistent${path.delimiter}${bin}`})
    expect(r).to.deep.equal({given: 'imsg', found: path.join(bin, 'imsg'), real: fs.realpathSync(path.join(cellar, 'imsg'))})
    expect(await resolveBinary('imsg', {PATH: '/nonexistent'})).to.deep.equal({given: 'imsg'})
    const lc = describeLocalContext({TERM_PROGRAM: 'iTerm.app'}, '/usr/local/Cellar/node/20.1/bin/node', r)
    expect(lc.who).to.include('iTerm')
    expect(lc.grantTo.join(' ')).to.include(fs.realpathSync(path.join(cellar, 'imsg')))
  })

  it('recognises SSH wrappers, including the seeds\' hand-written ones', async () => {
    const w = (name: string, text: string) => {
      const f = path.join(tmp.dir, name)
      fs.writeFileSync(f, text, {mode: 0o755})
      return f
    }
    expect(await inspectWrapper(w('seed1', '#!/usr/bin/env bash\nexec ssh -T bot@mac-mini.tailnet-1234.ts.net imsg "$@"\n'))).to.deep.equal({
      target: 'bot@mac-mini.tailnet-1234.ts.net',
      remoteImsg: 'imsg',
    })
    expect(await inspectWrapper(w('seed2', '#!/usr/bin/env bash\nexec ssh -T mac-mini imsg "$@"\n'))).to.deep.equal({target: 'mac-mini', remoteImsg: 'imsg'})
    expect(
      await inspectWrapper(
        w('seed3', '#!/usr/bin/env bash\nset -euo pipefail\n# ssh <bot>@localhost true\nexec /usr/bin/ssh -o BatchMode=yes -o ConnectTimeout=5 -T bot@localhost \\\n  "/usr/local/bin/imsg" "$@"\n'),
      ),
    ).to.deep.equal({target: 'bot@localhost', remoteImsg: '/usr/local/bin/imsg'})
    // a node script (the simulator) or a plain binary is local imsg, not a wrapper
    expect(await inspectWrapper(w('node', '#!/usr/bin/env node\nimport("./x.js")\n'))).to.equal(undefined)
    expect(await inspectWrapper(w('comment', '#!/bin/sh\n# uses ssh? no\nexec /opt/imsg "$@"\n'))).to.equal(undefined)
  })
})
