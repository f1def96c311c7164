import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { defaultWorkerCount, fromThread, startThread, type ThreadError } from '../util/thread-pool.js';
import { fitPackedRows, type LogisticModel, type LogisticOptions, type PackedRows } from './logistic.js';

/**
 * Independent logistic fits (training's folds and final fit, the sentence
 * windows' fold and final fits) on worker threads that share the packed
 * rows (SharedArrayBuffers, packRows(…, true): jobs on the same rows send
 * them once, uncopied): each fit is the one fitPackedRows computes on the
 * calling thread, bit for bit, and results come back in job order, so the
 * model does not depend on how many threads there were or which finished
 * first (test/logistic.test.ts).
 *
 * Synchronous: the caller blocks (Atomics.wait) until every fit is back,
 * so training stays a plain function for its callers; the calling thread
 * only hands out jobs. A thread that fails to start within
 * START_TIMEOUT_MS, or an exception in a fit, fails the whole call (errors
 * as util/thread-pool.ts marshals them).
 */
export interface FitJob {
  packed: PackedRows;
  /** Rows to fit (ascending); null: all rows. */
  subset: Int32Array | null;
  /** Label and sample weight of every packed row. */
  ys: Float64Array;
  weights: Float64Array;
  options: Omit<LogisticOptions, 'onIteration'>;
}

/**
 * The job that fits rows `subset` of `packed` (null: all of them), given
 * each of those rows' label and weight in subset order (spread here over
 * the packed rows, as FitJob wants them).
 */
export function subsetJob(
  packed: PackedRows,
  subset: Int32Array | null,
  labels: ArrayLike<number>,
  weights: ArrayLike<number>,
  options: FitJob['options'],
): FitJob {
  const ys = new Float64Array(packed.rows);
  const spread = new Float64Array(packed.rows);
  for (let i = 0; i < labels.length; i++) {
    const row = subset === null ? i : subset[i];
    ys[row] = labels[i];
    spread[row] = weights[i];
  }
  return { packed, subset, ys, weights: spread, options };
}

/** What a fitting thread is started with. */
export interface FitThreadData {
  port: MessagePort;
  /** Incremented (and notified) after every message a thread posts. */
  signal: Int32Array;
  /** One slot per thread, incremented by its thread after every L-BFGS iteration: proof of life. */
  beats: Int32Array;
  slot: number;
}

export type FitReply = { kind: 'ready' } | { kind: 'fitted'; index: number; model: LogisticModel } | { kind: 'error'; index: number; error: ThreadError };

const START_TIMEOUT_MS = 120_000;
/**
 * Longest a thread holding a job may go without a heartbeat. The caller is
 * blocked in Atomics.wait, so a thread that dies without throwing (out of
 * memory) sends no 'exit' event it could see; its heartbeat stopping is how
 * it is noticed. One L-BFGS iteration on all of ../shared/data takes well
 * under a second on two loaded cores (a whole fit of ~60 iterations 15–40 s).
 */
const STALL_TIMEOUT_MS = 120_000;

/**
 * Fewest non-zeros (all jobs' rows together) before the default fits on
 * threads. Training on ../shared/data packs 23.7M for the document model and
 * ~5M per sentence-window fit; a test corpus of a few hundred texts ~0.2M,
 * which fits in well under the second a thread takes to start.
 */
export const MIN_NONZEROS_FOR_THREADS = 2_000_000;

/** Threads for fits over this many non-zeros: one per core from MIN_NONZEROS_FOR_THREADS, else the calling thread. */
export function defaultFitThreads(nonZeros: number): number {
  return nonZeros >= MIN_NONZEROS_FOR_THREADS ? defaultWorkerCount() : 1;
}

export function fitPackedRowsMany(jobs: readonly FitJob[], threads: number, onFitted?: (done: number) => void): LogisticModel[] {
  const models: LogisticModel[] = new Array(jobs.length);
  const count = Math.min(threads, jobs.length);
  if (count <= 1 || jobs.some((job) => !(job.packed.values.buffer instanceof SharedArrayBuffer))) {
    jobs.forEach((job, i) => {
      models[i] = fitPackedRows(job.packed, job.subset, job.ys, job.weights, job.options);
      onFitted?.(i + 1);
    });
    return models;
  }
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const beats = new Int32Array(new SharedArrayBuffer(4 * count));
  type FitThread = { worker: Worker; port: MessagePort; ready: boolean; slot: number; job: number | null; beat: number; lastBeat: number };
  const pool: FitThread[] = [];
  try {
    for (let t = 0; t < count; t++) {
      const { port1, port2 } = new MessageChannel();
      const worker = startThread(new URL('./fit-thread.js', import.meta.url), { port: port2, signal, beats, slot: t } satisfies FitThreadData, [port2]);
      pool.push({ worker, port: port1, ready: false, slot: t, job: null, beat: 0, lastBeat: Date.now() });
    }
    let next = 0;
    let done = 0;
    const hand = (thread: FitThread) => {
      thread.job = null;
      if (next >= jobs.length) return;
      thread.port.postMessage({ index: next, ...jobs[next] });
      thread.job = next;
      thread.lastBeat = Date.now();
      next++;
    };
    const started = Date.now();
    while (done < jobs.length) {
      const seen = Atomics.load(signal, 0);
      for (const thread of pool) {
        for (let message = receiveMessageOnPort(thread.port); message; message = receiveMessageOnPort(thread.port)) {
          const reply = message.message as FitReply;
          if (reply.kind === 'error') throw fromThread(reply.error, 'fitting thread');
          if (reply.kind === 'ready') thread.ready = true;
          else {
            models[reply.index] = reply.model;
            done++; // not inside onFitted?.(…): without a callback its argument is never evaluated
            onFitted?.(done);
          }
          hand(thread);
        }
      }
      if (done >= jobs.length) break;
      const now = Date.now();
      if (pool.some((thread) => !thread.ready) && now - started > START_TIMEOUT_MS) throw new Error(`a fitting thread did not start within ${START_TIMEOUT_MS / 1000} s`);
      for (const thread of pool) {
        const beat = Atomics.load(beats, thread.slot);
        if (beat !== thread.beat) {
          thread.beat = beat;
          thread.lastBeat = now;
        } else if (thread.job !== null && now - thread.lastBeat > STALL_TIMEOUT_MS) {
          throw new Error(
            `fitting thread ${thread.slot + 1} of ${count} stopped during fit ${thread.job + 1} of ${jobs.length} (no L-BFGS iteration for ${STALL_TIMEOUT_MS / 1000} s): ` +
              'it probably died (out of memory?); retry with more memory (NODE_OPTIONS=--max-old-space-size=8192) or fewer threads',
          );
        }
      }
      Atomics.wait(signal, 0, seen, 1000);
    }
    return models;
  } finally {
    for (const thread of pool) {
      thread.port.close();
      void thread.worker.terminate();
    }
  }
}
