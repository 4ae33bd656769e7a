import {expect} from 'chai'
import {
  decideInbound,
  describeDecision,
  describePairing,
  historyLimitFor,
  matchesAllowList,
  shellQuote,
  type Decision,
} from '../../../src/lib/access/decide.js'
import {resolveAccount, type ResolvedAccount} from '../../../src/lib/config/accounts.js'
import type {AccountConfig, RemoteclawConfig} from '../../../src/lib/config/schema.js'
import type {Envelope} from '../../../src/lib/core/envelope.js'

const STRANGER = '+15551234567'
const FRIEND = '+15557654321'

function account(fields: AccountConfig = {}, accountId?: string): ResolvedAccount {
  const config: RemoteclawConfig = accountId
    ? {channels: {imessage: {accounts: {[accountId]: fields}}}}
    : {channels: {imessage: fields}}
  return resolveAccount(config, accountId, {home: '/home/x'})
}

function dm(handle = STRANGER, over: Partial<Envelope> = {}): Envelope {
  return {
    accountId: 'default',
    chat: {chatId: 5, guid: `iMessage;-;${handle}`, identifier: handle, name: '', participants: [handle]},
    isGroup: false,
    sender: {handle, raw: handle},
    text: 'hello',
    attachments: [],
    createdAt: 0,
    messageId: 1,
    guid: 'G1',
    isFromMe: false,
    cursor: 1,
    ...over,
  }
}

function group(text: string, handle = STRANGER, chatId = 42): Envelope {
  return dm(handle, {
    isGroup: true,
    text,
    chat: {chatId, guid: `iMessage;+;chat${chatId}`, identifier: `chat${chatId}`, name: 'Team', participants: [STRANGER, FRIEND]},
  })
}

const nobody = {isApproved: () => false}
const approved = (h: string) => ({isApproved: (x: string) => x === h})
const PATTERNS = ['@bot\\b', '^bot[,:]']

function drop(d: Decision): {reason: string; admit: string} {
  if (d.action !== 'drop') throw new Error(`expected drop, got ${JSON.stringify(d)}`)
  return d
}

describe('decideInbound', () => {
  describe('DMs', () => {
    it('pairing (default): unknown sender -> pair; approved or allowFrom -> accept', () => {
      const acc = account()
      expect(acc.dmPolicy).to.equal('pairing')
      expect(decideInbound(dm(), acc, nobody, [])).to.deep.equal({action: 'pair'})
      expect(decideInbound(dm(), acc, approved(STRANGER), [])).to.deep.equal({action: 'accept', sessionKind: 'dm', addressed: true})
      expect(decideInbound(dm(), account({allowFrom: ['(555) 123-4567']}), nobody, [])).to.deep.equal({
        action: 'accept',
        sessionKind: 'dm',
        addressed: true,
      })
    })

    it('pairing: a DM without a sender handle cannot pair and is dropped with the chat_id entry that admits it', () => {
      const d = drop(decideInbound(dm('', {chat: {chatId: 9, guid: '', identifier: '', name: '', participants: []}}), account(), nobody, []))
      expect(d.reason).to.equal('DM from chat 9 (no sender handle) ignored: no sender handle to pair with (dmPolicy pairing)')
      expect(d.admit).to.equal(`remoteclaw config set channels.imessage.allowFrom '["chat_id:9"]'`)
    })

    it('allowlist: only allowFrom; pairing approvals do not count', () => {
      const acc = account({dmPolicy: 'allowlist', allowFrom: [FRIEND]})
      expect(decideInbound(dm(FRIEND), acc, nobody, []).action).to.equal('accept')
      const d = drop(decideInbound(dm(), acc, approved(STRANGER), []))
      expect(d.reason).to.equal(`DM from ${STRANGER} ignored: not in channels.imessage.allowFrom (dmPolicy allowlist)`)
      expect(d.admit).to.equal(`remoteclaw config set channels.imessage.allowFrom '["${FRIEND}","${STRANGER}"]'`)
      expect(describeDecision(d as Decision)).to.equal(`${d.reason}; allow it with: ${d.admit}`)
    })

    it('allowFrom entries: handles in any format, chat_id:, chat_guid:, chat_identifier:, "*"', () => {
      const env = dm(STRANGER)
      const region = 'US'
      expect(matchesAllowList(env, ['imessage:+1 555 123 4567'], region)).to.equal(true)
      expect(matchesAllowList(env, ['chat_id:5'], region)).to.equal(true)
      expect(matchesAllowList(env, ['chat_id:6'], region)).to.equal(false)
      expect(matchesAllowList(env, [`chat_guid:iMessage;-;${STRANGER}`], region)).to.equal(true)
      expect(matchesAllowList(env, [`chat_identifier:${STRANGER}`], region)).to.equal(true)
      expect(matchesAllowList(env, ['*'], region)).to.equal(true)
      expect(matchesAllowList(env, [FRIEND], region)).to.equal(false)
      const mail = dm('bob@example.com')
      expect(matchesAllowList(mail, ['Bob@Example.COM'], region)).to.equal(true)
      // a national number resolves with the account's region
      expect(matchesAllowList(dm('+442071234567'), ['020 7123 4567'], 'GB')).to.equal(true)
      // chat_id:0 never matches a chat imsg did not join
      expect(matchesAllowList(dm(STRANGER, {chat: {chatId: 0, guid: '', identifier: '', name: '', participants: []}}), ['chat_id:0'], region)).to.equal(false)
    })

    it('open: everyone when allowFrom has "*"; without it, says so and how to add it', () => {
      expect(decideInbound(dm(), account({dmPolicy: 'open', allowFrom: ['*']}), nobody, []).action).to.equal('accept')
      const d = drop(decideInbound(dm(), account({dmPolicy: 'open', allowFrom: [FRIEND]}), nobody, []))
      expect(d.reason).to.contain('dmPolicy open needs "*" in channels.imessage.allowFrom')
      expect(d.admit).to.equal(`remoteclaw config set channels.imessage.allowFrom '["${FRIEND}","*"]'`)
    })

    it('disabled: every DM dropped, even from allowFrom', () => {
      const d = drop(decideInbound(dm(FRIEND), account({dmPolicy: 'disabled', allowFrom: [FRIEND, '*']}), approved(FRIEND), []))
      expect(d.reason).to.equal(`DM from ${FRIEND} ignored: DMs are disabled (channels.imessage.dmPolicy disabled)`)
      expect(d.admit).to.equal('remoteclaw config set channels.imessage.dmPolicy pairing')
    })

    it('names account-level keys when the account lives under accounts', () => {
      const d = drop(decideInbound(dm(), account({dmPolicy: 'allowlist'}, 'work'), nobody, []))
      expect(d.reason).to.contain('not in channels.imessage.accounts.work.allowFrom')
      expect(d.admit).to.equal(`remoteclaw config set channels.imessage.accounts.work.allowFrom '["${STRANGER}"]'`)
    })
  })

  describe('groups', () => {
    it('allowlist (default): a chat not in groups is dropped with the exact key to add', () => {
      const d = drop(decideInbound(group('@bot hi'), account(), nobody, PATTERNS))
      expect(describeDecision(d as Decision)).to.equal(
        `group chat 42 ignored: not in channels.imessage.groups (groupPolicy allowlist); allow it with: remoteclaw config set 'channels.imessage.groups["42"]' '{}'`,
      )
    })

    it('allowlist: a listed chat, or "*", admits it', () => {
      expect(decideInbound(group('@bot hi'), account({groups: {'42': {}}}), nobody, PATTERNS)).to.deep.equal({
        action: 'accept',
        sessionKind: 'group',
        addressed: true,
      })
      expect(decideInbound(group('@bot hi'), account({groups: {'*': {}}}), nobody, PATTERNS).action).to.equal('accept')
    })

    it('open: any group', () => {
      expect(decideInbound(group('@bot hi'), account({groupPolicy: 'open'}), nobody, PATTERNS).action).to.equal('accept')
    })

    it('disabled: every group, with the command(s) that re-enable it', () => {
      const d = drop(decideInbound(group('@bot hi'), account({groupPolicy: 'disabled'}), nobody, PATTERNS))
      expect(d.reason).to.equal('group chat 42 ignored: group chats are disabled (channels.imessage.groupPolicy disabled)')
      expect(d.admit).to.equal(
        `remoteclaw config set channels.imessage.groupPolicy allowlist && remoteclaw config set 'channels.imessage.groups["42"]' '{}'`,
      )
      const listed = drop(decideInbound(group('@bot hi'), account({groupPolicy: 'disabled', groups: {'42': {}}}), nobody, PATTERNS))
      expect(listed.admit).to.equal('remoteclaw config set channels.imessage.groupPolicy allowlist')
    })

    it('enabled:false on the group or on "*" drops it, naming that key', () => {
      const own = drop(decideInbound(group('@bot hi'), account({groupPolicy: 'open', groups: {'42': {enabled: false}}}), nobody, PATTERNS))
      expect(own.reason).to.equal('group chat 42 ignored: channels.imessage.groups["42"].enabled is false')
      expect(own.admit).to.equal(`remoteclaw config set 'channels.imessage.groups["42"].enabled' true`)
      const star = drop(decideInbound(group('@bot hi'), account({groups: {'*': {enabled: false}}}), nobody, PATTERNS))
      expect(star.reason).to.equal('group chat 42 ignored: channels.imessage.groups["*"].enabled is false')
      expect(star.admit).to.equal(`remoteclaw config set 'channels.imessage.groups["42"]' '{"enabled":true}'`)
      // the group's own entry wins over "*"
      expect(decideInbound(group('@bot hi'), account({groups: {'*': {enabled: false}, '42': {enabled: true}}}), nobody, PATTERNS).action).to.equal('accept')
    })

    it('requireMention (default true): unaddressed -> history with the way to get answered; mention is case-insensitive', () => {
      const acc = account({groups: {'42': {}}})
      const h = decideInbound(group('lunch anyone?'), acc, nobody, PATTERNS)
      expect(h.action).to.equal('history')
      expect(describeDecision(h)).to.equal(
        `group chat 42: message not addressed to the bot (requireMention; no mention pattern matched), kept as context; to have it answered: mention the bot (patterns: @bot\\b, ^bot[,:]) or answer every message: remoteclaw config set 'channels.imessage.groups["42"].requireMention' false`,
      )
      expect(decideInbound(group('hey @BOT what time'), acc, nobody, PATTERNS).action).to.equal('accept')
      expect(decideInbound(group('Bot: summary please'), acc, nobody, PATTERNS).action).to.equal('accept')
    })

    it('requireMention: groups[id] wins over groups["*"]; false accepts unaddressed messages', () => {
      const acc = account({groups: {'*': {requireMention: false}, '7': {requireMention: true}}})
      expect(decideInbound(group('hi all'), acc, nobody, PATTERNS)).to.deep.equal({action: 'accept', sessionKind: 'group', addressed: false})
      expect(decideInbound(group('hi all', STRANGER, 7), acc, nobody, PATTERNS).action).to.equal('history')
      const star = decideInbound(group('hi', STRANGER, 42), account({groupPolicy: 'open', groups: {'*': {requireMention: true}}}), nobody, PATTERNS)
      if (star.action !== 'history') throw new Error('expected history')
      expect(star.admit).to.contain(`remoteclaw config set 'channels.imessage.groups["42"]' '{"requireMention":false}'`)
    })

    it('requireMention with no mention patterns configured: dropped, saying which keys to set', () => {
      const d = drop(decideInbound(group('@bot hi'), account({groups: {'42': {}}}), nobody, []))
      expect(d.reason).to.contain('requireMention is on but no mention patterns are configured')
      expect(d.reason).to.contain('agents.list[].groupChat.mentionPatterns')
      expect(d.admit).to.contain(`remoteclaw config set messages.groupChat.mentionPatterns '["@bot"]'`)
      expect(d.admit).to.contain(`remoteclaw config set 'channels.imessage.groups["42"].requireMention' false`)
    })

    it('groupAllowFrom gates who triggers the bot; others are still context', () => {
      const acc = account({groups: {'42': {}}, groupAllowFrom: [FRIEND]})
      expect(decideInbound(group('@bot go', FRIEND), acc, nobody, PATTERNS).action).to.equal('accept')
      const d = drop(decideInbound(group('@bot go', STRANGER), acc, nobody, PATTERNS))
      expect(d.reason).to.equal(`group chat 42: message from ${STRANGER} ignored: not in channels.imessage.groupAllowFrom`)
      expect(d.admit).to.equal(`remoteclaw config set channels.imessage.groupAllowFrom '["${FRIEND}","${STRANGER}"]'`)
      expect(decideInbound(group('no mention', STRANGER), acc, nobody, PATTERNS).action).to.equal('history')
      // a chat_id entry admits everyone in that chat
      expect(decideInbound(group('@bot go', STRANGER), account({groups: {'42': {}}, groupAllowFrom: ['chat_id:42']}), nobody, PATTERNS).action).to.equal('accept')
    })

    it('groupAllowFrom unset falls back to allowFrom, and the message says so', () => {
      const acc = account({groups: {'42': {}}, allowFrom: [FRIEND]})
      const d = drop(decideInbound(group('@bot go', STRANGER), acc, nobody, PATTERNS))
      expect(d.reason).to.equal(
        `group chat 42: message from ${STRANGER} ignored: not in channels.imessage.allowFrom (groupAllowFrom unset, so allowFrom applies)`,
      )
      expect(d.admit).to.equal(`remoteclaw config set channels.imessage.groupAllowFrom '["${FRIEND}","${STRANGER}"]'`)
    })

    it('empty groupAllowFrom (and empty allowFrom): any participant of an admitted group; pairing approvals are not needed', () => {
      expect(decideInbound(group('@bot go', STRANGER), account({groups: {'42': {}}}), nobody, PATTERNS).action).to.equal('accept')
      expect(decideInbound(group('@bot go', STRANGER), account({groups: {'42': {}}, groupAllowFrom: []}), nobody, PATTERNS).action).to.equal('accept')
    })

    it('invalid regex patterns match literally instead of throwing', () => {
      expect(decideInbound(group('hey (bot'), account({groups: {'42': {}}}), nobody, ['(bot']).action).to.equal('accept')
    })

    it('historyLimit: groups[id], then groups["*"], then the account', () => {
      expect(historyLimitFor(account(), 42)).to.equal(20)
      expect(historyLimitFor(account({historyLimit: 5, groups: {'*': {historyLimit: 3}}}), 42)).to.equal(3)
      expect(historyLimitFor(account({historyLimit: 5, groups: {'*': {historyLimit: 3}, '42': {historyLimit: 0}}}), 42)).to.equal(0)
    })
  })

  describe('multi-account key names', () => {
    const cfg: RemoteclawConfig = {
      channels: {
        imessage: {
          dmPolicy: 'allowlist',
          allowFrom: [FRIEND],
          groups: {'7': {}},
          accounts: {work: {}, own: {allowFrom: [], groups: {}, groupAllowFrom: [FRIEND]}},
        },
      },
    }
    const acc = (id: string) => resolveAccount(cfg, id, {home: '/h'})

    it('an inherited list or map is extended where it lives (the channel), not hidden by an account-level copy', () => {
      const d = drop(decideInbound(dm(), acc('work'), nobody, []))
      expect(d.reason).to.contain('not in channels.imessage.allowFrom (dmPolicy allowlist)')
      expect(d.admit).to.equal(`remoteclaw config set channels.imessage.allowFrom '["${FRIEND}","${STRANGER}"]'`)
      const g = drop(decideInbound(group('@bot x', FRIEND), acc('work'), nobody, PATTERNS))
      expect(g.admit).to.equal(`remoteclaw config set 'channels.imessage.groups["42"]' '{}'`)
    })

    it('the account\'s own list or map is named at the account level; scalars always are', () => {
      const d = drop(decideInbound(dm(), acc('own'), nobody, []))
      expect(d.admit).to.equal(`remoteclaw config set channels.imessage.accounts.own.allowFrom '["${STRANGER}"]'`)
      const g = drop(decideInbound(group('@bot x', FRIEND), acc('own'), nobody, PATTERNS))
      expect(g.admit).to.equal(`remoteclaw config set 'channels.imessage.accounts.own.groups["42"]' '{}'`)
      const off = drop(decideInbound(dm(), resolveAccount({channels: {imessage: {accounts: {w: {dmPolicy: 'disabled'}}}}}, 'w', {home: '/h'}), nobody, []))
      expect(off.admit).to.equal('remoteclaw config set channels.imessage.accounts.w.dmPolicy pairing')
    })
  })

  describe('log lines', () => {
    it('pairing outcomes name the approve command (with --account for named accounts)', () => {
      const acc = account({}, 'work')
      expect(describePairing(dm(), acc, {status: 'created', code: 'ABCDEFGH'})).to.equal(
        `DM from ${STRANGER} held for pairing (code sent); allow it with: remoteclaw pairing approve imessage ABCDEFGH --account work`,
      )
      expect(describePairing(dm(), account({pairingReply: 'silent'}), {status: 'created', code: 'ABCDEFGH'})).to.contain('code not sent (pairingReply silent)')
      expect(describePairing(dm(), account(), {status: 'pending', code: 'ABCDEFGH'})).to.contain('code already sent, not sent again')
      expect(describePairing(dm(), account(), {status: 'capped', pending: 3})).to.equal(
        `DM from ${STRANGER} ignored: 3 pairing requests already pending for account default (max 3; codes expire after 1 hour); allow it with: remoteclaw pairing approve imessage ${STRANGER}`,
      )
    })

    it('shell-quotes values that need it', () => {
      expect(shellQuote('channels.imessage.dmPolicy')).to.equal('channels.imessage.dmPolicy')
      expect(shellQuote(`["o'neil@example.com"]`)).to.equal(`'["o'\\''neil@example.com"]'`)
    })
  })
})
