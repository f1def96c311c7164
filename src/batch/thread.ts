import { parentPort, workerData } from 'node:worker_threads';
import { loadDetector } from '../model/model-file.js';
import { UserError } from '../util/errors.js';
import { scoreItems, type Item, type ScoreContext } from './score.js';

/** A batch scoring thread: loads the model once, then scores batches of rows. */
export interface ThreadRequest {
  id: number;
  items: Item[];
  context: ScoreContext;
}

const detector = loadDetector((workerData as { modelPath: string }).modelPath);

parentPort!.on('message', (request: ThreadRequest) => {
  try {
    parentPort!.postMessage({ id: request.id, result: scoreItems(detector, request.items, request.context) });
  } catch (error) {
    // Meant for the person running the job (e.g. a model without sentence calibration): keep it a UserError.
    if (error instanceof UserError) parentPort!.postMessage({ id: request.id, user: error.message });
    else parentPort!.postMessage({ id: request.id, fatal: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
});
