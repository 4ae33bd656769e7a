import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {appendKnownHost} from '../../../src/lib/ssh/known-hosts.js'
import {parseTransparentWrapper, renderWrapper, writeWrapper} from '../../../src/lib/ssh/wrapper.js'
import {tempDir} from '../../helpers/cli.js'

describe('ssh wrapper text', () => {
  it('runs /usr/bin/ssh with the fixed options, -T and -- before the destination', () => {
    const text = renderWrapper({user: 'bot', host: 'mac-mini.local', remoteImsgPath: '/opt/homebrew/bin/imsg'})
    expect(text.startsWith('#!/bin/sh\n')).to.equal(true)
    expect(text).to.include('exec /usr/bin/ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=5 -o ServerAliveInterval=15 -T -- bot@mac-mini.local "$cmd"')
    expect(text).to.include(`cmd=''\\''/opt/homebrew/bin/imsg'\\'''`)
    expect(text).not.to.include(' -p ')
  })

  it('adds port, identity and known_hosts when given', () => {
    const text = renderWrapper({user: 'bot', host: '10.0.0.2', port: 2222, remoteImsgPath: '~/bin/imsg', identityFile: '/k/id', knownHostsFile: '/k/kh'})
    expect(text).to.include('-p 2222 -i /k/id -o IdentitiesOnly=yes -o UserKnownHostsFile=/k/kh -T -- bot@10.0.0.2')
  })

  it('rejects injection through every input', () => {
    expect(() => renderWrapper({user: 'bot', host: '-oProxyCommand=touch /tmp/x', remoteImsgPath: '/usr/local/bin/imsg'})).to.throw(/invalid SSH host/)
    expect(() => renderWrapper({user: '-oProxyCommand=x', host: 'h', remoteImsgPath: '/usr/local/bin/imsg'})).to.throw(/invalid SSH user/)
    expect(() => renderWrapper({user: 'bot', host: 'h', remoteImsgPath: '/usr/local/bin/imsg; rm -rf ~'})).to.throw(/invalid remote imsg path/)
    expect(() => renderWrapper({user: 'bot', host: 'h', remoteImsgPath: '/x/imsg', identityFile: '/a b/id'})).to.throw(/invalid identity file/)
  })

  it('is a pure function and writeWrapper is idempotent with mode 0700', async () => {
    const {dir, cleanup} = tempDir()
    try {
      const o = {user: 'bot', host: 'localhost', remoteImsgPath: '/usr/local/bin/imsg'}
      expect(renderWrapper(o)).to.equal(renderWrapper({...o}))
      const file = path.join(dir, 'scripts', 'imsg-bot')
      expect(await writeWrapper(file, renderWrapper(o))).to.deep.equal({changed: true})
      expect(fs.statSync(file).mode & 0o777).to.equal(0o700)
      expect(fs.statSync(path.dirname(file)).mode & 0o777).to.equal(0o700)
      const ino = fs.statSync(file).ino
      const mtime = fs.statSync(file).mtimeMs
      expect(await writeWrapper(file, renderWrapper(o))).to.deep.equal({changed: false})
      expect(fs.statSync(file).ino).to.equal(ino)
      expect(fs.statSync(file).mtimeMs).to.equal(mtime)
      expect(await writeWrapper(file, renderWrapper({...o, host: 'other'}))).to.deep.equal({changed: true})
      expect(fs.readFileSync(file, 'utf8')).to.include('bot@other')
    } finally {
      cleanup()
    }
  })
})

describe('writing into an existing folder', () => {
  it('leaves the mode of a folder it did not create alone (a wrapper in /usr/local/bin must not lock other users out)', async () => {
    const {dir, cleanup} = tempDir()
    try {
      const shared = path.join(dir, 'bin')
      fs.mkdirSync(shared)
      fs.chmodSync(shared, 0o755)
      await writeWrapper(path.join(shared, 'imsg-bot'), renderWrapper({user: 'bot', host: 'localhost', remoteImsgPath: '/usr/local/bin/imsg'}))
      expect(fs.statSync(path.join(shared, 'imsg-bot')).mode & 0o777).to.equal(0o700)
      expect(fs.statSync(shared).mode & 0o777).to.equal(0o755)
      const key = {keyType: 'ssh-ed25519', keyBase64: 'AAAAC3NzaC1lZDI1NTE5AAAAIJ+JlvNAqARHGyfek+0NwoDjeyEWGmgrRNhHlHNyYi66'}
      await appendKnownHost(path.join(shared, 'known_hosts'), 'mac.local', 22, key)
      expect(fs.statSync(shared).mode & 0o777).to.equal(0o755)
      // a folder it creates is owner-only
      await appendKnownHost(path.join(dir, 'new-ssh', 'known_hosts'), 'mac.local', 22, key)
      expect(fs.statSync(path.join(dir, 'new-ssh')).mode & 0o777).to.equal(0o700)
    } finally {
      cleanup()
    }
  })
})

describe('replacing a file', () => {
  it('never replaces a file it did not generate (a hand-written wrapper, the imsg binary); its own it regenerates', async () => {
    const {dir, cleanup} = tempDir()
    try {
      const mine = path.join(dir, 'imsg-ssh')
      fs.writeFileSync(mine, '#!/bin/sh\nexec ssh -T bot@mac imsg "$@"\n', {mode: 0o755})
      const o = {user: 'bot', host: 'localhost', remoteImsgPath: '/usr/local/bin/imsg'}
      const err = await writeWrapper(mine, renderWrapper(o)).catch((e: unknown) => e as Error & {fix?: string})
      expect(err).to.be.instanceOf(Error)
      expect((err as Error).message).to.include(mine)
      expect((err as {fix?: string}).fix).to.include('--cli-path')
      expect(fs.readFileSync(mine, 'utf8')).to.equal('#!/bin/sh\nexec ssh -T bot@mac imsg "$@"\n')
      const ours = path.join(dir, 'imsg-bot')
      await writeWrapper(ours, renderWrapper(o))
      expect(await writeWrapper(ours, renderWrapper({...o, host: 'other'}))).to.deep.equal({changed: true})
    } finally {
      cleanup()
    }
  })
})

describe('parseTransparentWrapper', () => {
  it('derives user and host from the seed wrappers', () => {
    expect(parseTransparentWrapper('#!/usr/bin/env bash\nexec ssh -T bot@mac-mini.tailnet-1234.ts.net imsg "$@"\n')).to.deep.equal({
      user: 'bot',
      host: 'mac-mini.tailnet-1234.ts.net',
    })
    expect(parseTransparentWrapper('#!/usr/bin/env bash\nexec ssh -T mac-mini imsg "$@"\n')).to.deep.equal({host: 'mac-mini'})
    const seed = '#!/usr/bin/env bash\nset -euo pipefail\n\n# Run an interactive SSH once first\nexec /usr/bin/ssh -o BatchMode=yes -o ConnectTimeout=5 -T bot@localhost \\\n"/usr/local/bin/imsg" "$@"\n'
    expect(parseTransparentWrapper(seed)).to.deep.equal({user: 'bot', host: 'localhost'})
  })

  it('returns undefined for option-rich or non-wrapper scripts', () => {
    for (const s of [
      '#!/bin/sh\nexec ssh -p 2222 bot@h imsg "$@"\n',
      '#!/bin/sh\nexec ssh -i ~/.ssh/k bot@h imsg "$@"\n',
      '#!/bin/sh\nexec ssh -J jump bot@h imsg "$@"\n',
      '#!/bin/sh\nexec ssh -o ProxyCommand=nc bot@h imsg "$@"\n',
      '#!/bin/sh\nexec ssh -F cfg bot@h imsg "$@"\n',
      '#!/bin/sh\nexec ssh bot@h imsg rpc\n',
      '#!/bin/sh\nexec ssh bot@h "imsg $*"\n',
      '#!/bin/sh\nexport X=1\nexec ssh bot@h imsg "$@"\n',
      '#!/bin/sh\nexec /usr/local/bin/imsg "$@"\n',
      '#!/bin/sh\nexec ssh -T -- -oProxyCommand=x imsg "$@"\n',
      renderWrapper({user: 'bot', host: 'h', remoteImsgPath: '/usr/local/bin/imsg'}),
    ]) {
      expect(parseTransparentWrapper(s), s).to.equal(undefined)
    }
  })
})
