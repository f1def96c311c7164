/** How many scoring threads the commands start by default: one per core. */
export { defaultWorkerCount } from '../util/thread-pool.js';
