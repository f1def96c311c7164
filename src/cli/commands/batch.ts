import { Option, type Command } from 'commander';
import { localScorer } from '../../batch/local.js';
import { formatSummary, runBatch, type BatchOptions, type BatchSummary } from '../../batch/run.js';
import { DEFAULT_MODEL_PATH } from '../../model/model-file.js';
import { statSync } from 'node:fs';
import { ioErrorToUserError, UserError } from '../../util/errors.js';
import { assertOutputsNotInputs } from '../../corpus/paths.js';
import { MODEL_HELP, parsePositiveInt, parsePositiveNumber, workersOption } from '../options.js';

interface BatchFlags {
  input?: string[];
  output?: string;
  workers: number;
  sentences?: boolean;
  model?: string;
  skipInvalid?: boolean;
  restart?: boolean;
  batchSize?: number;
  checkpointEvery: number;
  quiet?: boolean;
  progress?: 'auto' | 'bar' | 'lines' | 'none';
  queue?: string;
  queueName: string;
  status?: boolean;
  window: number;
  connectTries: number;
  attempts: number;
  retryDelay: number;
}

export const DEFAULT_QUEUE_NAME = 'copydesk-batch';

export function registerBatch(program: Command): void {
  program
    .command('batch')
    .description(
      'score whole archives: every row of JSONL/CSV/Parquet inputs into one output file (JSON lines or Parquet), ' +
        'in input order, on all cores or, with --queue, on many machines; rerun the same command after a crash to resume',
    )
    .option('--input <paths...>', 'input files, directories or globs (JSONL, CSV, Parquet; {id, text}, labeled or seed schema)')
    .option('--output <file>', 'output file: .parquet for Parquet, anything else JSON lines')
    .addOption(workersOption('threads that score, the main thread among them (1: the main thread only)'))
    .option('--sentences', 'add sentence-level fields to every output row')
    .option('--model <file>', MODEL_HELP)
    .option('--skip-invalid', 'leave out rows that cannot be scored (counted by reason in the summary) instead of stopping')
    .option('--restart', 'discard an unfinished run of this output and start over')
    .option('--batch-size <n>', 'rows per batch; with --queue, rows per chunk (default 256; 1000 with --queue)', parsePositiveInt('--batch-size'))
    .option('--checkpoint-every <seconds>', 'commit progress at most this often', parsePositiveNumber('--checkpoint-every'), 1)
    .option('--quiet', 'no progress output (the summary is still printed)')
    .addOption(new Option('--progress <mode>', 'progress display').choices(['auto', 'bar', 'lines', 'none']).default('auto'))
    .option('--queue <redis-url>', 'distributed mode: split the input into chunks on this Redis (redis://host:6379) for `copydesk worker`s and assemble their results')
    .option('--queue-name <name>', 'BullMQ queue name', DEFAULT_QUEUE_NAME)
    .option('--status', 'with --queue: show the progress of distributed runs (of --output, if given) and exit')
    .option('--window <n>', 'with --queue: chunks enqueued ahead of the assembled output', parsePositiveInt('--window'), 32)
    .option('--connect-tries <n>', 'with --queue: tries to reach Redis at start before giving up', parsePositiveInt('--connect-tries'), 10)
    .option('--attempts <n>', 'with --queue: attempts per chunk before the run fails', parsePositiveInt('--attempts'), 5)
    .option('--retry-delay <ms>', 'with --queue: first retry delay of a failed chunk, doubling each time', parsePositiveInt('--retry-delay'), 1000)
    .action(async (flags: BatchFlags) => {
      if (flags.status) {
        if (!flags.queue) throw new UserError('--status needs --queue <redis-url>');
        const { printStatus } = await import('../../batch/distributed.js');
        await printStatus({ url: flags.queue, queueName: flags.queueName, output: flags.output, connectTries: flags.connectTries });
        return;
      }
      if (!flags.input || flags.input.length === 0) throw new UserError('batch needs --input <files, directories or globs>');
      if (!flags.output) throw new UserError('batch needs --output <file.jsonl | file.parquet>');
      assertRegularOutput(flags.output);
      const modelPath = flags.model ?? DEFAULT_MODEL_PATH;
      await assertOutputsNotInputs([flags.output, `${flags.output}.rows.jsonl`, `${flags.output}.progress`], [...flags.input, modelPath]);
      const options: BatchOptions = {
        inputs: flags.input,
        output: flags.output,
        modelPath,
        sentences: Boolean(flags.sentences),
        skipInvalid: Boolean(flags.skipInvalid),
        restart: Boolean(flags.restart),
        batchSize: flags.batchSize ?? (flags.queue ? 1000 : 256),
        checkpointMs: flags.checkpointEvery * 1000,
        progress: flags.quiet ? 'none' : (flags.progress ?? 'auto'),
        log: (line) => process.stderr.write(`${line}\n`),
      };
      const summary = await scoreAll(options, flags).catch((error: unknown) => {
        throw ioErrorToUserError(error, flags.output) ?? error;
      });
      for (const line of formatSummary(summary)) process.stderr.write(`${line}\n`);
    });
}

/** batch truncates, appends to and fsyncs its output to resume it: a device or a pipe cannot be one. */
function assertRegularOutput(output: string): void {
  const stats = statSync(output, { throwIfNoEntry: false });
  if (stats && !stats.isFile()) throw new UserError(`--output ${output} is not a regular file: batch needs one it can truncate, fsync and resume`);
}

async function scoreAll(options: BatchOptions, flags: BatchFlags): Promise<BatchSummary> {
  if (flags.queue) {
    const { queueScorer } = await import('../../batch/distributed.js');
    const queue = {
      url: flags.queue,
      queueName: flags.queueName,
      window: flags.window,
      connectTries: flags.connectTries,
      attempts: flags.attempts,
      backoffMs: flags.retryDelay,
    };
    return runBatch(options, (run) => queueScorer(run, queue));
  }
  return runBatch(options, (run) => localScorer(run, flags.workers));
}
