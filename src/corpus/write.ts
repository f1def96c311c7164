import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { UserError } from '../util/errors.js';

/**
 * Appends one JSON object per line to a file, or to stdout for `-`.
 * `write` waits for 'drain' when the stream's buffer is full, so a fast
 * producer cannot pile a whole corpus up in memory.
 */
export class JsonlWriter {
  private failure: Error | undefined;

  private constructor(
    private readonly stream: Writable,
    private readonly target: string,
    private readonly ownsStream: boolean,
  ) {
    // Remembered instead of thrown: an 'error' event without a listener
    // would crash the process before the caller could report it.
    stream.on('error', (error) => (this.failure ??= error));
  }

  static open(target: string, options: { append?: boolean } = {}): JsonlWriter {
    if (target === '-') return new JsonlWriter(process.stdout, 'stdout', false);
    return new JsonlWriter(createWriteStream(target, { flags: options.append ? 'a' : 'w' }), target, true);
  }

  async write(value: unknown): Promise<void> {
    this.throwIfFailed();
    if (this.stream.writableEnded) throw new Error(`JsonlWriter for ${this.target} is already closed`);
    if (!this.stream.write(`${JSON.stringify(value, jsonSafe)}\n`)) {
      await drainedOrClosed(this.stream);
      this.throwIfFailed();
    }
  }

  /** Flushes and closes the file; stdout is left open for others. */
  async close(): Promise<void> {
    if (this.ownsStream) {
      this.stream.end();
      await finished(this.stream).catch(() => undefined);
    }
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw new UserError(`cannot write ${this.target}: ${this.failure.message}`);
  }
}

/** A stream that fails closes without 'drain'; waiting for 'drain' alone could hang. */
async function drainedOrClosed(stream: Writable): Promise<void> {
  const controller = new AbortController();
  const { signal } = controller;
  try {
    await Promise.race([once(stream, 'drain', { signal }), once(stream, 'close', { signal })]);
  } catch {
    // 'error' rejects these; the constructor's listener has recorded it.
  } finally {
    controller.abort();
  }
}

/** Parquet integers may arrive as bigint, which JSON.stringify rejects. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value !== 'bigint') return value;
  return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
}
