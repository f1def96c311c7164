import type { Detector } from '../model/detector.js';
import { isEmptyText } from '../text/empty.js';
import { UserError } from '../util/errors.js';
import { round6 } from '../util/numeric.js';
import { assessDocument, judgeProbability, reasonsPart } from './applicability.js';
import { splitSentences, type SentenceSpan } from '../text/sentences.js';
import { SentenceBudgetExceeded, serializeResults, type DetectionResult, type ScoreOptions, type SerializedResults } from './result.js';
import { analyzeSentences } from './sentences.js';

export type { DetectionResult, ScoreOptions, Verdict } from './result.js';

/**
 * Refuses text that is empty after normalisation (whitespace, zero-width
 * characters, a lone title line): there is nothing to score. `where` names
 * the text in the message (a file, a field); `normalized` is normalize(text)
 * when the caller has it.
 */
export function assertScorable(text: string, where: string, normalized?: string): void {
  if (isEmptyText(text, normalized)) throw new UserError(`${where}: the text is empty (after normalisation); nothing to score`);
}

/**
 * Scores one document. The text is prepared once (normalised, tokenised,
 * n-grams hashed: features/document.ts) and that one PreparedDocument gives
 * the document score, the sentence windows and the evidence.
 */
export function detectText(detector: Detector, text: string, options: ScoreOptions = {}, id?: string, spans?: SentenceSpan[]): DetectionResult {
  // Library callers in plain JavaScript: a clear message, not "text.normalize is not a function".
  if (typeof text !== 'string') throw new TypeError(`${id ?? 'text'} must be a string, got ${describeValue(text)}${Array.isArray(text) ? ' (score each text of an array on its own)' : ''}`);
  const document = detector.featurizer.prepare(text, { sentences: options.sentences, spans: options.sentences ? spans : undefined });
  // Checked on the normalised text prepare made: isEmptyText would normalise a short text a second time.
  assertScorable(text, id ?? 'text', document.normalized);
  // The applicability checks (uncertain) read the same tokens.
  const prediction = judgeProbability(detector, detector.probability(document), assessDocument(detector, document));
  const result: DetectionResult = {
    ...(id === undefined ? {} : { id }),
    machine_probability: round6(prediction.machine_probability),
    verdict: prediction.verdict,
    ...reasonsPart(prediction),
    threshold: round6(detector.threshold),
    model_version: detector.version,
  };
  if (options.sentences) {
    const analysis = analyzeSentences(detector, document, options.level, prediction.reasons);
    result.mixture_p_value = analysis.mixture.p_value;
    result.machine_passage = analysis.mixture.machine_passage;
    result.mixture = analysis.mixture;
    result.sentences = analysis.sentences;
  }
  if (options.evidence) result.evidence = detector.explain(document).map((e) => ({ ...e, weight: round6(e.weight) }));
  return result;
}

/** A call over the sentence budget: its sentence count (plain data: it crosses threads). */
export type OverBudget = { overBudget: { sentences: number; limit: number } };

/** What detectTexts answers: results, or OverBudget. */
export type TextsReply = { results: DetectionResult[] } | OverBudget;

/**
 * Scores texts within the work budget in `options` (the HTTP service's):
 * over `maxSentences` sentences in all, nothing is scored; each result
 * with sentences lists at most `maxSentencesPerText` of them, and says how
 * many the text has (sentence_count) and whether they were cut (sentences_truncated). The sentences split for the budget are the
 * ones scored (splitting costs about a seventh of scoring).
 */
export function detectTexts(detector: Detector, texts: readonly string[], options: ScoreOptions): TextsReply {
  const spans = options.sentences && options.maxSentences !== undefined ? texts.map((text) => splitSentences(text)) : undefined;
  if (spans) {
    const count = spans.reduce((sum, s) => sum + s.length, 0);
    if (count > options.maxSentences!) return { overBudget: { sentences: count, limit: options.maxSentences! } };
  }
  const cap = options.maxSentencesPerText ?? Infinity;
  return {
    results: texts.map((text, i) => {
      const result = detectText(detector, text, options, undefined, spans?.[i]);
      if (result.sentences) {
        result.sentence_count = result.sentences.length;
        result.sentences_truncated = result.sentences.length > cap;
        if (result.sentences_truncated) result.sentences = result.sentences.slice(0, cap);
      }
      return result;
    }),
  };
}

/** A reply that is not OverBudget, or SentenceBudgetExceeded: the one place over-budget replies become the error. */
function withinBudget<T extends object>(reply: T | OverBudget): T {
  if ('overBudget' in reply) throw new SentenceBudgetExceeded(reply.overBudget.sentences, reply.overBudget.limit);
  return reply;
}

/** The results of a TextsReply, or SentenceBudgetExceeded. */
export function textsResults(reply: TextsReply): DetectionResult[] {
  return withinBudget(reply).results;
}

/** detectTexts with the results serialised (on the scoring thread, for the HTTP service). */
export type SerializedTextsReply = { serialized: SerializedResults } | OverBudget;

export function detectTextsSerialized(detector: Detector, texts: readonly string[], options: ScoreOptions): SerializedTextsReply {
  const reply = detectTexts(detector, texts, options);
  return 'overBudget' in reply ? reply : { serialized: serializeResults(texts, reply.results) };
}

/** The serialised results of a SerializedTextsReply, or SentenceBudgetExceeded. */
export function serializedResults(reply: SerializedTextsReply): SerializedResults {
  return withinBudget(reply).serialized;
}

/** What a library caller passed instead of a string, in words. */
function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'bytes (decode them to a string first)';
  return typeof value === 'object' ? 'an object' : typeof value;
}
