import { Option, type Command } from 'commander';
import { parsePositiveInt, workersOption } from '../options.js';
import { DEFAULT_QUEUE_NAME } from './batch.js';
import type { StopOutcome } from '../../batch/distributed.js';

interface WorkerFlags {
  queue: string;
  queueName: string;
  workers: number;
  lockDuration: number;
  stalledInterval: number;
  maxStalled: number;
  connectTries: number;
  verbose?: boolean;
  chunkDelay?: number;
  failAttempts?: number;
  stopTimeout: number;
}

/**
 * How long a stopping worker (SIGTERM, Ctrl-C) lets the chunks in hand
 * finish. Closing needs Redis (the results are stored there, BullMQ's
 * QUIT waits for it), so with Redis down it would wait forever; after this
 * the worker drops its connections and exits, and the chunks it still held
 * go to another worker once their lock expires (--lock-duration). Their
 * results are stored with SET NX, so a chunk finished twice is still
 * written once. 8 s plus the last steps (about a second at most) keeps a
 * stop within the 10 s that `docker stop` waits before SIGKILL.
 */
export const STOP_TIMEOUT_MS = 8000;

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('score chunks of distributed `copydesk batch --queue` runs; start any number, on any machines, until stopped (Ctrl-C / SIGTERM)')
    .requiredOption('--queue <redis-url>', 'the Redis the coordinator uses, e.g. redis://host:6379')
    .option('--queue-name <name>', 'BullMQ queue name', DEFAULT_QUEUE_NAME)
    .addOption(workersOption('scoring threads, and chunks in hand at once'))
    .option('--lock-duration <ms>', 'a chunk whose worker is silent this long is re-delivered to another', parsePositiveInt('--lock-duration'), 30_000)
    .option('--stalled-interval <ms>', 'how often to look for chunks of dead workers', parsePositiveInt('--stalled-interval'), 15_000)
    .option('--max-stalled <n>', 're-deliveries of a chunk whose workers keep dying before it fails', parsePositiveInt('--max-stalled'), 3)
    .option('--connect-tries <n>', 'tries to reach Redis at start before giving up', parsePositiveInt('--connect-tries'), 10)
    .option(
      '--stop-timeout <ms>',
      'on SIGTERM / Ctrl-C, how long the chunks in hand may take to finish; then they are abandoned (another worker takes them once their lock expires) and the worker exits, Redis reachable or not; a second signal exits at once',
      parsePositiveInt('--stop-timeout'),
      STOP_TIMEOUT_MS,
    )
    .option('--verbose', 'a line per chunk')
    .addOption(new Option('--chunk-delay <ms>', 'testing: pause inside every chunk').argParser(parsePositiveInt('--chunk-delay')).hideHelp())
    .addOption(new Option('--fail-attempts <n>', 'testing: fail the first n attempts of every chunk').argParser(parsePositiveInt('--fail-attempts')).hideHelp())
    .action(async (flags: WorkerFlags) => {
      const { startWorker } = await import('../../batch/distributed.js');
      const worker = await startWorker({
        url: flags.queue,
        queueName: flags.queueName,
        threads: flags.workers,
        connectTries: flags.connectTries,
        lockDurationMs: flags.lockDuration,
        stalledIntervalMs: flags.stalledInterval,
        maxStalledCount: flags.maxStalled,
        verbose: Boolean(flags.verbose),
        chunkDelayMs: flags.chunkDelay,
        failAttempts: flags.failAttempts,
        stopTimeoutMs: flags.stopTimeout,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        const code = 128 + (signal === 'SIGINT' ? 2 : 15);
        if (stopping) {
          const held = worker.inHand();
          process.stderr.write(`worker: ${signal} again: stopping now${held.length > 0 ? `, abandoning ${chunkList(held)}${LOCK_NOTE}` : ''}\n`);
          process.exit(code);
        }
        stopping = true;
        const held = worker.inHand().length;
        const seconds = flags.stopTimeout / 1000;
        process.stderr.write(
          `worker: ${signal}: taking no more chunks; ` +
            `${held > 0 ? `finishing the ${held} in hand (for up to ${seconds} s)` : `closing (for up to ${seconds} s)`}, then stopping; ${signal} again stops at once\n`,
        );
        void worker.close();
        // A last resort should closing itself hang: the stop stays bounded whatever Redis does.
        setTimeout(() => {
          process.stderr.write(`worker: still not stopped ${seconds + 2} s after ${signal}; exiting\n`);
          process.exit(1);
        }, flags.stopTimeout + 2000).unref();
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
      const outcome = await worker.done;
      report(outcome, flags.stopTimeout);
      // BullMQ's timers and a connection given up on may still hold the event loop: the worker is done.
      process.exit(outcome.abandoned.length > 0 ? 1 : 0);
    });
}

const LOCK_NOTE = '; another worker takes each once its lock expires (--lock-duration), and its result is still stored once';

function chunkList(chunks: StopOutcome['abandoned']): string {
  return chunks.map(({ run, index }) => `chunk ${index} of run ${run}`).join(', ');
}

function report(outcome: StopOutcome, stopTimeoutMs: number): void {
  if (outcome.clean) {
    process.stderr.write('worker: stopped\n');
    return;
  }
  const why = outcome.redisDown ? `Redis unreachable: ${outcome.redisDown}` : `not done in ${stopTimeoutMs / 1000} s`;
  process.stderr.write(
    outcome.abandoned.length > 0
      ? `worker: stopped (${why}); abandoned ${chunkList(outcome.abandoned)}${LOCK_NOTE}\n`
      : `worker: stopped without closing its queue connections cleanly (${why}); no chunks were in hand\n`,
  );
}
