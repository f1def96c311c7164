import { workerData } from 'node:worker_threads';
import { loadDetector } from '../model/model-file.js';
import { serveRequests } from '../util/thread-pool.js';
import { detectTexts, type TextsReply } from './detect.js';
import { scoreRows, type ScoredRows } from './lines.js';
import type { ScoringRequest } from './pool.js';

/**
 * The one scoring-thread entry (detect --jsonl, batch, worker, serve): loads
 * the model once, then answers ScoringPool requests.
 */
const detector = loadDetector((workerData as { modelPath: string }).modelPath);

serveRequests<ScoringRequest, ScoredRows | TextsReply>((request) =>
  request.kind === 'rows' ? scoreRows(detector, request.rows, request.options) : detectTexts(detector, request.texts, request.options),
);
