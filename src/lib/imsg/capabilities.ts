// What this imsg can do beyond plain send/receive: typing, read receipts, tapbacks (and emoji
// tapbacks), threaded replies, tracked sends. Detected at each child start, never assumed
// (addendum §6): 0.14+ from RPC `status`; older from `imsg status --json` or not at all.
import {ExitCode, RemoteclawError} from '../errors.js'
import {compareVersions} from './classify.js'
import {ImsgError} from './errors.js'
import type {ImsgStatus} from './types.js'

export const CAPABILITY_NAMES = ['typing', 'read', 'tapback', 'emojiTapback', 'threadedReply', 'trackedSend'] as const
export type CapabilityName = (typeof CAPABILITY_NAMES)[number]

export interface Capability {
  usable: boolean
  /** Why not, one sentence (absent when usable). */
  reason?: string
  /** What would make it usable (absent when usable or when nothing can). */
  fix?: string
}

export type CapabilitySet = Record<CapabilityName, Capability> & {
  /** Where the answer came from: RPC status (0.14+), `imsg status --json` (older), or nothing. */
  source: 'status' | 'cli-status' | 'none'
}

/** What each capability is, for status output. */
export const CAPABILITY_LABELS: Record<CapabilityName, string> = {
  typing: 'typing indicators',
  read: 'read receipts',
  tapback: 'tapbacks',
  emojiTapback: 'emoji tapbacks',
  threadedReply: 'threaded replies',
  trackedSend: 'tracked sends',
}

/** The fix for the most common case: the IMCore bridge is not running. Says what it costs. */
export const BRIDGE_FIX =
  'On the Mac, disable System Integrity Protection (Recovery → `csrutil disable`), then run `imsg launch` (again after each reboot or Messages update). This injects imsg\'s helper into Messages.app and weakens macOS security; everything else (receiving, replies, attachments) works without it.'
const HELPER_FIX = 'Update imsg (brew upgrade steipete/tap/imsg), then run `imsg launch` again so the helper matches.'
const UPGRADE_FIX = 'Update imsg (brew upgrade steipete/tap/imsg); 0.15 or newer reports its capabilities.'

const ok: Capability = {usable: true}
const no = (reason: string, fix?: string): Capability => (fix ? {usable: false, reason, fix} : {usable: false, reason})

/** Every capability unusable for one reason (e.g. imsg did not answer). */
export function noCapabilities(reason: string, fix?: string): CapabilitySet {
  const c = no(reason, fix)
  return {source: 'none', typing: c, read: c, tapback: c, emojiTapback: c, threadedReply: c, trackedSend: c}
}

/** imsg's own bridge.error text is long and the same for every capability: the reason stays short. */
function bridgeDown(): Capability {
  return no('the IMCore bridge is not running', BRIDGE_FIX)
}

/** From 0.14+ `status`/`initialize` (addendum §6, "Runtime decision"). */
export function capabilitiesFromStatus(s: ImsgStatus): CapabilitySet {
  const methods = new Set(s.methods ?? [])
  const bridge = s.bridge ?? {}
  const ready = bridge.ready === true
  const selectors = bridge.selectors ?? {}
  const features = (s.capabilities?.features ?? {}) as Record<string, unknown>
  const emojiLevel = typeof features['tapback.emoji'] === 'number' ? (features['tapback.emoji'] as number) : 0
  const down = bridgeDown()
  // typing and read are listed in `methods` on every Mac, so only the bridge and its selectors count
  const selector = (name: string, what: string): Capability =>
    !ready ? down : selectors[name] === true ? ok : no(`the running bridge helper does not offer ${what} (selector ${name})`, HELPER_FIX)
  const tapback = methods.has('tapback') ? ok : ready ? no('the running bridge helper does not offer tapbacks (selector sendReaction)', HELPER_FIX) : down
  return {
    source: 'status',
    typing: selector('typing', 'typing indicators'),
    read: selector('read', 'read receipts'),
    tapback,
    emojiTapback: !tapback.usable
      ? tapback
      : emojiLevel >= 2
        ? ok
        : no('this imsg helper or macOS cannot send emoji tapbacks (tapback.emoji < 2); the six classic kinds still work', HELPER_FIX),
    threadedReply: !ready ? down : methods.has('send.rich') ? ok : no('the running bridge helper cannot send messages (send.rich is not usable)', HELPER_FIX),
    trackedSend:
      methods.has('send.tracked') && methods.has('message.send_status')
        ? ok
        : no(
            'this imsg does not offer send.tracked and message.send_status (needs imsg 0.15+ and a bridge helper that reserves message GUIDs); unknown send outcomes are settled by reading the chat back instead',
            ready ? HELPER_FIX : BRIDGE_FIX,
          ),
  }
}

/** From `imsg status --json` of a pre-0.14 imsg (rpc_methods 0.7.3+, version 0.9.0+). */
export function capabilitiesFromCliStatus(json: unknown): CapabilitySet {
  if (!json || typeof json !== 'object') return noCapabilities('`imsg status --json` printed no JSON', UPGRADE_FIX)
  const o = json as Record<string, unknown>
  const methods = new Set(Array.isArray(o.rpc_methods) ? o.rpc_methods.filter((m): m is string => typeof m === 'string') : [])
  const advanced = o.advanced_features === true
  const selectors = o.selectors && typeof o.selectors === 'object' ? (o.selectors as Record<string, unknown>) : undefined
  const version = typeof o.version === 'string' ? o.version : undefined
  const down = bridgeDown()
  const has = (m: string, selector?: string): Capability => {
    if (!methods.has(m)) return no(`this imsg${version ? ` ${version}` : ''} has no \`${m}\` method`, UPGRADE_FIX)
    if (!advanced) return down
    if (selector && selectors && selectors[selector] === false) return no(`the running bridge helper does not offer ${m} (selector ${selector})`, HELPER_FIX)
    return ok
  }
  const tapback = has('tapback', 'sendReaction')
  // reply_to on send arrived in 0.12; without a version we cannot tell, so it stays off
  const threadedReply = !version || compareVersions(version, '0.12.0') < 0
    ? no(`threaded replies need imsg 0.12 or newer${version ? ` (this is ${version})` : ''}`, UPGRADE_FIX)
    : has('send.rich', 'sendMessage')
  return {
    source: 'cli-status',
    typing: has('typing', 'typing'),
    read: has('read', 'read'),
    tapback,
    emojiTapback: tapback.usable ? no('emoji tapbacks need imsg 0.15 or newer', UPGRADE_FIX) : tapback,
    threadedReply,
    trackedSend: no('tracked sends need imsg 0.15 or newer; unknown send outcomes are settled by reading the chat back instead', UPGRADE_FIX),
  }
}

/**
 * True when an error means the bridge state may have changed, so capabilities should be detected
 * again: -32003, or a `not_started` whose detail mentions the bridge (addendum §6, §8.1).
 */
export function shouldRedetect(error: unknown): boolean {
  if (!(error instanceof ImsgError)) return false
  if (error.rpcCode === -32003) return true
  const d = error.data && typeof error.data === 'object' ? (error.data as Record<string, unknown>) : undefined
  if (d?.disposition !== 'not_started') return false
  return /bridge|imsg launch|ready lock|SIP|System Integrity/i.test(typeof d.detail === 'string' ? d.detail : '')
}

export interface DetectDeps {
  /** RPC `status` of the running child (0.14+); rejects with -32601 on older imsg. */
  status: () => Promise<ImsgStatus>
  /** `<cliPath> status --json` parsed, or undefined when it failed or timed out. */
  cliStatus?: () => Promise<unknown>
}

/** Detects this imsg's capabilities: RPC status first, then `imsg status --json`, else none. */
export async function detectCapabilities(deps: DetectDeps): Promise<CapabilitySet> {
  try {
    return capabilitiesFromStatus(await deps.status())
  } catch (error) {
    if (!(error instanceof ImsgError) || error.rpcCode !== -32601) {
      return noCapabilities(`imsg did not report its capabilities (${error instanceof Error ? error.message : String(error)})`, 'Check `remoteclaw channels status --probe`.')
    }
  }
  if (!deps.cliStatus) return noCapabilities('this imsg predates RPC `status` (0.14)', UPGRADE_FIX)
  const json = await deps.cliStatus().catch(() => undefined)
  return json === undefined ? noCapabilities('`imsg status --json` failed and this imsg predates RPC `status` (0.14)', UPGRADE_FIX) : capabilitiesFromCliStatus(json)
}

/**
 * One capability set per account: replaced at each child start and after a redetect; a feature
 * that failed at runtime in a way that proves it unusable is switched off until the next detect.
 */
export class AccountCapabilities {
  private set: CapabilitySet = noCapabilities('not detected yet (the imsg child has not started)')

  get current(): CapabilitySet {
    return this.set
  }

  update(set: CapabilitySet): void {
    this.set = set
  }

  usable(name: CapabilityName): boolean {
    return this.set[name].usable
  }

  markUnusable(name: CapabilityName, reason: string, fix?: string): void {
    this.set = {...this.set, [name]: no(reason, fix)}
  }

  /** For the tracked-send path (branch `sends`): whether send.tracked + message.send_status are usable now. */
  readonly trackedSend = (): boolean => this.set.trackedSend.usable
}

/** Is the given reaction usable here: a classic kind needs tapbacks, anything else emoji tapbacks. */
export function reactionCapability(reaction: {kind?: string; emoji?: string}): CapabilityName {
  return reaction.kind !== undefined ? 'tapback' : 'emojiTapback'
}

/** A command asked for something this imsg cannot do (exit 5: imsg is reachable but lacks it). */
export class CapabilityUnavailableError extends RemoteclawError {
  readonly capability: CapabilityName
  constructor(name: CapabilityName, c: Capability) {
    super(`${CAPABILITY_LABELS[name]} are not usable with this imsg: ${c.reason ?? 'not detected'}`, {
      code: 'capability_unavailable',
      exitCode: ExitCode.UNHEALTHY,
      fix: c.fix ?? 'See: remoteclaw channels status --probe',
      details: {capability: name, reason: c.reason},
    })
    this.name = 'CapabilityUnavailableError'
    this.capability = name
  }
}

/** Throws CapabilityUnavailableError unless `name` is usable in `set`. */
export function requireCapability(set: CapabilitySet, name: CapabilityName): void {
  if (!set[name].usable) throw new CapabilityUnavailableError(name, set[name])
}
