import { workerData } from 'node:worker_threads';
import { toThreadError } from '../util/thread-pool.js';
import { fitPackedRows } from './logistic.js';
import type { FitJob, FitReply, FitThreadData } from './fit-threads.js';

/** A fitting thread (model/fit-threads.ts): fits each job it is handed on the shared rows and posts the model back. */
const { port, signal, beats, slot } = workerData as FitThreadData;
/** Proof of life for the blocked caller (fit-threads.ts): a thread that dies stops beating. */
const beat = () => void Atomics.add(beats, slot, 1);

function post(reply: FitReply): void {
  port.postMessage(reply);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

port.on('message', (job: FitJob & { index: number }) => {
  try {
    post({ kind: 'fitted', index: job.index, model: fitPackedRows(job.packed, job.subset, job.ys, job.weights, { ...job.options, onIteration: beat }) });
  } catch (error) {
    post({ kind: 'error', index: job.index, error: toThreadError(error) });
  }
});
post({ kind: 'ready' });
