// Kept over piscina 5 (weighed for issue 10): piscina re-raises thread errors as plain Errors (a UserError would lose its one-line form) and always replaces a dead thread, where batch work must fail every pending request; ordered output is the callers' either way, so the 200 lines stay.
import { availableParallelism } from 'node:os';
import { parentPort, Worker, type TransferListItem } from 'node:worker_threads';
import { UserError } from './errors.js';

/**
 * A fixed pool of worker threads that each answer one request at a time
 * (one model copy per thread, say). The thread side is `serveRequests`; this
 * side queues requests and hands each to the next idle thread.
 *
 * Errors, as src/util/errors.ts states the policy: a UserError thrown in a
 * thread (a bad model file, say) stays a UserError here (one clear line);
 * anything else — an exception in a handler, or a thread that dies of one —
 * is a bug and becomes an Error that keeps the thread's stack. A thread that
 * dies either is replaced (`replaceDead`, for a long-running service: only
 * its own request fails) or fails every pending and later request (batch
 * work, where a crash should stop the job).
 */
export interface ThreadPoolOptions {
  /** What a thread is called in error messages. */
  name?: string;
  /** Start a new thread in place of one that dies after it was ready. */
  replaceDead?: boolean;
  /**
   * Requests a thread is sent before it has answered the first (default 1).
   * With 2, a thread that answers finds its next request already waiting
   * in its port, instead of idling until this side has read the answer and
   * sent another: measured (issue 10) on a 2-vCPU machine, where this side
   * (an HTTP event loop) and the threads take turns on the cores. A thread
   * answers its requests in order; when one dies, only the request it was
   * on fails, and the ones sent after it go back to the front of the queue.
   */
  depth?: number;
}

interface Job<Request, Reply> {
  request: Request;
  /** Moved to the thread rather than copied (the caller gives them up). */
  transfer?: TransferListItem[];
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
}

interface Thread<Request, Reply> {
  worker: Worker;
  /** Has loaded and called `serveRequests`; only a ready thread gets requests or is replaced. */
  ready: boolean;
  /** Requests sent and not yet answered, in the order sent (= the order of the answers). */
  jobs: Array<Job<Request, Reply>>;
  /** The uncaught error it died of, reported on exit. */
  error?: unknown;
  started: { resolve: () => void; reject: (error: Error) => void };
}

export interface ThreadError {
  message: string;
  stack?: string;
  /** Set when the thread threw a UserError. */
  exitCode?: number;
}

type FromThread<Reply> = { kind: 'ready' } | { kind: 'reply'; value: Reply } | { kind: 'error'; error: ThreadError };

export class ThreadPool<Request, Reply> {
  private readonly threads = new Set<Thread<Request, Reply>>();
  private readonly queue: Array<Job<Request, Reply>> = [];
  private failure: Error | undefined;
  private closed = false;
  private readonly name: string;
  private readonly depth: number;
  /** Settles when every thread first started is ready; rejects when one fails to start. */
  started: Promise<void> = Promise.resolve();

  private constructor(
    private readonly entry: URL,
    private readonly workerData: unknown,
    private readonly options: ThreadPoolOptions,
  ) {
    this.name = options.name ?? 'worker thread';
    this.depth = Math.max(1, options.depth ?? 1);
  }

  /**
   * Starts `size` threads on `entry` (a compiled `.js` module next to the
   * caller; its `.ts` source under tsx) and waits until every one is ready, so
   * that a bad model file fails here rather than on the first request.
   */
  static async start<Request, Reply>(entry: URL, workerData: unknown, size: number, options: ThreadPoolOptions = {}): Promise<ThreadPool<Request, Reply>> {
    const pool = ThreadPool.launch<Request, Reply>(entry, workerData, size, options);
    try {
      await pool.started;
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  /**
   * Starts `size` threads as `start` does but returns at once: requests
   * wait in the queue until a thread is ready, and a thread that fails to
   * start fails them (as a thread that dies does). For a caller that has
   * something else to do meanwhile — loading the same model itself, say,
   * which also checks the file. `started` settles when every thread is ready.
   */
  static launch<Request, Reply>(entry: URL, workerData: unknown, size: number, options: ThreadPoolOptions = {}): ThreadPool<Request, Reply> {
    const pool = new ThreadPool<Request, Reply>(entry, workerData, options);
    pool.started = Promise.all(Array.from({ length: Math.max(1, size) }, () => pool.spawn())).then(() => {});
    pool.started.catch(() => {}); // reported through the requests (and to `start`'s caller)
    return pool;
  }

  get size(): number {
    return this.threads.size;
  }

  /** Whether every thread already holds `depth` requests (counting those queued for threads still starting): one more would wait. */
  get full(): boolean {
    let held = this.queue.length;
    for (const thread of this.threads) held += thread.jobs.length;
    return held >= this.threads.size * this.depth;
  }

  /**
   * Runs one request on the next idle thread. `transfer`: buffers in the
   * request to move to the thread instead of copying (they are detached here).
   */
  run(request: Request, transfer?: TransferListItem[]): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Reply>((resolve, reject) => {
      this.queue.push({ request, transfer, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops every thread; requests still pending are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    this.failure ??= new Error(`${this.name} pool closed`);
    this.failAll(this.failure);
    await Promise.all([...this.threads].map((thread) => thread.worker.terminate()));
  }

  private spawn(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const thread: Thread<Request, Reply> = { worker: startThread(this.entry, this.workerData), ready: false, jobs: [], started: { resolve, reject } };
      this.threads.add(thread);
      thread.worker.on('message', (message: FromThread<Reply>) => this.receive(thread, message));
      thread.worker.on('error', (error) => (thread.error ??= error));
      thread.worker.on('exit', (code) => this.died(thread, code));
    });
  }

  private dispatch(): void {
    // Idle threads first, then a second request to each, and so on up to the depth.
    for (let held = 0; held < this.depth; held++) {
      for (const thread of this.threads) {
        if (this.queue.length === 0) return;
        if (!thread.ready || thread.jobs.length > held) continue;
        const job = this.queue.shift()!;
        try {
          thread.worker.postMessage(job.request, job.transfer);
          thread.jobs.push(job);
        } catch (error) {
          job.reject(error as Error); // not cloneable: the caller's bug, the thread is untouched
        }
      }
    }
  }

  private receive(thread: Thread<Request, Reply>, message: FromThread<Reply>): void {
    if (message.kind === 'ready') {
      thread.ready = true;
      thread.started.resolve();
    } else {
      const job = thread.jobs.shift();
      if (message.kind === 'reply') job?.resolve(message.value);
      else job?.reject(fromThread(message.error, this.name));
    }
    this.dispatch();
  }

  private died(thread: Thread<Request, Reply>, code: number): void {
    this.threads.delete(thread);
    if (this.closed) return;
    const error = deathError(thread.error, code, this.name);
    thread.started.reject(error);
    // The first request sent is the one it died on; the later ones never started.
    const [current, ...unstarted] = thread.jobs;
    thread.jobs = [];
    current?.reject(error);
    this.queue.unshift(...unstarted);
    if (this.options.replaceDead && thread.ready) {
      // Keep serving: queued requests wait for the new thread (or go to the others).
      this.spawn().catch(() => {});
      this.dispatch();
    } else if (!this.options.replaceDead || this.threads.size === 0) {
      this.failure ??= error;
      this.failAll(this.failure);
    }
  }

  private failAll(error: Error): void {
    for (const job of this.queue.splice(0)) job.reject(error);
    for (const thread of this.threads) {
      for (const job of thread.jobs.splice(0)) job.reject(error);
    }
  }
}

/**
 * The thread side of a ThreadPool: answers each request with `handle`'s
 * result, marshalling thrown errors, and tells the pool it is ready. Load
 * what the thread needs (the model) before calling it. `transferOf` names
 * buffers of a reply to move rather than copy.
 */
export function serveRequests<Request, Reply>(handle: (request: Request) => Reply | Promise<Reply>, transferOf?: (reply: Reply) => TransferListItem[] | undefined): void {
  const port = parentPort;
  if (!port) throw new Error('serveRequests() runs inside a worker thread');
  const post = (message: FromThread<Reply>, transfer?: TransferListItem[]) => port.postMessage(message, transfer);
  const answer = async (request: Request) => {
    try {
      const value = await handle(request);
      post({ kind: 'reply', value }, transferOf?.(value));
    } catch (error) {
      post({ kind: 'error', error: toThreadError(error) });
    }
  };
  // One request at a time, in the order received: the pool matches answers to requests by order (ThreadPoolOptions.depth).
  let previous: Promise<void> = Promise.resolve();
  port.on('message', (request: Request) => {
    previous = previous.then(() => answer(request));
  });
  post({ kind: 'ready' });
}

export function defaultWorkerCount(): number {
  return Math.max(1, availableParallelism());
}

/**
 * Starts a worker from a compiled `.js` entry. Under tsx (tests,
 * development) the entry is the `.ts` source, and Node 20 does not pass the
 * parent's loader hooks to workers (`execArgv: ['--import', 'tsx']` does not
 * reach them), so a tiny bootstrap registers tsx inside the thread first.
 */
export function startThread(entry: URL, workerData: unknown, transferList?: TransferListItem[]): Worker {
  const fromSource = entry.pathname.endsWith('.ts') || !import.meta.url.endsWith('.js');
  if (!fromSource) return new Worker(entry, { workerData, transferList });
  const source = entry.href.replace(/\.js$/, '.ts');
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(source)}); });`;
  return new Worker(bootstrap, { eval: true, workerData, transferList });
}

export function toThreadError(error: unknown): ThreadError {
  if (error instanceof UserError) return { message: error.message, exitCode: error.exitCode };
  if (error instanceof Error) return { message: error.message, stack: error.stack };
  return { message: String(error) };
}

export function fromThread(error: ThreadError, name: string): Error {
  if (error.exitCode !== undefined) return new UserError(error.message, error.exitCode);
  const wrapped = new Error(`${name} failed: ${error.message}`);
  wrapped.stack = `Error: ${name} failed: ${error.stack ?? error.message}`;
  return wrapped;
}

/**
 * A thread that died: a UserError it died of stays one; anything else is a
 * bug, reported with the stack the thread died with.
 */
function deathError(error: unknown, code: number, name: string): Error {
  const user = error as Partial<UserError> | undefined;
  if (user?.name === 'UserError' && typeof user.message === 'string') return new UserError(user.message, user.exitCode ?? 2);
  const message = `${name} crashed: ${error === undefined ? `exited with code ${code}` : String(error)}`;
  const crashed = new Error(message);
  const stack = (error as Error | undefined)?.stack;
  if (stack) crashed.stack = `Error: ${name} crashed: ${stack}`;
  return crashed;
}
