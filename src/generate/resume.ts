import { closeSync, createReadStream, fsyncSync, mkdirSync, openSync, promises as fs, writeSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { UserError } from '../util/errors.js';

/**
 * Resumable JSONL output. Lines are appended whole, one `write(2)` each, so an
 * interrupted run can leave at most one torn line: the last one, without its
 * newline. `scanExisting` cuts that line off and returns the keys of the
 * complete records, so a re-run skips them: nothing lost, nothing duplicated.
 */

export interface ExistingOutput {
  /** Keys (from `keyOf`) of complete records already in the file. */
  keys: Set<string>;
  /** Complete records found. */
  records: number;
  /** Bytes of a torn last line that were cut off (0 when the file was intact or absent). */
  truncatedBytes: number;
}

/**
 * Read an existing output file, then repair a torn last line in place. `keyOf`
 * returns a record's key or throws a UserError when the record does not belong
 * in this output (written with other settings). Every complete line is checked
 * before anything is cut, so a file that is refused (not this run's output, or
 * written with other settings) is left exactly as it was.
 */
export async function scanExisting(
  file: string,
  keyOf: (record: Record<string, unknown>, line: number) => string,
): Promise<ExistingOutput> {
  const keys = new Set<string>();
  let records = 0;
  const stats = await fs.stat(file).catch(() => undefined);
  if (!stats) return { keys, records, truncatedBytes: 0 };
  if (!stats.isFile()) throw new UserError(`output ${file} exists and is not a file`);
  const { keep } = (await completeLength(file)) ?? { keep: 0 };
  if (keep > 0) {
    const lines = readline.createInterface({ input: createReadStream(file, { encoding: 'utf8', end: keep - 1 }), crlfDelay: Infinity });
    let line = 0;
    try {
      for await (const text of lines) {
        line += 1;
        if (text.trim() === '') continue;
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          throw new UserError(
            `${file}:${line}: existing output line is not valid JSON, so the run cannot be resumed safely; ` +
              'remove that line (or the file) and run again',
          );
        }
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          throw new UserError(`${file}:${line}: existing output line is not a JSON object`);
        }
        keys.add(keyOf(value as Record<string, unknown>, line));
        records += 1;
      }
    } finally {
      lines.close();
    }
  }
  return { keys, records, truncatedBytes: await repairTornLine(file) };
}

/**
 * The file's size and the length of its complete lines (up to and including the
 * last newline); undefined when the file does not exist.
 */
async function completeLength(file: string): Promise<{ size: number; keep: number } | undefined> {
  const handle = await fs.open(file, 'r').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new UserError(`cannot open output ${file}: ${error.message}`);
  });
  if (!handle) return undefined;
  try {
    const { size } = await handle.stat();
    const chunk = Buffer.alloc(64 * 1024);
    let end = size;
    // Walk back from the end to the last newline.
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const { bytesRead } = await handle.read(chunk, 0, end - start, start);
      const index = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (index !== -1) return { size, keep: start + index + 1 };
      end = start;
    }
    return { size, keep: 0 };
  } finally {
    await handle.close();
  }
}

/**
 * Cut a last line that has no terminating newline (a write interrupted by a
 * crash or kill). Returns the number of bytes removed.
 */
export async function repairTornLine(file: string): Promise<number> {
  const length = await completeLength(file);
  if (!length || length.keep === length.size) return 0;
  try {
    await fs.truncate(file, length.keep);
  } catch (error) {
    throw new UserError(`cannot repair output ${file}: ${(error as Error).message}`);
  }
  return length.size - length.keep;
}

/**
 * Appends JSON records to a file, each as one synchronous write of a whole
 * line, so concurrent workers never interleave and a killed process leaves
 * every finished record on disk.
 */
export class LineAppender {
  private fd: number | null = null;

  constructor(readonly file: string) {}

  append(record: unknown): void {
    if (this.fd === null) {
      try {
        mkdirSync(path.dirname(path.resolve(this.file)), { recursive: true });
        this.fd = openSync(this.file, 'a');
      } catch (error) {
        throw new UserError(`cannot write ${this.file}: ${(error as Error).message}`);
      }
    }
    const bytes = Buffer.from(`${JSON.stringify(record, jsonSafe)}\n`, 'utf8');
    let offset = 0;
    try {
      while (offset < bytes.length) offset += writeSync(this.fd, bytes, offset, bytes.length - offset);
    } catch (error) {
      throw new UserError(`cannot write ${this.file}: ${(error as Error).message}`);
    }
  }

  close(): void {
    if (this.fd === null) return;
    try {
      fsyncSync(this.fd);
    } catch {
      // fsync is best effort (not supported on every file system)
    }
    closeSync(this.fd);
    this.fd = null;
  }
}

/** Parquet integers may arrive as bigint, which JSON.stringify rejects. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value !== 'bigint') return value;
  return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
}
