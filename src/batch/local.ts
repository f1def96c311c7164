import { ScoringPool } from '../detect/pool.js';
import type { RunInfo, Scorer } from './run.js';

/** One machine: batches go to a pool of scoring threads, a few per thread in flight. */
export async function localScorer(run: RunInfo, workers: number): Promise<Scorer> {
  const pool = await ScoringPool.start(run.options.modelPath, workers);
  return {
    maxInFlight: Math.max(2, pool.threads * 3),
    score: (batch, _index, context) => pool.scoreRows(batch.items, context),
    close: () => pool.close(),
  };
}
