import {expect} from 'chai'
import {resolveAccounts} from '../../../src/lib/config/accounts.js'
import {configSchema} from '../../../src/lib/config/schema.js'
import {formatIssue, validateConfig} from '../../../src/lib/config/validate.js'
import {warningLine} from '../../../src/lib/config/warnings.js'
import {findFootguns} from '../../../src/lib/permissions/policy.js'

/** `config validate` (and the gateway, which logs validateConfig's warnings) and `channels doctor` say a warning in the same words. */
describe('config warnings: one wording', () => {
  const both = (channel: Record<string, unknown>) => {
    const data = {channels: {imessage: channel}}
    const validated = validateConfig(data, {file: 'c.json5', text: JSON.stringify(data), home: '/home/u'}).warnings
    const account = resolveAccounts(configSchema.parse(data), {home: '/home/u'}).accounts[0]!
    return {validated, footguns: findFootguns(account, 'wrapper')}
  }

  it('dmPolicy "open": the doctor footgun is the validate warning, with the same fix', () => {
    const {validated, footguns} = both({dmPolicy: 'open', allowFrom: ['*'], groupPolicy: 'disabled'})
    expect(validated).to.have.length(1)
    expect(footguns.map((f) => f.id)).to.deep.equal(['dm_open'])
    expect(formatIssue(validated[0]!)).to.equal(`${validated[0]!.where}: ${footguns[0]!.message}`)
    expect(footguns[0]!.message).to.equal('channels.imessage.dmPolicy: "open": anyone who knows this number or Apple ID can talk to your agent')
    expect(footguns[0]!.fix).to.equal(validated[0]!.fix)
  })

  it('groupPolicy "allowlist" without groups: the doctor footgun is the validate warning, with the same fix', () => {
    const {validated, footguns} = both({groupPolicy: 'allowlist'})
    expect(validated).to.have.length(1)
    expect(footguns.map((f) => f.id)).to.deep.equal(['groups_allowlist_empty'])
    expect(formatIssue(validated[0]!)).to.equal(`${validated[0]!.where}: ${footguns[0]!.message}`)
    expect(footguns[0]!.fix).to.equal(validated[0]!.fix)
    expect(warningLine({key: 'k', message: 'm', fix: 'f'})).to.equal('k: m')
  })

  it('an account override that hides the channel list is said by validation only, not again by resolveAccounts', () => {
    const data = {channels: {imessage: {groupPolicy: 'disabled', allowFrom: ['+15550000001'], accounts: {bot: {allowFrom: ['+15550000002']}}}}}
    const validated = validateConfig(data, {file: 'c.json5', text: JSON.stringify(data), home: '/home/u'}).warnings
    expect(validated.map((w) => w.message)).to.deep.equal(['replaces channels.imessage.allowFrom for account "bot" (maps and lists are not merged)'])
    expect(resolveAccounts(configSchema.parse(data), {home: '/home/u'}).warnings).to.deep.equal([])
  })
})
