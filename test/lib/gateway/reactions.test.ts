import {expect} from 'chai'
import {parseAgentReact, presenceLines, reactionLine} from '../../../src/lib/agents/presence-context.js'
import {presetPrompt} from '../../../src/lib/agents/presets/index.js'
import type {AgentInput} from '../../../src/lib/agents/types.js'
import type {Envelope} from '../../../src/lib/core/envelope.js'
import {MessageMemory, ReactionInbox} from '../../../src/lib/gateway/reactions.js'

function reactionEnv(sender: string, emoji: string, target: string, added = true): Envelope {
  return {accountId: 'default', chat: {chatId: 1, guid: 'iMessage;-;x', identifier: 'x', name: 'x', participants: []}, isGroup: false,
    sender: {handle: sender, raw: sender, displayName: 'Ana'}, text: '', attachments: [], createdAt: Date.UTC(2026, 0, 1), messageId: 9,
    guid: 'R', isFromMe: false, cursor: 9, reaction: {type: 'custom', emoji, added, targetGuid: target}}
}

describe('reactions as context (ReactionInbox, prompt lines, agent react)', () => {
  it('"own" keeps reactions to the bot\'s messages only; "all" keeps every one; "off" none; a removal cancels a pending add', () => {
    const mem = new MessageMemory()
    mem.remember('BOT', 'see you at noon', true)
    mem.remember('THEIRS', 'lunch?', false)
    const inbox = new ReactionInbox()
    expect(inbox.add('c', reactionEnv('+1', '👍', 'BOT'), 'own', mem).note).to.include({toBot: true, messageText: 'see you at noon', emoji: '👍'})
    expect(inbox.add('c', reactionEnv('+1', '😂', 'THEIRS'), 'own', mem).skipped).to.match(/not a reaction to the bot/)
    expect(inbox.add('c', reactionEnv('+1', '😂', 'THEIRS'), 'off', mem).skipped).to.match(/off/)
    expect(inbox.add('c', reactionEnv('+1', '❤️', 'BOT'), 'all', mem).note).to.not.equal(undefined)
    expect(inbox.add('c', reactionEnv('+1', '❤️', 'BOT', false), 'all', mem).skipped).to.match(/takes back/)
    const notes = inbox.take('c')
    expect(notes.map((n) => n.emoji)).to.deep.equal(['👍'])
    expect(inbox.take('c')).to.deep.equal([])
    // a removal of a reaction the agent already saw is passed on
    expect(inbox.add('c', reactionEnv('+1', '👍', 'BOT', false), 'own', mem).note).to.include({added: false})
  })

  it('prompt lines: reactions, then the quoted reply context, before the message', () => {
    const note = {sender: '+15551234567', senderName: 'Ana', emoji: '👍', type: 'like', added: true, messageGuid: 'G', messageText: 'see you at noon', toBot: true, at: ''}
    expect(reactionLine(note)).to.equal('Ana reacted 👍 to your message "see you at noon"')
    expect(reactionLine({...note, added: false, senderName: undefined})).to.equal('+15551234567 removed their 👍 reaction from your message "see you at noon"')
    const input = {sessionKey: 's', channel: 'imessage', accountId: 'a', chat: {id: 1, guid: '', identifier: '', name: '', isGroup: false, participants: [], target: 'chat_id:1'},
      sender: {handle: '+1'}, text: 'and another thing', history: [], attachments: [], reactions: [note],
      replyTo: {guid: 'G', text: 'see you at noon', sender: 'me'}} as AgentInput
    expect(presenceLines(input)).to.deep.equal(['Ana reacted 👍 to your message "see you at noon"', '(replying to me: "see you at noon")'])
    expect(presetPrompt(input)).to.equal('Ana reacted 👍 to your message "see you at noon"\n(replying to me: "see you at noon")\nand another thing')
    expect(presetPrompt({...input, reactions: undefined, replyTo: undefined})).to.equal('and another thing')
  })

  it('parseAgentReact: kind or emoji, optional messageGuid; anything else is a clear error', () => {
    expect(parseAgentReact({kind: 'like'})).to.deep.equal({kind: 'like'})
    expect(parseAgentReact({emoji: '🎉', messageGuid: 'G'})).to.deep.equal({emoji: '🎉', messageGuid: 'G'})
    expect(parseAgentReact(undefined)).to.equal(undefined)
    expect(parseAgentReact('like')).to.match(/must be an object/)
    expect(parseAgentReact({kind: 'wave'})).to.match(/needs "kind"/)
  })
})
