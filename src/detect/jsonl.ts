import { createReadStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { once } from 'node:events';
import { setImmediate } from 'node:timers/promises';
import { UserError } from '../util/errors.js';
import type { Detector } from '../model/detector.js';
import { countLines, type RowOptions, type ScoredRows } from './lines.js';
import { helpedInFlight, startHelpedScoring } from './pool.js';

export interface JsonlDetectOptions extends Omit<RowOptions, 'invalid'> {
  /** On a bad line, emit an error line in its place instead of stopping. */
  skipInvalid: boolean;
  /** Model file the scoring threads load (and this thread, when `detector` is null). */
  modelPath: string;
  /**
   * Threads that score, this one among them: 0 or 1 scores on the calling
   * thread only; n > 1 starts n − 1 scoring threads, and the calling thread
   * scores a batch itself whenever they all have work (HelpingScorer).
   */
  workers: number;
  batchSize?: number;
  onProgress?: (linesDone: number) => void;
}

/**
 * Scores a JSON-lines stream into a JSON-lines stream: one output line per
 * document, in input order, never dropping one. Batches go to the scoring
 * threads, or are scored on this thread when every one is busy; results are
 * written strictly in batch order. `detector` is this thread's model (null:
 * loaded from `options.modelPath`, which the threads load too).
 */
export async function detectJsonlStream(
  input: Readable,
  output: Writable,
  detector: Detector | null,
  options: JsonlDetectOptions,
): Promise<{ lines: number; documents: number }> {
  const batchSize = options.batchSize ?? 256;
  // Threads and this one score (startHelpedScoring); a thread that dies or cannot start stops the run.
  const scorer = await startHelpedScoring(options.modelPath, options.workers, detector);
  const rowOptions: RowOptions = {
    file: options.file,
    dataset: options.dataset,
    invalid: options.skipInvalid ? 'error-line' : 'stop',
    sentences: options.sentences,
    level: options.level,
    evidence: options.evidence,
  };
  const inFlight: Array<Promise<ScoredRows>> = [];
  const maxInFlight = helpedInFlight(scorer);
  let lineNumber = 0;
  let documents = 0;

  const flushOne = async () => {
    const result = await inFlight.shift()!;
    const lines = result.outputBytes ?? result.output;
    if (lines.length > 0) {
      documents += result.rowsOut;
      if (!output.write(lines)) await once(output, 'drain');
    }
    if (result.error) throw new UserError(result.error);
    options.onProgress?.(lineNumber);
  };

  try {
    for await (const bytes of lineChunks(input, batchSize)) {
      const firstLine = lineNumber + 1;
      lineNumber += countLines(bytes); // before the bytes move to a scoring thread
      inFlight.push(scorer.scoreRows({ bytes, firstLine }, rowOptions, true));
      // A turn of the event loop per batch, so the threads' replies are read (and their next batches
      // sent) between batches even when this thread scores one itself.
      await setImmediate();
      while (inFlight.length >= maxInFlight) await flushOne();
    }
    while (inFlight.length > 0) await flushOne();
  } finally {
    // Let the rejected promises we abandon on error settle quietly.
    for (const p of inFlight) p.catch(() => {});
    await scorer.close();
  }
  return { lines: lineNumber, documents };
}

/**
 * The input cut into chunks of about `lines` whole lines, as bytes: a byte
 * scan for "\n" is all the reading thread does (decoding, splitting and
 * parsing happen on the scoring threads). Measured: node:readline plus
 * cloning its strings cost the reading thread ~20 µs per 2 kB line, a tenth
 * of a scoring thread's work, on a machine with two cores for all three.
 */
async function* lineChunks(input: Readable, lines: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let counted = 0;
  for await (const data of input) {
    const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : (data as Buffer);
    let from = 0;
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) {
      if (++counted < lines) continue;
      parts.push(chunk.subarray(from, at + 1));
      yield Buffer.concat(parts);
      parts = [];
      counted = 0;
      from = at + 1;
    }
    if (from < chunk.length) parts.push(from === 0 ? chunk : chunk.subarray(from));
  }
  if (parts.length > 0) yield Buffer.concat(parts);
}

export function openInput(path: string): Readable {
  if (path === '-') return process.stdin;
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  stream.on('error', () => {});
  return stream;
}
