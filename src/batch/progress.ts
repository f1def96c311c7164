import { formatRate } from '../util/progress.js';
import type { Cursor, InputFile } from './reader.js';

/**
 * What `batch` can honestly say about its progress. Rows of JSON lines and
 * CSV are not known before they are read (the old bar divided by an estimate
 * from the first MiB and showed `50000/31443 rows (159.0%)`), so:
 *
 * - every input Parquet: rows against the exact row count of the footers;
 * - every input JSON lines: bytes read against the inputs' total size (the
 *   cursor's byte offset is exact), with the rows read so far beside it;
 * - CSV or a mix of formats: rows read and which file, no percentage.
 *
 * Both measures count the whole run, rows and bytes done before a resume
 * included; rates and the ETA use this attempt's progress only, and the ETA
 * is shown only once the attempt has run a few seconds and moved.
 */
export interface Measure {
  unit: 'rows' | 'bytes';
  done: number;
  total: number;
}

export function measureOf(files: readonly InputFile[], cursor: Cursor): Measure | undefined {
  if (files.length === 0) return undefined;
  const before = files.slice(0, cursor.file);
  const current = files[cursor.file];
  if (files.every((file) => file.format === 'parquet')) {
    const total = files.reduce((sum, file) => sum + file.estimatedRows, 0);
    const done = before.reduce((sum, file) => sum + file.estimatedRows, 0) + (current ? cursor.row : 0);
    return { unit: 'rows', done, total };
  }
  if (files.every((file) => file.format === 'jsonl')) {
    const total = files.reduce((sum, file) => sum + file.size, 0);
    const done = before.reduce((sum, file) => sum + file.size, 0) + (current ? cursor.offset : 0);
    return { unit: 'bytes', done, total };
  }
  return undefined;
}

/** Seconds of an attempt before an ETA is worth showing: the first batches include thread start-up and model loading. */
export const ETA_AFTER_SECONDS = 5;

export interface BatchStatus {
  text: string;
  /** Part done, 0–1, when known. */
  fraction?: number;
}

export function batchStatus(input: {
  files: readonly InputFile[];
  cursor: Cursor;
  /** Rows read over the whole run, and at the start of this attempt. */
  rows: number;
  rowsAtStart: number;
  /** The measure at the start of this attempt. */
  startedAt: Measure | undefined;
  elapsedSeconds: number;
}): BatchStatus {
  const now = measureOf(input.files, input.cursor);
  const seconds = Math.max(input.elapsedSeconds, 1e-3);
  const rate = `${formatRate((input.rows - input.rowsAtStart) / seconds)} rows/s`;
  if (!now) {
    const of = input.files.length > 1 ? ` (file ${Math.min(input.cursor.file + 1, input.files.length)} of ${input.files.length})` : '';
    return { text: `${input.rows} rows${of}, ${rate}` };
  }
  const fraction = now.total === 0 ? 1 : Math.min(1, now.done / now.total);
  const percent = `${(100 * fraction).toFixed(1)}%`;
  const amount = now.unit === 'rows' ? `${now.done}/${now.total} rows (${percent})` : `${input.rows} rows, ${mb(now.done)}/${mb(now.total)} MB (${percent})`;
  const moved = now.done - (input.startedAt?.done ?? 0);
  let eta = '';
  if (input.elapsedSeconds >= ETA_AFTER_SECONDS && moved > 0 && now.done < now.total) {
    eta = `, ETA ${formatDuration(((now.total - now.done) * input.elapsedSeconds) / moved)}`;
  }
  return { text: `${amount}, ${rate}${eta}`, fraction };
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
