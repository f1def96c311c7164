import { workerData } from 'node:worker_threads';
import { loadDetector } from '../model/model-file.js';
import { serveRequests } from '../util/thread-pool.js';
import { scoreItems, type ChunkResult, type Item, type ScoreContext } from './score.js';

/** A batch scoring thread: loads the model once, then scores batches of rows. */
export interface ThreadRequest {
  items: Item[];
  context: ScoreContext;
}

const detector = loadDetector((workerData as { modelPath: string }).modelPath);

serveRequests<ThreadRequest, ChunkResult>((request) => scoreItems(detector, request.items, request.context));
