// How a fresh thread's cost per article falls as V8 warms up: scores the same
// 256-line chunk `--batches` times in a fresh process (main thread) or in one
// worker thread, printing CPU µs per line for each batch (the process's CPU:
// nothing else runs meanwhile). Run after `npm run build`:
//
//   node bench/warmup.mjs --input articles.jsonl [--dist dist] [--worker] [--batches 40]
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

async function batches({ dist, input, count }) {
  const lines = readFileSync(input, 'utf8').split('\n').filter(Boolean).slice(0, 256);
  const chunk = Buffer.from(`${lines.join('\n')}\n`);
  const { loadDetector } = await import(`${dist}/model/model-file.js`);
  const { scoreRows } = await import(`${dist}/detect/lines.js`);
  const detector = loadDetector();
  const costs = [];
  for (let k = 0; k < count; k++) {
    const started = process.cpuUsage();
    scoreRows(detector, { bytes: new Uint8Array(chunk), firstLine: 1 }, { file: 'bench', dataset: 'bench', invalid: 'stop' });
    const used = process.cpuUsage(started);
    costs.push(Math.round((used.user + used.system) / lines.length));
  }
  return costs;
}

if (!isMainThread) {
  parentPort.postMessage(await batches(workerData));
} else {
  const args = process.argv.slice(2);
  const flag = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
  const options = { dist: resolve(flag('--dist', 'dist')), input: resolve(flag('--input')), count: Number(flag('--batches', 40)) };
  const costs = args.includes('--worker')
    ? await new Promise((done, fail) => new Worker(new URL(import.meta.url), { workerData: options }).once('message', done).once('error', fail))
    : await batches(options);
  const steady = [...costs.slice(-10)].sort((a, b) => a - b)[5];
  const extra = costs.reduce((sum, c) => sum + Math.max(0, c - steady), 0) * 256;
  console.log(`CPU µs per line, batch by batch (${args.includes('--worker') ? 'worker thread' : 'main thread'}): ${costs.join(' ')}`);
  console.log(`steady ~${steady} µs per line; warm-up above it: ${(extra / 1e6).toFixed(2)} s CPU`);
}
