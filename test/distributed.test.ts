/**
 * Distributed `copydesk batch --queue` against a real redis-server started
 * on a free loopback port: two workers, one killed with SIGKILL in the middle
 * of a chunk, and the assembled output checked row by row; retries with
 * backoff; a bad row failing its chunk for good; --status; Redis unreachable
 * at start, and Redis going away under a running worker.
 *
 * Without a redis-server binary these tests skip with a message, except
 * under CI (CI=true), where that is a failure.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { scoreRows } from '../src/detect/lines.js';
import { DEFAULT_MODEL_PATH, loadDetector } from '../src/model/model-file.js';
import {
  freePort,
  readJsonl,
  redisServerBinary,
  runCli,
  startCli,
  startRedis,
  syntheticRows,
  toJsonl,
  waitFor,
  type RedisServer,
  type Started,
} from './batch-support.js';

const binary = redisServerBinary();
const inCi = process.env.CI === 'true';
const skip = binary ? false : 'redis-server not found: install the redis-server package to run the distributed batch tests';
if (!binary) {
  if (inCi) throw new Error('CI=true but redis-server is not installed: the distributed batch tests cannot run');
  process.stderr.write(`# ${skip}\n`);
}

let dir: string;
let redis: RedisServer | undefined;
const children: Started[] = [];

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'copydesk-distributed-'));
  if (binary) redis = await startRedis(binary);
});
after(async () => {
  for (const started of children) if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill('SIGKILL');
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function expectedLines(file: string): string[] {
  const detector = loadDetector(DEFAULT_MODEL_PATH);
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  const output = scoreRows(detector, lines.map((line, i): [string, number] => [line, i + 1]), { file, dataset: path.basename(file, '.jsonl'), invalid: 'skip' }).output;
  return output === '' ? [] : output.slice(0, -1).split('\n');
}

/** Short lock and stall check so a dead worker's chunk comes back within about two seconds. */
function worker(queueName: string, extra: string[] = []): Started {
  const started = startCli([
    'worker', '--queue', redis!.url, '--queue-name', queueName, '--workers', '1',
    '--lock-duration', '1500', '--stalled-interval', '500', '--verbose', ...extra,
  ]);
  children.push(started);
  return started;
}

function stop(started: Started): Promise<unknown> {
  if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill('SIGTERM');
  return started.done;
}

test('two workers, one killed mid-chunk: the chunk is re-delivered and the output has every row exactly once', { skip }, async () => {
  const n = 3000;
  const input = path.join(dir, 'archive.jsonl');
  writeFileSync(input, toJsonl(syntheticRows(n, 'dist')));
  const output = path.join(dir, 'archive.out.jsonl');
  const queueName = 'kill-test';
  // The doomed worker dawdles inside every chunk so it is surely killed in the middle of one.
  const doomed = worker(queueName, ['--chunk-delay', '60000']);
  const healthy = worker(queueName);
  await waitFor(() => doomed.stderr().includes('taking chunks') && healthy.stderr().includes('taking chunks'), 'workers to start');
  const coordinator = startCli([
    'batch', '--queue', redis!.url, '--queue-name', queueName, '--input', input, '--output', output,
    '--batch-size', '200', '--window', '8', '--progress', 'none',
  ]);
  children.push(coordinator);
  await waitFor(() => /chunk (\d+) of run \S+ started/.test(doomed.stderr()), 'the doomed worker to take a chunk');
  const chunk = /chunk (\d+) of run (\S+) started/.exec(doomed.stderr())!;
  doomed.child.kill('SIGKILL');
  const result = await coordinator.done;
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, new RegExp(`${n} rows in, ${n} rows out`));
  // The healthy worker finished the dead worker's chunk.
  assert.match(healthy.stderr(), new RegExp(`chunk ${chunk[1]} of run ${chunk[2]} done`));
  const rows = readJsonl(output);
  const ids = rows.map((r) => r.id);
  assert.equal(ids.length, n);
  assert.equal(new Set(ids).size, n);
  assert.deepEqual(ids, syntheticRows(n, 'dist').map((r) => r.id));
  assert.equal(readFileSync(output, 'utf8'), expectedLines(input).join('\n') + '\n');

  const status = await runCli(['batch', '--queue', redis!.url, '--queue-name', queueName, '--status', '--output', output]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /: done/);
  assert.match(status.stdout, new RegExp(`rows: +${n} in, ${n} out, 0 skipped`));
  assert.match(status.stdout, /0 waiting, 0 active/);
  await stop(healthy);
});

test('failed chunks are retried with backoff; a bad row fails its chunk for good and --skip-invalid then finishes the run', { skip }, async () => {
  const queueName = 'retry-test';
  const rows = syntheticRows(600, 'retry').map((row) => JSON.stringify(row));
  rows[450] = '{"id": "broken"';
  const input = path.join(dir, 'retry.jsonl');
  writeFileSync(input, rows.join('\n') + '\n');
  const output = path.join(dir, 'retry.out.jsonl');
  const flaky = worker(queueName, ['--fail-attempts', '2']);
  const args = [
    'batch', '--queue', redis!.url, '--queue-name', queueName, '--input', input, '--output', output,
    '--batch-size', '100', '--retry-delay', '100', '--attempts', '4', '--progress', 'none',
  ];
  const failed = await runCli(args);
  assert.equal(failed.code, 2, failed.stderr);
  assert.match(failed.stderr, /chunk 4 \(100 rows\) failed after \d attempt\(s\): .*retry\.jsonl:451: invalid JSON/);
  assert.match(flaky.stderr(), /injected failure \(attempt 1\)/);
  assert.match(flaky.stderr(), /injected failure \(attempt 2\)/);
  const status = await runCli(['batch', '--queue', redis!.url, '--queue-name', queueName, '--status', '--output', output]);
  assert.match(status.stdout, /: failed/);
  assert.match(status.stdout, /error: +chunk 4 .*invalid JSON/);

  const resumed = await runCli([...args, '--skip-invalid']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming/);
  assert.match(resumed.stderr, /600 rows in, 599 rows out/);
  assert.match(resumed.stderr, /skipped 1 rows: 1 invalid JSON/);
  const ids = readJsonl(output).map((r) => r.id);
  assert.equal(ids.length, 599);
  assert.equal(new Set(ids).size, 599);
  assert.equal(readFileSync(output, 'utf8'), expectedLines(input).join('\n') + '\n');
  await stop(flaky);
});

test('Redis unreachable at start: a clear message after the given tries, no crash', { skip }, async () => {
  const port = await freePort();
  const input = path.join(dir, 'archive.jsonl');
  const batch = await runCli(['batch', '--queue', `redis://127.0.0.1:${port}`, '--connect-tries', '2', '--input', input, '--output', path.join(dir, 'x.jsonl')]);
  assert.equal(batch.code, 2);
  assert.match(batch.stderr, new RegExp(`copydesk: cannot reach Redis at 127\\.0\\.0\\.1:${port} after 2 tries \\(ECONNREFUSED\\)`));
  assert.doesNotMatch(batch.stderr, /internal error|at .*\.ts:\d+/);
  const workerRun = await runCli(['worker', '--queue', `redis://127.0.0.1:${port}`, '--connect-tries', '2']);
  assert.equal(workerRun.code, 2);
  assert.match(workerRun.stderr, /cannot reach Redis/);
  const badUrl = await runCli(['worker', '--queue', 'localhost:6379']);
  assert.match(badUrl.stderr, /must be a Redis URL like redis:\/\/host:6379/);
});

test('a worker outlives a Redis outage: it reports it, reconnects and goes on working', { skip }, async () => {
  const own = await startRedis(binary!);
  const queueName = 'outage-test';
  const started = startCli(['worker', '--queue', own.url, '--queue-name', queueName, '--workers', '1', '--verbose']);
  children.push(started);
  try {
    await waitFor(() => started.stderr().includes('taking chunks'), 'the worker to start');
    await own.stop();
    await waitFor(() => /lost Redis at 127\.0\.0\.1:\d+ \(ECONN(REFUSED|RESET)\); retrying/.test(started.stderr()), 'the outage to be reported', 15_000);
    const again = await startRedis(binary!, own.port);
    try {
      await waitFor(() => started.stderr().includes('reconnected to Redis'), 'the worker to reconnect', 15_000);
      assert.equal(started.child.exitCode, null, 'the worker is still running');
      const input = path.join(dir, 'outage.jsonl');
      writeFileSync(input, toJsonl(syntheticRows(300, 'outage')));
      const output = path.join(dir, 'outage.out.jsonl');
      const batch = await runCli(['batch', '--queue', again.url, '--queue-name', queueName, '--input', input, '--output', output, '--batch-size', '100', '--progress', 'none']);
      assert.equal(batch.code, 0, batch.stderr);
      assert.equal(readJsonl(output).length, 300);
    } finally {
      await stop(started);
      await again.stop();
    }
  } finally {
    await own.stop();
  }
});

test('Redis restarted without its data mid-run: the coordinator says the chunks were lost and to rerun, and the rerun finishes', { skip }, async () => {
  const queueName = 'lost-data';
  const input = path.join(dir, 'lost.jsonl');
  writeFileSync(input, toJsonl(syntheticRows(600, 'lost')));
  const output = path.join(dir, 'lost.out.jsonl');
  const args = [
    'batch', '--queue', redis!.url, '--queue-name', queueName, '--input', input, '--output', output, '--batch-size', '100', '--progress', 'none',
  ];
  // No worker yet: the chunks wait in the queue, then vanish with everything else in Redis.
  const coordinator = startCli(args);
  children.push(coordinator);
  const { Redis } = await import('ioredis');
  const client = new Redis(redis!.url);
  try {
    await waitFor(async () => (await client.keys('copydesk:batch:chunk:*')).length === 6, 'the six chunks to be stored');
    await client.flushall();
  } finally {
    client.disconnect();
  }
  // It used to enqueue the chunks again without their rows (a worker could only fail them), or wait forever with no worker.
  const lost = await Promise.race([coordinator.done, new Promise<undefined>((resolve) => setTimeout(resolve, 15_000))]);
  assert.ok(lost, 'the coordinator stopped');
  assert.equal(lost.code, 2, lost.stderr);
  assert.match(lost.stderr, /chunk 0 and its rows are gone from Redis .*rerun the same command/);

  const healthy = worker(queueName);
  const resumed = await runCli(args);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /600 rows in, 600 rows out/);
  assert.equal(readFileSync(output, 'utf8'), expectedLines(input).join('\n') + '\n');
  await stop(healthy);
});

/** The stderr lines that mention the outage's error (ECONNREFUSED, ECONNRESET), and any stack trace or ioredis "Unhandled error event". */
function outageNoise(stderr: string): { errorLines: number; stack: boolean } {
  return {
    errorLines: stderr.split('\n').filter((line) => /ECONN(REFUSED|RESET)/.test(line)).length,
    stack: /Unhandled error event|^\s+at \S/m.test(stderr),
  };
}

test('Redis down under a waiting coordinator and a worker: one rate-limited line each, no stack traces, and they reconnect', { skip }, async () => {
  const own = await startRedis(binary!);
  const queueName = 'noise-test';
  const input = path.join(dir, 'noise.jsonl');
  writeFileSync(input, toJsonl(syntheticRows(300, 'noise')));
  // No worker takes this queue's chunks: the coordinator waits on their completion events (QueueEvents) when Redis goes.
  const coordinator = startCli([
    'batch', '--queue', own.url, '--queue-name', queueName, '--input', input, '--output', path.join(dir, 'noise.out.jsonl'),
    '--batch-size', '100', '--progress', 'none',
  ]);
  const idle = startCli(['worker', '--queue', own.url, '--queue-name', `${queueName}-other`, '--workers', '1']);
  children.push(coordinator, idle);
  let again: RedisServer | undefined;
  try {
    await waitFor(() => coordinator.stderr().includes('start workers with') && idle.stderr().includes('taking chunks'), 'the coordinator and the worker to start');
    await own.stop();
    // ECONNRESET when the killed server cut a blocking read short, ECONNREFUSED when a connection tried again.
    await waitFor(() => /batch: lost Redis at 127\.0\.0\.1:\d+ \(ECONN(REFUSED|RESET)\); retrying/.test(coordinator.stderr()), 'the coordinator to report the outage', 15_000);
    await waitFor(() => /worker: lost Redis at 127\.0\.0\.1:\d+ \(ECONN(REFUSED|RESET)\); retrying/.test(idle.stderr()), 'the worker to report the outage', 15_000);
    // Every connection retries several times a second meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    for (const [who, started] of [['coordinator', coordinator], ['worker', idle]] as const) {
      const noise = outageNoise(started.stderr());
      assert.equal(noise.stack, false, `${who}: no stack trace or unhandled error event:\n${started.stderr()}`);
      assert.ok(noise.errorLines <= 2, `${who}: the outage is reported, not every failed retry (${noise.errorLines} lines):\n${started.stderr()}`);
    }
    assert.equal(coordinator.child.exitCode, null, 'the coordinator is still running');
    again = await startRedis(binary!, own.port);
    await waitFor(() => coordinator.stderr().includes('batch: reconnected to Redis'), 'the coordinator to reconnect', 15_000);
    await waitFor(() => idle.stderr().includes('worker: reconnected to Redis'), 'the worker to reconnect', 15_000);
    assert.equal(outageNoise(coordinator.stderr()).stack, false, coordinator.stderr());
  } finally {
    coordinator.child.kill('SIGKILL');
    idle.child.kill('SIGKILL');
    await Promise.all([coordinator.done, idle.done]);
    await again?.stop();
    await own.stop();
  }
});

test('SIGTERM with Redis down: the worker gives its chunk a bounded time, says what it abandoned and exits', { skip }, async () => {
  const own = await startRedis(binary!);
  const queueName = 'sigterm-test';
  const input = path.join(dir, 'sigterm.jsonl');
  writeFileSync(input, toJsonl(syntheticRows(200, 'sigterm')));
  // The worker dawdles inside its chunk, so it still has it in hand when Redis goes away.
  const stuck = startCli([
    'worker', '--queue', own.url, '--queue-name', queueName, '--workers', '1', '--verbose', '--chunk-delay', '60000', '--stop-timeout', '2000',
  ]);
  const coordinator = startCli([
    'batch', '--queue', own.url, '--queue-name', queueName, '--input', input, '--output', path.join(dir, 'sigterm.out.jsonl'),
    '--batch-size', '100', '--progress', 'none',
  ]);
  children.push(stuck, coordinator);
  try {
    await waitFor(() => /chunk \d+ of run \S+ started/.test(stuck.stderr()), 'the worker to take a chunk');
    const chunk = /chunk (\d+) of run (\S+) started/.exec(stuck.stderr())!;
    await own.stop();
    await waitFor(() => stuck.stderr().includes('lost Redis'), 'the worker to notice the outage', 15_000);
    const sent = Date.now();
    stuck.child.kill('SIGTERM');
    const stopped = await Promise.race([stuck.done, new Promise<undefined>((resolve) => setTimeout(resolve, 10_000))]);
    assert.ok(stopped, `the worker exited within 10 s of SIGTERM with Redis down:\n${stuck.stderr()}`);
    const seconds = (Date.now() - sent) / 1000;
    assert.ok(seconds >= 1.5, `it gave the chunk its time first (${seconds} s)`);
    assert.equal(stopped.code, 1, stopped.stderr);
    assert.match(stopped.stderr, new RegExp(`abandoned chunk ${chunk[1]} of run ${chunk[2]}`));
    assert.match(stopped.stderr, /another worker/);
    assert.equal(outageNoise(stopped.stderr).stack, false, stopped.stderr);
  } finally {
    coordinator.child.kill('SIGKILL');
    await coordinator.done;
    await own.stop();
  }
});

test('a second SIGTERM or SIGINT stops the worker at once', { skip }, async () => {
  const own = await startRedis(binary!);
  const started = startCli(['worker', '--queue', own.url, '--queue-name', 'second-signal', '--workers', '1']);
  children.push(started);
  try {
    await waitFor(() => started.stderr().includes('taking chunks'), 'the worker to start');
    await own.stop();
    await waitFor(() => started.stderr().includes('lost Redis'), 'the worker to notice the outage', 15_000);
    started.child.kill('SIGTERM');
    await waitFor(() => /SIGTERM/.test(started.stderr()), 'the worker to acknowledge SIGTERM');
    const sent = Date.now();
    started.child.kill('SIGINT');
    const stopped = await Promise.race([started.done, new Promise<undefined>((resolve) => setTimeout(resolve, 3000))]);
    assert.ok(stopped, `the worker exited at once on the second signal:\n${started.stderr()}`);
    assert.ok(Date.now() - sent < 2000);
    assert.equal(stopped.code, 130, stopped.stderr);
    assert.match(stopped.stderr, /SIGINT again: stopping now/);
  } finally {
    await own.stop();
  }
});
