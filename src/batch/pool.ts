import { ThreadPool } from '../util/thread-pool.js';
import type { ChunkResult, Item, ScoreContext } from './score.js';
import type { ThreadRequest } from './thread.js';

/**
 * Scoring threads for batch jobs, one model copy each: a request carries
 * already-read rows (from any input format), the reply output lines and skip
 * counts. A thread that dies fails the job.
 */
export class BatchPool {
  private constructor(private readonly threads: ThreadPool<ThreadRequest, ChunkResult>) {}

  static async start(modelPath: string, size: number): Promise<BatchPool> {
    return new BatchPool(await ThreadPool.start(new URL('./thread.js', import.meta.url), { modelPath }, size, { name: 'scoring thread' }));
  }

  get size(): number {
    return this.threads.size;
  }

  score(items: Item[], context: ScoreContext): Promise<ChunkResult> {
    return this.threads.run({ items, context });
  }

  close(): Promise<void> {
    return this.threads.close();
  }
}
