import { workerData } from 'node:worker_threads';
import { toThreadError } from '../util/thread-pool.js';
import { fitPackedRows } from './logistic.js';
import type { FitBatch, FitReply, FitThreadData } from './fit-threads.js';

/**
 * A fitting thread (model/fit-threads.ts): takes jobs of its batch from the
 * shared counter until none is left, fitting each on the shared rows and
 * posting the model back.
 */
const { port, signal } = workerData as FitThreadData;

function post(reply: FitReply): void {
  port.postMessage(reply);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

port.on('message', ({ jobs, order, next }: FitBatch) => {
  for (let at = Atomics.add(next, 0, 1); at < order.length; at = Atomics.add(next, 0, 1)) {
    const index = order[at];
    const job = jobs[index];
    try {
      post({ kind: 'fitted', index, model: fitPackedRows(job.packed, job.subset, job.ys, job.weights, job.options) });
    } catch (error) {
      post({ kind: 'error', index, error: toThreadError(error) });
      return;
    }
  }
});
post({ kind: 'ready' });
