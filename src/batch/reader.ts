import { createHash, type Hash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { datasetName, detectFormat, type InputFormat } from '../corpus/inputs.js';
import { InvalidRecordError } from '../corpus/invalid.js';
import { damagedParquet, notUtf8Field, PARQUET_PARSERS, readCsv } from '../corpus/read.js';
import { UserError } from '../util/errors.js';
import type { Row } from '../detect/lines.js';

/**
 * Where reading stopped: a position that is always at a batch boundary, so
 * re-reading from it (after a crash) forms exactly the batches a run that
 * never stopped would have formed.
 */
export interface Cursor {
  /** Index into the resolved input files. */
  file: number;
  /** Rows (non-blank JSONL lines, CSV records, Parquet rows) consumed in that file. */
  row: number;
  /** JSONL: byte offset just after the last consumed line (resume seeks here). */
  offset: number;
  /** JSONL: number of the last consumed line. */
  line: number;
  /**
   * JSONL: SHA-256 (hex) of the file's bytes before `offset`, the part already
   * scored. A resumed run re-hashes that prefix and refuses if it changed
   * (a reordered middle keeps the size and the first and last MiB).
   */
  sha256?: string;
}

export const START: Cursor = { file: 0, row: 0, offset: 0, line: 0 };

export interface InputFile {
  path: string;
  format: InputFormat;
  size: number;
  /** Rows expected: exact for Parquet, estimated from the first MiB otherwise (progress/ETA only). */
  estimatedRows: number;
}

/** A run of consecutive rows from one file, the unit of scoring, committing and distribution. */
export interface Batch {
  file: string;
  dataset: string;
  items: Row[];
  /** Rows the reader itself refused (invalid CSV records), counted as skipped. */
  readerSkips: Record<string, number>;
  readerFirstSkip: Record<string, string>;
  /** Position after this batch. */
  end: Cursor;
}

export async function describeInputs(paths: string[]): Promise<InputFile[]> {
  const files: InputFile[] = [];
  for (const path of paths) {
    if (path === '-') throw new UserError('batch reads files, not stdin (it must be able to re-read its input to resume)');
    const stats = await fs.stat(path).catch(() => undefined);
    if (!stats?.isFile()) throw new UserError(`not a file: ${path}`);
    const format = await detectFormat(path);
    files.push({ path, format, size: stats.size, estimatedRows: await estimateRows(path, format, stats.size) });
  }
  return files;
}

async function estimateRows(path: string, format: InputFormat, size: number): Promise<number> {
  if (format === 'parquet') {
    try {
      const metadata = await parquetMetadataAsync(await asyncBufferFromFile(path));
      return Number(metadata.num_rows);
    } catch (error) {
      throw new UserError(`${path}: not a readable Parquet file: ${(error as Error).message}`);
    }
  }
  const handle = await fs.open(path, 'r');
  try {
    const head = Buffer.alloc(Math.min(size, 1 << 20));
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    let lines = 0;
    for (let at = head.indexOf(10); at !== -1 && at < bytesRead; at = head.indexOf(10, at + 1)) lines++;
    if (bytesRead < size && lines === 0) return 1;
    const perByte = bytesRead === 0 ? 0 : Math.max(lines, 1) / bytesRead;
    return Math.max(0, Math.round(perByte * size) - (format === 'csv' ? 1 : 0));
  } finally {
    await handle.close();
  }
}

/**
 * Reads all inputs from `from` in batches of up to `batchSize` rows; a batch
 * never spans two files. Memory: one batch plus one read buffer (JSONL),
 * one CSV record, or one Parquet row group.
 */
export async function* readBatches(
  files: InputFile[],
  from: Cursor,
  batchSize: number,
  skipInvalid: boolean,
): AsyncGenerator<Batch> {
  for (let index = from.file; index < files.length; index++) {
    const start = index === from.file ? from : { ...START, file: index };
    const file = files[index];
    if (file.format === 'jsonl') yield* jsonlBatches(file.path, file.size, index, start, batchSize);
    else if (file.format === 'csv') yield* csvBatches(file.path, index, start, batchSize, skipInvalid);
    else yield* parquetBatches(file.path, index, start, batchSize);
  }
}

function newBatch(path: string, end: Cursor): Batch {
  return { file: path, dataset: datasetName(path), items: [], readerSkips: {}, readerFirstSkip: {}, end };
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * JSON lines, split by hand so every batch knows the byte offset to resume
 * from, and hashed as they are consumed so every batch also carries the
 * SHA-256 of the bytes before that offset (see Cursor.sha256). Only the
 * first `size` bytes are read, the file as the run found it (and
 * fingerprinted it): lines appended meanwhile, a half-written one among
 * them, belong to a later run.
 */
async function* jsonlBatches(path: string, size: number, fileIndex: number, start: Cursor, batchSize: number): AsyncGenerator<Batch> {
  const hash = start.offset > 0 ? await verifyPrefix(path, start.offset, start.sha256) : createHash('sha256');
  // Nothing left to read (an empty file, or a resume at its end) is no range at all to createReadStream.
  const stream = start.offset < size ? createReadStream(path, { start: start.offset, end: size - 1, highWaterMark: 1 << 20 }) : undefined;
  let offset = start.offset;
  let line = start.line;
  let row = start.row;
  let batch = newBatch(path, { ...start, file: fileIndex });
  let pending: Buffer | undefined;
  const take = (buffer: Buffer, from: number, to: number, consumed: number) => {
    line++;
    offset += consumed;
    let end = to;
    if (end > from && buffer[end - 1] === 13) end--;
    // Strict UTF-8: an undecodable line is reported as such (file, line, field), never silently turned into U+FFFD.
    let text: string;
    let invalidUtf8 = false;
    try {
      text = STRICT_UTF8.decode(buffer.subarray(from, end));
    } catch {
      text = buffer.toString('utf8', from, end);
      invalidUtf8 = true;
    }
    // Blank lines move the cursor too, so the hash always covers exactly the bytes before it.
    batch.end = { file: fileIndex, row, offset, line };
    if (text.trim() === '') return false;
    batch.end.row = ++row;
    batch.items.push(invalidUtf8 ? [text, line, true] : [text, line]);
    return batch.items.length >= batchSize;
  };
  // Consumed bytes are hashed in spans (at a batch's end and a buffer's end), not line by line: fewer, larger updates.
  let hashed = 0;
  const sealed = (buffer: Buffer, upTo: number) => {
    hash.update(buffer.subarray(hashed, upTo));
    hashed = upTo;
    batch.end.sha256 = hash.copy().digest('hex');
    return batch;
  };
  try {
    for await (const chunk of (stream ?? []) as AsyncIterable<Buffer>) {
      const buffer: Buffer = pending ? Buffer.concat([pending, chunk]) : chunk;
      let from = 0;
      hashed = 0;
      for (let newline = buffer.indexOf(10, from); newline !== -1; newline = buffer.indexOf(10, from)) {
        const full = take(buffer, from, newline, newline + 1 - from);
        from = newline + 1;
        if (full) {
          yield sealed(buffer, from);
          batch = newBatch(path, batch.end);
        }
      }
      hash.update(buffer.subarray(hashed, from));
      pending = from < buffer.length ? Buffer.from(buffer.subarray(from)) : undefined;
    }
    hashed = 0;
    if (pending) take(pending, 0, pending.length, pending.length);
    if (batch.items.length > 0) yield sealed(pending ?? Buffer.alloc(0), pending?.length ?? 0);
  } finally {
    stream?.destroy();
  }
}

/**
 * Re-hashes the first `bytes` of a file consumed by an earlier attempt and
 * refuses to go on if they differ from what that attempt hashed; returns the
 * hash, ready to take the bytes that follow. Reads at disk speed (measured
 * in README.md: ~0.5 s per GiB of input on the dev machine).
 */
export async function verifyPrefix(path: string, bytes: number, expected: string | undefined): Promise<Hash> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { start: 0, end: bytes - 1, highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  if (hash.copy().digest('hex') !== expected) {
    throw new UserError(
      `${path}: the first ${bytes} bytes, already scored, have changed since the run stopped, so the output would no longer line up with the input; ` +
        'restore the input file, or add --restart to start over',
    );
  }
  return hash;
}

async function* csvBatches(
  path: string,
  fileIndex: number,
  start: Cursor,
  batchSize: number,
  skipInvalid: boolean,
): AsyncGenerator<Batch> {
  let batch = newBatch(path, { ...start, file: fileIndex });
  let row = 0;
  const onInvalid = (error: InvalidRecordError) => {
    // Refusals up to the resume point were counted by the run that read them.
    if (error.origin.line <= start.line) return;
    batch.readerSkips[error.reason] = (batch.readerSkips[error.reason] ?? 0) + 1;
    batch.readerFirstSkip[error.reason] ??= `${error.origin.file}:${error.origin.line}`;
    // The cursor moves past the refused record too (a new object: the previous batch's end is shared), so a run
    // resumed from the end of this batch (refusals after a file's last good record) does not count it again.
    batch.end = { ...batch.end, line: error.origin.line };
  };
  // Without --skip-invalid a broken CSV record stops the run, as in every other command.
  for await (const { record, origin } of readCsv(path, skipInvalid ? onInvalid : undefined)) {
    row++;
    if (row <= start.row) continue;
    batch.items.push([JSON.stringify(record), origin.line]);
    batch.end = { file: fileIndex, row, offset: 0, line: origin.line };
    if (batch.items.length >= batchSize) {
      yield batch;
      batch = newBatch(path, batch.end);
    }
  }
  if (batch.items.length > 0 || Object.keys(batch.readerSkips).length > 0) yield batch;
}

/** Parquet rows from `start.row`, one row group (or part of one) in memory at a time. */
async function* parquetBatches(path: string, fileIndex: number, start: Cursor, batchSize: number): AsyncGenerator<Batch> {
  const buffer = await asyncBufferFromFile(path);
  const metadata = await parquetMetadataAsync(buffer).catch((error: Error) => {
    throw new UserError(`${path}: not a readable Parquet file: ${error.message}`);
  });
  let batch = newBatch(path, { ...start, file: fileIndex });
  let groupStart = 0;
  for (const [groupIndex, group] of metadata.row_groups.entries()) {
    const groupEnd = groupStart + Number(group.num_rows);
    // Slices of at most 10 batches keep a huge row group from landing in memory whole.
    for (let sliceStart = Math.max(groupStart, start.row); sliceStart < groupEnd; sliceStart += batchSize * 10) {
      const sliceEnd = Math.min(groupEnd, sliceStart + batchSize * 10);
      const rows = await parquetReadObjects({ file: buffer, metadata, rowStart: sliceStart, rowEnd: sliceEnd, compressors, parsers: PARQUET_PARSERS }).catch((error: unknown) => {
        throw damagedParquet(path, groupIndex, metadata.row_groups.length, error);
      });
      for (let k = 0; k < rows.length; k++) {
        const row = sliceStart + k + 1;
        // A string that is not UTF-8 goes as the lenient text, marked, so the row is refused as a JSON line would be (file, row, field).
        const record = rows[k] as Record<string, unknown>;
        const json = JSON.stringify(record, jsonSafe);
        batch.items.push(notUtf8Field(record) === undefined ? [json, row] : [json, row, true]);
        batch.end = { file: fileIndex, row, offset: 0, line: row };
        if (batch.items.length >= batchSize) {
          yield batch;
          batch = newBatch(path, batch.end);
        }
      }
    }
    groupStart = groupEnd;
  }
  if (batch.items.length > 0) yield batch;
}

/** Parquet integers may arrive as bigint, which JSON.stringify rejects. */
export function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value !== 'bigint') return value;
  return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
}
