import {RemoteclawError} from '../errors.js'

export const QUEUE_DEFAULTS = {maxPending: 10_000, maxPendingPerKey: 200} as const

/** enqueue() refused a task: the queue is full (or draining). The caller must log and hand the message back. */
export class QueueRejectedError extends RemoteclawError {
  constructor(
    message: string,
    readonly reason: 'full' | 'key_full' | 'closed',
  ) {
    super(message, {code: `queue_${reason}`})
    this.name = 'QueueRejectedError'
  }
}

interface Task {
  fn: () => Promise<unknown>
  resolve: (v: unknown) => void
  reject: (e: unknown) => void
}

/**
 * Keyed serial queue: tasks with the same key (a session) run one at a time in enqueue order;
 * different keys run concurrently. Bounded: beyond `maxPending` waiting tasks overall or
 * `maxPendingPerKey` for one key, enqueue rejects with QueueRejectedError instead of growing
 * without limit. A failing task rejects its own promise and does not stop its key.
 */
export class SessionQueue {
  private readonly queues = new Map<string, Task[]>()
  private readonly active = new Set<string>()
  private waiting = 0
  private closed = false
  private idleWaiters: Array<() => void> = []
  readonly maxPending: number
  readonly maxPendingPerKey: number

  constructor(opts: {maxPending?: number; maxPendingPerKey?: number} = {}) {
    this.maxPending = opts.maxPending ?? QUEUE_DEFAULTS.maxPending
    this.maxPendingPerKey = opts.maxPendingPerKey ?? QUEUE_DEFAULTS.maxPendingPerKey
  }

  /** True when enqueue(key) would be accepted now. */
  hasCapacity(key: string): boolean {
    return !this.closed && this.waiting < this.maxPending && (this.queues.get(key)?.length ?? 0) < this.maxPendingPerKey
  }

  enqueue<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new QueueRejectedError('session queue is draining; not taking new work', 'closed'))
    if (this.waiting >= this.maxPending) {
      return Promise.reject(new QueueRejectedError(`session queue is full (${this.maxPending} waiting)`, 'full'))
    }
    const q = this.queues.get(key) ?? []
    if (q.length >= this.maxPendingPerKey) {
      return Promise.reject(new QueueRejectedError(`session ${key} has ${q.length} runs waiting (max ${this.maxPendingPerKey})`, 'key_full'))
    }
    return new Promise<T>((resolve, reject) => {
      q.push({fn, resolve: resolve as (v: unknown) => void, reject})
      this.queues.set(key, q)
      this.waiting++
      if (!this.active.has(key)) void this.runKey(key)
    })
  }

  private async runKey(key: string): Promise<void> {
    this.active.add(key)
    try {
      for (;;) {
        const q = this.queues.get(key)
        const task = q?.shift()
        if (!task) break
        this.waiting--
        if (q!.length === 0) this.queues.delete(key)
        try {
          task.resolve(await task.fn())
        } catch (error) {
          task.reject(error)
        }
      }
    } finally {
      this.active.delete(key)
      if (this.active.size === 0 && this.waiting === 0) {
        const waiters = this.idleWaiters
        this.idleWaiters = []
        for (const w of waiters) w()
      }
    }
  }

  /** Tasks waiting (not running). */
  get pending(): number {
    return this.waiting
  }

  /** Keys with a task running now. */
  get running(): number {
    return this.active.size
  }

  pendingFor(key: string): number {
    return this.queues.get(key)?.length ?? 0
  }

  /** Resolves when nothing is running or waiting. */
  onIdle(): Promise<void> {
    if (this.active.size === 0 && this.waiting === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /**
   * Rejects every waiting (not yet started) task with QueueRejectedError('closed') and returns
   * how many: for a shutdown that hands unstarted work back (its cursor is not advanced).
   */
  cancelPending(): number {
    let n = 0
    for (const [key, q] of this.queues) {
      for (const t of q) {
        t.reject(new QueueRejectedError('session queue stopped before this run started', 'closed'))
        n++
      }
      this.queues.delete(key)
    }
    this.waiting = 0
    return n
  }

  /**
   * Shutdown: stop taking work, let queued and running tasks finish. With timeoutMs, gives up
   * waiting after that long; `remaining` counts tasks still running or waiting then.
   */
  async drain(opts: {timeoutMs?: number} = {}): Promise<{drained: boolean; remaining: number}> {
    this.closed = true
    const idle = this.onIdle().then(() => true)
    let timer: NodeJS.Timeout | undefined
    const done =
      opts.timeoutMs === undefined
        ? await idle
        : await Promise.race([idle, new Promise<boolean>((r) => (timer = setTimeout(() => r(false), opts.timeoutMs)))])
    if (timer) clearTimeout(timer)
    return {drained: done, remaining: done ? 0 : this.waiting + this.active.size}
  }

  get isClosed(): boolean {
    return this.closed
  }
}
