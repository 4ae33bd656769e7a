import {expect} from 'chai'
import {UsageError} from '../../../src/lib/errors.js'
import {handlesEqual, normalizeHandle} from '../../../src/lib/imsg/handles.js'
import {formatTarget, parseTarget, targetToSendParams} from '../../../src/lib/imsg/targets.js'
import {classifyText, rpcHelpSupported} from '../../../src/lib/imsg/classify.js'

describe('imsg targets', () => {
  it('parses every target form into send params (exactly one target key)', () => {
    expect(targetToSendParams(parseTarget('chat_id:123'))).to.deep.equal({chat_id: 123})
    expect(targetToSendParams(parseTarget('chat_guid:iMessage;+;chat99'))).to.deep.equal({chat_guid: 'iMessage;+;chat99'})
    expect(targetToSendParams(parseTarget('chat_identifier:chat99'))).to.deep.equal({chat_identifier: 'chat99'})
    expect(targetToSendParams(parseTarget('imessage:+1 (555) 123-4567'), {service: 'auto', region: 'us'})).to.deep.equal({
      to: '+15551234567',
      service: 'imessage',
      region: 'US',
    })
    expect(targetToSendParams(parseTarget('sms:5551234567'))).to.deep.equal({to: '+15551234567', service: 'sms'})
    expect(targetToSendParams(parseTarget('555-123-4567'), {service: 'auto'})).to.deep.equal({to: '+15551234567', service: 'auto'})
    expect(targetToSendParams(parseTarget('Friend@Example.COM'))).to.deep.equal({to: 'friend@example.com'})
    expect(targetToSendParams(parseTarget('imessage:Friend@Example.com'))).to.deep.equal({to: 'friend@example.com', service: 'imessage'})
  })

  it('uses the region for national numbers (libphonenumber-js, not hand parsing)', () => {
    expect(parseTarget('020 7946 0958', {region: 'GB'})).to.deep.equal({kind: 'handle', handle: '+442079460958', service: undefined})
    expect(parseTarget('0170 1234567', {region: 'DE'})).to.deep.include({handle: '+491701234567'})
    expect(parseTarget('+33 6 12 34 56 78', {region: 'US'})).to.deep.include({handle: '+33612345678'})
  })

  for (const [input, why] of [
    ['chat_id:abc', 'chat_id must be a positive integer'],
    ['chat_id:0', 'chat_id must be a positive integer'],
    ['chat_id:1.5', 'chat_id must be a positive integer'],
    ['chat_id:', 'chat_id must be a positive integer'],
    ['', 'it is empty'],
    ['   ', 'it is empty'],
    ['chat_guid:', 'chat_guid is empty'],
    ['imessage:', 'the handle after the prefix is empty'],
    ['sms:a@b.com', 'SMS needs a phone number, not an email address'],
    ['whatsapp:+15551234567', 'unknown prefix "whatsapp:"'],
    ['Mom', '"Mom" is neither a phone number (region US) nor an email address'],
  ] as const) {
    it(`rejects ${JSON.stringify(input)} with a usage error`, () => {
      let err: unknown
      try {
        parseTarget(input)
      } catch (error) {
        err = error
      }
      expect(err).to.be.instanceOf(UsageError)
      expect((err as UsageError).message).to.equal(`invalid target "${input}": ${why}`)
      expect((err as UsageError).exitCode).to.equal(2)
      expect((err as UsageError).fix).to.include('chat_id:<number>')
    })
  }

  it('formatTarget round-trips', () => {
    for (const t of ['chat_id:7', 'chat_guid:iMessage;-;+15551234567', 'sms:+15551234567', 'a@b.com', '+15551234567']) {
      expect(formatTarget(parseTarget(t))).to.equal(t)
    }
  })
})

describe('imsg handles', () => {
  it('normalises phone numbers to E.164 and emails to lower case', () => {
    expect(normalizeHandle('(555) 123-4567')).to.equal('+15551234567')
    expect(normalizeHandle('tel:+1-555-123-4567')).to.equal('+15551234567')
    expect(normalizeHandle('07911 123456', 'GB')).to.equal('+447911123456')
    expect(normalizeHandle(' Bob@Example.COM ')).to.equal('bob@example.com')
    expect(normalizeHandle('imessage:bob@example.com')).to.equal('bob@example.com')
    expect(normalizeHandle('')).to.equal('')
  })

  it('compares handles', () => {
    expect(handlesEqual('+15551234567', '555.123.4567')).to.equal(true)
    expect(handlesEqual('bob@example.com', 'BOB@example.com')).to.equal(true)
    expect(handlesEqual('+15551234567', '+15551234568')).to.equal(false)
    expect(handlesEqual('', '')).to.equal(false)
  })
})

describe('imsg classify', () => {
  it('recognises rpc support by help text, not exit code', () => {
    expect(rpcHelpSupported('imsg rpc\nRun JSON-RPC over stdin/stdout\n')).to.equal(true)
    expect(rpcHelpSupported('imsg 0.2.0\nUSAGE: imsg <command>\n  chats\tList chats\n')).to.equal(false)
  })

  it('classifies permission texts per version', () => {
    expect(classifyText('permissionDenied(path: "/x", underlying: authorization denied (code: 23))')).to.equal('full_disk_access')
    expect(classifyText('unable to open database file (code: 14)')).to.equal('full_disk_access')
    expect(classifyText('⚠️  Permission Error: Cannot access Messages database')).to.equal('full_disk_access')
    expect(classifyText('AppleScript failed: 0:50: execution error: Not authorized to send Apple events to Messages. (-1743)')).to.equal('automation')
    expect(classifyText('Unknown command\n\nimsg 0.2.0')).to.equal('rpc_unsupported')
    expect(classifyText('ssh: connect to host mac port 22: Connection refused')).to.equal('ssh')
    expect(classifyText('objc[4242]: Class X is implemented in both')).to.equal('other')
  })
})
