import { BatchPool } from './pool.js';
import type { RunInfo, Scorer } from './run.js';

/** One machine: batches go to a pool of scoring threads, a few per thread in flight. */
export async function localScorer(run: RunInfo, workers: number): Promise<Scorer> {
  const pool = await BatchPool.start(run.options.modelPath, workers);
  return {
    maxInFlight: Math.max(2, pool.size * 3),
    score: (batch, _index, context) => pool.score(batch.items, context),
    close: () => pool.close(),
  };
}
