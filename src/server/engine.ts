import { InlineScorer, ScoringPool, type Scorer } from '../detect/pool.js';

/**
 * Scores documents for the HTTP service: on the event loop (InlineEngine)
 * or on a pool of scoring threads (PoolEngine) so that several requests
 * score at once and the event loop stays free for I/O. Both are the shared
 * scorers of detect/pool.ts with the one option type (ScoreOptions: the
 * service sets sentences, evidence and its work budget) and the one result
 * type; a request over its sentence budget rejects with
 * SentenceBudgetExceeded before anything is scored. The service's own
 * policy: a thread that dies (out of memory, a bug) fails only its own
 * request and is replaced, so the service keeps serving.
 */
export type Engine = Scorer;

export { InlineScorer as InlineEngine };
export { SentenceBudgetExceeded } from '../detect/result.js';
export { sentenceCalibrationProblem, supportsSentences } from '../detect/sentences.js';

/** Requests each scoring thread holds at once (ThreadPoolOptions.depth): the next is waiting when it answers one. */
export const THREAD_DEPTH = 2;

export const PoolEngine = {
  start: (modelPath: string, size: number): Promise<ScoringPool> => ScoringPool.start(modelPath, size, { replaceDead: true, depth: THREAD_DEPTH }),
};
