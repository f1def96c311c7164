import { helpedInFlight, startHelpedScoring } from '../detect/pool.js';
import type { RunInfo, Scorer } from './run.js';

/**
 * One machine: `workers` threads score, the main thread among them, between
 * reading and writing (startHelpedScoring, as in `detect --jsonl`; measured
 * in bench/README.md, 2026-12-03 afternoon).
 */
export async function localScorer(run: RunInfo, workers: number): Promise<Scorer> {
  const scorer = await startHelpedScoring(run.options.modelPath, workers);
  return {
    maxInFlight: helpedInFlight(scorer),
    score: (batch, _index, context) => scorer.scoreRows(batch.items, context),
    close: () => scorer.close(),
  };
}
