import type { Evidence, Detector } from '../model/detector.js';
import { isEmptyText } from '../text/empty.js';
import { UserError } from '../util/errors.js';
import { analyzeSentences, type MixtureResult, type SentenceResult } from './sentences.js';
import { assessText, judge, judgeProbability, reasonsPart, type Reason, type Verdict } from './applicability.js';

/** What copydesk says about one document, in every interface (CLI JSON, JSONL, HTTP). */
export interface DetectionResult {
  id?: string;
  machine_probability: number;
  verdict: Verdict;
  /** Why the verdict is `uncertain` (present only then); see detect/applicability.ts. */
  reasons?: Reason[];
  threshold: number;
  model_version: string;
  evidence?: Evidence[];
  /** With `sentences`: p-value that the document contains machine-written sentences (see detect/sentences.ts). */
  mixture_p_value?: number;
  /** With `sentences`: mixture_p_value ≤ the level. */
  machine_passage?: boolean;
  mixture?: MixtureResult;
  sentences?: SentenceResult[];
}

export interface DetectOptions {
  /** Include the strongest reasons (slower: names every feature). */
  evidence?: boolean;
  /** Score every sentence and test for machine passages. */
  sentences?: boolean;
  /** Level of the mixture test's decision (default 0.05). */
  level?: number;
}

/**
 * Refuses text that is empty after normalisation (whitespace, zero-width
 * characters, a lone title line): there is nothing to score. `where` names
 * the text in the message (a file, a field).
 */
export function assertScorable(text: string, where: string): void {
  if (isEmptyText(text)) throw new UserError(`${where}: the text is empty (after normalisation); nothing to score`);
}

export function detectText(detector: Detector, text: string, options: DetectOptions = {}, id?: string): DetectionResult {
  assertScorable(text, id ?? 'text');
  const analysis = options.sentences ? analyzeSentences(detector, text, options.level) : null;
  const prediction = analysis ? judgeProbability(detector, detector.probabilityFromScore(analysis.document_score), assessText(detector, text)) : judge(detector, text);
  const result: DetectionResult = {
    ...(id === undefined ? {} : { id }),
    machine_probability: round(prediction.machine_probability),
    verdict: prediction.verdict,
    ...reasonsPart(prediction),
    threshold: round(detector.threshold),
    model_version: detector.version,
  };
  if (analysis) {
    result.mixture_p_value = analysis.mixture.p_value;
    result.machine_passage = analysis.mixture.machine_passage;
    result.mixture = analysis.mixture;
    result.sentences = analysis.sentences;
  }
  if (options.evidence) result.evidence = detector.explain(text).map((e) => ({ ...e, weight: round(e.weight) }));
  return result;
}

/** Six decimals: more than any calibration supports, fewer bytes per line. */
export function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
