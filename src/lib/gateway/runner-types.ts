import type {ResolvedAccount} from '../config/accounts.js'
import type {Envelope} from '../core/envelope.js'
import {LOOP_BREAKER_DEFAULTS, type LoopBreakerOptions} from '../outbound/rate-limit.js'
import type {ReconcileTimings} from '../outbound/reconcile.js'

/** Tunables; the defaults suit a real Mac, tests shorten them. */
export interface RunnerTimings {
  /** watch.subscribe debounce_ms (imsg's default is 500; replies should feel immediate). */
  debounceMs: number
  /** First restart delay; doubles per consecutive failure up to maxBackoffMs. */
  backoffBaseMs: number
  maxBackoffMs: number
  /** After this many consecutive failures the gateway says why and keeps retrying at maxBackoffMs. */
  failuresBeforeSlow: number
  /** Liveness probe (chats.list) and stall check interval; 0 disables. */
  probeIntervalMs: number
  /** How long shutdown waits for running agent turns. */
  drainTimeoutMs: number
  /** Presence: timeout of each typing call (it shares imsg's mutation lane with replies). */
  typingTimeoutMs: number
  /** Presence: typing is renewed this often while a turn runs. */
  typingKeepAliveMs: number
  /** Block streaming: wait this long for another block before sending what is buffered. */
  blockIdleMs: number
  loopBreaker: LoopBreakerOptions
  /** How long an agent's send_message call waits for its delivery before answering "queued" (agent tools). */
  toolSendWaitMs: number
  /** Bounds of unknown-outcome reconciliation (outbound/reconcile.ts defaults). */
  reconcile?: Partial<ReconcileTimings>
  /** When a chat's last send is looked up again for delivered/read (default 5 s and 60 s after it). */
  deliveryCheckMs?: number[]
}

export const DEFAULT_TIMINGS: RunnerTimings = {
  toolSendWaitMs: 30_000,
  debounceMs: 50,
  backoffBaseMs: 500,
  maxBackoffMs: 30_000,
  failuresBeforeSlow: 5,
  probeIntervalMs: 30_000,
  drainTimeoutMs: 30_000,
  typingTimeoutMs: 1_500,
  typingKeepAliveMs: 20_000,
  blockIdleMs: 1000,
  loopBreaker: LOOP_BREAKER_DEFAULTS,
}

/** Pipeline events (bench latency, demo transcript, tests). */
export type RunnerEvent =
  | {type: 'inbound'; env: Envelope; at: number}
  | {type: 'replied'; env: Envelope; at: number; receivedAt: number; status: string}
  | {type: 'dropped'; env: Envelope; reason: string}
  | {type: 'child-started'; pid?: number}
  | {type: 'child-ended'; reason: string}

/** What a chat command sees of the turn it runs in. */
export interface ChatCommandTurn {
  sessionKey: string
  agentId: string
}

export interface ChatCommandHandler {
  /** Returns the reply text when `env` was a chat command it handled, else undefined. */
  (
    env: Envelope,
    account: ResolvedAccount,
    approved: {isApproved(handle: string): boolean},
    turn?: ChatCommandTurn,
  ): Promise<string | undefined>
}
