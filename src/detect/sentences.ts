import type { LabeledDocument } from '../corpus/types.js';
import { kFoldByStory, storyKey } from '../corpus/split.js';
import type { TrainingExtension } from '../model/train.js';
import type { Detector } from '../model/detector.js';
import { calibrate, type PlattCalibration } from '../model/calibration.js';
import { fitLogistic, type LogisticModel } from '../model/logistic.js';
import type { SparseVector } from '../features/featurizer.js';
import { hashString } from '../features/hashing.js';
import { UserError } from '../util/errors.js';
import {
  empiricalPValue,
  mixtureStatistics,
  MIXTURE_TESTS,
  nullSample,
  sentenceCountGroup,
  SENTENCE_COUNT_GROUPS,
  thin,
  type MixtureTest,
  type NullSample,
} from './mixture.js';
import { DocumentScanner, WindowModel, windowScores, windowVector, type WindowModelState } from './windows.js';

/**
 * Sentence-level attribution.
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
const TABLE_SIZE = 4000;

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
  document_score: number;
  sentences: SentenceResult[];
  mixture: MixtureResult;
}

interface Runtime {
  calibration: SentenceCalibration;
  model: WindowModel;
  scanner: DocumentScanner;
}

const runtimes = new WeakMap<Detector, Runtime>();

export function sentenceCalibration(detector: Detector): SentenceCalibration {
  const calibration = detector.metadata.extensions?.[SENTENCE_EXTENSION] as SentenceCalibration | undefined;
  if (!calibration || calibration.version !== 2) {
    throw new UserError(
      calibration
        ? 'this model file has an older sentence calibration (before the window model); retrain it with copydesk train'
        : 'this model file has no sentence calibration (trained before sentence-level detection existed); retrain it with copydesk train',
    );
  }
  return calibration;
}

function runtimeFor(detector: Detector): Runtime {
  let runtime = runtimes.get(detector);
  if (!runtime) {
    const calibration = sentenceCalibration(detector);
    const model = new WindowModel(calibration.window_model);
    const scanner = new DocumentScanner(detector.metadata.featurizer, model, {
      state: detector.metadata.featurizer,
      weights: detector.model.weights,
      bias: detector.model.bias,
      scoreTokens: (tokens) => detector.scoreVector(detector.featurizer.transformTokens(tokens)),
    });
    runtime = { calibration, model, scanner };
    runtimes.set(detector, runtime);
  }
  return runtime;
}

export function lengthBucket(words: number): number {
  let b = 0;
  while (words > LENGTH_BUCKETS[b]) b++;
  return b;
}

/** Scores every sentence, tests for machine passages; also returns the document score (one normalisation for both). */
export function analyzeSentences(detector: Detector, text: string, level = DEFAULT_LEVEL): SentenceAnalysis {
  const { calibration, model, scanner } = runtimeFor(detector);
  const pass = scanner.scan(text);
  const windows = windowScores(pass, model, calibration.radius);
  const pValues = Array.from(windows.scores, (s, i) => empiricalPValue(calibration.tables[lengthBucket(windows.words[i])], s));
  const mixture = mixtureTest(calibration, pValues, level);
  const selected = new Set(mixture.result.machine_passage ? mixture.selected : []);
  const sentences = pass.spans.map((span, i) => ({
    start: span.start,
    end: span.end,
    text: span.text,
    machine_probability: round(calibrate(calibration.platt, windows.scores[i])),
    p_value: round(pValues[i]),
    machine_passage: selected.has(i),
  }));
  return { document_score: pass.documentScore, sentences, mixture: mixture.result };
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
    statistics[test] = round(stats[test]);
    let p = empiricalPValue(calibration.doc_null[test][group], stats[test]);
    for (const nulls of Object.values(calibration.doc_null_by_dataset ?? {})) p = Math.max(p, empiricalPValue(nulls[test][group], stats[test]));
    p_values[test] = pValues.length === 0 ? 1 : round(p);
  }
  const p = p_values[calibration.primary];
  return {
    result: { test: calibration.primary, level, p_value: p, machine_passage: p <= level, p_values, statistics },
    selected: stats.selected,
  };
}

function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

// ------------------------------------------------------------------ training extension

export interface SentenceExtensionOptions {
  radius: number;
  primary: MixtureTest;
  /** Hash bits of the window model (2^bits int16 weights in the model file). */
  hashBits: number;
  /** Training windows drawn per document (seeded), before the cap. */
  windowsPerDocument: number;
  /** Most windows one window-model fit sees. */
  maxWindows: number;
  l2: number;
  maxIterations: number;
  /**
   * Which held-out scores calibrate: 'story' — k folds by story over all
   * training documents (held-out stories of the sources the model knows,
   * as eval-mixtures tests); 'training' — the core trainer's folds (with
   * three or more sources, whole sources held out: a more conservative null).
   */
  folds: 'story' | 'training';
  storyFolds: number;
  seed: number;
}

export const DEFAULT_SENTENCE_OPTIONS: SentenceExtensionOptions = {
  radius: DEFAULT_RADIUS,
  primary: 'hc',
  hashBits: 18,
  windowsPerDocument: 6,
  maxWindows: 50000,
  l2: 1e-4,
  maxIterations: 25,
  folds: 'story',
  storyFolds: 3,
  seed: 13,
};

interface TrainingWindow {
  vector: SparseVector;
  label: 0 | 1;
  group: string;
  /** Seeded order for the cap. */
  order: number;
}

/**
 * Fits window models on the training side of held-out folds, scores the
 * held-out documents' windows with them for calibration, and fits the stored
 * window model on all documents.
 */
export function createSentenceExtension(options: Partial<SentenceExtensionOptions> = {}): TrainingExtension {
  const opts = { ...DEFAULT_SENTENCE_OPTIONS, ...options };
  const folds: Array<{ heldOut: LabeledDocument[]; training: LabeledDocument[] }> = [];
  return {
    name: SENTENCE_EXTENSION,
    onFold(_scoreText: (text: string) => number, heldOut: LabeledDocument[], _model: LogisticModel, training: LabeledDocument[]) {
      folds.push({ heldOut, training });
    },
    finish(detector: Detector): SentenceCalibration {
      const started = Date.now();
      const documents = [...new Set(folds.flatMap((f) => f.heldOut))];
      const state = detector.metadata.featurizer;
      const collector = new DocumentScanner(state, { mask: 2 ** opts.hashBits - 1, weights: new Int16Array(0) });
      const windowsOf = new Map<LabeledDocument, TrainingWindow[]>();
      for (const d of documents) windowsOf.set(d, trainingWindows(collector, d, opts));

      let plan = folds;
      let method = `core training folds (${folds.length})`;
      const k = Math.min(opts.storyFolds, new Set(documents.map(storyKey)).size);
      if ((opts.folds === 'story' || folds.length === 0) && k >= 2) {
        const foldOf = kFoldByStory(documents, k, opts.seed);
        plan = Array.from({ length: k }, (_, fold) => ({
          heldOut: documents.filter((_, i) => foldOf[i] === fold),
          training: documents.filter((_, i) => foldOf[i] !== fold),
        }));
        method = `${k}-fold by story`;
      }
      const humans: HeldOutHuman[] = [];
      const machineScores: number[] = [];
      for (const fold of plan) {
        const model = fitWindowModel(fold.training, windowsOf, opts);
        const scanner = new DocumentScanner(state, model);
        for (const document of fold.heldOut) {
          const w = windowScores(scanner.scan(document.text), model, opts.radius);
          if (w.scores.length === 0) continue;
          if (document.label === 'human') humans.push({ ...w, dataset: document.dataset });
          else for (const s of w.scores) machineScores.push(s);
        }
      }
      const final = fitWindowModel(documents, windowsOf, opts);
      const calibration = calibrateFromHeldOut(humans, machineScores, opts.radius, opts.primary, final.stored);
      calibration.held_out.method = `${method}: every window score comes from a window model that did not see the document or its story`;
      calibration.held_out.seconds = Math.round((Date.now() - started) / 100) / 10;
      return calibration;
    },
  };
}

/** Up to `windowsPerDocument` windows of a document, centres drawn without replacement (seeded by its id). */
export function trainingWindows(scanner: DocumentScanner, document: LabeledDocument, opts: SentenceExtensionOptions): TrainingWindow[] {
  if (document.label === null) return [];
  const pass = scanner.scan(document.text, undefined, true);
  const S = pass.spans.length;
  if (S === 0) return [];
  let state = hashString(`${opts.seed}:${document.id}`) || 1;
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const centres = Array.from({ length: S }, (_, i) => i);
  const take = Math.min(S, opts.windowsPerDocument);
  for (let i = 0; i < take; i++) {
    const j = i + Math.floor(random() * (S - i));
    [centres[i], centres[j]] = [centres[j], centres[i]];
  }
  const label = document.label === 'machine' ? 1 : 0;
  const group = `${document.dataset}\u0000${document.label}`;
  return centres.slice(0, take).map((s) => ({ vector: windowVector(pass, s, opts.radius), label, group, order: random() }));
}

/** A window model on the windows of `documents`: each (dataset, label) group the same total weight, at most maxWindows windows. */
export function fitWindowModel(documents: LabeledDocument[], windowsOf: Map<LabeledDocument, TrainingWindow[]>, opts: SentenceExtensionOptions): WindowModel {
  let rows = documents.flatMap((d) => windowsOf.get(d) ?? []);
  if (rows.length > opts.maxWindows) rows = [...rows].sort((a, b) => a.order - b.order).slice(0, opts.maxWindows);
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.group, (counts.get(r.group) ?? 0) + 1);
  const groupsPerLabel = [0, 0];
  for (const g of counts.keys()) groupsPerLabel[g.endsWith('\u0000machine') ? 1 : 0]++;
  const weights = rows.map((r) => rows.length / (2 * groupsPerLabel[r.label] * counts.get(r.group)!));
  const fitted = fitLogistic(
    rows.map((r) => r.vector),
    rows.map((r) => r.label),
    weights,
    2 ** opts.hashBits,
    { l2: opts.l2, maxIterations: opts.maxIterations },
  );
  return WindowModel.fromFloat(fitted.weights, fitted.bias, opts.hashBits, { windows: rows.length, documents: documents.length, l2: opts.l2 });
}

export interface HeldOutHuman {
  scores: Float64Array;
  words: Int32Array;
  dataset?: string;
}

/** Held-out human documents a source needs before it gets its own mixture null. */
const MIN_DATASET_NULL = 150;

export function docNull(statsByGroup: number[][][]): Record<MixtureTest, NullSample[]> {
  const doc_null = {} as Record<MixtureTest, NullSample[]>;
  MIXTURE_TESTS.forEach((test, t) => {
    doc_null[test] = SENTENCE_COUNT_GROUPS.map((_, g) => {
      // A group with few documents pools its neighbours (statistics grow slowly with n).
      let values = statsByGroup[g][t];
      for (let d = 1; values.length < 100 && d < SENTENCE_COUNT_GROUPS.length; d++) {
        values = [...values, ...(statsByGroup[g - d]?.[t] ?? []), ...(statsByGroup[g + d]?.[t] ?? [])];
      }
      return nullSample(values);
    });
  });
  return doc_null;
}

export function calibrateFromHeldOut(
  humans: HeldOutHuman[],
  machineScores: number[],
  radius: number,
  primary: MixtureTest,
  window_model: WindowModelState,
): SentenceCalibration {
  const byBucket: number[][] = LENGTH_BUCKETS.map(() => []);
  for (const h of humans) h.scores.forEach((s, i) => byBucket[lengthBucket(h.words[i])].push(s));
  for (const list of byBucket) list.sort((a, b) => a - b);
  // Sparse buckets borrow their neighbours' scores so every table has enough to give p-values.
  const tables = byBucket.map((list, b) => {
    let merged = list;
    for (let d = 1; merged.length < 200 && d < LENGTH_BUCKETS.length; d++) {
      merged = [...merged, ...(byBucket[b - d] ?? []), ...(byBucket[b + d] ?? [])];
    }
    const sorted = [...merged].sort((a, b2) => a - b2);
    return { n: sorted.length, values: thin(sorted, TABLE_SIZE) };
  });

  // Leave-one-document-out sentence p-values for each held-out human document, then its mixture statistics.
  const fullTables = tables.map((t, b) => ({ full: byBucket[b].length >= 200 ? byBucket[b] : null, table: t }));
  const statsByGroup = SENTENCE_COUNT_GROUPS.map(() => MIXTURE_TESTS.map(() => [] as number[]));
  const byDataset = new Map<string, number[][][]>();
  for (const h of humans) {
    const pValues = Array.from(h.scores, (s, i) => {
      const b = lengthBucket(h.words[i]);
      const { full, table } = fullTables[b];
      if (!full) return empiricalPValue(table, s);
      let own = 0;
      let ownAbove = 0;
      h.scores.forEach((t, j) => {
        if (lengthBucket(h.words[j]) !== b) return;
        own++;
        if (t >= s) ownAbove++;
      });
      const above = full.length - lowerBound(full, s) - ownAbove;
      return (1 + above) / (full.length - own + 1);
    });
    const stats = mixtureStatistics(pValues);
    const g = sentenceCountGroup(pValues.length);
    MIXTURE_TESTS.forEach((test, t) => statsByGroup[g][t].push(stats[test]));
    if (h.dataset !== undefined) {
      if (!byDataset.has(h.dataset)) byDataset.set(h.dataset, SENTENCE_COUNT_GROUPS.map(() => MIXTURE_TESTS.map(() => [] as number[])));
      MIXTURE_TESTS.forEach((test, t) => byDataset.get(h.dataset!)![g][t].push(stats[test]));
    }
  }
  const doc_null = docNull(statsByGroup);
  // Each human source large enough to measure gets its own null; a document's
  // p-value is the largest over them, so the level holds on each such source.
  const doc_null_by_dataset: Record<string, Record<MixtureTest, NullSample[]>> = {};
  for (const [dataset, groups] of [...byDataset.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (groups.reduce((n, g) => n + g[0].length, 0) >= MIN_DATASET_NULL) doc_null_by_dataset[dataset] = docNull(groups);
  }
  const humanScores = humans.flatMap((h) => Array.from(h.scores));
  const scores = [...humanScores, ...machineScores];
  const labels = scores.map((_, i) => (i < humanScores.length ? 0 : 1));
  const wH = scores.length / (2 * Math.max(1, humanScores.length));
  const wM = scores.length / (2 * Math.max(1, machineScores.length));
  const platt = fitLogistic1d(scores, labels, labels.map((y) => (y ? wM : wH)));
  return {
    version: 2,
    radius,
    window_model,
    platt,
    length_buckets: LENGTH_BUCKETS.map((b) => (Number.isFinite(b) ? b : null)),
    tables,
    primary,
    doc_null,
    doc_null_by_dataset,
    sentence_count_groups: SENTENCE_COUNT_GROUPS.map((b) => (Number.isFinite(b) ? b : null)),
    held_out: {
      method: 'held-out folds',
      human_documents: humans.length,
      human_sentences: humanScores.length,
      machine_sentences: machineScores.length,
    },
  };
}

function lowerBound(sorted: number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * P(machine | window score) = sigmoid(a·s + b) by damped Newton steps on the
 * weighted log loss (scores standardised first): the plain Platt fit can
 * overshoot on a hundred thousand sentence scores.
 */
export function fitLogistic1d(scores: readonly number[], labels: readonly number[], weights: readonly number[]): PlattCalibration {
  const n = scores.length;
  if (n === 0) return { kind: 'platt', a: 1, b: 0 };
  let mean = 0;
  for (const s of scores) mean += s / n;
  let variance = 0;
  for (const s of scores) variance += (s - mean) ** 2 / n;
  const sd = Math.sqrt(variance) || 1;
  const loss = (a: number, b: number) => {
    let l = 0;
    for (let i = 0; i < n; i++) {
      const z = (a * (scores[i] - mean)) / sd + b;
      l += weights[i] * (Math.max(z, 0) - labels[i] * z + Math.log1p(Math.exp(-Math.abs(z))));
    }
    return l;
  };
  let a = 1;
  let b = 0;
  let current = loss(a, b);
  for (let iteration = 0; iteration < 50; iteration++) {
    let ga = 0, gb = 0, haa = 1e-9, hab = 0, hbb = 1e-9;
    for (let i = 0; i < n; i++) {
      const x = (scores[i] - mean) / sd;
      const p = 1 / (1 + Math.exp(-(a * x + b)));
      const d = weights[i] * (p - labels[i]);
      const h = weights[i] * p * (1 - p);
      ga += d * x;
      gb += d;
      haa += h * x * x;
      hab += h * x;
      hbb += h;
    }
    const det = haa * hbb - hab * hab;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    let step = 1;
    while (step > 1e-6 && !(loss(a - step * da, b - step * db) <= current)) step /= 2;
    if (step <= 1e-6) break;
    a -= step * da;
    b -= step * db;
    const next = loss(a, b);
    if (current - next < 1e-10 * Math.abs(current)) break;
    current = next;
  }
  // back to raw scores: a·(s − mean)/sd + b
  return { kind: 'platt', a: a / sd, b: b - (a * mean) / sd };
}
