import { invalidUtf8Line, parseJsonObject } from '../corpus/read.js';
import { InvalidRecordError } from '../corpus/invalid.js';
import { toDocuments } from '../corpus/schema.js';
import type { Detector } from '../model/detector.js';
import { detectText } from './detect.js';
import { errorRowJson, rowJson, type ScoreOptions } from './result.js';

/**
 * Rows to output lines, one row at a time: parse, map whatever schema the
 * row carries (`{id, text}`, labeled, seed) to documents, score, serialise
 * with rowJson. `detect --jsonl` (main thread and worker threads) and batch
 * jobs (local and distributed) all go through scoreRows, so all of them
 * produce byte-identical lines.
 */

/**
 * One input row: the row as a JSON object (a JSONL line verbatim; a CSV or
 * Parquet record serialised) and its line (JSONL, CSV) or row number
 * (Parquet), which errors and position-based ids use.
 */
export type Row = [text: string, line: number, invalidUtf8?: true];

/**
 * Whole JSON lines as bytes, as read from a file: the reading thread only
 * finds line breaks (a byte scan) and the scoring thread decodes and
 * splits, so the reading thread stays nearly idle. `firstLine` numbers the
 * first line. Lines as util/utf8.ts utf8Lines makes them: split at "\n", a
 * final "\r" dropped, each decoded strictly (a line that is not UTF-8 is
 * reported with its number, not scored with U+FFFD in it).
 */
export interface JsonlChunk {
  bytes: Uint8Array;
  firstLine: number;
}

/** Rows, or a chunk of JSON lines to split into rows. */
export type RowSource = readonly Row[] | JsonlChunk;

const strict = new TextDecoder('utf-8', { fatal: true });

/** The lines of a chunk with their numbers (a final line break does not start another line). */
export function chunkRows(bytes: Uint8Array, firstLine: number): Row[] {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rows: Row[] = [];
  let start = 0;
  while (start < buffer.length) {
    let end = buffer.indexOf(10, start);
    if (end === -1) end = buffer.length;
    const stop = end > start && buffer[end - 1] === 13 ? end - 1 : end;
    const line = buffer.subarray(start, stop);
    const number = firstLine + rows.length;
    try {
      rows.push([strict.decode(line), number]);
    } catch {
      rows.push([line.toString('utf8'), number, true]);
    }
    start = end + 1;
  }
  return rows;
}

/** How many lines chunkRows finds in a chunk. */
export function countLines(bytes: Uint8Array): number {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let count = 0;
  for (let at = buffer.indexOf(10); at !== -1; at = buffer.indexOf(10, at + 1)) count++;
  return buffer.length > 0 && buffer[buffer.length - 1] !== 10 ? count + 1 : count;
}

function toRows(source: RowSource): readonly Row[] {
  if (Array.isArray(source)) return source;
  const { bytes, firstLine } = source as JsonlChunk;
  return chunkRows(bytes, firstLine);
}

/** Scoring options plus where the rows come from and what to do with a bad one. */
export interface RowOptions extends ScoreOptions {
  /** File name as errors show it. */
  file: string;
  /** File stem: default ids and the seed schema's source. */
  dataset: string;
  /**
   * A bad row: 'stop' — the batch stops there and `error` says why;
   * 'error-line' — an error line takes its place (`detect --jsonl --skip-invalid`);
   * 'skip' — left out, counted by reason (`batch --skip-invalid`).
   */
  invalid: 'stop' | 'error-line' | 'skip';
}

/** The scored output of a batch of rows. */
export interface ScoredRows {
  /** Output JSON lines, each ending in "\n", in input order. */
  output: string;
  /**
   * The same lines as UTF-8, in place of `output` (then ''), when a scoring
   * thread was asked for bytes (`detect --jsonl`): the thread encodes them and
   * the bytes move to the writing thread without a copy.
   */
  outputBytes?: Uint8Array;
  /** Input rows this batch covered, including skipped ones. */
  rowsIn: number;
  /** Output lines (a seed-schema row yields two documents; error lines count). */
  rowsOut: number;
  /** Bad rows by reason ('invalid JSON', 'empty text' …). */
  skips: Record<string, number>;
  /** Where each reason first occurred in this batch ("file:line"). */
  firstSkip: Record<string, string>;
  /** Set when a row is invalid and `invalid` is 'stop': the run stops with it. */
  error?: string;
}

export function scoreRows(detector: Detector, source: RowSource, options: RowOptions): ScoredRows {
  const rows = toRows(source);
  let output = '';
  let rowsOut = 0;
  const skips: Record<string, number> = {};
  const firstSkip: Record<string, string> = {};
  for (const [text, line, invalidUtf8] of rows) {
    if (text.trim() === '') continue;
    const origin = { file: options.file, line };
    try {
      if (invalidUtf8) throw invalidUtf8Line(text, origin);
      const parsed = parseJsonObject(line === 1 ? text.replace(/^\uFEFF/, '') : text, origin);
      if (parsed instanceof InvalidRecordError) throw parsed;
      // Map the whole row before scoring any of it, so a bad row yields nothing but its error.
      for (const document of toDocuments({ record: parsed, origin }, { dataset: options.dataset })) {
        output += `${rowJson(detectText(detector, document.text, options, document.id))}\n`;
        rowsOut++;
      }
    } catch (error) {
      if (!(error instanceof InvalidRecordError)) throw error;
      if (options.invalid === 'stop') return { output, rowsIn: rows.length, rowsOut, skips, firstSkip, error: error.message };
      skips[error.reason] = (skips[error.reason] ?? 0) + 1;
      firstSkip[error.reason] ??= `${options.file}:${line}`;
      if (options.invalid === 'error-line') {
        output += `${errorRowJson(idOf(text), line, error.message)}\n`;
        rowsOut++;
      }
    }
  }
  return { output, rowsIn: rows.length, rowsOut, skips, firstSkip };
}

/** The id of a row we could not score, if one can be read from it, so the error line stays traceable. */
function idOf(text: string): string | null {
  try {
    const value = JSON.parse(text) as { id?: unknown };
    const id = value?.id;
    // A number past 2^53 is already rounded: it would name another row.
    return typeof id === 'string' || (typeof id === 'number' && Math.abs(id) <= Number.MAX_SAFE_INTEGER) ? String(id) : null;
  } catch {
    return null;
  }
}
