/** The two labels copydesk distinguishes. */
export type Label = 'human' | 'machine';

/** Where a record came from, so every error can name file and line/row. */
export interface Origin {
  file: string;
  /** 1-based line (JSONL/CSV, header is line 1 in CSV) or 1-based row (Parquet). */
  line: number;
}

/**
 * One text with everything known about it. Every reader yields these,
 * whatever the input schema: a seed-schema record becomes two documents.
 */
export interface LabeledDocument {
  id: string;
  /** null when the input carries no label (plain `{id,text}` input to detect). */
  label: Label | null;
  text: string;
  generator: string | null;
  domain: string | null;
  /** Raw `source` field; for seed-schema input the dataset name. */
  source: string | null;
  /** Story identity: documents written from the same story share it. */
  pair_id: string | null;
  prompt: string | null;
  /** File stem the document was read from, e.g. `pan24_news`. */
  dataset: string;
  /** Fields beyond the schema (topic, variant, category ...), kept verbatim. */
  extra: Record<string, unknown>;
  origin: Origin;
}

export type SchemaName = 'seed' | 'labeled' | 'text';
