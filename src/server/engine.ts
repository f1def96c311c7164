import { detectText, type DetectionResult, type DetectOptions } from '../detect/detect.js';
import { sentenceCalibration } from '../detect/sentences.js';
import type { Detector } from '../model/detector.js';
import { splitSentences } from '../text/sentences.js';
import { ThreadPool } from '../util/thread-pool.js';

/** What the service asks of the detector for every document: sentences always, evidence unless declined. */
export interface EngineOptions {
  evidence: boolean;
  /** Work budget: most sentences in one request, all texts together (checked before any scoring). */
  maxSentences?: number;
  /** Most sentences returned per text; the mixture test still uses them all. */
  maxSentencesPerText?: number;
}

/** A server result: the library's, plus how many sentences the text has and whether `sentences` was cut short. */
export type ServiceResult = DetectionResult & { sentence_count?: number; sentences_truncated?: boolean };

/** A request over the sentence budget: nothing was scored. */
export class SentenceBudgetExceeded extends Error {
  constructor(
    readonly sentences: number,
    readonly limit: number,
  ) {
    super(`the texts have ${sentences} sentences together; the limit per request is ${limit}`);
  }
}

/** What a scoring thread answers: results, or the sentence count of a request over budget (errors lose their class between threads). */
export type EngineReply = { results: ServiceResult[] } | { overBudget: { sentences: number; limit: number } };

/**
 * Scores documents for the HTTP service, either on the event loop (inline)
 * or on a pool of worker threads so that several requests score at once and
 * the event loop stays free for I/O.
 */
export interface Engine {
  readonly threads: number;
  /** Rejects with SentenceBudgetExceeded when the texts have more than `options.maxSentences` sentences. */
  detect(texts: readonly string[], options: EngineOptions): Promise<ServiceResult[]>;
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

/** Scores a request within its budget, on whichever thread runs it. */
export function detectAll(detector: Detector, texts: readonly string[], options: EngineOptions): EngineReply {
  let sentences = SENTENCES.get(detector);
  if (sentences === undefined) SENTENCES.set(detector, (sentences = supportsSentences(detector)));
  if (sentences && options.maxSentences !== undefined) {
    // Splitting costs about a seventh of scoring ("Yes. " × 13,000: 0.11 s of 0.85 s), so a request over budget is refused cheaply.
    let count = 0;
    for (const text of texts) count += splitSentences(text).length;
    if (count > options.maxSentences) return { overBudget: { sentences: count, limit: options.maxSentences } };
  }
  const opts: DetectOptions = { sentences, evidence: options.evidence };
  const cap = options.maxSentencesPerText ?? Infinity;
  return {
    results: texts.map((text) => {
      const result: ServiceResult = detectText(detector, text, opts);
      if (result.sentences) {
        result.sentence_count = result.sentences.length;
        result.sentences_truncated = result.sentences.length > cap;
        if (result.sentences_truncated) result.sentences = result.sentences.slice(0, cap);
      }
      return result;
    }),
  };
}

function unwrap(reply: EngineReply): ServiceResult[] {
  if ('overBudget' in reply) throw new SentenceBudgetExceeded(reply.overBudget.sentences, reply.overBudget.limit);
  return reply.results;
}

export class InlineEngine implements Engine {
  readonly threads = 0;
  constructor(private readonly detector: Detector) {}
  async detect(texts: readonly string[], options: EngineOptions): Promise<ServiceResult[]> {
    return unwrap(detectAll(this.detector, texts, options));
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
  private constructor(private readonly pool: ThreadPool<DetectRequest, EngineReply>) {}

  static async start(modelPath: string, size: number): Promise<PoolEngine> {
    const entry = new URL('./detect-worker.js', import.meta.url);
    return new PoolEngine(await ThreadPool.start(entry, { modelPath }, size, { name: 'scoring thread', replaceDead: true }));
  }

  get threads(): number {
    return this.pool.size;
  }

  async detect(texts: readonly string[], options: EngineOptions): Promise<ServiceResult[]> {
    return unwrap(await this.pool.run({ texts, options }));
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
