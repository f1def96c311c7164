import { workerData, type TransferListItem } from 'node:worker_threads';
import { loadDetector } from '../model/model-file.js';
import { serveRequests } from '../util/thread-pool.js';
import { detectTexts, detectTextsSerialized } from './detect.js';
import { scoreRows, type ScoredRows } from './lines.js';
import { encodeReply, type ScoringReply, type ScoringRequest } from './pool.js';

/**
 * The one scoring-thread entry (detect --jsonl, batch, worker, serve): loads
 * the model once, then answers ScoringPool requests.
 */
const detector = loadDetector((workerData as { modelPath: string }).modelPath);

/** Replies whose output was encoded here, and the buffers to move with them. */
const moving = new WeakMap<object, TransferListItem[]>();

serveRequests<ScoringRequest, ScoringReply>(
  (request) => {
    if (request.kind === 'texts') {
      return request.serialized ? detectTextsSerialized(detector, request.texts, request.options) : detectTexts(detector, request.texts, request.options);
    }
    const scored = scoreRows(detector, request.rows, request.options);
    if (!request.bytes) return scored;
    const { reply, transfer } = encodeReply(scored);
    moving.set(reply, transfer);
    return reply;
  },
  (reply) => moving.get(reply),
);
