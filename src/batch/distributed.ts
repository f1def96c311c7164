import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { Queue, QueueEvents, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { UserError } from '../util/errors.js';
import { ScoringPool } from '../detect/pool.js';
import { connectRedis, redisLabel } from './redis.js';
import type { CommitState, RunInfo, Scorer } from './run.js';
import type { Row, RowOptions, ScoredRows } from '../detect/lines.js';

/*
 * Distributed batch on BullMQ.
 *
 * The coordinator (`copydesk batch --queue`) reads the input itself and
 * stores each chunk's rows in Redis (so workers need no shared filesystem),
 * then enqueues one job per chunk with a deterministic job id
 * `<run>-<chunk>`, where the run id is the fingerprint of inputs, model and
 * options. It keeps at most `window` chunks ahead of the assembled output,
 * so Redis and the coordinator hold a bounded amount whatever the input
 * size, and appends results in chunk order to the output file with the
 * same commit protocol (fsync, then checkpoint) as a single-machine run.
 *
 * Workers (`copydesk worker --queue`) score a chunk on their thread pool
 * and store the result with one `SET result NX`: the first result written
 * is the only one; a redelivered job (a worker killed mid-chunk, a lock
 * lost) finds the result there and does nothing. BullMQ retries failed
 * chunks with exponential backoff and re-delivers stalled ones (lock
 * expired). The model travels through Redis too, keyed by its SHA-256,
 * so every worker scores with exactly the coordinator's model.
 *
 * A coordinator killed and restarted with the same command resumes from
 * its checkpoint; chunks already scored are picked up from Redis.
 */

const TTL_SECONDS = 7 * 24 * 3600;
const KEY = 'copydesk:batch';

export const keys = {
  runs: `${KEY}:runs`,
  run: (run: string) => `${KEY}:run:${run}`,
  model: (sha: string) => `${KEY}:model:${sha}`,
  chunk: (run: string, index: number) => `${KEY}:chunk:${run}:${index}`,
  result: (run: string, index: number) => `${KEY}:result:${run}:${index}`,
};

export interface ChunkJob {
  run: string;
  index: number;
  model: string;
  context: RowOptions;
  rows: number;
}

interface ChunkPayload {
  items: Row[];
}

export interface QueueOptions {
  url: string;
  queueName: string;
  /** Chunks enqueued ahead of the assembled output. */
  window: number;
  connectTries: number;
  /** Attempts per chunk before the run fails (BullMQ retries with exponential backoff). */
  attempts?: number;
  backoffMs?: number;
  /** Longest wait for a chunk's completion event before checking on the chunk (a vanished or failed job). */
  checkMs?: number;
  log?: (line: string) => void;
}

const stderrLog = (line: string) => process.stderr.write(`${line}\n`);

export function jobId(run: string, index: number): string {
  return `${run}-${index}`;
}

/** The coordinator's side: chunks out to the queue, results back in order. */
export async function queueScorer(run: RunInfo, options: QueueOptions): Promise<Scorer> {
  const log = options.log ?? stderrLog;
  // Settings and output path together: two outputs of the same input are two runs.
  const runId = createHash('sha256').update(`${run.id}\0${path.resolve(run.options.output)}`).digest('hex').slice(0, 16);
  const link = await connectRedis(options.url, { tries: options.connectTries, role: 'batch', log });
  const redis = link.client;
  const queue = new Queue<ChunkJob>(options.queueName, { connection: redis });
  queue.on('error', link.report);
  // Every chunk in flight waits on one 'closing' listener (waitUntilFinished).
  queue.setMaxListeners(options.window + 10);
  // Completion events arrive on a duplicate of the connection that QueueEvents makes (it blocks on XREAD); the link watches it.
  const events = new QueueEvents(options.queueName, { connection: redis });
  events.on('error', link.report);
  const checkMs = options.checkMs ?? 1000;
  const attempts = options.attempts ?? 5;
  const backoffMs = options.backoffMs ?? 1000;
  const modelKey = keys.model(run.modelSha);
  await redis.set(modelKey, await fs.readFile(run.options.modelPath), 'EX', TTL_SECONDS);
  const runKey = keys.run(runId);
  await redis.hset(runKey, {
    input: run.options.inputs.join(' '),
    output: path.resolve(run.options.output),
    chunk_rows: String(run.fingerprint.batchSize),
    estimated_rows: String(run.estimatedRows),
    state: 'running',
    coordinator: `${hostname()}:${process.pid}`,
    started_at: new Date().toISOString(),
    updated_at: new Date().toISOString(),
  });
  await redis.expire(runKey, TTL_SECONDS);
  await redis.zadd(keys.runs, Date.now(), runId);
  log(`batch: run ${runId} on queue "${options.queueName}" at ${redisLabel(options.url)}; start workers with: copydesk worker --queue ${options.url}`);

  let enqueued = run.firstBatch;
  let cleaned = run.firstBatch;

  const enqueue = async (index: number, rows: number, context: RowOptions, holder: { payload?: string }) => {
    const id = jobId(runId, index);
    if (holder.payload !== undefined) await redis.set(keys.chunk(runId, index), holder.payload, 'EX', TTL_SECONDS);
    holder.payload = undefined;
    const existing = await queue.getJob(id);
    if (existing) {
      const state = await existing.getState();
      // A chunk that failed in an earlier attempt of this run gets a fresh start (and this run's options).
      if (state !== 'failed' && state !== 'completed' && state !== 'unknown') return;
      await existing.remove().catch(() => {});
    }
    const data: ChunkJob = { run: runId, index, model: run.modelSha, context, rows };
    await queue.add('chunk', data, {
      jobId: id,
      attempts,
      backoff: { type: 'exponential', delay: backoffMs },
      removeOnComplete: true,
      removeOnFail: { age: TTL_SECONDS },
    });
  };

  const score = async (index: number, rows: number, context: RowOptions, holder: { payload?: string }): Promise<ScoredRows> => {
    const resultKey = keys.result(runId, index);
    const ready = await redis.get(resultKey);
    if (ready !== null) return checked(JSON.parse(ready) as ScoredRows, index, rows);
    await enqueue(index, rows, context, holder);
    enqueued = Math.max(enqueued, index + 1);
    const id = jobId(runId, index);
    for (;;) {
      // Wakes on the chunk's completed or failed event, or after checkMs to check on it.
      await (await queue.getJob(id))?.waitUntilFinished(events, checkMs).catch(() => {});
      // The result key, not the job's return value, is the result: it was written once (SET NX).
      const text = await redis.get(resultKey);
      if (text !== null) return checked(JSON.parse(text) as ScoredRows, index, rows);
      const job = await queue.getJob(id);
      if (!job) {
        // Completed jobs are removed; the result may have landed just now.
        if ((await redis.exists(resultKey)) === 1) continue;
        // Its rows are sent once; without them (Redis restarted without its data) a new job could only fail.
        if ((await redis.exists(keys.chunk(runId, index))) === 0) {
          throw new UserError(
            `chunk ${index} and its rows are gone from Redis (restarted without its data?); rerun the same command to resume: it sends the rows of unfinished chunks again`,
          );
        }
        log(`batch: chunk ${index} vanished from the queue without a result; enqueuing it again`);
        await enqueue(index, rows, context, holder);
        continue;
      }
      if (await job.isFailed()) {
        throw new UserError(`chunk ${index} (${rows} rows) failed after ${job.attemptsMade} attempt(s): ${job.failedReason}`);
      }
    }
  };

  const cleanUp = async (upTo: number) => {
    while (cleaned < upTo) {
      const batch = [];
      for (let i = cleaned; i < Math.min(upTo, cleaned + 500); i++) batch.push(keys.result(runId, i), keys.chunk(runId, i));
      await redis.del(...batch);
      cleaned = Math.min(upTo, cleaned + 500);
    }
  };

  const publish = async (state: CommitState, status: string) => {
    await redis.hset(runKey, {
      state: status,
      chunks_committed: String(state.batches),
      chunks_enqueued: String(enqueued),
      rows_in: String(state.rowsIn),
      rows_out: String(state.rowsOut),
      skipped: String(state.skipped),
      updated_at: new Date().toISOString(),
    });
    await redis.zadd(keys.runs, Date.now(), runId);
  };

  return {
    maxInFlight: options.window,
    score(batch, index, context) {
      // Serialised now so the rows are not kept alive while the chunk waits in the queue.
      const holder: { payload?: string } = { payload: JSON.stringify({ items: batch.items } satisfies ChunkPayload) };
      return score(index, batch.items.length, context, holder);
    },
    async committed(state) {
      // Results are dropped only once the output holding them is durable (and the run says so).
      await publish(state, 'running');
      await cleanUp(state.batches);
    },
    async finished(state) {
      await publish(state, 'done');
      await cleanUp(state.batches);
      await redis.hset(runKey, { finished_at: new Date().toISOString() });
    },
    async failed(message) {
      await redis.hset(runKey, { state: 'failed', error: message.split('\n')[0], updated_at: new Date().toISOString() }).catch(() => {});
    },
    async close() {
      // Politely when Redis answers; with Redis gone the quits would wait for it forever.
      await within(CLOSE_MS, async () => {
        await events.close().catch(() => {});
        await queue.close().catch(() => {});
        // BullMQ leaves a connection it was given open.
        await redis.quit().catch(() => {});
      });
      link.disconnectAll();
    },
  };
}

function checked(result: ScoredRows, index: number, rows: number): ScoredRows {
  if (result.rowsIn !== rows) throw new Error(`chunk ${index}: result covers ${result.rowsIn} rows, the chunk has ${rows}`);
  return result;
}

export interface WorkerOptions {
  url: string;
  queueName: string;
  threads: number;
  connectTries: number;
  /** BullMQ lock: a worker silent for this long is presumed dead and its chunk re-delivered. */
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  verbose: boolean;
  log: (line: string) => void;
  /** Testing: wait this long inside every chunk, so a test can kill a worker mid-chunk. */
  chunkDelayMs?: number;
  /** Testing: fail the first n attempts of every chunk, to exercise retries with backoff. */
  failAttempts?: number;
  /** How long close() lets the chunks in hand finish before abandoning them (the CLI's STOP_TIMEOUT_MS says why). */
  stopTimeoutMs: number;
}

export interface StopOutcome {
  /** Chunks still in hand when the worker gave up waiting (empty after a clean stop). */
  abandoned: Array<{ run: string; index: number }>;
  /** False when the worker gave up waiting: on its chunks, or on Redis to close the queue. */
  clean: boolean;
  /** Why Redis could not be reached when the worker gave up, if it could not. */
  redisDown?: string;
}

export interface RunningWorker {
  /** Stops taking chunks, lets the ones in hand finish (for at most stopTimeoutMs), closes everything. */
  close(): Promise<StopOutcome>;
  readonly done: Promise<StopOutcome>;
  /** The chunks being scored now. */
  inHand(): Array<{ run: string; index: number }>;
}

/** A `copydesk worker`: takes chunks from the queue until stopped. */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { log } = options;
  const link = await connectRedis(options.url, { tries: options.connectTries, role: 'worker', log });
  const redis = link.client;
  let current: { sha: string; pool: Promise<ScoringPool> } | undefined;

  const poolFor = async (sha: string): Promise<ScoringPool> => {
    if (current?.sha === sha) return current.pool;
    const previous = current;
    const pool = (async () => {
      if (previous) await (await previous.pool.catch(() => undefined))?.close();
      const file = path.join(tmpdir(), `copydesk-model-${sha.slice(0, 32)}.cdm`);
      const have = await fs.readFile(file).catch(() => undefined);
      if (!have || sha256(have) !== sha) {
        const bytes = await redis.getBuffer(keys.model(sha));
        if (!bytes) throw new Error(`model ${sha.slice(0, 12)} is not in Redis (the run's coordinator stores it)`);
        if (sha256(bytes) !== sha) throw new Error(`model ${sha.slice(0, 12)} in Redis is corrupt`);
        await fs.writeFile(`${file}.${process.pid}.tmp`, bytes);
        await fs.rename(`${file}.${process.pid}.tmp`, file);
      }
      return ScoringPool.start(file, options.threads);
    })();
    current = { sha, pool };
    pool.catch(() => {
      if (current?.pool === pool) current = undefined;
    });
    return pool;
  };

  const inHand = new Map<Job<ChunkJob>, { run: string; index: number }>();
  const process_ = async (job: Job<ChunkJob>): Promise<string> => {
    inHand.set(job, { run: job.data.run, index: job.data.index });
    try {
      return await processChunk(job);
    } finally {
      inHand.delete(job);
    }
  };

  const processChunk = async (job: Job<ChunkJob>): Promise<string> => {
    const { run, index, model, context } = job.data;
    const resultKey = keys.result(run, index);
    // Redelivered after another attempt already stored the result: nothing to do.
    if ((await redis.exists(resultKey)) === 1) return 'duplicate';
    const payload = await redis.get(keys.chunk(run, index));
    if (payload === null) {
      if ((await redis.exists(resultKey)) === 1) return 'duplicate';
      // A stale redelivery of a chunk the coordinator has already assembled (and cleaned up).
      if (Number((await redis.hget(keys.run(run), 'chunks_committed')) ?? -1) > index) return 'duplicate';
      throw new Error(`chunk ${index} of run ${run}: rows missing from Redis`);
    }
    const started = Date.now();
    if (options.verbose) log(`worker: chunk ${index} of run ${run} started (${job.data.rows} rows, attempt ${job.attemptsMade + 1})`);
    const pool = await poolFor(model);
    const { items } = JSON.parse(payload) as ChunkPayload;
    if (options.chunkDelayMs) await sleep(options.chunkDelayMs);
    if (options.failAttempts && job.attemptsMade < options.failAttempts) throw new Error(`injected failure (attempt ${job.attemptsMade + 1})`);
    const result = await pool.scoreRows(items, context).catch((error: Error) => {
      // The person's mistake (a model without sentence calibration ...) fails the same way on every attempt.
      throw error instanceof UserError ? new UnrecoverableError(error.message) : error;
    });
    // A row that cannot be scored fails the same way on every attempt: no retries.
    if (result.error !== undefined) throw new UnrecoverableError(result.error);
    const stored = await redis.set(resultKey, JSON.stringify(result), 'EX', TTL_SECONDS, 'NX');
    await redis.del(keys.chunk(run, index));
    if (options.verbose) {
      log(`worker: chunk ${index} of run ${run} ${stored ? 'done' : 'already done elsewhere'} in ${((Date.now() - started) / 1000).toFixed(2)} s`);
    }
    return stored ? 'stored' : 'duplicate';
  };

  const worker = new Worker<ChunkJob>(options.queueName, process_, {
    connection: redis,
    concurrency: options.threads,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.stalledIntervalMs,
    maxStalledCount: options.maxStalledCount,
    name: `copydesk-worker@${hostname()}:${process.pid}`,
  });
  worker.on('error', link.report);
  worker.on('failed', (job, error) => {
    if (job) log(`worker: chunk ${job.data.index} of run ${job.data.run} failed (attempt ${job.attemptsMade}): ${error.message}`);
  });
  await worker.waitUntilReady();
  log(`worker: ${options.threads} scoring thread(s) taking chunks from "${options.queueName}" at ${redisLabel(options.url)}`);

  let resolveDone!: (outcome: StopOutcome) => void;
  const done = new Promise<StopOutcome>((resolve) => (resolveDone = resolve));
  let closing: Promise<StopOutcome> | undefined;
  const { stopTimeoutMs } = options;
  return {
    done,
    inHand: () => [...inHand.values()],
    close() {
      closing ??= (async () => {
        // Takes no more chunks and waits for those in hand (their results go to Redis), but not forever,
        // and not at all once nothing is in hand and Redis is gone (only BullMQ's QUIT is left to wait on).
        const clean = await within(stopTimeoutMs, () => worker.close(), () => inHand.size === 0 && link.down !== undefined);
        const outcome: StopOutcome = { abandoned: clean ? [] : [...inHand.values()], clean, redisDown: clean ? undefined : link.down };
        if (!clean) void worker.close(true).catch(() => {});
        // Scoring threads stop at once (a chunk still scoring is abandoned with the rest).
        await within(1000, async () => (await current?.pool.catch(() => undefined))?.close());
        if (clean) await within(CLOSE_MS, () => redis.quit());
        link.disconnectAll();
        resolveDone(outcome);
        return outcome;
      })();
      return closing;
    },
  };
}

export interface StatusOptions {
  url: string;
  queueName: string;
  output?: string;
  connectTries: number;
}

/** `copydesk batch --queue … --status`: every recent run (or the one writing --output), the queue, the workers. */
export async function printStatus(options: StatusOptions, write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<void> {
  const link = await connectRedis(options.url, { tries: options.connectTries, role: 'status', log: stderrLog });
  const redis = link.client;
  const queue = new Queue(options.queueName, { connection: redis });
  queue.on('error', link.report);
  try {
    const ids = await redis.zrevrange(keys.runs, 0, 49);
    const wanted = options.output ? path.resolve(options.output) : undefined;
    let shown = 0;
    for (const id of ids) {
      const meta = await redis.hgetall(keys.run(id));
      if (!meta.output) {
        await redis.zrem(keys.runs, id);
        continue;
      }
      if (wanted && meta.output !== wanted) continue;
      shown++;
      const estimated = Number(meta.estimated_rows ?? 0);
      const rowsIn = Number(meta.rows_in ?? 0);
      const pct = estimated > 0 && meta.state !== 'done' ? ` (~${Math.min(100, (100 * rowsIn) / estimated).toFixed(1)}%)` : '';
      write(`run ${id}: ${meta.state}${meta.state === 'running' ? ` (coordinator ${meta.coordinator})` : ''}`);
      write(`  input:  ${meta.input}`);
      write(`  output: ${meta.output}`);
      write(
        `  chunks: ${meta.chunks_committed ?? 0} assembled, ${Number(meta.chunks_enqueued ?? 0) - Number(meta.chunks_committed ?? 0)} in flight` +
          ` (${meta.chunk_rows} rows each)`,
      );
      if (meta.state === 'failed' && meta.error) write(`  error:  ${meta.error}`);
      write(`  rows:   ${rowsIn} in${pct}, ${meta.rows_out ?? 0} out, ${meta.skipped ?? 0} skipped; updated ${meta.updated_at}`);
    }
    if (shown === 0) write(wanted ? `no distributed run writes ${wanted}` : 'no distributed runs');
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
    const workers = await queue.getWorkers().catch(() => []);
    write(
      `queue "${options.queueName}": ${counts.waiting + counts.prioritized} waiting, ${counts.active} active, ` +
        `${counts.delayed} retrying later, ${counts.failed} failed; ${workers.length} worker connection(s)`,
    );
  } finally {
    await within(CLOSE_MS, async () => {
      await queue.close().catch(() => {});
      await redis.quit().catch(() => {});
    });
    link.disconnectAll();
  }
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** How long closing waits for Redis to acknowledge (QUIT) before dropping the connections. */
const CLOSE_MS = 2000;

/**
 * Runs `work`, waiting for it at most `ms`, or until `giveUp` (checked every
 * 100 ms) says so: true if it finished (its failure is ignored), false if
 * not (it goes on in the background).
 */
async function within(ms: number, work: () => Promise<unknown>, giveUp?: () => boolean): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  let poll: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, ms, false);
    if (giveUp) poll = setInterval(() => giveUp() && resolve(false), 100);
  });
  try {
    return await Promise.race([work().then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
    clearInterval(poll);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
