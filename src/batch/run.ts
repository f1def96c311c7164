import { setImmediate } from 'node:timers/promises';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { resolveInputs } from '../corpus/inputs.js';
import { lockOutput } from './lock.js';
import { ioReason, UserError } from '../util/errors.js';
import { createStatusProgress, type StatusProgress } from '../util/progress.js';
import {
  describeChange,
  fileSha256,
  fingerprintId,
  fingerprintOf,
  readCheckpoint,
  removeCheckpoint,
  writeCheckpoint,
  type Checkpoint,
  type Fingerprint,
} from './checkpoint.js';
import { convertToParquet, RowsFile } from './output.js';
import { batchStatus, measureOf } from './progress.js';
import { describeInputs, readBatches, START, verifyPrefix, type Batch, type InputFile } from './reader.js';
import type { RowOptions, ScoredRows } from '../detect/lines.js';
import { addSkips } from './score.js';

export interface BatchOptions {
  /** Files, directories and globs (resolved like every other command's --data). */
  inputs: string[];
  /** `.parquet` writes Parquet; anything else JSON lines. */
  output: string;
  modelPath: string;
  sentences: boolean;
  skipInvalid: boolean;
  /** Ignore (and replace) a checkpoint left by an earlier, different run. */
  restart: boolean;
  /** Rows per batch: the unit of scoring and committing (and of distribution). */
  batchSize: number;
  /** Commit (fsync output, then checkpoint) at most this often. */
  checkpointMs: number;
  /** Progress: auto (bar on a TTY, lines otherwise), or none. */
  progress: 'auto' | 'bar' | 'lines' | 'none';
  progressIntervalSeconds?: number;
  /** Where notes and the summary go (stderr in the CLI). */
  log: (line: string) => void;
}

/** What a run is told when its scorer starts. */
export interface RunInfo {
  id: string;
  fingerprint: Fingerprint;
  /** Index of the first batch this attempt will submit (batches committed before). */
  firstBatch: number;
  options: BatchOptions;
  estimatedRows: number;
  modelSha: string;
}

/** The part that differs between one machine (threads) and many (a queue). */
export interface Scorer {
  /** Batches submitted but not yet committed, at most. */
  readonly maxInFlight: number;
  score(batch: Batch, index: number, context: RowOptions): Promise<ScoredRows>;
  /** Called after every commit (distributed mode mirrors progress into Redis). */
  committed?(state: CommitState): Promise<void>;
  /** Called once when the output is complete. */
  finished?(state: CommitState): Promise<void>;
  /** Called when the run stops on an error (it can be resumed). */
  failed?(message: string): Promise<void>;
  close(): Promise<void>;
}

export interface CommitState {
  batches: number;
  rowsIn: number;
  rowsOut: number;
  skipped: number;
  estimatedRows: number;
}

export interface BatchSummary {
  output: string;
  rowsIn: number;
  rowsOut: number;
  skipped: number;
  skips: Record<string, number>;
  firstSkip: Record<string, string>;
  /** Rows done by earlier, interrupted attempts. */
  resumedRows: number;
  /** This attempt's wall time. */
  seconds: number;
  /** Rows per second over this attempt. */
  rate: number;
}

/**
 * Scores every row of the inputs into one output file, in input order, with
 * bounded memory, committing progress so that a crash at any point (SIGKILL
 * included) can be resumed by running the same command again.
 *
 * Commit protocol: rows are appended to the rows file (the output itself
 * for JSON lines, `<output>.rows.jsonl` for Parquet); every `checkpointMs`
 * the file is fsync'd and only then `<output>.progress` is atomically
 * replaced with the input cursor, counters and the file's length. A resumed
 * run truncates the rows file to that length (dropping uncommitted rows and
 * any torn last line) and re-reads the input from the cursor, so no row is
 * lost or written twice.
 */
export async function runBatch(options: BatchOptions, makeScorer: (run: RunInfo) => Promise<Scorer>): Promise<BatchSummary> {
  const started = Date.now();
  if (options.output === '-' || options.output === '') throw new UserError('batch needs an output file (--output), not stdout: it must be able to resume');
  const files = await describeInputs(await resolveInputs(options.inputs));
  const outputFormat = path.extname(options.output).toLowerCase() === '.parquet' ? 'parquet' : 'jsonl';
  const modelSha = await fileSha256(options.modelPath).catch((error: NodeJS.ErrnoException) => {
    throw new UserError(`cannot read model ${options.modelPath}: ${ioReason(error)}`);
  });
  const fingerprint = await fingerprintOf(files, modelSha, { sentences: options.sentences, output: outputFormat, batchSize: options.batchSize });
  const id = fingerprintId(fingerprint);
  const estimatedRows = files.reduce((sum, file) => sum + file.estimatedRows, 0);

  // One run per output (lock.ts): from here on this run reads and writes the output's files.
  await fs.mkdir(path.dirname(path.resolve(options.output)), { recursive: true });
  const lock = await lockOutput(options.output, options.log);
  try {
    return await scoreToOutput();
  } finally {
    await lock.release();
  }

  async function scoreToOutput(): Promise<BatchSummary> {
    let checkpoint = options.restart ? undefined : await readCheckpoint(options.output);
    if (options.restart) await removeCheckpoint(options.output);
    if (checkpoint && checkpoint.id !== id) {
      throw new UserError(
        `${options.output} is an unfinished run with different settings (changed: ${describeChange(checkpoint.fingerprint, fingerprint)}); ` +
          'rerun the original command to finish it, or add --restart to start over',
      );
    }
    const rowsPath = outputFormat === 'parquet' ? `${options.output}.rows.jsonl` : options.output;
    const state: Checkpoint = checkpoint ?? {
      fingerprint,
      id,
      phase: 'score',
      cursor: START,
      consumed: [],
      batches: 0,
      rowsIn: 0,
      rowsOut: 0,
      skips: {},
      firstSkip: {},
      outputBytes: 0,
      elapsedSeconds: 0,
    };
    const resumedRows = state.rowsIn;
    const previousSeconds = state.elapsedSeconds;
    if (checkpoint) {
      options.log(
        checkpoint.phase === 'convert'
          ? `batch: resuming ${options.output}: all ${state.rowsIn} rows scored, writing Parquet`
          : `batch: resuming ${options.output}: ${state.rowsIn} rows (${state.rowsOut} output rows) already done`,
      );
    }
    if (state.phase === 'score') {
      // Files finished before the stop: their scored bytes must be as they were (the cursor's own file is checked as it is re-read).
      for (const done of state.consumed) await verifyPrefix(done.path, done.bytes, done.sha256);
      const rows = await RowsFile.open(rowsPath, state.outputBytes);
      const commit = async () => {
        state.outputBytes = await rows.commit();
        state.elapsedSeconds = previousSeconds + (Date.now() - started) / 1000;
        await writeCheckpoint(options.output, state);
      };
      // A checkpoint exists from the first moment, so even an early crash is resumed, not silently overwritten.
      if (!checkpoint) await commit();
      const progress = makeProgress(options, files);
      const attemptStarted = Date.now();
      const startedAt = measureOf(files, state.cursor);
      let scorer: Scorer;
      try {
        scorer = await makeScorer({ id, fingerprint, firstBatch: state.batches, options, estimatedRows, modelSha });
      } catch (error) {
        progress.stop();
        await rows.close();
        // A fresh run that could not start scoring (Redis unreachable, say) leaves nothing behind: its empty checkpoint
        // would make a later command with other settings be refused as "an unfinished run".
        if (!checkpoint) {
          await removeCheckpoint(options.output);
          await fs.rm(rowsPath, { force: true });
        }
        throw error;
      }
      const commitState = (): CommitState => ({
        batches: state.batches,
        rowsIn: state.rowsIn,
        rowsOut: state.rowsOut,
        skipped: total(state.skips),
        estimatedRows,
      });
      const inFlight: Array<{ batch: Pick<Batch, 'end' | 'readerSkips' | 'readerFirstSkip'>; result: Promise<ScoredRows> }> = [];
      let lastCommit = Date.now();
      const commitOne = async () => {
        const { batch, result: pending } = inFlight.shift()!;
        const result = await pending;
        if (result.error !== undefined) {
          await commit();
          throw new UserError(
            `${result.error}\n(stopped after ${state.rowsIn} rows, all written; rerun with --skip-invalid to skip such rows and continue from here)`,
          );
        }
        await rows.append(result.output);
        if (batch.end.file !== state.cursor.file && state.cursor.sha256 !== undefined) {
          state.consumed.push({ path: files[state.cursor.file].path, bytes: state.cursor.offset, sha256: state.cursor.sha256 });
        }
        state.cursor = batch.end;
        state.batches++;
        state.rowsIn += result.rowsIn;
        state.rowsOut += result.rowsOut;
        addSkips(state.skips, state.firstSkip, result.skips, result.firstSkip);
        addSkips(state.skips, state.firstSkip, batch.readerSkips, batch.readerFirstSkip);
        state.rowsIn += total(batch.readerSkips);
        progress.show(
          batchStatus({ files, cursor: state.cursor, rows: state.rowsIn, rowsAtStart: resumedRows, startedAt, elapsedSeconds: (Date.now() - attemptStarted) / 1000 }),
        );
        if (Date.now() - lastCommit >= options.checkpointMs) {
          await commit();
          lastCommit = Date.now();
          await scorer.committed?.(commitState());
        }
      };
      try {
        let index = state.batches;
        for await (const batch of readBatches(files, state.cursor, options.batchSize, options.skipInvalid)) {
          const context: RowOptions = { file: batch.file, dataset: batch.dataset, invalid: options.skipInvalid ? 'skip' : 'stop', sentences: options.sentences };
          const result = batch.items.length === 0 ? Promise.resolve(emptyResult()) : scorer.score(batch, index, context);
          // Awaited in order later; a later batch failing first must not count as an unhandled rejection meanwhile.
          result.catch(() => {});
          index++;
          // Only the cursor and reader skips stay here; the rows themselves belong to the scorer now.
          inFlight.push({ batch: { end: batch.end, readerSkips: batch.readerSkips, readerFirstSkip: batch.readerFirstSkip }, result });
          // A turn of the event loop per batch: scoring threads' replies are read (and their next batches sent)
          // between batches even when this thread scores one itself (batch/local.ts).
          await setImmediate();
          while (inFlight.length >= scorer.maxInFlight) await commitOne();
        }
        while (inFlight.length > 0) await commitOne();
        state.phase = outputFormat === 'parquet' ? 'convert' : 'score';
        await commit();
        await scorer.finished?.(commitState());
      } catch (error) {
        await scorer.failed?.(error instanceof Error ? error.message : String(error));
        throw error;
      } finally {
        progress.stop();
        await scorer.close();
        await rows.close();
      }
    }

    if (outputFormat === 'parquet') {
      const written = await convertToParquet(rowsPath, options.output);
      if (written !== state.rowsOut) throw new Error(`Parquet conversion wrote ${written} rows, expected ${state.rowsOut}`);
      // The checkpoint goes first: one left in phase 'convert' without its rows file could not be resumed.
      await removeCheckpoint(options.output);
      await fs.rm(rowsPath, { force: true });
    } else await removeCheckpoint(options.output);

    const seconds = (Date.now() - started) / 1000;
    const summary: BatchSummary = {
      output: options.output,
      rowsIn: state.rowsIn,
      rowsOut: state.rowsOut,
      skipped: total(state.skips),
      skips: state.skips,
      firstSkip: state.firstSkip,
      resumedRows,
      seconds,
      rate: (state.rowsIn - resumedRows) / Math.max(seconds, 1e-3),
    };
    return summary;
  }
}

/** The closing lines: rows in and out, skips with reasons (and where each first happened), rate. */
export function formatSummary(summary: BatchSummary): string[] {
  const lines = [
    `batch: ${summary.rowsIn} rows in, ${summary.rowsOut} rows out → ${summary.output}` +
      (summary.resumedRows > 0 ? ` (${summary.resumedRows} rows done before resuming)` : ''),
  ];
  // An empty output is right for an empty input, but should not pass unremarked (an empty shard, or a wrong glob).
  if (summary.rowsIn === 0) lines.push('batch: note: the inputs hold no rows; the output is empty');
  if (summary.skipped === 0) lines.push('batch: skipped 0 rows');
  else {
    const reasons = Object.entries(summary.skips)
      .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
      .map(([reason, count]) => `${count} ${reason} (first at ${summary.firstSkip[reason]})`);
    lines.push(`batch: skipped ${summary.skipped} rows: ${reasons.join(', ')}`);
  }
  const rate = summary.rate >= 100 ? Math.round(summary.rate).toString() : summary.rate.toFixed(1);
  lines.push(`batch: ${summary.rowsIn - summary.resumedRows} rows in ${summary.seconds.toFixed(1)} s, ${rate} rows/s`);
  return lines;
}

function makeProgress(options: BatchOptions, files: InputFile[]): StatusProgress {
  if (options.progress === 'none') return createStatusProgress({ label: 'batch', silent: true, fraction: false });
  const tty = options.progress === 'bar' ? true : options.progress === 'lines' ? false : undefined;
  return createStatusProgress({ label: 'batch', tty, intervalSeconds: options.progressIntervalSeconds, fraction: measureOf(files, START) !== undefined });
}

function total(counts: Record<string, number>): number {
  let sum = 0;
  for (const count of Object.values(counts)) sum += count;
  return sum;
}

function emptyResult(): ScoredRows {
  return { output: '', rowsIn: 0, rowsOut: 0, skips: {}, firstSkip: {} };
}
