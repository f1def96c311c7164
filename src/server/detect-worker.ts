import { workerData } from 'node:worker_threads';
import type { DetectionResult } from '../detect/detect.js';
import { loadDetector } from '../model/model-file.js';
import { serveRequests } from '../util/thread-pool.js';
import { detectAll, type DetectRequest } from './engine.js';

/** A scoring thread of the HTTP service: loads the model once, then scores the documents it is sent. */
const detector = loadDetector((workerData as { modelPath: string }).modelPath);

serveRequests<DetectRequest, DetectionResult[]>((request) => detectAll(detector, request.texts, request.options));
