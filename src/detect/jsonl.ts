import { createReadStream } from 'node:fs';
import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { once } from 'node:events';
import { UserError } from '../util/errors.js';
import type { Detector } from '../model/detector.js';
import type { Row, RowOptions, ScoredRows } from './lines.js';
import { InlineScorer, ScoringPool, type Scorer } from './pool.js';

export interface JsonlDetectOptions extends Omit<RowOptions, 'invalid'> {
  /** On a bad line, emit an error line in its place instead of stopping. */
  skipInvalid: boolean;
  /** Model file the worker threads load; required when workers > 0. */
  modelPath: string;
  /** Scoring threads; 0 scores on the calling thread. */
  workers: number;
  batchSize?: number;
  onProgress?: (linesDone: number) => void;
}

/**
 * Scores a JSON-lines stream into a JSON-lines stream: one output line per
 * document, in input order, never dropping one. Batches go to the scoring
 * threads concurrently; results are written strictly in batch order.
 */
export async function detectJsonlStream(
  input: Readable,
  output: Writable,
  detector: Detector | null,
  options: JsonlDetectOptions,
): Promise<{ lines: number; documents: number }> {
  const batchSize = options.batchSize ?? 256;
  if (options.workers === 0 && !detector) throw new Error('detectJsonlStream needs a detector or workers');
  // Scoring threads, one model copy each; a thread that dies stops the run.
  const scorer: Scorer = options.workers > 0 ? await ScoringPool.start(options.modelPath, options.workers) : new InlineScorer(detector!);
  const rowOptions: RowOptions = {
    file: options.file,
    dataset: options.dataset,
    invalid: options.skipInvalid ? 'error-line' : 'stop',
    sentences: options.sentences,
    level: options.level,
    evidence: options.evidence,
  };
  const inFlight: Array<Promise<ScoredRows>> = [];
  const maxInFlight = Math.max(2, scorer.threads * 2);
  let lineNumber = 0;
  let documents = 0;
  let batch: Row[] = [];

  const flushOne = async () => {
    const result = await inFlight.shift()!;
    if (result.output.length > 0) {
      documents += result.rowsOut;
      if (!output.write(result.output)) await once(output, 'drain');
    }
    if (result.error) throw new UserError(result.error);
    options.onProgress?.(lineNumber);
  };

  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      lineNumber++;
      batch.push([line, lineNumber]);
      if (batch.length >= batchSize) {
        inFlight.push(scorer.scoreRows(batch, rowOptions));
        batch = [];
        while (inFlight.length >= maxInFlight) await flushOne();
      }
    }
    if (batch.length > 0) inFlight.push(scorer.scoreRows(batch, rowOptions));
    while (inFlight.length > 0) await flushOne();
  } finally {
    lines.close();
    // Let the rejected promises we abandon on error settle quietly.
    for (const p of inFlight) p.catch(() => {});
    await scorer.close();
  }
  return { lines: lineNumber, documents };
}

export function openInput(path: string): Readable {
  if (path === '-') return process.stdin;
  const stream = createReadStream(path, { encoding: 'utf8' });
  stream.on('error', () => {});
  return stream;
}
