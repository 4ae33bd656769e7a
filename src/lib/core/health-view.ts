/**
 * The gateway's health as written to health.json and as `channels status` reads it. Shared by the
 * gateway (writer) and imsg/status.ts (reader), so it lives below both.
 */
export type AccountRunState = 'starting' | 'running' | 'restarting' | 'stopped'

export interface AccountHealth {
  accountId: string
  /** True while an imsg child is up and its watch stream is subscribed. */
  running: boolean
  state: AccountRunState
  childPid?: number
  imsgVersion?: string
  /** When the current child started (ISO). */
  startedAt?: string
  /** Last inbound message from another person (ISO). */
  lastInboundAt?: string
  /** Last notification of any kind on the watch stream, including our own sends (ISO). */
  lastStreamEventAt?: string
  lastSendAt?: string
  lastSendOutcome?: 'sent' | 'failed' | 'unknown'
  /**
   * Delivery state of the last send per chat (key "chat_id:N" or the handle), at most 20 chats:
   * pending (sending, or its outcome is being settled), sent, delivered, failed, unknown; readAt
   * where the peer sends read receipts (from message.send_status).
   */
  lastDeliveries?: Record<string, {state: 'pending' | 'sent' | 'delivered' | 'failed' | 'unknown'; at: string; readAt?: string; guid?: string}>
  /** Child restarts since the gateway started. */
  restarts: number
  /** Consecutive failed starts (0 once a child runs). */
  consecutiveFailures: number
  lastError?: string
  lastErrorAt?: string
  /** Last liveness probe of the child (chats.list). */
  lastProbeAt?: string
  lastProbeOk?: boolean
  /** The stream missed a message the database has (stall detector). */
  stalled?: boolean
  cursor?: number
}

export type GatewayState = 'running' | 'not-running' | 'stopped' | 'dead' | 'stale'

export interface AccountHealthView extends AccountHealth {
  /** True when the gateway runs but this account's stream is not healthy. */
  degraded: boolean
  /** Why, one short sentence each (empty when healthy). */
  problems: string[]
}

export interface GatewayHealthView {
  /**
   * running: pid alive and updating; not-running: no health file; stopped: clean stop;
   * dead: the pid is gone without a clean stop (killed or crashed); stale: pid alive but no
   * update for HEALTH_STALE_MS.
   */
  gateway: GatewayState
  pid?: number
  startedAt?: string
  updatedAt?: string
  file: string
  accounts: AccountHealthView[]
  /** One line for humans. */
  summary: string
}
