// Protocol era and feature gates of the emulated imsg version (IMSG_SIM_VERSION).

export type Version = readonly [number, number, number]

export const DEFAULT_VERSION = '0.9.0'

export function parseVersion(text: string): Version {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text.trim())
  if (!m) return [0, 9, 0]
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)]
}

/** a >= b */
export function atLeast(v: Version, b: string): boolean {
  const w = parseVersion(b)
  for (let i = 0; i < 3; i++) {
    if (v[i]! !== w[i]!) return v[i]! > w[i]!
  }
  return true
}

export interface Emulation {
  /** what `--version` prints */
  display: string
  v: Version
  /** 0.14+ "protocol v1" */
  strict: boolean
  /** `imsg rpc` exists (0.3.0+ and not IMSG_SIM_NO_RPC) */
  hasRpc: boolean
}

export function emulation(env: NodeJS.ProcessEnv): Emulation {
  const text = env.IMSG_SIM_VERSION?.trim() || DEFAULT_VERSION
  const v = parseVersion(text)
  return {
    display: env.IMSG_VERSION?.trim() || text,
    v,
    strict: atLeast(v, '0.14.0'),
    hasRpc: atLeast(v, '0.3.0') && !truthy(env.IMSG_SIM_NO_RPC),
  }
}

export function truthy(s: string | undefined): boolean {
  return s !== undefined && s !== '' && s !== '0' && s.toLowerCase() !== 'false'
}

/** The RPC methods compiled into the emulated version (§4.0). */
export function compiledMethods(v: Version): string[] {
  const m = ['chats.list', 'messages.history', 'watch.subscribe', 'watch.unsubscribe', 'send']
  if (atLeast(v, '0.5.0') && !atLeast(v, '0.6.0')) m.push('typing.start', 'typing.stop')
  if (atLeast(v, '0.7.3')) {
    m.push('typing', 'read', 'chats.create', 'chats.delete', 'chats.markUnread', 'group.rename', 'group.setIcon',
      'group.addParticipant', 'group.removeParticipant', 'group.leave')
  }
  if (atLeast(v, '0.9.0')) {
    m.push('send.rich', 'send.attachment', 'tapback', 'message.edit', 'message.unsend', 'message.delete',
      'message.notifyAnyways')
  }
  if (atLeast(v, '0.10.0')) m.push('handles.check', 'message.send_status', 'poll.send', 'messages.poll.send')
  if (atLeast(v, '0.12.0')) m.push('poll.vote', 'messages.poll.vote')
  if (atLeast(v, '0.13.0')) {
    m.push('messages.stats', 'messages.scheduled', 'send.sticker', 'poll.unvote', 'polls.unvote',
      'messages.poll.unvote', 'contacts.shouldShareContact', 'contacts.shareContactCard')
  }
  if (atLeast(v, '0.14.0')) {
    m.push('initialize', 'status', 'messages.search', 'messages.after', 'send.multipart', 'bridge.events.subscribe')
  }
  if (atLeast(v, '0.15.0')) m.push('send.tracked')
  return m
}

/** Methods the simulator really serves; the rest of compiledMethods answer as "bridge not started". */
export const SERVED_METHODS = new Set([
  'chats.list', 'messages.history', 'watch.subscribe', 'watch.unsubscribe', 'send', 'initialize', 'status',
  'messages.after',
])
/** Methods that need chat.db (-32002 in strict degraded mode). */
export const DB_METHODS = new Set(['chats.list', 'messages.history', 'watch.subscribe', 'messages.after'])
