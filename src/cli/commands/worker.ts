import { Option, type Command } from 'commander';
import { parsePositiveInt, workersOption } from '../options.js';
import { DEFAULT_QUEUE_NAME } from './batch.js';

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
}

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
        log: (line) => process.stderr.write(`${line}\n`),
      });
      const stop = (signal: string) => {
        process.stderr.write(`worker: ${signal}: finishing the chunks in hand, then stopping\n`);
        void worker.close();
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
      await worker.done;
    });
}
