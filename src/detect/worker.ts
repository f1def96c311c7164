import { parentPort, workerData } from 'node:worker_threads';
import { loadDetector } from '../model/model-file.js';
import { UserError } from '../util/errors.js';
import { scoreLines, type LineOptions } from './lines.js';

/** A scoring thread: loads the model once, then scores batches of JSON lines. */
export interface WorkerRequest {
  id: number;
  lines: string[];
  firstLine: number;
  options: LineOptions;
}

const detector = loadDetector((workerData as { modelPath: string }).modelPath);

parentPort!.on('message', (request: WorkerRequest) => {
  try {
    const result = scoreLines(detector, request.lines, request.firstLine, request.options);
    parentPort!.postMessage({ id: request.id, ...result });
  } catch (error) {
    // A user error (a model without sentence calibration, say) stays one clear line.
    if (error instanceof UserError) parentPort!.postMessage({ id: request.id, output: [], error: error.message });
    else parentPort!.postMessage({ id: request.id, output: [], fatal: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
});
