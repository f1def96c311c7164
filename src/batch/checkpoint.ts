import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import type { Cursor, InputFile } from './reader.js';

/**
 * What a run's output depends on. A resumed run must match it exactly, or
 * the rows already written would disagree with the rows still to come.
 * Inputs are identified by content, not by mtime, so copying a file does not
 * invalidate a run while editing it does: JSON lines by size plus a hash of
 * the first and last MiB here, and the part already scored by the running
 * hash in the checkpoint's cursor (re-verified on resume, see reader.ts);
 * CSV and Parquet, whose cursor is a row number rather than a byte offset,
 * by a hash of the whole file. `--skip-invalid` is deliberately not part of
 * it: the rows committed so far are right either way, so a run that stopped
 * on a bad row can be resumed with --skip-invalid.
 */
export interface Fingerprint {
  version: 2;
  inputs: Array<{ path: string; size: number; sample: string }>;
  model: string;
  sentences: boolean;
  output: 'jsonl' | 'parquet';
  /** Rows per batch: batch boundaries are resume points and distributed chunk ids. */
  batchSize: number;
}

export async function fingerprintOf(
  files: InputFile[],
  modelSha: string,
  options: { sentences: boolean; output: 'jsonl' | 'parquet'; batchSize: number },
): Promise<Fingerprint> {
  const inputs = [];
  for (const file of files) {
    const sample = file.format === 'jsonl' ? await sampleHash(file.path, file.size) : (await fileSha256(file.path)).slice(0, 32);
    inputs.push({ path: path.resolve(file.path), size: file.size, sample });
  }
  return { version: 2, inputs, model: modelSha, ...options };
}

export function fingerprintId(fingerprint: Fingerprint): string {
  return createHash('sha256').update(JSON.stringify(fingerprint)).digest('hex').slice(0, 16);
}

/** What differs between two fingerprints, in words, for the refusal message. */
export function describeChange(before: Fingerprint, now: Fingerprint): string {
  const changes: string[] = [];
  if (before.version !== now.version) changes.push('the checkpoint format (written by an older copydesk)');
  else if (JSON.stringify(before.inputs.map((i) => i.path)) !== JSON.stringify(now.inputs.map((i) => i.path))) changes.push('the input files');
  else if (JSON.stringify(before.inputs) !== JSON.stringify(now.inputs)) changes.push('the content of the input');
  if (before.model !== now.model) changes.push('the model');
  if (before.sentences !== now.sentences) changes.push('--sentences');
  if (before.output !== now.output) changes.push('the output format');
  if (before.batchSize !== now.batchSize) changes.push('the batch size');
  return changes.length === 0 ? 'the run settings' : changes.join(', ');
}

async function sampleHash(file: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const window = 1 << 20;
  const handle = await fs.open(file, 'r');
  try {
    for (const start of size <= 2 * window ? [0] : [0, size - window]) {
      const buffer = Buffer.alloc(Math.min(size, size <= 2 * window ? size : window));
      await handle.read(buffer, 0, buffer.length, start);
      hash.update(buffer);
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex').slice(0, 32);
}

export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The sidecar `<output>.progress`: everything a resumed run needs. */
export interface Checkpoint {
  fingerprint: Fingerprint;
  id: string;
  /** 'score': rows are being written; 'convert': the JSON-lines rows are complete and turning into Parquet. */
  phase: 'score' | 'convert';
  cursor: Cursor;
  /** JSON-lines files before the cursor's: the bytes scored from each and their SHA-256, re-verified on resume. */
  consumed: Array<{ path: string; bytes: number; sha256: string }>;
  /** Batches committed (distributed: chunk index to continue from). */
  batches: number;
  rowsIn: number;
  rowsOut: number;
  skips: Record<string, number>;
  firstSkip: Record<string, string>;
  /** Bytes of the rows file that are committed; anything beyond is cut off on resume. */
  outputBytes: number;
  /** Seconds spent in earlier attempts, for an honest overall rate. */
  elapsedSeconds: number;
}

export function progressPath(output: string): string {
  return `${output}.progress`;
}

export async function readCheckpoint(output: string): Promise<Checkpoint | undefined> {
  let text: string;
  try {
    text = await fs.readFile(progressPath(output), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as Checkpoint;
  } catch {
    // Written by rename, so it is never torn; a broken one was edited by hand.
    throw new UserError(`${progressPath(output)} is not a copydesk checkpoint; delete it or use --restart`);
  }
}

/** Atomic and durable: write a temporary file, fsync it, rename it over the old one, fsync the directory. */
export async function writeCheckpoint(output: string, checkpoint: Checkpoint): Promise<void> {
  const target = progressPath(output);
  const temporary = `${target}.tmp`;
  const handle = await fs.open(temporary, 'w');
  try {
    await handle.writeFile(JSON.stringify(checkpoint));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(temporary, target);
  await syncDirectory(path.dirname(target));
}

export async function removeCheckpoint(output: string): Promise<void> {
  await fs.rm(progressPath(output), { force: true });
  await fs.rm(`${progressPath(output)}.tmp`, { force: true });
}

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    await handle.close();
  }
}
