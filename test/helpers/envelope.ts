import type {Envelope} from '../../src/lib/core/envelope.js'

/** A DM envelope from +15551230001 in chat 7, for tests that need one; override what matters. */
export function dmEnvelope(over: Partial<Envelope> = {}): Envelope {
  return {
    accountId: 'default',
    chat: {chatId: 7, guid: 'iMessage;-;+15551230001', identifier: '+15551230001', name: '', participants: ['+15551230001']},
    isGroup: false,
    sender: {handle: '+15551230001', raw: '+15551230001'},
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
