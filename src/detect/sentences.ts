import type { PreparedDocument } from '../features/document.js';
import type { Detector } from '../model/detector.js';
import { calibrate, type PlattCalibration } from '../model/calibration.js';
import { UserError } from '../util/errors.js';
import { round6 } from '../util/numeric.js';
import { empiricalPValue, mixtureStatistics, MIXTURE_TESTS, sentenceCountGroup, type MixtureTest, type NullSample } from './mixture.js';
import { sentencePass, WindowModel, windowScores, type WindowModelState } from './windows.js';
import { assessDocument, type Reason } from './applicability.js';

/**
 * Sentence-level attribution at detection time (fitting the calibration
 * lives in sentence-training.ts).
 *
 * Score. Each sentence is scored on a window (the sentence with `radius`
 * neighbours on each side) by a dedicated window model: a logistic
 * regression over the document model's hashed n-gram families, trained on
 * sentence windows of the training documents (see windows.ts). All windows
 * of a document, and the document score, come from one pass over its tokens.
 *
 * Calibration (fitted while training, on held-out folds only): window models
 * fitted on the fold's training documents score the held-out documents'
 * windows; from those come a Platt mapping of window scores to P(machine)
 * (held-out human and machine windows); for each window length (in words)
 * the sorted scores of held-out human windows, giving
 * p = (1 + #{human ≥ s}) / (n + 1); and the empirical null of the mixture
 * statistics over held-out human documents (p-values computed leaving the
 * document's own sentences out), by sentence count, which corrects for the
 * correlation neighbouring windows introduce. The stored window model is
 * then fitted on all training documents.
 */
export const SENTENCE_EXTENSION = 'sentences';
export const DEFAULT_RADIUS = 1;
export const DEFAULT_LEVEL = 0.05;
/** Upper bounds (inclusive) of window lengths in words, one p-value table each. */
export const LENGTH_BUCKETS = [15, 30, 45, 60, 80, 110, 150, Infinity];

export interface SentenceCalibration {
  version: 2;
  radius: number;
  window_model: WindowModelState;
  platt: PlattCalibration;
  length_buckets: Array<number | null>;
  /** Held-out human window scores per length bucket. */
  tables: NullSample[];
  /** Primary mixture test, used for mixture_p_value. */
  primary: MixtureTest;
  /** Null distributions of each mixture statistic, per sentence-count group (all held-out human documents). */
  doc_null: Record<MixtureTest, NullSample[]>;
  /** The same per human source with enough held-out documents; mixture p-values are the largest over these and doc_null. */
  doc_null_by_dataset: Record<string, Record<MixtureTest, NullSample[]>>;
  sentence_count_groups: Array<number | null>;
  held_out: { method: string; human_documents: number; human_sentences: number; machine_sentences: number; seconds?: number };
}

// ------------------------------------------------------------------ analysis

export interface SentenceResult {
  start: number;
  end: number;
  text: string;
  machine_probability: number;
  p_value: number;
  /** In the set the mixture test selected, in a document it decided contains machine text. */
  machine_passage: boolean;
}

export interface MixtureResult {
  test: MixtureTest;
  level: number;
  /** p-value that the document contains machine-written sentences (primary test). */
  p_value: number;
  /** Decision: p_value ≤ level. */
  machine_passage: boolean;
  p_values: Record<MixtureTest, number>;
  statistics: Record<MixtureTest, number>;
}

export interface SentenceAnalysis {
  sentences: SentenceResult[];
  mixture: MixtureResult;
}

interface Runtime {
  calibration: SentenceCalibration;
  model: WindowModel;
}

const runtimes = new WeakMap<Detector, Runtime>();

export function sentenceCalibration(detector: Detector): SentenceCalibration {
  const problem = sentenceCalibrationProblem(detector);
  if (problem !== undefined) throw new UserError(problem);
  return detector.metadata.extensions![SENTENCE_EXTENSION] as SentenceCalibration;
}

/** Why a model cannot score sentences (no sentence calibration, or an older one), or undefined when it can. */
export function sentenceCalibrationProblem(detector: Detector): string | undefined {
  const calibration = detector.metadata.extensions?.[SENTENCE_EXTENSION] as SentenceCalibration | undefined;
  if (calibration?.version === 2) return undefined;
  return calibration
    ? 'this model file has an older sentence calibration (before the window model); retrain it with copydesk train'
    : 'this model file has no sentence calibration (trained before sentence-level detection existed); retrain it with copydesk train';
}

function runtimeFor(detector: Detector): Runtime {
  let runtime = runtimes.get(detector);
  if (!runtime) {
    const calibration = sentenceCalibration(detector);
    runtime = { calibration, model: new WindowModel(calibration.window_model) };
    runtimes.set(detector, runtime);
  }
  return runtime;
}

export function lengthBucket(words: number): number {
  let b = 0;
  while (words > LENGTH_BUCKETS[b]) b++;
  return b;
}

/**
 * Scores every sentence of a document prepared with sentences (the same
 * PreparedDocument the document score and the evidence read) and tests for
 * machine passages.
 *
 * A document copydesk declines to judge (any applicability reason: too
 * short, not English, not news, unlike the training data) gets its
 * sentence p-values and mixture p-value but no machine passage: the
 * p-values are calibrated on news, and off it they are not honest
 * (reports/mixture-shift.md: held-out ACL abstracts were flagged 8.5–42.5%
 * at level 0.05 by every calibration). `reasons`: the document's, when the
 * caller has already assessed it.
 */
export function analyzeSentences(detector: Detector, document: PreparedDocument, level = DEFAULT_LEVEL, reasons?: readonly Reason[]): SentenceAnalysis {
  const { calibration, model } = runtimeFor(detector);
  const pass = sentencePass(document, model);
  const windows = windowScores(pass, model, calibration.radius);
  const pValues = Array.from(windows.scores, (s, i) => empiricalPValue(calibration.tables[lengthBucket(windows.words[i])], s));
  const mixture = mixtureTest(calibration, pValues, level);
  if ((reasons ?? assessDocument(detector, document)).length > 0) mixture.result.machine_passage = false;
  const selected = new Set(mixture.result.machine_passage ? mixture.selected : []);
  const sentences = pass.spans.map((span, i) => ({
    start: span.start,
    end: span.end,
    text: span.text,
    machine_probability: round6(calibrate(calibration.platt, windows.scores[i])),
    p_value: round6(pValues[i]),
    machine_passage: selected.has(i),
  }));
  return { sentences, mixture: mixture.result };
}

export function mixtureTest(
  calibration: SentenceCalibration,
  pValues: readonly number[],
  level = DEFAULT_LEVEL,
): { result: MixtureResult; selected: number[] } {
  const stats = mixtureStatistics(pValues);
  const group = sentenceCountGroup(pValues.length);
  const p_values = {} as Record<MixtureTest, number>;
  const statistics = {} as Record<MixtureTest, number>;
  for (const test of MIXTURE_TESTS) {
    statistics[test] = round6(stats[test]);
    let p = empiricalPValue(calibration.doc_null[test][group], stats[test]);
    for (const nulls of Object.values(calibration.doc_null_by_dataset ?? {})) p = Math.max(p, empiricalPValue(nulls[test][group], stats[test]));
    p_values[test] = pValues.length === 0 ? 1 : round6(p);
  }
  const p = p_values[calibration.primary];
  return {
    result: { test: calibration.primary, level, p_value: p, machine_passage: p <= level, p_values, statistics },
    selected: stats.selected,
  };
}

/**
 * Whether this model file can score sentences: models trained before
 * sentence-level detection have no sentence calibration (interfaces then
 * answer with document-level results only and say so).
 */
export function supportsSentences(detector: Detector): boolean {
  return sentenceCalibrationProblem(detector) === undefined;
}
