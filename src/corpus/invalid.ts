import { UserError } from '../util/errors.js';
import type { Origin } from './types.js';

/**
 * One input row that cannot be used. `reason` is a short category
 * ('invalid JSON', 'empty text', 'missing field "text"' ...) so that
 * --skip-invalid can count skips; the message names file and line.
 */
export class InvalidRecordError extends UserError {
  constructor(
    readonly reason: string,
    readonly origin: Origin,
    detail: string,
  ) {
    super(`${origin.file}:${origin.line}: ${detail}`);
    this.name = 'InvalidRecordError';
  }
}

/** Called with each unusable row instead of throwing; absent means throw. */
export type InvalidRecordHandler = (error: InvalidRecordError) => void;

export function rejectRecord(error: InvalidRecordError, onInvalid: InvalidRecordHandler | undefined): void {
  if (!onInvalid) throw error;
  onInvalid(error);
}

/** A found value, short enough for an error message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'bigint') return `${value}`;
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 40 ? `${json.slice(0, 37)}...` : json;
}
