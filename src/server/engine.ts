import { detectText, type DetectionResult, type DetectOptions } from '../detect/detect.js';
import { sentenceCalibration } from '../detect/sentences.js';
import type { Detector } from '../model/detector.js';
import { ThreadPool } from '../util/thread-pool.js';

/** What the service asks of the detector for every document: sentences always, evidence unless declined. */
export interface EngineOptions {
  evidence: boolean;
}

/**
 * Scores documents for the HTTP service, either on the event loop (inline)
 * or on a pool of worker threads so that several requests score at once and
 * the event loop stays free for I/O.
 */
export interface Engine {
  readonly threads: number;
  detect(texts: readonly string[], options: EngineOptions): Promise<DetectionResult[]>;
  close(): Promise<void>;
}

/**
 * Whether this model file can score sentences: models trained before
 * sentence-level detection have no sentence calibration, and the service then
 * answers with document-level results only (and says so at start-up and in
 * GET /v1/models) rather than failing every request.
 */
export function supportsSentences(detector: Detector): boolean {
  try {
    sentenceCalibration(detector);
    return true;
  } catch {
    return false;
  }
}

const SENTENCES = new WeakMap<Detector, boolean>();

export function detectAll(detector: Detector, texts: readonly string[], options: EngineOptions): DetectionResult[] {
  let sentences = SENTENCES.get(detector);
  if (sentences === undefined) SENTENCES.set(detector, (sentences = supportsSentences(detector)));
  const opts: DetectOptions = { sentences, evidence: options.evidence };
  return texts.map((text) => detectText(detector, text, opts));
}

export class InlineEngine implements Engine {
  readonly threads = 0;
  constructor(private readonly detector: Detector) {}
  async detect(texts: readonly string[], options: EngineOptions): Promise<DetectionResult[]> {
    return detectAll(this.detector, texts, options);
  }
  async close(): Promise<void> {}
}

/** What a scoring thread of the service is sent (see detect-worker.ts). */
export interface DetectRequest {
  texts: readonly string[];
  options: EngineOptions;
}

/**
 * A fixed set of scoring threads; requests wait for the next idle one. A
 * thread that dies (out of memory, a bug) fails only its own request and is
 * replaced, so the service keeps serving.
 */
export class PoolEngine implements Engine {
  private constructor(private readonly pool: ThreadPool<DetectRequest, DetectionResult[]>) {}

  static async start(modelPath: string, size: number): Promise<PoolEngine> {
    const entry = new URL('./detect-worker.js', import.meta.url);
    return new PoolEngine(await ThreadPool.start(entry, { modelPath }, size, { name: 'scoring thread', replaceDead: true }));
  }

  get threads(): number {
    return this.pool.size;
  }

  detect(texts: readonly string[], options: EngineOptions): Promise<DetectionResult[]> {
    return this.pool.run({ texts, options });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
