import {expect} from 'chai'
import {UsageError} from '../../../src/lib/errors.js'
import {parseRemoteHost, validateHost, validatePort, validateRemotePath, validateUser} from '../../../src/lib/ssh/validate.js'
import {shJoin, shQuote} from '../../../src/lib/ssh/quote.js'

describe('ssh validation', () => {
  it('accepts normal users, hosts, IPs, Tailscale names and ports', () => {
    expect(validateUser('bot')).to.equal('bot')
    expect(validateUser('_bot.user-1')).to.equal('_bot.user-1')
    for (const h of ['localhost', 'mac-mini.local', 'mac-mini.tailnet-1234.ts.net', '100.101.102.103', '127.0.0.1', 'mac_mini']) {
      expect(validateHost(h)).to.equal(h)
    }
    expect(validateHost('[::1]')).to.equal('::1')
    expect(validateHost('fe80::1%en0')).to.equal('fe80::1%en0')
    expect(validatePort(2222)).to.equal(2222)
    expect(validatePort('22')).to.equal(22)
    expect(validatePort(undefined)).to.equal(undefined)
  })

  it('rejects option injection and shell metacharacters in hosts', () => {
    for (const h of ['-oProxyCommand=touch /tmp/x', '-oProxyCommand=id', '-p', 'a b', 'host;id', 'host$(id)', 'host`id`', "ho'st", 'host\nx', '', 'a..b', '-host', 'host-', '[host]', '[::1']) {
      expect(() => validateHost(h), h).to.throw(UsageError, /invalid SSH host/)
    }
  })

  it('rejects bad users and ports with a usage error', () => {
    for (const u of ['-oProxyCommand=x', 'a b', 'a;b', '', '1abc', 'a$b', 'a@b']) expect(() => validateUser(u), u).to.throw(UsageError)
    for (const p of [0, 65_536, 1.5, '22x', '-1']) expect(() => validatePort(p as number), String(p)).to.throw(UsageError)
  })

  it('remote paths: absolute or ~/, no .., control characters or metacharacters', () => {
    expect(validateRemotePath('/opt/homebrew/bin/imsg')).to.equal('/opt/homebrew/bin/imsg')
    expect(validateRemotePath('~/bin/imsg')).to.equal('~/bin/imsg')
    for (const p of ['imsg', 'bin/imsg', '/a/../b', '/a b', '/a;b', '/a$(id)', '/a`id`', '/a\nb', '/a\tb', "/a'b", '~user/x', '/a|b', '/a*b']) {
      expect(() => validateRemotePath(p), JSON.stringify(p)).to.throw(UsageError)
    }
  })

  it('parses remoteHost', () => {
    expect(parseRemoteHost('bot@mac-mini.local')).to.deep.equal({user: 'bot', host: 'mac-mini.local'})
    expect(parseRemoteHost('mac-mini')).to.deep.equal({host: 'mac-mini'})
    expect(() => parseRemoteHost('bot@-oProxyCommand=x')).to.throw(UsageError)
    expect(() => parseRemoteHost(' bot@x')).to.throw(UsageError)
  })

  it('shQuote single-quotes everything', () => {
    expect(shQuote("it's")).to.equal(`'it'\\''s'`)
    expect(shJoin(['rm', '-rf', '--', '/a b'])).to.equal(`'rm' '-rf' '--' '/a b'`)
  })
})
