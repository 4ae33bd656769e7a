import {expect} from 'chai'
import {
  AccountCapabilities, BRIDGE_FIX, capabilitiesFromCliStatus, capabilitiesFromStatus, detectCapabilities, requireCapability, shouldRedetect,
} from '../../../src/lib/imsg/capabilities.js'
import {ImsgError, ImsgMethodNotFoundError, ImsgTimeoutError} from '../../../src/lib/imsg/errors.js'
import type {ImsgStatus} from '../../../src/lib/imsg/types.js'
import {parseReaction} from '../../../src/lib/util/tapback.js'

const usable = (set: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(set).filter(([k]) => k !== 'source').map(([k, v]) => [k, (v as {usable: boolean}).usable]))

const READY: ImsgStatus = {
  version: '0.15.10',
  bridge: {ready: true, v2_ready: true, registry_available: true,
    selectors: {typing: true, read: true, sendReaction: true, emojiTapbackSend: true, sendMessage: true, clientMessageGuidReservation: true}},
  methods: ['send', 'typing', 'read', 'tapback', 'send.rich', 'send.tracked', 'message.send_status'],
  capabilities: {features: {'tapback.emoji': 2}},
}

describe('imsg capabilities (addendum §6)', () => {
  it('a ready bridge with every selector: everything usable', () => {
    expect(usable(capabilitiesFromStatus(READY))).to.deep.equal(
      {typing: true, read: true, tapback: true, emojiTapback: true, threadedReply: true, trackedSend: true})
  })

  it('typing and read in `methods` prove nothing: without the bridge they are not usable, with the bridge fix', () => {
    const set = capabilitiesFromStatus({version: '0.15.10', bridge: {ready: false, error: 'The bridge is not started.'},
      methods: ['send', 'typing', 'read'], capabilities: {features: {}}})
    expect(usable(set)).to.deep.equal({typing: false, read: false, tapback: false, emojiTapback: false, threadedReply: false, trackedSend: false})
    expect(set.typing).to.deep.equal({usable: false, reason: 'the IMCore bridge is not running', fix: BRIDGE_FIX})
    expect(BRIDGE_FIX).to.match(/imsg launch/).and.match(/SIP|System Integrity Protection/).and.match(/everything else/)
  })

  it('emoji tapbacks need tapback.emoji >= 2; a helper without a selector says so; tracked sends need both methods', () => {
    const set = capabilitiesFromStatus({...READY, bridge: {...READY.bridge, selectors: {...READY.bridge!.selectors, typing: false}},
      methods: ['send', 'typing', 'read', 'tapback', 'send.rich', 'send.tracked'], capabilities: {features: {'tapback.emoji': 1}}})
    expect(usable(set)).to.deep.equal({typing: false, read: true, tapback: true, emojiTapback: false, threadedReply: true, trackedSend: false})
    expect(set.typing.reason).to.match(/selector typing/)
    expect(set.emojiTapback.reason).to.match(/classic kinds still work/)
  })

  it('older imsg: from `imsg status --json` (advanced_features, rpc_methods, version)', () => {
    const on = capabilitiesFromCliStatus({version: '0.13.0', advanced_features: true, rpc_methods: ['send', 'typing', 'read', 'tapback', 'send.rich']})
    expect(usable(on)).to.deep.equal({typing: true, read: true, tapback: true, emojiTapback: false, threadedReply: true, trackedSend: false})
    expect(on.source).to.equal('cli-status')
    const off = capabilitiesFromCliStatus({version: '0.9.0', advanced_features: false, sip: 'enabled', rpc_methods: ['send', 'typing', 'read', 'tapback']})
    expect(usable(off)).to.deep.equal({typing: false, read: false, tapback: false, emojiTapback: false, threadedReply: false, trackedSend: false})
    expect(off.threadedReply.reason).to.match(/0\.12/)
  })

  it('detect: RPC status, else (-32601) the CLI status, else nothing usable with a reason', async () => {
    expect((await detectCapabilities({status: async () => READY})).source).to.equal('status')
    const notFound = new ImsgMethodNotFoundError('x', {code: 'imsg_method_not_found', rpcCode: -32601})
    const cli = await detectCapabilities({status: async () => Promise.reject(notFound), cliStatus: async () => ({version: '0.9.0', advanced_features: true, rpc_methods: ['typing']})})
    expect(cli.source).to.equal('cli-status')
    expect(cli.typing.usable).to.equal(true)
    const none = await detectCapabilities({status: async () => Promise.reject(new ImsgTimeoutError('slow', {code: 'imsg_timeout'}))})
    expect(none.source).to.equal('none')
    expect(none.typing.reason).to.match(/did not report/)
  })

  it('redetect after -32003 or a not_started that mentions the bridge, not after other errors', () => {
    const e = (rpcCode: number, data?: unknown) => new ImsgError('x', {code: 'c', rpcCode, data})
    expect(shouldRedetect(e(-32003))).to.equal(true)
    expect(shouldRedetect(e(-32603, {disposition: 'not_started', detail: 'The bridge ready lock is absent. Run imsg launch explicitly before retrying.'}))).to.equal(true)
    expect(shouldRedetect(e(-32603, {disposition: 'not_started', detail: 'attempt_id already identifies a message; choose a new UUID'}))).to.equal(false)
    expect(shouldRedetect(e(-32001, {disposition: 'may_have_completed', detail: 'bridge timeout'}))).to.equal(false)
    expect(shouldRedetect(new Error('bridge'))).to.equal(false)
  })

  it('one set per account: trackedSend is an injectable () => boolean; requireCapability refuses with exit 5', () => {
    const caps = new AccountCapabilities()
    const tracked = caps.trackedSend
    expect(tracked()).to.equal(false)
    caps.update(capabilitiesFromStatus(READY))
    expect(tracked()).to.equal(true)
    caps.markUnusable('typing', 'typing timed out')
    expect(caps.usable('typing')).to.equal(false)
    try {
      requireCapability(caps.current, 'typing')
      expect.fail('should throw')
    } catch (error) {
      expect(error).to.include({code: 'capability_unavailable', exitCode: 5})
    }
  })

  it('parseReaction: kinds, aliases, classic emoji as kinds, custom emoji, and nonsense', () => {
    expect(parseReaction('like')).to.deep.equal({kind: 'like'})
    expect(parseReaction('HEART')).to.deep.equal({kind: 'love'})
    expect(parseReaction('👍')).to.deep.equal({kind: 'like'})
    expect(parseReaction('emphasis')).to.deep.equal({kind: 'emphasize'})
    expect(parseReaction('🎉')).to.deep.equal({emoji: '🎉'})
    expect(parseReaction('👍🏽')).to.deep.equal({emoji: '👍🏽'})
    expect(parseReaction('🇫🇷')).to.deep.equal({emoji: '🇫🇷'})
    expect(parseReaction('wave')).to.equal(undefined)
    expect(parseReaction('🎉🎉')).to.equal(undefined)
    expect(parseReaction('')).to.equal(undefined)
  })
})
