/** What `batch` says about its progress: only what is known (issue 11, item 9). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchStatus, measureOf } from '../src/batch/progress.js';
import type { Cursor, InputFile } from '../src/batch/reader.js';

const jsonl = (size: number, estimatedRows: number): InputFile => ({ path: `f${size}.jsonl`, format: 'jsonl', size, estimatedRows });
const parquet = (rows: number): InputFile => ({ path: `f${rows}.parquet`, format: 'parquet', size: rows * 100, estimatedRows: rows });
const csv: InputFile = { path: 'f.csv', format: 'csv', size: 5e6, estimatedRows: 100 };
const at = (file: number, row: number, offset = 0): Cursor => ({ file, row, offset, line: row });

test('JSON lines: bytes against the known size, never rows against an estimate (was "50000/31443 rows (159.0%)")', () => {
  // The first MiB suggested 31,443 rows; there are many more.
  const files = [jsonl(100e6, 31_443)];
  const status = batchStatus({ files, cursor: at(0, 50_000, 40e6), rows: 50_000, rowsAtStart: 0, startedAt: measureOf(files, at(0, 0)), elapsedSeconds: 20 });
  assert.equal(status.text, '50000 rows, 40.0/100.0 MB (40.0%), 2500 rows/s, ETA 30 s');
  assert.equal(status.fraction, 0.4);
  assert.doesNotMatch(status.text, /31443/);
});

test('after a resume: the whole run\'s share done, this attempt\'s rate and ETA (was "23040/7635 (301.8%)")', () => {
  const files = [jsonl(50e6, 30_000), jsonl(50e6, 30_000)];
  const startedAt = measureOf(files, at(0, 20_000, 30e6));
  assert.deepEqual(startedAt, { unit: 'bytes', done: 30e6, total: 100e6 });
  const status = batchStatus({ files, cursor: at(1, 3_040, 10e6), rows: 23_040, rowsAtStart: 20_000, startedAt, elapsedSeconds: 10 });
  // 60 of 100 MB read; this attempt read 30 MB in 10 s, so 40 MB more take ~13 s.
  assert.equal(status.text, '23040 rows, 60.0/100.0 MB (60.0%), 304 rows/s, ETA 13 s');
  assert.equal(status.fraction, 0.6);
});

test('Parquet: rows against the exact row count of the footers, across files', () => {
  const files = [parquet(1000), parquet(2000)];
  const status = batchStatus({ files, cursor: at(1, 500), rows: 1500, rowsAtStart: 0, startedAt: measureOf(files, at(0, 0)), elapsedSeconds: 3 });
  assert.equal(status.text, '1500/3000 rows (50.0%), 500 rows/s');
  assert.equal(status.fraction, 0.5);
});

test('an ETA only when it means something: not in the first seconds, not when nothing moved, not once done', () => {
  const files = [jsonl(100e6, 10)];
  const start = measureOf(files, at(0, 0));
  const early = batchStatus({ files, cursor: at(0, 10, 1e6), rows: 10, rowsAtStart: 0, startedAt: start, elapsedSeconds: 2 });
  assert.doesNotMatch(early.text, /ETA/);
  const stuck = batchStatus({ files, cursor: at(0, 10, 1e6), rows: 10, rowsAtStart: 10, startedAt: measureOf(files, at(0, 10, 1e6)), elapsedSeconds: 60 });
  assert.doesNotMatch(stuck.text, /ETA/);
  const done = batchStatus({ files, cursor: at(0, 99, 100e6), rows: 99, rowsAtStart: 0, startedAt: start, elapsedSeconds: 60 });
  assert.equal(done.fraction, 1);
  assert.doesNotMatch(done.text, /ETA/);
  const hours = batchStatus({ files, cursor: at(0, 10, 1e6), rows: 10, rowsAtStart: 0, startedAt: start, elapsedSeconds: 60 });
  assert.match(hours.text, /ETA 1 h 39 min$/);
});

test('CSV or a mix of formats: rows and which file, no percentage or ETA', () => {
  const files = [csv, jsonl(1e6, 10), parquet(10)];
  assert.equal(measureOf(files, at(1, 5, 100)), undefined);
  const status = batchStatus({ files, cursor: at(1, 5, 100), rows: 105, rowsAtStart: 0, startedAt: undefined, elapsedSeconds: 30 });
  assert.equal(status.text, '105 rows (file 2 of 3), 3.5 rows/s');
  assert.equal(status.fraction, undefined);
});
