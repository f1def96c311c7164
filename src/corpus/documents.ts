import { datasetName, resolveInputs } from './inputs.js';
import { InvalidRecordError } from './invalid.js';
import { readRecords } from './read.js';
import { toDocuments } from './schema.js';
import type { LabeledDocument, Origin } from './types.js';

export interface ReadDocumentsOptions {
  /** Skip unusable rows (counted through onSkip) instead of failing. */
  skipInvalid?: boolean;
  /** Unlabeled rows are errors (training, evaluation). */
  requireLabels?: boolean;
  /** Told about every skipped row; pass `report.add` of a SkipReport. */
  onSkip?: (reason: string, origin: Origin) => void;
}

/**
 * Every document in the given files, directories and globs, streamed in
 * input order. Without skipInvalid the first unusable row stops the read
 * with an error naming file and line.
 */
export async function* readDocuments(
  inputs: string[],
  options: ReadDocumentsOptions = {},
): AsyncGenerator<LabeledDocument> {
  const skip = (error: InvalidRecordError) => options.onSkip?.(error.reason, error.origin);
  const onInvalid = options.skipInvalid ? skip : undefined;
  for (const file of await resolveInputs(inputs)) {
    const mapping = { dataset: datasetName(file), requireLabels: options.requireLabels };
    for await (const source of readRecords(file, { onInvalid })) {
      const documents = mapOrSkip(() => toDocuments(source, mapping), onInvalid);
      yield* documents;
    }
  }
}

function mapOrSkip(
  map: () => LabeledDocument[],
  onInvalid: ((error: InvalidRecordError) => void) | undefined,
): LabeledDocument[] {
  try {
    return map();
  } catch (error) {
    if (!(error instanceof InvalidRecordError) || !onInvalid) throw error;
    onInvalid(error);
    return [];
  }
}

/** readDocuments collected into an array, for corpora that fit in memory. */
export async function readAllDocuments(
  inputs: string[],
  options: ReadDocumentsOptions = {},
): Promise<LabeledDocument[]> {
  const documents: LabeledDocument[] = [];
  for await (const document of readDocuments(inputs, options)) documents.push(document);
  return documents;
}

/** Counts skipped rows by reason for the one-line summary commands print. */
export class SkipReport {
  readonly counts = new Map<string, number>();
  /** Where each reason first occurred, so a user can look at an example. */
  readonly firstOrigin = new Map<string, Origin>();

  /** An arrow so it can be handed over directly as `onSkip`. */
  readonly add = (reason: string, origin: Origin): void => {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    if (!this.firstOrigin.has(reason)) this.firstOrigin.set(reason, origin);
  };

  get total(): number {
    let total = 0;
    for (const count of this.counts.values()) total += count;
    return total;
  }

  /** `skipped 3 rows: 2 empty text, 1 invalid JSON`, most frequent first. */
  summary(): string {
    const total = this.total;
    const noun = total === 1 ? 'row' : 'rows';
    if (total === 0) return `skipped 0 ${noun}`;
    const parts = [...this.counts]
      .sort(([reasonA, countA], [reasonB, countB]) => countB - countA || reasonA.localeCompare(reasonB))
      .map(([reason, count]) => `${count} ${reason}`);
    return `skipped ${total} ${noun}: ${parts.join(', ')}`;
  }
}
