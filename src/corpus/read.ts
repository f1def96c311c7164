import { createReadStream, promises as fs } from 'node:fs';
import { Readable } from 'node:stream';
import type { Info } from 'csv-parse';
import type { AsyncBuffer } from 'hyparquet';
import { UserError } from '../util/errors.js';
import { utf8Lines } from '../util/utf8.js';
import { detectFormat, STDIN_PATH } from './inputs.js';
import { InvalidRecordError, rejectRecord, type InvalidRecordHandler } from './invalid.js';
import type { Origin } from './types.js';

/** One raw input row, before any schema is applied. */
export interface SourceRecord {
  record: Record<string, unknown>;
  origin: Origin;
}

export interface ReadRecordsOptions {
  /** Receives rows that cannot be parsed; without it they throw. */
  onInvalid?: InvalidRecordHandler;
}

/** How errors name the file: stdin has no path. */
export function displayName(file: string): string {
  return file === STDIN_PATH ? '<stdin>' : file;
}

/**
 * Streams the rows of one JSONL, CSV or Parquet file (or JSONL on stdin
 * for `-`), never holding more than one line or row group in memory.
 */
export async function* readRecords(file: string, options: ReadRecordsOptions = {}): AsyncGenerator<SourceRecord> {
  if (file !== STDIN_PATH) await assertReadableFile(file);
  const format = await detectFormat(file);
  if (format === 'jsonl') yield* readJsonl(file, options.onInvalid);
  else if (format === 'csv') yield* readCsv(file, options.onInvalid);
  else yield* readParquet(file, options.onInvalid);
}

async function assertReadableFile(file: string): Promise<void> {
  const stats = await fs.stat(file).catch(() => undefined);
  if (!stats) throw new UserError(`no such file or directory: ${file}`);
  if (!stats.isFile()) throw new UserError(`not a file: ${file}`);
}

export async function* readJsonl(file: string, onInvalid?: InvalidRecordHandler): AsyncGenerator<SourceRecord> {
  const input: Readable = file === STDIN_PATH ? process.stdin : createReadStream(file);
  try {
    for await (const entry of utf8Lines(input)) {
      const { line } = entry;
      const origin = { file: displayName(file), line };
      if ('invalid' in entry) {
        rejectRecord(invalidUtf8Line(entry.invalid, origin), onInvalid);
        continue;
      }
      const text = entry.text;
      if (text.trim() === '') continue;
      const parsed = parseJsonObject(line === 1 ? text.replace(/^\uFEFF/, '') : text, origin);
      if (parsed instanceof InvalidRecordError) rejectRecord(parsed, onInvalid);
      else yield { record: parsed, origin };
    }
  } finally {
    // stdin belongs to the process; only our own file stream is ours to close.
    if (input !== process.stdin) input.destroy();
  }
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });
const NOT_UTF8 = 'not valid UTF-8 (binary data, or text in another encoding such as Latin-1: convert the file to UTF-8)';

/**
 * A JSON line whose bytes are not UTF-8, naming the field that holds them
 * when the line still parses (read with replacement characters).
 */
export function invalidUtf8Line(lossy: string, origin: Origin): InvalidRecordError {
  let field: string | undefined;
  try {
    const value = JSON.parse(lossy) as Record<string, unknown>;
    field = Object.keys(value).find((key) => typeof value[key] === 'string' && (value[key] as string).includes('\uFFFD'));
  } catch {
    // Not JSON even when decoded leniently: the line as a whole is reported.
  }
  return new InvalidRecordError('invalid UTF-8', origin, field === undefined ? `the line is ${NOT_UTF8}` : `field "${field}" is ${NOT_UTF8}`);
}

export function parseJsonObject(text: string, origin: Origin): Record<string, unknown> | InvalidRecordError {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return new InvalidRecordError('invalid JSON', origin, `invalid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return new InvalidRecordError('not a JSON object', origin, 'expected a JSON object on this line');
  }
  return value as Record<string, unknown>;
}

export async function* readCsv(file: string, onInvalid?: InvalidRecordHandler): AsyncGenerator<SourceRecord> {
  const lines = new CsvLineTracker();
  // Line numbers and skips are worked out in the parser's callbacks, which
  // run in file order; the consumer below may lag behind the parser. Each
  // row carries the skips found just before it, so they are reported in
  // order and inside this generator, where a throwing handler propagates.
  const skipped: InvalidRecordError[] = [];
  const takeSkipped = () => skipped.splice(0);
  // The CSV and Parquet libraries load on first use: JSON-lines runs never pay for them.
  const { parse: parseCsv, CsvError } = await import('csv-parse');
  const parser = parseCsv({
    columns: (header: string[]) => uniqueColumns(header, file),
    bom: true,
    relax_quotes: false,
    skip_empty_lines: true,
    skip_records_with_error: onInvalid !== undefined,
    on_record: (record: Record<string, unknown>, info: Info) => ({
      record,
      line: lines.startOf(info),
      endLine: info.lines,
      skippedBefore: takeSkipped(),
    }),
    on_skip: (error: (Error & { lines?: number }) | undefined) => {
      const line = lines.skip(error?.lines);
      if (line === undefined) return; // another error in a record already skipped
      const detail = `invalid CSV: ${error?.message ?? 'unreadable record'}`;
      skipped.push(new InvalidRecordError('invalid CSV', { file, line }, detail));
    },
  });
  const bytes = createReadStream(file);
  // With a handler, a record holding bytes that are not UTF-8 is rejected as that record (file,
  // line, field); the lines are read ahead of the parser, so they are known by the time it ends.
  const invalidLines = onInvalid === undefined ? undefined : new Set<number>();
  const input = Readable.from(strictUtf8Text(bytes, file, invalidLines));
  input.on('error', (error) => parser.destroy(error));
  input.pipe(parser);
  try {
    for await (const row of parser as AsyncIterable<CsvRow>) {
      for (const error of row.skippedBefore) rejectRecord(error, onInvalid);
      if (invalidLines !== undefined && invalidLines.size > 0) {
        const error = invalidUtf8Record(row, invalidLines, file);
        if (error !== undefined) {
          rejectRecord(error, onInvalid);
          continue;
        }
      }
      yield { record: row.record, origin: { file, line: row.line } };
    }
    for (const error of takeSkipped()) rejectRecord(error, onInvalid);
  } catch (error) {
    // By class, not by code: csv-parse's codes mostly start with CSV_, but not all (INVALID_OPENING_QUOTE).
    if (error instanceof CsvError) throw new UserError(`${file}: invalid CSV: ${error.message}`);
    throw error;
  } finally {
    input.destroy();
    bytes.destroy();
  }
}

/**
 * The lines of a file as UTF-8 text. Without `invalidLines` it stops at the
 * first line that is not UTF-8; with it (and past the header) such a line is
 * passed on decoded with replacement characters and its number recorded, so
 * the record holding it can be rejected alone.
 */
async function* strictUtf8Text(input: Readable, file: string, invalidLines?: Set<number>): AsyncGenerator<string> {
  for await (const entry of utf8Lines(input)) {
    if ('invalid' in entry) {
      if (invalidLines === undefined || entry.line === 1) {
        throw new UserError(`${file}:${entry.line}: ${NOT_UTF8}`);
      }
      invalidLines.add(entry.line);
      yield `${entry.invalid}\n`;
    } else yield `${entry.text}\n`;
  }
}

/** The error for a CSV record that spans a line which was not UTF-8, naming the field that holds it; lines before it are forgotten. */
function invalidUtf8Record(row: CsvRow, invalidLines: Set<number>, file: string): InvalidRecordError | undefined {
  let found = false;
  for (const line of invalidLines) {
    if (line <= row.endLine) {
      if (line >= row.line) found = true;
      invalidLines.delete(line);
    }
  }
  if (!found) return undefined;
  const field = Object.keys(row.record).find((key) => typeof row.record[key] === 'string' && (row.record[key] as string).includes('\uFFFD'));
  return new InvalidRecordError('invalid UTF-8', { file, line: row.line }, field === undefined ? `the record is ${NOT_UTF8}` : `field "${field}" is ${NOT_UTF8}`);
}

/** The header as csv-parse's `columns`: a name given twice is refused (csv-parse kept the last such column, dropping the other's values). */
function uniqueColumns(header: string[], file: string): string[] {
  const first = new Map<string, number>();
  header.forEach((name, index) => {
    if (name === '') return; // trailing commas: columns with no name hold nothing anyone reads
    const earlier = first.get(name);
    if (earlier !== undefined) throw new UserError(`${file}:1: the header names column "${name}" twice (columns ${earlier + 1} and ${index + 1}); rename one`);
    first.set(name, index);
  });
  return header;
}

interface CsvRow {
  record: Record<string, unknown>;
  line: number;
  /** The line the record ends on (a quoted field may span lines). */
  endLine: number;
  skippedBefore: InvalidRecordError[];
}

/**
 * csv-parse tells the line a record ends on; a quoted field can span
 * lines, so the first line is the previous record's end plus one, plus any
 * blank lines skipped in between. The header is assumed to be line 1.
 */
class CsvLineTracker {
  private previousEnd = 1;
  private previousEmpty = 0;
  /** Where the last skipped record's error was, until a record is read. */
  private skippedAt: number | undefined;

  startOf(info: Info): number {
    const start = Math.min(this.nextStart(info.empty_lines - this.previousEmpty), info.lines);
    this.previousEnd = info.lines;
    this.previousEmpty = info.empty_lines;
    this.skippedAt = undefined;
    return start;
  }

  nextStart(emptyLinesBetween: number): number {
    return this.previousEnd + 1 + emptyLinesBetween;
  }

  /**
   * A skipped record's error is on `endLine`; returns where the record
   * started, or undefined for a further error of the record skipped last
   * (csv-parse reports each stray quote, then the field count: one record,
   * as no two records share a line).
   */
  skip(endLine: number | undefined): number | undefined {
    if (endLine !== undefined && endLine === this.skippedAt) return undefined;
    const start = this.nextStart(0);
    if (endLine !== undefined) this.previousEnd = endLine;
    this.skippedAt = endLine;
    return start;
  }
}

/**
 * Reads one row group at a time (rowStart/rowEnd per group from the
 * footer), so a multi-GB file costs one group of memory, not the file.
 */
export async function* readParquet(file: string, onInvalid?: InvalidRecordHandler): AsyncGenerator<SourceRecord> {
  const [{ asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects }, { compressors }] = await Promise.all([
    import('hyparquet'),
    import('hyparquet-compressors'),
  ]);
  const buffer = await asyncBufferFromFile(file);
  await assertParquetMagic(file, buffer);
  const metadata = await parquetMetadataAsync(buffer).catch((error: Error) => {
    throw new UserError(`${file}: not a readable Parquet file: ${error.message}`);
  });
  let rowStart = 0;
  for (const [index, group] of metadata.row_groups.entries()) {
    const rowEnd = rowStart + Number(group.num_rows);
    const rows = await parquetReadObjects({ file: buffer, metadata, rowStart, rowEnd, compressors, parsers: PARQUET_PARSERS }).catch((error: Error) => {
      throw damagedParquet(file, index, metadata.row_groups.length, error);
    });
    for (let index = 0; index < rows.length; index += 1) {
      const record = rows[index] as Record<string, unknown>;
      const origin = { file, line: rowStart + index + 1 };
      const notUtf8 = notUtf8Field(record);
      if (notUtf8 === undefined) yield { record, origin };
      else rejectRecord(new InvalidRecordError('invalid UTF-8', origin, `field "${notUtf8}" is ${NOT_UTF8}`), onInvalid);
    }
    rowStart = rowEnd;
  }
}

/**
 * A Parquet string whose bytes are not UTF-8, in place of the string with
 * U+FFFD that hyparquet would make of it; its JSON form is that lenient text.
 */
class NotUtf8 {
  constructor(readonly lenient: string) {}
  toJSON(): string {
    return this.lenient;
  }
}

const LENIENT_UTF8 = new TextDecoder();

/**
 * hyparquet's parsers with strings decoded strictly (it reads any unannotated
 * byte array as text, and with replacement characters): a string that is not
 * UTF-8 becomes a NotUtf8, which notUtf8Field finds. A leading BOM is dropped
 * as hyparquet's own decoder drops it.
 */
export const PARQUET_PARSERS = {
  stringFromBytes(bytes: Uint8Array | undefined): string | NotUtf8 | undefined {
    if (!bytes) return bytes;
    try {
      return STRICT_UTF8.decode(bytes);
    } catch {
      return new NotUtf8(LENIENT_UTF8.decode(bytes));
    }
  },
};

/** The top-level field of a Parquet row that holds (or nests) a string that was not UTF-8. */
export function notUtf8Field(row: Record<string, unknown>): string | undefined {
  return Object.keys(row).find((field) => holdsNotUtf8(row[field]));
}

function holdsNotUtf8(value: unknown): boolean {
  if (value instanceof NotUtf8) return true;
  if (Array.isArray(value)) return value.some(holdsNotUtf8);
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) return Object.values(value).some(holdsNotUtf8);
  return false;
}

/**
 * The footer was readable but a page of a row group is not: a damaged or
 * truncated file. (Parquet pages carry no checksum hyparquet verifies, so a
 * flipped bit that still decodes is not caught; see the README.)
 */
export function damagedParquet(file: string, groupIndex: number, groupCount: number, error: unknown): UserError {
  const detail = error instanceof Error ? error.message : String(error);
  return new UserError(`${file}: row group ${groupIndex + 1} of ${groupCount} cannot be decoded (${detail}): the file is damaged`);
}

async function assertParquetMagic(file: string, buffer: AsyncBuffer): Promise<void> {
  const size = buffer.byteLength;
  const isParquet =
    size >= 12 &&
    magicAt(await buffer.slice(0, 4)) &&
    magicAt(await buffer.slice(size - 4, size));
  if (!isParquet) throw new UserError(`${file}: not a Parquet file (it does not start and end with "PAR1")`);
}

function magicAt(bytes: ArrayBuffer): boolean {
  return Buffer.from(bytes).toString('latin1') === 'PAR1';
}
