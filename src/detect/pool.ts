import type { TransferListItem } from 'node:worker_threads';
import type { Detector } from '../model/detector.js';
import { loadDetector } from '../model/model-file.js';
import { ThreadPool } from '../util/thread-pool.js';
import { detectTexts, detectTextsSerialized, serializedResults, textsResults, type SerializedTextsReply, type TextsReply } from './detect.js';
import { scoreRows, type JsonlChunk, type RowOptions, type RowSource, type ScoredRows } from './lines.js';
import type { DetectionResult, ScoreOptions, SerializedResults } from './result.js';

/**
 * Where documents are scored: on the calling thread (InlineScorer) or on a
 * pool of scoring threads with one model copy each (ScoringPool, the one
 * wrapper around ThreadPool; every interface — detect --jsonl, batch,
 * worker, serve — uses it with the one thread entry, worker.ts).
 */
export interface Scorer {
  /** Scoring threads; 0 when scoring on the calling thread. */
  readonly threads: number;
  /**
   * Rows (or a chunk of JSON lines) to output lines (see lines.ts). With
   * `bytes`, a scoring thread may answer with `outputBytes` instead of
   * `output`, and a chunk's bytes may be moved to it (detached here).
   */
  scoreRows(rows: RowSource, options: RowOptions, bytes?: boolean): Promise<ScoredRows>;
  /** Texts to results, in order; rejects with SentenceBudgetExceeded over `options.maxSentences` (see detectTexts). */
  detect(texts: readonly string[], options: ScoreOptions): Promise<DetectionResult[]>;
  /** As detect, with each result already serialised (resultJson) where it was scored: what the HTTP service sends. */
  detectSerialized(texts: readonly string[], options: ScoreOptions): Promise<SerializedResults>;
  close(): Promise<void>;
}

/** What a scoring thread is sent. */
export type ScoringRequest =
  | { kind: 'rows'; rows: RowSource; options: RowOptions; bytes?: boolean }
  | { kind: 'texts'; texts: readonly string[]; options: ScoreOptions; serialized?: boolean };

/** What a scoring thread answers. */
export type ScoringReply = ScoredRows | TextsReply | SerializedTextsReply;

export class InlineScorer implements Scorer {
  readonly threads = 0;
  constructor(private readonly detector: Detector) {}
  async scoreRows(rows: RowSource, options: RowOptions): Promise<ScoredRows> {
    return scoreRows(this.detector, rows, options);
  }
  async detect(texts: readonly string[], options: ScoreOptions): Promise<DetectionResult[]> {
    return textsResults(detectTexts(this.detector, texts, options));
  }
  async detectSerialized(texts: readonly string[], options: ScoreOptions): Promise<SerializedResults> {
    return serializedResults(detectTextsSerialized(this.detector, texts, options));
  }
  async close(): Promise<void> {}
}

/** The chunk's buffer when the chunk is all of it (not a slice of a shared pool), so it can be moved. */
function ownedBuffer(bytes: Uint8Array): TransferListItem[] | undefined {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer ? [bytes.buffer] : undefined;
}

/** A reply's output lines as UTF-8 in a buffer of their own (TextEncoder never uses Buffer's shared pool), ready to move. */
export function encodeReply(scored: ScoredRows): { reply: ScoredRows; transfer: TransferListItem[] } {
  const outputBytes = ENCODER.encode(scored.output);
  return { reply: { ...scored, output: '', outputBytes }, transfer: [outputBytes.buffer] };
}

const ENCODER = new TextEncoder();

export interface ScoringPoolOptions {
  /**
   * Replace a thread that dies and fail only its own request (a long-running
   * service); otherwise a dead thread fails the pool (batch work, where a
   * crash should stop the job). Either way the error is a bug with the
   * thread's stack, not a user error.
   */
  replaceDead?: boolean;
  /** Requests each thread holds at once (ThreadPoolOptions.depth; default 1). */
  depth?: number;
}

const WORKER_ENTRY = new URL('./worker.js', import.meta.url);

function poolOptions(options: ScoringPoolOptions) {
  return { name: 'scoring thread', replaceDead: options.replaceDead, depth: options.depth };
}

export class ScoringPool implements Scorer {
  private constructor(private readonly pool: ThreadPool<ScoringRequest, ScoringReply>) {}

  /** Starts `size` threads loading `modelPath`; a bad model file fails here, as a UserError. */
  static async start(modelPath: string, size: number, options: ScoringPoolOptions = {}): Promise<ScoringPool> {
    return new ScoringPool(await ThreadPool.start(WORKER_ENTRY, { modelPath }, size, poolOptions(options)));
  }

  /** As start, without waiting for the threads: a bad model file fails the requests instead (ThreadPool.launch). */
  static launch(modelPath: string, size: number, options: ScoringPoolOptions = {}): ScoringPool {
    return new ScoringPool(ThreadPool.launch(WORKER_ENTRY, { modelPath }, size, poolOptions(options)));
  }

  get threads(): number {
    return this.pool.size;
  }

  /** Whether every thread already holds its requests (ThreadPool.full). */
  get full(): boolean {
    return this.pool.full;
  }

  scoreRows(rows: RowSource, options: RowOptions, bytes = false): Promise<ScoredRows> {
    // Measured (issue 10): cloning each chunk to the thread and each reply's
    // string back, then encoding it for stdout, was most of the writing
    // thread's work with --sentences; moved bytes cost neither.
    const transfer = bytes && !Array.isArray(rows) ? ownedBuffer((rows as JsonlChunk).bytes) : undefined;
    return this.pool.run({ kind: 'rows', rows, options, bytes }, transfer) as Promise<ScoredRows>;
  }

  async detect(texts: readonly string[], options: ScoreOptions): Promise<DetectionResult[]> {
    return textsResults((await this.pool.run({ kind: 'texts', texts, options })) as TextsReply);
  }

  async detectSerialized(texts: readonly string[], options: ScoreOptions): Promise<SerializedResults> {
    return serializedResults((await this.pool.run({ kind: 'texts', texts, options, serialized: true })) as SerializedTextsReply);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/**
 * The calling thread as one more scoring thread beside a pool: a request
 * goes to the pool while one of its threads has room and is scored here,
 * at once, when every thread already holds its `depth` requests. The
 * caller must give the event loop a turn between requests (the threads'
 * replies are read there). Results are the same whichever thread scored.
 *
 * Measured (issue 10, bench/README.md, 2026-12-03): `detect --jsonl` on 2
 * cores, 20,000 articles, six alternating pairs: the reading thread plus
 * one scoring thread took 1.46 s (2.55 s CPU), two scoring threads beside
 * an idle reading thread 1.56 s (2.80 s CPU). The reading thread's own work
 * (a byte scan for line breaks, writing) is a few per cent of a core, so
 * leaving it idle wastes most of a core, and a third isolate costs its own
 * start-up, compilation and garbage collection.
 */
export class HelpingScorer implements Scorer {
  constructor(
    private readonly pool: Scorer & { readonly full: boolean },
    private readonly here: Scorer,
  ) {}

  /** The pool's threads (this one is not counted). */
  get threads(): number {
    return this.pool.threads;
  }

  scoreRows(rows: RowSource, options: RowOptions, bytes = false): Promise<ScoredRows> {
    return this.pool.full ? this.here.scoreRows(rows, options) : this.pool.scoreRows(rows, options, bytes);
  }

  detect(texts: readonly string[], options: ScoreOptions): Promise<DetectionResult[]> {
    return this.pool.full ? this.here.detect(texts, options) : this.pool.detect(texts, options);
  }

  detectSerialized(texts: readonly string[], options: ScoreOptions): Promise<SerializedResults> {
    return this.pool.full ? this.here.detectSerialized(texts, options) : this.pool.detectSerialized(texts, options);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/**
 * Scoring on `workers` threads, the calling thread among them (what
 * `detect --jsonl` and local `batch` use): workers − 1 scoring threads
 * holding two requests each, started before this thread loads its own model
 * copy (`detector`, or from `modelPath`) so the two overlap, and this thread
 * scoring whenever they are all busy (HelpingScorer). 0 or 1: this thread
 * alone. A thread that dies (or cannot start) fails its requests.
 */
export async function startHelpedScoring(modelPath: string, workers: number, detector: Detector | null = null): Promise<Scorer> {
  const pool = workers > 1 ? ScoringPool.launch(modelPath, workers - 1, { depth: 2 }) : null;
  let here: InlineScorer;
  try {
    here = new InlineScorer(detector ?? loadDetector(modelPath));
  } catch (error) {
    await pool?.close();
    throw error;
  }
  return pool ? new HelpingScorer(pool, here) : here;
}

/** Requests to keep in flight for startHelpedScoring's scorer: the threads' two each and this thread's one, and as many again done but waiting for an earlier one. */
export function helpedInFlight(scorer: Scorer): number {
  return 2 * (2 * scorer.threads + 1);
}
