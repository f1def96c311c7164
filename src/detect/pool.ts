import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { UserError } from '../util/errors.js';
import type { ScoredLines } from './lines.js';
import type { WorkerRequest } from './worker.js';

/**
 * A fixed pool of scoring threads, one model copy each. Callers submit
 * batches of lines and get each batch's output back; ordering across batches
 * is the caller's job (see `detectJsonlStream`).
 */
export class ScoringPool {
  private readonly idle: Worker[] = [];
  private readonly waiting: Array<(worker: Worker) => void> = [];
  private readonly pending = new Map<number, { resolve: (r: ScoredLines) => void; reject: (e: Error) => void }>();
  private nextId = 0;

  private constructor(private readonly workers: Worker[]) {
    for (const worker of workers) {
      worker.on('message', (message: ScoredLines & { id: number; fatal?: string }) => this.settle(worker, message));
      worker.on('error', (error) => this.failAll(error));
      this.idle.push(worker);
    }
  }

  static async start(modelPath: string, size = defaultWorkerCount()): Promise<ScoringPool> {
    const workers = Array.from({ length: size }, () => startWorker(new URL('./worker.js', import.meta.url), { modelPath }));
    // Fail early (bad model file) rather than on the first batch.
    await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
      w.once('online', resolve);
      w.once('error', reject);
    })));
    return new ScoringPool(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  async score(lines: string[], firstLine: number, options: WorkerRequest['options']): Promise<ScoredLines> {
    const worker = this.idle.pop() ?? (await new Promise<Worker>((resolve) => this.waiting.push(resolve)));
    const id = this.nextId++;
    return new Promise<ScoredLines>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: WorkerRequest = { id, lines, firstLine, options };
      worker.postMessage(request);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private settle(worker: Worker, message: ScoredLines & { id: number; fatal?: string }): void {
    const entry = this.pending.get(message.id);
    this.pending.delete(message.id);
    const next = this.waiting.shift();
    if (next) next(worker);
    else this.idle.push(worker);
    if (!entry) return;
    if (message.fatal) entry.reject(new Error(`scoring thread failed: ${message.fatal}`));
    else entry.resolve({ output: message.output, error: message.error });
  }

  private failAll(error: unknown): void {
    const message = error instanceof UserError ? error.message : `scoring thread crashed: ${String(error)}`;
    for (const entry of this.pending.values()) entry.reject(new UserError(message));
    this.pending.clear();
  }
}

export function defaultWorkerCount(): number {
  return Math.max(1, availableParallelism());
}

/**
 * Starts a worker from a compiled `.js` entry. Under tsx (tests,
 * development) the entry is the `.ts` source, and Node 20 does not pass the
 * parent's loader hooks to workers, so a tiny bootstrap registers tsx first.
 */
export function startWorker(compiledEntry: URL, workerData: unknown): Worker {
  if (import.meta.url.endsWith('.js')) return new Worker(compiledEntry, { workerData });
  const source = compiledEntry.href.replace(/\.js$/, '.ts');
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(source)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}
