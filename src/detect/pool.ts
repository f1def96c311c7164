import type { Detector } from '../model/detector.js';
import { ThreadPool } from '../util/thread-pool.js';
import { detectTexts, textsResults, type TextsReply } from './detect.js';
import { scoreRows, type RowOptions, type RowSource, type ScoredRows } from './lines.js';
import type { DetectionResult, ScoreOptions } from './result.js';

/**
 * Where documents are scored: on the calling thread (InlineScorer) or on a
 * pool of scoring threads with one model copy each (ScoringPool, the one
 * wrapper around ThreadPool; every interface — detect --jsonl, batch,
 * worker, serve — uses it with the one thread entry, worker.ts).
 */
export interface Scorer {
  /** Scoring threads; 0 when scoring on the calling thread. */
  readonly threads: number;
  /** Rows (or a chunk of JSON lines) to output lines (see lines.ts). */
  scoreRows(rows: RowSource, options: RowOptions): Promise<ScoredRows>;
  /** Texts to results, in order; rejects with SentenceBudgetExceeded over `options.maxSentences` (see detectTexts). */
  detect(texts: readonly string[], options: ScoreOptions): Promise<DetectionResult[]>;
  close(): Promise<void>;
}

/** What a scoring thread is sent. */
export type ScoringRequest =
  | { kind: 'rows'; rows: RowSource; options: RowOptions }
  | { kind: 'texts'; texts: readonly string[]; options: ScoreOptions };

export class InlineScorer implements Scorer {
  readonly threads = 0;
  constructor(private readonly detector: Detector) {}
  async scoreRows(rows: RowSource, options: RowOptions): Promise<ScoredRows> {
    return scoreRows(this.detector, rows, options);
  }
  async detect(texts: readonly string[], options: ScoreOptions): Promise<DetectionResult[]> {
    return textsResults(detectTexts(this.detector, texts, options));
  }
  async close(): Promise<void> {}
}

export interface ScoringPoolOptions {
  /**
   * Replace a thread that dies and fail only its own request (a long-running
   * service); otherwise a dead thread fails the pool (batch work, where a
   * crash should stop the job). Either way the error is a bug with the
   * thread's stack, not a user error.
   */
  replaceDead?: boolean;
}

export class ScoringPool implements Scorer {
  private constructor(private readonly pool: ThreadPool<ScoringRequest, ScoredRows | TextsReply>) {}

  /** Starts `size` threads loading `modelPath`; a bad model file fails here, as a UserError. */
  static async start(modelPath: string, size: number, options: ScoringPoolOptions = {}): Promise<ScoringPool> {
    const entry = new URL('./worker.js', import.meta.url);
    return new ScoringPool(await ThreadPool.start(entry, { modelPath }, size, { name: 'scoring thread', replaceDead: options.replaceDead }));
  }

  get threads(): number {
    return this.pool.size;
  }

  scoreRows(rows: RowSource, options: RowOptions): Promise<ScoredRows> {
    return this.pool.run({ kind: 'rows', rows, options }) as Promise<ScoredRows>;
  }

  async detect(texts: readonly string[], options: ScoreOptions): Promise<DetectionResult[]> {
    return textsResults((await this.pool.run({ kind: 'texts', texts, options })) as TextsReply);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
