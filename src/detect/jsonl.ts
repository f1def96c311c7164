import { createReadStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { once } from 'node:events';
import { UserError } from '../util/errors.js';
import type { Detector } from '../model/detector.js';
import { scoreLines, type InvalidUtf8Line, type LineOptions, type ScoredLines } from './lines.js';
import { utf8Lines } from '../util/utf8.js';
import { ThreadPool } from '../util/thread-pool.js';
import type { WorkerRequest } from './worker.js';

export interface JsonlDetectOptions extends LineOptions {
  /** Model file the worker threads load; required when workers > 1. */
  modelPath: string;
  /** Scoring threads; 0 scores on the calling thread. */
  workers: number;
  batchSize?: number;
  onProgress?: (linesDone: number) => void;
}

/**
 * Scores a JSON-lines stream into a JSON-lines stream: one output line per
 * document, in input order, never dropping one. Batches go to the worker
 * pool concurrently; results are written strictly in batch order.
 */
export async function detectJsonlStream(
  input: Readable,
  output: Writable,
  detector: Detector | null,
  options: JsonlDetectOptions,
): Promise<{ lines: number; documents: number }> {
  const batchSize = options.batchSize ?? 256;
  // Scoring threads, one model copy each; a thread that dies stops the run.
  const pool =
    options.workers > 0
      ? await ThreadPool.start<WorkerRequest, ScoredLines>(new URL('./worker.js', import.meta.url), { modelPath: options.modelPath }, options.workers, { name: 'scoring thread' })
      : null;
  if (!pool && !detector) throw new Error('detectJsonlStream needs a detector or workers');
  const lineOptions = pickLineOptions(options);
  const score = (lines: Array<string | InvalidUtf8Line>, firstLine: number): Promise<ScoredLines> =>
    pool ? pool.run({ lines, firstLine, options: lineOptions }) : Promise.resolve(scoreLines(detector!, lines, firstLine, options));
  const inFlight: Array<Promise<ScoredLines>> = [];
  const maxInFlight = Math.max(2, (pool?.size ?? 1) * 2);
  let lineNumber = 0;
  let documents = 0;
  let batch: Array<string | InvalidUtf8Line> = [];
  let batchStart = 1;

  const flushOne = async () => {
    const result = await inFlight.shift()!;
    if (result.output.length > 0) {
      documents += result.output.length;
      if (!output.write(`${result.output.join('\n')}\n`)) await once(output, 'drain');
    }
    if (result.error) throw new UserError(result.error);
    options.onProgress?.(lineNumber);
  };

  try {
    for await (const line of utf8Lines(input)) {
      lineNumber++;
      batch.push('invalid' in line ? { invalidUtf8: line.invalid } : line.text);
      if (batch.length >= batchSize) {
        inFlight.push(score(batch, batchStart));
        batch = [];
        batchStart = lineNumber + 1;
        while (inFlight.length >= maxInFlight) await flushOne();
      }
    }
    if (batch.length > 0) inFlight.push(score(batch, batchStart));
    while (inFlight.length > 0) await flushOne();
  } finally {
    // Let the rejected promises we abandon on error settle quietly.
    for (const p of inFlight) p.catch(() => {});
    await pool?.close();
  }
  return { lines: lineNumber, documents };
}

function pickLineOptions(options: JsonlDetectOptions): LineOptions {
  return { file: options.file, dataset: options.dataset, skipInvalid: options.skipInvalid, sentences: options.sentences, level: options.level };
}

export function openInput(path: string): Readable {
  if (path === '-') return process.stdin;
  const stream = createReadStream(path);
  stream.on('error', () => {});
  return stream;
}
