import { workerData } from 'node:worker_threads';
import { loadDetector } from '../model/model-file.js';
import { serveRequests } from '../util/thread-pool.js';
import { detectAll, type DetectRequest, type EngineReply } from './engine.js';

/** A scoring thread of the HTTP service: loads the model once, then scores the documents it is sent. */
const detector = loadDetector((workerData as { modelPath: string }).modelPath);

serveRequests<DetectRequest, EngineReply>((request) => detectAll(detector, request.texts, request.options));
