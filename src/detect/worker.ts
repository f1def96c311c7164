import { workerData } from 'node:worker_threads';
import { loadDetector } from '../model/model-file.js';
import { serveRequests } from '../util/thread-pool.js';
import { scoreLines, type InvalidUtf8Line, type LineOptions, type ScoredLines } from './lines.js';

/** A scoring thread of `detect --jsonl`: loads the model once, then scores batches of JSON lines. */
export interface WorkerRequest {
  lines: Array<string | InvalidUtf8Line>;
  firstLine: number;
  options: LineOptions;
}

const detector = loadDetector((workerData as { modelPath: string }).modelPath);

serveRequests<WorkerRequest, ScoredLines>((request) => scoreLines(detector, request.lines, request.firstLine, request.options));
