import { HelpingScorer, InlineScorer, ScoringPool } from '../detect/pool.js';
import { loadDetector } from '../model/model-file.js';
import type { RunInfo, Scorer } from './run.js';

/**
 * One machine: `workers` threads score, the main thread among them (as in
 * `detect --jsonl`): workers − 1 scoring threads hold two batches each, and
 * the main thread, between reading and writing, scores a batch itself
 * whenever they are all busy (HelpingScorer; measured in bench/README.md,
 * 2026-12-03 afternoon). The threads start while the main thread loads its
 * own copy of the model.
 */
export async function localScorer(run: RunInfo, workers: number): Promise<Scorer> {
  const pool = workers > 1 ? ScoringPool.launch(run.options.modelPath, workers - 1, { depth: 2 }) : null;
  try {
    const here = new InlineScorer(loadDetector(run.options.modelPath));
    const scorer = pool ? new HelpingScorer(pool, here) : here;
    return {
      // The threads' batches and the main thread's, and as many again done but waiting for an earlier one.
      maxInFlight: 2 * (2 * scorer.threads + 1),
      score: (batch, _index, context) => scorer.scoreRows(batch.items, context),
      close: () => scorer.close(),
    };
  } catch (error) {
    await pool?.close();
    throw error;
  }
}
