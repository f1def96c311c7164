import { createReadStream, promises as fs } from 'node:fs';
import readline from 'node:readline';
import { fileWriter, ParquetWriter, type ColumnSource, type SchemaElement } from 'hyparquet-writer';
import { UserError } from '../util/errors.js';

/**
 * The rows file of a run, appended to with explicit positions so that the
 * committed length is always known: a resumed run truncates the file to
 * the checkpointed length (dropping rows written after the last commit and
 * any torn last line) and carries on from there.
 */
export class RowsFile {
  private pieces: string[] = [];
  private pendingChars = 0;

  private constructor(
    private readonly handle: fs.FileHandle,
    readonly path: string,
    /** Bytes on disk (written, not necessarily synced). */
    private written: number,
  ) {}

  /** Opens for a fresh run (truncated to zero) or a resumed one (truncated to `committed`). */
  static async open(path: string, committed: number): Promise<RowsFile> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(path, committed > 0 ? 'r+' : 'w');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && committed > 0) {
        throw new UserError(`${path} is missing but the checkpoint says ${committed} bytes were written; use --restart to start over`);
      }
      throw new UserError(`cannot write ${path}: ${code ?? String(error)}`);
    }
    const { size } = await handle.stat();
    if (size < committed) {
      await handle.close();
      throw new UserError(`${path} is shorter (${size} bytes) than its checkpoint (${committed} bytes): it was changed by something else; use --restart to start over`);
    }
    await handle.truncate(committed);
    return new RowsFile(handle, path, committed);
  }

  /** Buffers `text`, writing once a MiB has piled up. */
  async append(text: string): Promise<void> {
    if (text.length === 0) return;
    this.pieces.push(text);
    this.pendingChars += text.length;
    if (this.pendingChars >= 1 << 20) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pieces.length === 0) return;
    const buffer = Buffer.from(this.pieces.join(''), 'utf8');
    this.pieces = [];
    this.pendingChars = 0;
    let done = 0;
    while (done < buffer.length) {
      const { bytesWritten } = await this.handle.write(buffer, done, buffer.length - done, this.written + done);
      done += bytesWritten;
    }
    this.written += buffer.length;
  }

  /** Everything appended so far is on disk and durable; returns the committed length. */
  async commit(): Promise<number> {
    await this.flush();
    await this.handle.datasync();
    return this.written;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/**
 * Turns a finished JSON-lines rows file into Parquet in bounded memory: one
 * pass learns the columns (the rows are small: id, probability, verdict,
 * and with --sentences a JSON column), a second writes row groups of
 * `groupRows` rows. Values that are not scalars are stored as JSON text.
 * Writes `<target>.tmp` and renames it into place, so a crash here leaves
 * either no Parquet file or a complete one; the conversion then simply
 * runs again.
 */
export async function convertToParquet(rowsPath: string, target: string, groupRows = 100_000): Promise<number> {
  const columns = await learnColumns(rowsPath);
  const temporary = `${target}.tmp`;
  const writer = new ParquetWriter({ writer: fileWriter(temporary), schema: schemaOf(columns), createdBy: 'copydesk batch' });
  let rows = 0;
  let group: Array<Record<string, unknown>> = [];
  const flush = async () => {
    if (group.length === 0) return;
    await writer.write({ columnData: columnData(columns, group), rowGroupSize: groupRows });
    rows += group.length;
    group = [];
  };
  for await (const row of jsonRows(rowsPath)) {
    group.push(row);
    if (group.length >= groupRows) await flush();
  }
  await flush();
  await writer.finish();
  const handle = await fs.open(temporary, 'r+');
  await handle.sync();
  await handle.close();
  await fs.rename(temporary, target);
  return rows;
}

type ColumnKind = 'STRING' | 'DOUBLE' | 'BOOLEAN' | 'JSON';
interface Column {
  name: string;
  kind: ColumnKind;
}

async function learnColumns(rowsPath: string): Promise<Column[]> {
  // 'NULL' until a column shows a value; a column whose values disagree in type becomes JSON.
  const kinds = new Map<string, ColumnKind | 'NULL'>();
  for await (const row of jsonRows(rowsPath)) {
    for (const [name, value] of Object.entries(row)) {
      const kind: ColumnKind | 'NULL' =
        value === null || value === undefined
          ? 'NULL'
          : typeof value === 'number'
            ? 'DOUBLE'
            : typeof value === 'boolean'
              ? 'BOOLEAN'
              : typeof value === 'string'
                ? 'STRING'
                : 'JSON';
      const known = kinds.get(name);
      if (known === undefined || known === 'NULL') kinds.set(name, kind);
      else if (kind !== 'NULL' && kind !== known) kinds.set(name, 'JSON');
    }
  }
  // Fixed leading order; further fields (sentence-level output) follow as first seen.
  const leading = ['id', 'machine_probability', 'verdict'];
  const names = [...leading.filter((name) => kinds.has(name)), ...[...kinds.keys()].filter((name) => !leading.includes(name))];
  return names.map((name) => {
    const kind = kinds.get(name)!;
    return { name, kind: kind === 'NULL' ? 'STRING' : kind };
  });
}

function schemaOf(columns: Column[]): SchemaElement[] {
  const element = (column: Column): SchemaElement => {
    const base = { name: column.name, repetition_type: 'OPTIONAL' as const };
    if (column.kind === 'DOUBLE') return { ...base, type: 'DOUBLE' };
    if (column.kind === 'BOOLEAN') return { ...base, type: 'BOOLEAN' };
    if (column.kind === 'JSON') return { ...base, type: 'BYTE_ARRAY', converted_type: 'JSON' };
    return { ...base, type: 'BYTE_ARRAY', converted_type: 'UTF8' };
  };
  return [{ name: 'root', num_children: columns.length }, ...columns.map(element)];
}

function columnData(columns: Column[], rows: Array<Record<string, unknown>>): ColumnSource[] {
  return columns.map((column) => ({
    name: column.name,
    data: rows.map((row) => {
      const value = row[column.name];
      if (value === undefined || value === null) return null;
      if (column.kind === 'JSON') return JSON.stringify(value);
      if (column.kind === 'STRING' && typeof value !== 'string') return String(value);
      return value;
    }),
  }));
}

async function* jsonRows(file: string): AsyncGenerator<Record<string, unknown>> {
  const lines = readline.createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  try {
    for await (const line of lines) if (line !== '') yield JSON.parse(line) as Record<string, unknown>;
  } finally {
    lines.close();
  }
}
