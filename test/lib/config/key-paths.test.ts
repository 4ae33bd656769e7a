import {expect} from 'chai'
import {hasIn, isKnownPath, nearestSetAncestor, suggestKeyPath} from '../../../src/lib/config/key-paths.js'
import {formatPath, toSegments} from '../../../src/lib/config/paths.js'

const suggest = (p: string) => {
  const s = suggestKeyPath(toSegments(p))
  return s && formatPath(s)
}

describe('config key paths (did-you-mean over the schema)', () => {
  it('knows schema paths, map keys and list items, and nothing else', () => {
    expect(isKnownPath(toSegments('channels.imessage.dmPolicy'))).to.equal(true)
    expect(isKnownPath(toSegments('channels.imessage.accounts.bot.dmPolicy'))).to.equal(true)
    expect(isKnownPath(toSegments('channels.imessage.groups["42"].requireMention'))).to.equal(true)
    expect(isKnownPath(toSegments('agents.list[0].id'))).to.equal(true)
    expect(isKnownPath(toSegments('channels.imessage.dmPolcy'))).to.equal(false)
    expect(isKnownPath(toSegments('channels.imessage.dmPolicy.x'))).to.equal(false)
    expect(isKnownPath(toSegments('nope'))).to.equal(false)
  })

  it('repairs the mistyped segment at its level, keeping map keys', () => {
    expect(suggest('channels.imessage.dmPolcy')).to.equal('channels.imessage.dmPolicy')
    expect(suggest('chanels.imessage.dmPolcy')).to.equal('channels.imessage.dmPolicy')
    expect(suggest('channels.imessage.groups["42"].requireMentin')).to.equal('channels.imessage.groups["42"].requireMention')
    expect(suggest('channels.imessage.accounts.bot.dmpolicy')).to.equal('channels.imessage.accounts.bot.dmPolicy')
  })

  it('finds a key typed without (or at the wrong) parent by its last segment', () => {
    expect(suggest('dmPolcy')).to.equal('channels.imessage.dmPolicy')
    expect(suggest('dmPolicy')).to.equal('channels.imessage.dmPolicy')
    expect(suggest('messages.responsePrefx')).to.equal('messages.responsePrefix')
  })

  it('suggests nothing for names that are not close to any key', () => {
    expect(suggest('nope')).to.equal(undefined)
    expect(suggest('channels.imessage.dmPolicy.x')).to.equal(undefined)
    expect(suggest('channels.imessage.dmPolicy')).to.equal(undefined)
  })

  it('nearestSetAncestor: the deepest part of the path that the file sets', () => {
    const data = {channels: {imessage: {cliPath: 'imsg'}}}
    expect(nearestSetAncestor(toSegments('channels.imessage.dmPolicy'), hasIn(data))).to.deep.equal(['channels', 'imessage'])
    expect(nearestSetAncestor(toSegments('session.dmScope'), hasIn(data))).to.deep.equal([])
  })
})
