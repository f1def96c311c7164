#!/usr/bin/env node
/**
 * Batch benchmark (run after `npm run build`): `node bench/batch.mjs`.
 *
 *   1. rows/s of `copydesk batch` with 1 and 2 scoring threads, and the ratio;
 *   2. rows/s distributed: a coordinator and two `copydesk worker` processes
 *      (one thread each) on a private redis-server on loopback (skipped, with
 *      a note, when redis-server is not installed);
 *   3. peak memory (RSS of the whole process, scoring threads included) on a
 *      ~1 GB JSONL input generated into the temp directory.
 *
 * Options: --rows N (throughput input, default 40000), --gb X (memory input
 * size, default 1; 0 skips it), --keep (leave the generated inputs in place),
 * --json FILE (write the numbers as JSON as well).
 * Rates are the run's own (reading, scoring, writing, committing), taken
 * from its summary line; process start-up and input hashing are excluded
 * from them but included in the wall times shown beside them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist/cli/main.js');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : args[at + 1];
};
const ROWS = Number(flag('--rows', 40000));
const GB = Number(flag('--gb', 1));
const KEEP = args.includes('--keep');
const JSON_OUT = flag('--json', undefined);

if (!existsSync(CLI)) {
  console.error('bench/batch.mjs: build first (npm run build)');
  process.exit(2);
}

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const WORK = path.join(os.tmpdir(), 'copydesk-bench-batch');
mkdirSync(WORK, { recursive: true });

const WORDS = (
  'the council said on Tuesday that its budget would rise by four percent officials in the city warned residents ' +
  'of new taxes while opposition leaders called the plan reckless and promised to fight it in court police reported ' +
  'arrests after a protest furthermore it is important to note that the overall landscape remains complex ' +
  'analysts expect growth to slow next year as interest rates stay high and consumers spend less on travel'
).split(' ');

/** ~1 KB news-like texts, deterministic. */
async function generate(file, { rows, bytes }) {
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const out = createWriteStream(file);
  let written = 0;
  for (let i = 0; rows ? i < rows : written < bytes; i++) {
    const words = [];
    const n = 140 + Math.floor(next() * 60);
    for (let k = 0; k < n; k++) {
      let word = WORDS[Math.floor(next() * WORDS.length)];
      if (k === 0 || words[k - 1].endsWith('.')) word = word[0].toUpperCase() + word.slice(1);
      words.push(next() < 0.07 ? `${word}.` : word);
    }
    const line = `${JSON.stringify({ id: `bench-${i}`, text: `${words.join(' ')}.` })}\n`;
    written += Buffer.byteLength(line);
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return file;
}

/** Runs the CLI, sampling the peak RSS (VmHWM, threads included) of the process. */
async function cli(cliArgs, { sample = false } = {}) {
  const started = performance.now();
  // GNU time, where installed, gives the CPU seconds and peak RSS of the whole process (threads included).
  const command = TIME ? [TIME, ['-f', 'TIME %e %U %S %M', process.execPath, CLI, ...cliArgs]] : [process.execPath, [CLI, ...cliArgs]];
  const child = spawn(command[0], command[1], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  child.stdout.resume();
  let peakKb = 0;
  const timer = sample
    ? setInterval(() => {
        try {
          const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
          const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
          if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
        } catch {
          // exited between samples
        }
      }, 100)
    : undefined;
  const [code] = await once(child, 'close');
  if (timer) clearInterval(timer);
  const wall = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`copydesk ${cliArgs.join(' ')} failed (${code}):\n${stderr}`);
  const own = /batch: (\d+) rows in ([\d.]+) s, ([\d.]+) rows\/s/.exec(stderr);
  const time = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(stderr);
  if (time) peakKb = Math.max(peakKb, Number(time[4]));
  const cpu = time ? Number(time[2]) + Number(time[3]) : undefined;
  const rows = Number(own?.[1]);
  return { wall, rows, seconds: Number(own?.[2]), rate: Number(own?.[3]), cpu, rowsPerCpuSecond: cpu ? Math.round(rows / cpu) : undefined, peakMb: peakKb / 1024, stderr };
}

function startProcess(cliArgs) {
  const child = spawn(process.execPath, [CLI, ...cliArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  return { child, stderr: () => stderr };
}

async function freePort() {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

async function waitUntil(condition, what, ms = 20000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const cpus = os.cpus();
const machine = {
  cpu: cpus[0]?.model ?? 'unknown',
  cores: os.availableParallelism?.() ?? cpus.length,
  memoryGb: Number((os.totalmem() / 2 ** 30).toFixed(1)),
  loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
  node: process.version,
  platform: `${os.type()} ${os.release()}`,
};
console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GiB, ${machine.platform}, Node ${machine.node}; load average ${machine.loadAverage.join(' ')}`);

const results = { machine, rows: ROWS };
const input = await generate(path.join(WORK, `rows-${ROWS}.jsonl`), { rows: ROWS });
console.log(`throughput input: ${ROWS} rows, ${(statSync(input).size / 2 ** 20).toFixed(1)} MiB (${input})`);

// 1. Threads on one machine. Best of three each, interleaved, to damp noise from anything else on the machine.
const local = { 1: [], 2: [] };
for (let round = 0; round < 3; round++) {
  for (const workers of [1, 2]) {
    const output = path.join(WORK, `out-${workers}.jsonl`);
    local[workers].push(await cli(['batch', '--input', input, '--output', output, '--workers', String(workers), '--progress', 'none']));
  }
}
const best = (runs) => runs.reduce((a, b) => (b.rate > a.rate ? b : a));
const one = best(local[1]);
const two = best(local[2]);
results.local = {
  workers1: { rate: one.rate, wall: one.wall, rowsPerCpuSecond: one.rowsPerCpuSecond, all: local[1].map((r) => r.rate) },
  workers2: { rate: two.rate, wall: two.wall, rowsPerCpuSecond: two.rowsPerCpuSecond, all: local[2].map((r) => r.rate) },
  scaling: Number((two.rate / one.rate).toFixed(2)),
};
const perCpu = (r) => (r.rowsPerCpuSecond ? `; ${r.rowsPerCpuSecond} rows per CPU-second` : '');
console.log(`batch --workers 1: ${one.rate} rows/s (runs: ${local[1].map((r) => r.rate).join(', ')}; wall ${one.wall.toFixed(2)} s${perCpu(one)})`);
console.log(`batch --workers 2: ${two.rate} rows/s (runs: ${local[2].map((r) => r.rate).join(', ')}; wall ${two.wall.toFixed(2)} s${perCpu(two)})`);
console.log(`scaling 1 → 2 threads: ${results.local.scaling}× (target ≥ 1.8×)`);
if (one.rowsPerCpuSecond && two.rowsPerCpuSecond) {
  // What two threads cost in CPU per row compared with one: near 1 means the wall-clock scaling is bounded only by free cores.
  results.local.cpuEfficiency = Number((two.rowsPerCpuSecond / one.rowsPerCpuSecond).toFixed(2));
  console.log(`CPU efficiency of 2 threads vs 1 (rows per CPU-second): ${results.local.cpuEfficiency}`);
}
const load = os.loadavg()[0];
if (load > machine.cores * 0.75) console.log(`note: load average ${load.toFixed(2)} on ${machine.cores} cores: other work is competing for the CPUs, wall-clock scaling is not meaningful`);

// 2. Distributed on loopback.
const redisBinary = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
if (!redisBinary) {
  console.log('distributed: skipped (redis-server not installed)');
} else {
  const port = await freePort();
  const redis = spawn(redisBinary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const workers = [];
  try {
    await waitUntil(
      () => new Promise((resolve) => net.connect(port, '127.0.0.1').once('connect', function () { this.destroy(); resolve(true); }).once('error', () => resolve(false))),
      'redis-server',
    );
    for (let k = 0; k < 2; k++) workers.push(startProcess(['worker', '--queue', url, '--workers', '1']));
    await waitUntil(() => workers.every((w) => w.stderr().includes('taking chunks')), 'workers');
    const runs = [];
    for (let round = 0; round < 2; round++) {
      const output = path.join(WORK, `out-distributed.jsonl`);
      runs.push(await cli(['batch', '--queue', url, '--input', input, '--output', output, '--progress', 'none', '--restart']));
    }
    const d = best(runs);
    results.distributed = { rate: d.rate, wall: d.wall, all: runs.map((r) => r.rate), vsOneThread: Number((d.rate / one.rate).toFixed(2)) };
    console.log(`distributed, 2 worker processes × 1 thread on loopback: ${d.rate} rows/s (runs: ${runs.map((r) => r.rate).join(', ')}; ${results.distributed.vsOneThread}× one thread)`);
  } finally {
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => (w.child.exitCode === null ? once(w.child, 'exit') : undefined)));
    redis.kill('SIGKILL');
  }
}

// 3. Peak memory on a big input.
if (GB > 0) {
  const big = path.join(WORK, `big-${GB}gb.jsonl`);
  if (!existsSync(big) || Math.abs(statSync(big).size - GB * 2 ** 30) > 2 ** 20 * 8) {
    console.log(`generating ${GB} GiB input at ${big} ...`);
    await generate(big, { bytes: GB * 2 ** 30 });
  }
  const bigOutput = path.join(WORK, 'out-big.jsonl');
  const run = await cli(['batch', '--input', big, '--output', bigOutput, '--progress', 'none', '--restart'], { sample: true });
  results.memory = { inputBytes: statSync(big).size, rows: run.rows, rate: run.rate, wall: run.wall, peakRssMb: Number(run.peakMb.toFixed(1)) };
  console.log(
    `memory: ${(results.memory.inputBytes / 2 ** 30).toFixed(2)} GiB, ${run.rows} rows, all ${machine.cores} cores: ` +
      `peak RSS ${results.memory.peakRssMb} MB (target < 500 MB), ${run.rate} rows/s, wall ${run.wall.toFixed(1)} s`,
  );
  rmSync(bigOutput, { force: true });
  if (!KEEP) rmSync(big, { force: true });
}
if (!KEEP) rmSync(input, { force: true });
if (JSON_OUT) writeFileSync(JSON_OUT, `${JSON.stringify(results, null, 2)}\n`);
