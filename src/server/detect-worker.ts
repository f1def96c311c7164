import { parentPort, workerData } from 'node:worker_threads';
import { loadDetector } from '../model/model-file.js';
import { detectAll, type EngineOptions, type WorkerReply } from './engine.js';

/** A scoring thread of the HTTP service: loads the model once, then scores the documents it is sent. */
const detector = loadDetector((workerData as { modelPath: string }).modelPath);

parentPort!.on('message', (request: { id: number; texts: string[]; options: EngineOptions }) => {
  let reply: WorkerReply;
  try {
    reply = { id: request.id, results: detectAll(detector, request.texts, request.options) };
  } catch (error) {
    reply = { id: request.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
  parentPort!.postMessage(reply);
});
