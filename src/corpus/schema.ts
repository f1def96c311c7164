import { describeValue, InvalidRecordError } from './invalid.js';
import type { SourceRecord } from './read.js';
import { isBinaryText, isEmptyText } from '../text/empty.js';
import type { Label, LabeledDocument, Origin, SchemaName } from './types.js';

export interface MappingOptions {
  /** File stem the record came from; also the seed schema's `source`. */
  dataset: string;
  /** Training and evaluation need labels: unlabeled rows become errors. */
  requireLabels?: boolean;
}

const EXPECTED_SCHEMAS =
  'expected the seed schema {id, article, highlights, chatgpt} or the labeled schema {id, label, text}';
const SEED_FIELDS = new Set(['id', 'article', 'highlights', 'chatgpt']);
const LABELED_FIELDS = new Set(['id', 'label', 'text', 'generator', 'domain', 'source', 'pair_id', 'prompt']);

/**
 * Which schema a record follows, judged by its own fields (files may mix
 * them): `text` means labeled (or plain text when the label is absent or
 * null); otherwise `article`/`chatgpt` mean the seed schema.
 */
export function detectSchema(record: Record<string, unknown>): SchemaName | undefined {
  if (record.text !== undefined) return isAbsent(record.label) ? 'text' : 'labeled';
  if (record.article !== undefined || record.chatgpt !== undefined) return 'seed';
  return undefined;
}

/** The documents one record stands for: two for a seed pair, else one. */
export function toDocuments({ record, origin }: SourceRecord, options: MappingOptions): LabeledDocument[] {
  const schema = detectSchema(record);
  if (schema === undefined) {
    throw new InvalidRecordError('missing field "text"', origin, `field "text" is missing (${EXPECTED_SCHEMAS})`);
  }
  if (schema === 'seed') return seedDocuments(record, origin, options.dataset);
  if (schema === 'text' && options.requireLabels) {
    throw new InvalidRecordError(
      'missing label',
      origin,
      'field "label" is missing; training and evaluation need labeled input {id, label: "human"|"machine", text}',
    );
  }
  return [labeledDocument(record, origin, options.dataset, schema)];
}

function seedDocuments(record: Record<string, unknown>, origin: Origin, dataset: string): LabeledDocument[] {
  const read = new FieldReader(record, origin, 'the seed schema {id, article, highlights, chatgpt}');
  const storyId = read.id(dataset);
  // Both texts are checked before either document exists, so an invalid
  // record never leaves half a pair behind.
  const article = read.text('article');
  const chatgpt = read.text('chatgpt');
  const shared = {
    pair_id: storyId,
    prompt: read.optionalString('highlights'),
    domain: 'news',
    source: dataset,
    dataset,
    extra: extraFields(record, SEED_FIELDS),
    origin,
  };
  return [
    { ...shared, id: `${storyId}:human`, label: 'human', text: article, generator: 'human' },
    { ...shared, id: `${storyId}:chatgpt`, label: 'machine', text: chatgpt, generator: 'chatgpt', extra: { ...shared.extra } },
  ];
}

function labeledDocument(
  record: Record<string, unknown>,
  origin: Origin,
  dataset: string,
  schema: 'labeled' | 'text',
): LabeledDocument {
  const read = new FieldReader(record, origin, 'the labeled schema {id, label, text}');
  return {
    id: read.id(dataset),
    label: schema === 'labeled' ? read.label() : null,
    text: read.text('text'),
    generator: read.optionalString('generator'),
    domain: read.optionalString('domain'),
    source: read.optionalString('source'),
    pair_id: read.optionalString('pair_id'),
    prompt: read.optionalString('prompt'),
    dataset,
    extra: extraFields(record, LABELED_FIELDS),
    origin,
  };
}

function extraFields(record: Record<string, unknown>, known: Set<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([field]) => !known.has(field)));
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null;
}

/** Typed access to one record's fields; every failure names the field. */
class FieldReader {
  constructor(
    private readonly record: Record<string, unknown>,
    private readonly origin: Origin,
    private readonly schema: string,
  ) {}

  /** Rows without an id get one from their position, so ids stay unique. */
  id(dataset: string): string {
    return this.optionalString('id') ?? `${dataset}:${this.origin.line}`;
  }

  text(field: string): string {
    const value = this.record[field];
    if (isAbsent(value)) {
      this.fail(`missing field "${field}"`, `field "${field}" is missing (expected ${this.schema})`);
    }
    if (typeof value !== 'string') {
      this.fail(`bad field "${field}"`, `field "${field}" must be a string, found ${describeValue(value)}`);
    }
    if (isEmptyText(value)) this.fail('empty text', `field "${field}" is empty (after normalisation): nothing to score`);
    if (isBinaryText(value)) this.fail('binary text', `field "${field}" contains NUL characters: binary data, not text`);
    return value;
  }

  label(): Label {
    const value = this.record.label;
    const normalized = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
    if (normalized === 'human' || normalized === 'machine') return normalized;
    return this.fail('bad label', `field "label" must be "human" or "machine", found ${describeValue(value)}`);
  }

  /** Scalars become strings; blank means unknown, so it becomes null
   * (a blank pair_id would otherwise tie unrelated stories together).
   * A number past 2^53 is refused: it is no longer the one written. */
  optionalString(field: string): string | null {
    const value = this.record[field];
    if (isAbsent(value)) return null;
    if (typeof value === 'string') return value.trim() === '' ? null : value;
    if (typeof value === 'number' && Math.abs(value) > Number.MAX_SAFE_INTEGER) {
      // JSON.parse has already rounded it (12345678901234567891 → …7000): two such ids could become one.
      this.fail(`bad field "${field}"`, `field "${field}" is a number too large to be exact (${value}); write it as a string`);
    }
    if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
    return this.fail(`bad field "${field}"`, `field "${field}" must be a string, found ${describeValue(value)}`);
  }

  private fail(reason: string, detail: string): never {
    throw new InvalidRecordError(reason, this.origin, detail);
  }
}
