/**
 * Fair admission and scheduling of scoring work, in front of the engine.
 *
 * Measured before it existed: 20 clients' worth of 2 MB requests from one
 * client (each 32 texts of "Yes. " × 13,000) queued in the thread pool's
 * FIFO took the server to ~1 GB RSS, and another client's small request
 * waited 18.8 s behind them. Two rules fix that:
 *
 * - Admission by characters (what memory and work grow with): a client may
 *   have at most `maxClientChars` characters waiting or being scored (429
 *   beyond, so one client cannot fill the server), and the whole server at
 *   most `maxChars` (503 beyond), so the work held in memory has a ceiling
 *   whatever the number of clients.
 * - Round-robin between clients: at most `concurrency` tasks are handed to
 *   the engine at once (two per scoring thread: the one it scores and the
 *   one waiting in its port, engine.ts THREAD_DEPTH; the engine's own queue
 *   stays empty and the order is decided here), and a freed slot goes to the
 *   client served least recently among those waiting. A small request from
 *   a new client therefore waits for at most two tasks per thread, not for
 *   every task queued before it.
 *
 * Hand-written: rate limiters (@fastify/rate-limit) count requests over
 * time; none of the queue libraries keyed by client admits by a cost and
 * cancels queued work when a request times out or its client goes away.
 */

export interface SchedulerLimits {
  /** Tasks running at once (the engine's threads; 1 when scoring on the event loop). */
  concurrency: number;
  /** Characters one client may have waiting or being scored. */
  maxClientChars: number;
  /** Characters the whole server may have waiting or being scored. */
  maxChars: number;
}

/** Why a task was not admitted: this client has too much pending (429), or the server has (503). */
export class Busy extends Error {
  constructor(
    readonly scope: 'client' | 'server',
    readonly pending: number,
    readonly limit: number,
  ) {
    super(
      scope === 'client'
        ? `this client already has ${pending} characters waiting or being scored; the limit is ${limit}: wait for those answers before sending more`
        : `the server has ${pending} characters waiting or being scored; the limit is ${limit}: retry in a moment`,
    );
  }
}

/** What submit reads of a cancellation: an AbortSignal has it, and so has the cheaper Cancellation below. */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * One request's cancellation, for one listener (the scheduler's): what the
 * service used an AbortController for, without an EventTarget. Measured
 * (issue 10): an AbortController with its listener added and removed cost
 * ~16 µs of event-loop CPU per request under load, this well under 1 µs.
 */
export class Cancellation implements CancelSignal {
  aborted = false;
  reason: unknown;
  private listener: (() => void) | undefined;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listener = this.listener;
    this.listener = undefined;
    listener?.();
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.listener) throw new Error('a Cancellation has one listener');
    this.listener = listener;
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    if (this.listener === listener) this.listener = undefined;
  }
}

interface Task {
  client: string;
  cost: number;
  run: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  signal?: CancelSignal;
  onAbort?: () => void;
}

interface Client {
  queue: Task[];
  running: number;
  /** Characters admitted and not yet finished. */
  chars: number;
  /** Dispatch sequence number of its last task started (-1: never), for least-recently-served order. */
  lastServed: number;
}

export interface SchedulerStats {
  running: number;
  queued: number;
  chars: number;
  clients: number;
}

export class FairScheduler {
  private readonly clients = new Map<string, Client>();
  private running = 0;
  private chars = 0;
  private sequence = 0;

  constructor(readonly limits: SchedulerLimits) {}

  /**
   * Runs `run` when it is `client`'s turn. Rejects at once with Busy when
   * admitting `cost` characters would pass a limit, and with the signal's
   * reason if `signal` aborts while the task is still waiting (a running task
   * is not interrupted, but its result is simply not used).
   */
  submit<T>(client: string, cost: number, run: () => Promise<T>, signal?: CancelSignal): Promise<T> {
    const state = this.clients.get(client) ?? { queue: [], running: 0, chars: 0, lastServed: -1 };
    // A single request over the client's share is still admitted when the client has nothing else pending;
    // the per-request budget bounds it.
    if (state.chars > 0 && state.chars + cost > this.limits.maxClientChars) return Promise.reject(new Busy('client', state.chars, this.limits.maxClientChars));
    if (this.chars > 0 && this.chars + cost > this.limits.maxChars) return Promise.reject(new Busy('server', this.chars, this.limits.maxChars));
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.clients.set(client, state);
    state.chars += cost;
    this.chars += cost;
    return new Promise<T>((resolve, reject) => {
      const task: Task = { client, cost, run, resolve: resolve as (value: unknown) => void, reject, signal };
      if (signal) {
        task.onAbort = () => {
          const at = state.queue.indexOf(task);
          if (at === -1) return;
          state.queue.splice(at, 1);
          this.release(task);
          reject(signal.reason);
        };
        signal.addEventListener('abort', task.onAbort, { once: true });
      }
      state.queue.push(task);
      this.dispatch();
    });
  }

  stats(): SchedulerStats {
    let queued = 0;
    for (const state of this.clients.values()) queued += state.queue.length;
    return { running: this.running, queued, chars: this.chars, clients: this.clients.size };
  }

  private dispatch(): void {
    while (this.running < Math.max(1, this.limits.concurrency)) {
      let next: Client | undefined;
      for (const state of this.clients.values()) {
        if (state.queue.length > 0 && (next === undefined || state.lastServed < next.lastServed)) next = state;
      }
      if (next === undefined) return;
      const task = next.queue.shift()!;
      if (task.onAbort) task.signal!.removeEventListener('abort', task.onAbort);
      next.lastServed = this.sequence++;
      next.running++;
      this.running++;
      let result: Promise<unknown>;
      try {
        result = task.run();
      } catch (error) {
        result = Promise.reject(error);
      }
      result.then(task.resolve, task.reject).finally(() => {
        next.running--;
        this.running--;
        this.release(task);
        this.dispatch();
      });
    }
  }

  private release(task: Task): void {
    const state = this.clients.get(task.client);
    this.chars -= task.cost;
    if (!state) return;
    state.chars -= task.cost;
    if (state.queue.length === 0 && state.running === 0) this.clients.delete(task.client);
  }
}
