import { createHash } from 'node:crypto';
import type { Evidence } from '../model/detector.js';
import type { MixtureResult, SentenceResult } from './sentences.js';
import type { Reason, Verdict } from './applicability.js';

export type { Reason, Verdict } from './applicability.js';

/**
 * The one result type and its one serializer: CLI JSON, JSON lines, batch
 * rows and HTTP all print a DetectionResult through the functions below, so
 * a field added here appears everywhere at once.
 */

/** What copydesk says about one document, in every interface. */
export interface DetectionResult {
  id?: string;
  machine_probability: number;
  verdict: Verdict;
  /** Why the verdict is `uncertain` (present only then): `too_short`, `not_english`, `not_prose`, `not_news`, `unlike_training_data`, `repeated_text` (detect/applicability.ts). */
  reasons?: Reason[];
  /**
   * With a "human" verdict (present only then): soft reasons (`not_news`,
   * `unlike_training_data`, `repeated_text`) the text has although its score was too low for
   * them to decline it; a low score on such text is weaker evidence
   * (model/applicability.ts SOFT_REASONS).
   */
  cautions?: Reason[];
  threshold: number;
  model_version: string;
  /** With `sentences`: p-value that the document contains machine-written sentences (see detect/sentences.ts). */
  mixture_p_value?: number;
  /** With `sentences`: mixture_p_value ≤ the level. */
  machine_passage?: boolean;
  mixture?: MixtureResult;
  sentences?: SentenceResult[];
  evidence?: Evidence[];
  /** With a per-text sentence cap (`maxSentencesPerText`): how many sentences the text has. */
  sentence_count?: number;
  /** With a per-text sentence cap: whether `sentences` was cut short (the mixture test still used them all). */
  sentences_truncated?: boolean;
}

/** What to compute for a document: the one option type of every scoring entry point. */
export interface ScoreOptions {
  /** Include the strongest reasons (names the features behind the score). */
  evidence?: boolean;
  /** Score every sentence and test for machine passages. */
  sentences?: boolean;
  /** Level of the mixture test's decision (default 0.05). */
  level?: number;
  /** Work budget of detectTexts: most sentences in one call, all texts together (checked before any scoring). */
  maxSentences?: number;
  /** Most sentences returned per text (detectTexts); the mixture test still uses them all. */
  maxSentencesPerText?: number;
}

/** A call over its sentence budget: nothing was scored. */
export class SentenceBudgetExceeded extends Error {
  constructor(
    readonly sentences: number,
    readonly limit: number,
  ) {
    super(`the texts have ${sentences} sentences together; the limit per request is ${limit}`);
  }
}

/** What the HTTP service reads of a result besides its JSON: the audit trail's fields and the verdict it counts. */
export type ResultSummary = Pick<DetectionResult, 'machine_probability' | 'verdict' | 'model_version'> & {
  /** SHA-256 of the text as UTF-8, hex: hashed where the text is scored (~10 µs a 3 kB article), not on the event loop. */
  sha256: string;
};

/**
 * Results serialised where they were scored: each result's resultJson and
 * its summary. Measured (issue 10): a scoring thread's results crossed to
 * the event loop as objects (structured clone of every sentence and piece
 * of evidence) and were serialised there; the event loop is what limits
 * `serve` on a small machine, and a string crosses for a copy.
 */
export interface SerializedResults {
  json: string[];
  summaries: ResultSummary[];
}

/** `results` of `texts` (same order), serialised. */
export function serializeResults(texts: readonly string[], results: readonly DetectionResult[]): SerializedResults {
  return {
    json: results.map((result) => resultJson(result)),
    summaries: results.map(({ machine_probability, verdict, model_version }, i) => ({ machine_probability, verdict, model_version, sha256: sha256Hex(texts[i]) })),
  };
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * The HTTP reply to a batch from its results' resultJson: the same bytes as
 * resultJson({ model_version, results }) (test/result-json.test.ts).
 */
export function batchJson(modelVersion: string, json: readonly string[]): string {
  return `{"model_version":${JSON.stringify(modelVersion)},"results":[${json.join(',')}]}`;
}

/** A whole result as JSON (HTTP bodies; the CLI's --json with `indent` 2). */
export function resultJson(result: DetectionResult | DetectionResult[] | object, indent?: number): string {
  return JSON.stringify(result, null, indent);
}

/**
 * A result as one JSON line of `detect --jsonl` and `batch`: id, probability
 * and verdict (and reasons or cautions when there are any), plus the sentence fields when
 * sentences were scored. Threshold and model version are left out: they are
 * the same on every line.
 */
export function rowJson(result: DetectionResult): string {
  return JSON.stringify({
    id: result.id,
    machine_probability: result.machine_probability,
    verdict: result.verdict,
    reasons: result.reasons,
    cautions: result.cautions,
    mixture_p_value: result.mixture_p_value,
    machine_passage: result.machine_passage,
    sentences: result.sentences,
  });
}

/** The line that stands in for a row that could not be scored (`--skip-invalid` on JSON lines). */
export function errorRowJson(id: string | null, line: number, error: string): string {
  return JSON.stringify({ id, line, machine_probability: null, verdict: null, error });
}
