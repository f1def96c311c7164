import type { Worker } from 'node:worker_threads';
import { startWorker } from '../detect/pool.js';
import { UserError } from '../util/errors.js';
import type { ChunkResult, Item, ScoreContext } from './score.js';
import type { ThreadRequest } from './thread.js';

interface Reply {
  id: number;
  result?: ChunkResult;
  fatal?: string;
  user?: string;
}

/**
 * Scoring threads for batch jobs, one model copy each. Like the detect
 * command's ScoringPool, but a request carries already-read rows (from any
 * input format) and the reply carries skip counts as well as output lines.
 */
export class BatchPool {
  private readonly idle: Worker[] = [];
  private readonly waiting: Array<(worker: Worker) => void> = [];
  private readonly pending = new Map<number, { resolve: (r: ChunkResult) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failure: Error | undefined;

  private constructor(private readonly workers: Worker[]) {
    for (const worker of workers) {
      worker.on('message', (reply: Reply) => this.settle(worker, reply));
      worker.on('error', (error) => this.failAll(error));
      worker.on('exit', (code) => {
        if (code !== 0) this.failAll(new Error(`scoring thread exited with code ${code}`));
      });
      this.idle.push(worker);
    }
  }

  static async start(modelPath: string, size: number): Promise<BatchPool> {
    const entry = new URL('./thread.js', import.meta.url);
    const workers = Array.from({ length: Math.max(1, size) }, () => startWorker(entry, { modelPath }));
    try {
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              w.once('online', resolve);
              w.once('error', reject);
            }),
        ),
      );
    } catch (error) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw error instanceof UserError ? error : new UserError(`cannot start scoring threads: ${(error as Error).message}`);
    }
    return new BatchPool(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  async score(items: Item[], context: ScoreContext): Promise<ChunkResult> {
    if (this.failure) throw this.failure;
    const worker = this.idle.pop() ?? (await new Promise<Worker>((resolve) => this.waiting.push(resolve)));
    const id = this.nextId++;
    return new Promise<ChunkResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: ThreadRequest = { id, items, context };
      worker.postMessage(request);
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('scoring pool closed');
    for (const worker of this.workers) worker.removeAllListeners('exit');
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private settle(worker: Worker, reply: Reply): void {
    const entry = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    const next = this.waiting.shift();
    if (next) next(worker);
    else this.idle.push(worker);
    if (!entry) return;
    if (reply.user !== undefined) entry.reject(new UserError(reply.user));
    else if (reply.fatal !== undefined || !reply.result) entry.reject(new Error(`scoring thread failed: ${reply.fatal}`));
    else entry.resolve(reply.result);
  }

  private failAll(error: unknown): void {
    const message = error instanceof UserError ? error.message : `scoring thread crashed: ${String(error)}`;
    this.failure ??= new UserError(message);
    for (const entry of this.pending.values()) entry.reject(this.failure);
    this.pending.clear();
  }
}
