import {randomBytes} from 'node:crypto'
import {createLogger, type LogRecord} from '../../../src/lib/log.js'
import type {ImsgMessage} from '../../../src/lib/imsg/types.js'
import {ToolDispatcher} from '../../../src/lib/tools/dispatch.js'
import {ToolEndpoint} from '../../../src/lib/tools/endpoint.js'
import type {ResolvedScheduleConfig} from '../../../src/lib/tools/schedule-runner.js'
import {ScheduleStore} from '../../../src/lib/tools/schedule-store.js'
import {resolveToolsConfig} from '../../../src/lib/tools/config.js'
import {ToolRefusal, type HostSendRequest, type HostSendResult, type ToolHost, type TurnScope} from '../../../src/lib/tools/types.js'

/** A ToolHost over in-memory chats: what the gateway would do, minus imsg. */
export class FakeHost implements ToolHost {
  sends: HostSendRequest[] = []
  reactions: Array<{messageGuid: string; reaction: string; chatId: number}> = []
  canReact = true
  sendResult: () => Promise<HostSendResult> = async () => ({status: 'sent'})
  reconcile: 'sent' | 'not-sent' | 'unknown' | undefined
  /** chat_id -> messages, newest first like imsg. */
  chats = new Map<number, ImsgMessage[]>()

  async send(req: HostSendRequest): Promise<HostSendResult> {
    this.sends.push(req)
    return this.sendResult()
  }

  async react(req: {chat: {chatId: number}; messageGuid: string; reaction: string}): Promise<void> {
    if (!this.canReact) {
      throw new ToolRefusal('no_capability', 'tapbacks need the IMCore bridge on the Mac, which is not running (imsg launch); the account cannot react')
    }
    this.reactions.push({messageGuid: req.messageGuid, reaction: req.reaction, chatId: req.chat.chatId})
  }

  async history(req: {chat: {chatId: number}; limit: number; before?: Date}): Promise<ImsgMessage[]> {
    const all = this.chats.get(req.chat.chatId) ?? []
    return all.filter((m) => !req.before || Date.parse(m.created_at) < req.before.getTime()).slice(0, req.limit)
  }

  get reconcileScheduled(): ToolHost['reconcileScheduled'] {
    const v = this.reconcile
    return v === undefined ? undefined : async () => v
  }
}

export function message(chatId: number, n: number, over: Partial<ImsgMessage> = {}): ImsgMessage {
  return {
    id: chatId * 1000 + n,
    chat_id: chatId,
    guid: `G-${chatId}-${n}`,
    sender: `+1555000${String(chatId).padStart(4, '0')}`,
    is_from_me: false,
    text: `chat ${chatId} message ${n}`,
    created_at: new Date(Date.UTC(2026, 11, 1, 10, n)).toISOString(),
    attachments: [],
    reactions: [],
    ...over,
  }
}

export function scope(over: Partial<TurnScope> = {}): TurnScope {
  return {
    accountId: 'default',
    sessionKey: 'agent:main:main',
    agentId: 'main',
    chat: {target: 'chat_id:1', chatId: 1, isGroup: false, label: 'DM from +15550000001'},
    triggerGuid: 'G-1-3',
    tools: resolveToolsConfig(undefined),
    region: 'US',
    ...over,
  }
}

export interface Rig {
  host: FakeHost
  store: ScheduleStore
  endpoint: ToolEndpoint
  dispatcher: ToolDispatcher
  records: LogRecord[]
  clock: {now: number}
  scheduleConfig: ResolvedScheduleConfig
  kicks: number
}

export async function startRig(stateDir: string): Promise<Rig> {
  const records: LogRecord[] = []
  const log = createLogger({level: 'debug', write: () => {}, onRecord: (r) => records.push(r)})
  const clock = {now: Date.UTC(2026, 11, 5, 12, 0)}
  const host = new FakeHost()
  const store = new ScheduleStore(stateDir, () => clock.now)
  const rig = {host, store, records, clock, kicks: 0, scheduleConfig: {missed: 'send', missedGraceMinutes: 10, maxPendingPerChat: 3}} as Rig
  rig.dispatcher = new ToolDispatcher({
    host,
    store,
    log,
    now: () => clock.now,
    random: (n) => randomBytes(n),
    scheduleConfig: () => rig.scheduleConfig,
    onSchedulesChanged: () => rig.kicks++,
    sendWaitMs: 2000,
  })
  rig.endpoint = new ToolEndpoint({stateDir, dispatcher: rig.dispatcher, log, random: (n) => randomBytes(n)})
  await rig.endpoint.start()
  return rig
}
