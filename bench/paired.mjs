// Before/after on a shared machine: runs the same measurement on two builds
// alternately (A B A B …, so both see the same load) and prints medians.
//
//   node bench/paired.mjs --old /path/to/old/dist --new dist --input articles.jsonl [--rounds 7]
//        [--workers 0] [--sentences] [--in-process | --interleaved]
//
// Whole process (default): `detect --jsonl` with bench/cpu-report.mjs preloaded,
// wall seconds and the process's CPU seconds (all threads). --in-process: one
// process per build and round loads the model, scores the first 1,200 lines
// once to warm up, then reports CPU µs per line of scoreRows over them (parse,
// score, serialise: what a scoring thread does per line). --interleaved: one
// process loads both builds and alternates them batch by batch (200 lines,
// `rounds` × 10 batches each), so both see the same load within a second;
// prints medians of CPU µs per line and the median of the per-pair ratio.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './machine.mjs';

const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const builds = { old: resolve(flag('--old')), new: resolve(flag('--new', 'dist')) };
const input = resolve(flag('--input'));
const rounds = Number(flag('--rounds', 7));
const workers = flag('--workers', '0');
const sentences = args.includes('--sentences');
const inProcess = args.includes('--in-process');
const CPU_REPORT = fileURLToPath(new URL('./cpu-report.mjs', import.meta.url));

const IN_PROCESS = `
  const [dist, input, sentences] = process.argv.slice(1);
  const { loadDetector } = await import(dist + '/model/model-file.js');
  const { scoreRows } = await import(dist + '/detect/lines.js');
  const { readFileSync } = await import('node:fs');
  const detector = loadDetector();
  const lines = readFileSync(input, 'utf8').split('\\n').filter(Boolean).slice(0, 1200);
  const chunk = () => ({ bytes: new Uint8Array(Buffer.from(lines.join('\\n') + '\\n')), firstLine: 1 });
  const options = { file: 'bench', dataset: 'bench', invalid: 'stop', ...(sentences === 'true' ? { sentences: true } : {}) };
  scoreRows(detector, chunk(), options);
  const reps = [];
  for (let r = 0; r < 5; r++) {
    const c = chunk();
    const started = process.cpuUsage();
    scoreRows(detector, c, options);
    const used = process.cpuUsage(started);
    reps.push((used.user + used.system) / lines.length);
  }
  reps.sort((a, b) => a - b);
  console.log(reps[2]);`;

const INTERLEAVED = `
  const [oldDist, newDist, input, sentences, pairs] = process.argv.slice(1);
  const { readFileSync } = await import('node:fs');
  const load = async (dist) => {
    const { loadDetector } = await import(dist + '/model/model-file.js');
    const { scoreRows } = await import(dist + '/detect/lines.js');
    return { detector: loadDetector(), scoreRows };
  };
  const builds = [await load(oldDist), await load(newDist)];
  const lines = readFileSync(input, 'utf8').split('\\n').filter(Boolean).slice(0, 1200);
  const options = { file: 'bench', dataset: 'bench', invalid: 'stop', ...(sentences === 'true' ? { sentences: true } : {}) };
  const batch = (k) => { const part = []; for (let i = 0; i < 200; i++) part.push(lines[(k * 200 + i) % lines.length]); return { bytes: new Uint8Array(Buffer.from(part.join('\\n') + '\\n')), firstLine: 1 }; };
  for (const b of builds) for (let k = 0; k < 6; k++) b.scoreRows(b.detector, batch(k), options);
  const us = [[], []];
  const ratios = [];
  for (let k = 0; k < Number(pairs); k++) {
    const order = k % 2 === 0 ? [0, 1] : [1, 0];
    const pair = [0, 0];
    for (const i of order) {
      const c = batch(k);
      const started = process.cpuUsage();
      builds[i].scoreRows(builds[i].detector, c, options);
      const used = process.cpuUsage(started);
      pair[i] = (used.user + used.system) / 200;
      us[i].push(pair[i]);
    }
    ratios.push(pair[1] / pair[0]);
  }
  const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  console.log('old: ' + median(us[0]).toFixed(1) + ' µs CPU per line; new: ' + median(us[1]).toFixed(1) + ' µs; median new/old ratio of ' + pairs + ' interleaved pairs of 200-line batches: ' + median(ratios).toFixed(3));`;

if (args.includes('--interleaved')) {
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', INTERLEAVED, builds.old, builds.new, input, String(sentences), String(rounds * 10)], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(child.stderr);
  process.stdout.write(child.stdout);
  process.exit(0);
}

const results = { old: [], new: [] };
for (let round = 0; round < rounds; round++) {
  for (const name of round % 2 === 0 ? ['old', 'new'] : ['new', 'old']) results[name].push(measure(builds[name]));
}
for (const name of ['old', 'new']) {
  const runs = results[name];
  if (inProcess) console.log(`${name}: ${median(runs.map((r) => r.us)).toFixed(1)} µs CPU per line (median of ${rounds}; runs ${runs.map((r) => r.us.toFixed(0)).join(' ')})`);
  else console.log(`${name}: wall ${median(runs.map((r) => r.wall)).toFixed(2)} s, CPU ${median(runs.map((r) => r.cpu)).toFixed(2)} s (medians of ${rounds}; CPU runs ${runs.map((r) => r.cpu.toFixed(2)).join(' ')})`);
}

function measure(dist) {
  if (inProcess) {
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', IN_PROCESS, dist, input, String(sentences)], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(child.stderr);
    return { us: Number(child.stdout.trim()) };
  }
  const argv = ['--import', CPU_REPORT, resolve(dist, 'cli/main.js'), 'detect', '--jsonl', input, '--workers', workers, '--quiet', ...(sentences ? ['--sentences'] : [])];
  const started = process.hrtime.bigint();
  const child = spawnSync(process.execPath, argv, { maxBuffer: 1 << 30, encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  if (child.status !== 0) throw new Error(child.stderr);
  return { wall, cpu: Number(/cpu-us (\d+)/.exec(child.stderr)?.[1] ?? NaN) / 1e6 };
}
