import type { LabeledDocument } from '../corpus/types.js';
import { kFoldByStory, storyKey } from '../corpus/split.js';
import type { TrainingExtension } from '../model/train.js';
import type { Detector } from '../model/detector.js';
import { fitLogistic1d } from '../model/calibration.js';
import { DEFAULT_LOGISTIC_OPTIONS, packRows, packRowSets, type LogisticModel } from '../model/logistic.js';
import { defaultFitThreads, fitPackedRowsMany, subsetJob } from '../model/fit-threads.js';
import { balancedGroupWeights } from '../model/weights.js';
import { createApplicabilityExtension } from '../model/applicability.js';
import { Featurizer, type SparseVector } from '../features/featurizer.js';
import { hashString } from '../features/hashing.js';
import type { PreparedDocument } from '../features/document.js';
import { lowerBound } from '../util/numeric.js';
import { empiricalPValue, mixtureStatistics, MIXTURE_TESTS, nullSample, sentenceCountGroup, SENTENCE_COUNT_GROUPS, thin, type MixtureTest, type NullSample } from './mixture.js';
import { DEFAULT_RADIUS, LENGTH_BUCKETS, lengthBucket, SENTENCE_EXTENSION, type SentenceCalibration } from './sentences.js';
import { sentencePass, weighPass, WindowModel, windowScores, windowVector, type DocumentPass, type WindowModelState } from './windows.js';

/**
 * Fitting the sentence calibration: the training extension that the CLI's
 * `train` and `eval-mixtures` (and the library's trainDetector) pass to the
 * core trainer. See sentences.ts for what is calibrated and why.
 */

/** The extensions every model copydesk trains for use carries: sentence calibration and the applicability check (`uncertain`). */
export function defaultTrainingExtensions(): TrainingExtension[] {
  return [createSentenceExtension(), createApplicabilityExtension()];
}

/** Stored values per window-length p-value table. */
const TABLE_SIZE = 4000;

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
   * three or more sources, whole sources held out). Measured on held-out
   * sources, 'training' was not more honest than 'story' and had less power
   * (reports/mixture-shift.md).
   */
  folds: 'story' | 'training';
  storyFolds: number;
  /**
   * Whether each human source with enough held-out documents gets its own
   * mixture null (the p-value is the largest over them and the pooled one)
   * or only the pooled null is kept.
   */
  sourceNulls: boolean;
  seed: number;
}

/** What a named sentence calibration chooses: where the held-out scores come from, the test, which nulls count. */
export type SentenceCalibrationChoice = Pick<SentenceExtensionOptions, 'folds' | 'primary' | 'sourceNulls'>;

/**
 * Named sentence calibrations that `eval-mixtures --held-out … --calibrations`
 * compares (one training per held-out split fits them all). Measured in
 * reports/mixture-shift.md.
 */
export const SENTENCE_CALIBRATIONS: Readonly<Record<string, SentenceCalibrationChoice>> = {
  story: { folds: 'story', primary: 'hc', sourceNulls: true },
  'story-simes': { folds: 'story', primary: 'simes', sourceNulls: true },
  training: { folds: 'training', primary: 'hc', sourceNulls: true },
  'training-pooled': { folds: 'training', primary: 'hc', sourceNulls: false },
  'training-simes': { folds: 'training', primary: 'simes', sourceNulls: true },
  'training-simes-pooled': { folds: 'training', primary: 'simes', sourceNulls: false },
};

/**
 * The named calibration every trained model carries. Measured with
 * `eval-mixtures --held-out topics stories sources` (reports/mixture-shift.md,
 * training capped at 200 documents per group): calibrations with per-source
 * nulls kept FPR ≤ α over all held-out human articles (sources 0.1–3.1% at
 * level 5%, topics 0–0.3%); `story` had the most power among them (8.0% at 20%
 * machine sentences on held-out sources, 7.2% on held-out topics). The pooled
 * null with source-held-out folds had 3× the power but flagged 8.0% of
 * held-out-source human articles at level 5% (42.5% of held-out abstracts,
 * 7.0–7.5% of sheepdog_news and raidar): not honest. No calibration keeps the
 * level on held-out abstracts (best: story-simes 8.5%, story 14%).
 */
export const DEFAULT_SENTENCE_CALIBRATION = 'story';

export const DEFAULT_SENTENCE_OPTIONS: SentenceExtensionOptions = {
  radius: DEFAULT_RADIUS,
  hashBits: 18,
  windowsPerDocument: 6,
  maxWindows: 50000,
  l2: 1e-4,
  maxIterations: 25,
  ...SENTENCE_CALIBRATIONS[DEFAULT_SENTENCE_CALIBRATION],
  storyFolds: 3,
  seed: 13,
};

/** Options that only choose among what one fit computed (the test and which nulls count), not what is fitted. */
export const TEST_OPTIONS = ['primary', 'sourceNulls'] as const;

/** A fitted calibration with another primary test and/or without its per-source nulls: no refit needed. */
export function withTestOptions(calibration: SentenceCalibration, options: Pick<SentenceExtensionOptions, 'primary' | 'sourceNulls'>): SentenceCalibration {
  return { ...calibration, primary: options.primary, doc_null_by_dataset: options.sourceNulls ? calibration.doc_null_by_dataset : {} };
}

/**
 * A training window. Its vector is built when first read: the cap keeps
 * 75,704 of the 138,059 windows of ../shared/data, and building all of
 * them took 2.6 s of training.
 */
class TrainingWindow {
  private built?: SparseVector;
  constructor(
    private readonly pass: DocumentPass,
    private readonly centre: number,
    private readonly radius: number,
    readonly label: 0 | 1,
    readonly group: string,
    /** Seeded order for the cap. */
    readonly order: number,
  ) {}

  get vector(): SparseVector {
    return (this.built ??= windowVector(this.pass, this.centre, this.radius));
  }
}

/**
 * Fits window models on the training side of held-out folds, scores the
 * held-out documents' windows with them for calibration, and fits the stored
 * window model on all documents.
 */
export function createSentenceExtension(options: Partial<SentenceExtensionOptions> = {}): TrainingExtension {
  const opts = { ...DEFAULT_SENTENCE_OPTIONS, ...options };
  const folds: Array<{ heldOut: LabeledDocument[]; training: LabeledDocument[] }> = [];
  const collector = { mask: 2 ** opts.hashBits - 1, weights: new Int16Array(0) };
  // Each training text's collected pass, from the trainer's one preparation of it (observe); it gives
  // both the text's training windows and, re-weighed with its fold's window model, its held-out scores.
  const passOf = new Map<LabeledDocument, DocumentPass>();
  return {
    name: SENTENCE_EXTENSION,
    prepare: { sentences: true },
    observe(document: LabeledDocument, prepared: PreparedDocument) {
      passOf.set(document, sentencePass(prepared, collector, true));
    },
    onFold(_scoreText: (text: string) => number, heldOut: LabeledDocument[], _model: LogisticModel, training: LabeledDocument[]) {
      folds.push({ heldOut, training });
    },
    finish(detector: Detector): SentenceCalibration {
      const started = Date.now();
      const documents = [...new Set(folds.flatMap((f) => f.heldOut))];
      // A document the trainer did not show (a caller training without observe) is prepared here.
      const featurizer = new Featurizer(detector.metadata.featurizer);
      const windowsOf = new Map<LabeledDocument, TrainingWindow[]>();
      for (const d of documents) {
        let pass = passOf.get(d);
        if (!pass) passOf.set(d, (pass = sentencePass(featurizer.prepare(d.text, { sentences: true }), collector, true)));
        windowsOf.set(d, trainingWindows(pass, d, opts));
      }

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
      // Every window model at once (each fold's and the final one: independent fits, on threads when large).
      const models = fitWindowModels([...plan.map((fold) => fold.training), documents], windowsOf, opts);
      const final = models.pop()!;
      plan.forEach((fold, k) => {
        const model = models[k];
        for (const document of fold.heldOut) {
          const w = windowScores(weighPass(passOf.get(document)!, model), model, opts.radius);
          if (w.scores.length === 0) continue;
          if (document.label === 'human') humans.push({ ...w, dataset: document.dataset });
          else for (const s of w.scores) machineScores.push(s);
        }
      });
      const calibration = withTestOptions(calibrateFromHeldOut(humans, machineScores, opts.radius, opts.primary, final.stored), opts);
      calibration.held_out.method = `${method}: every window score comes from a window model that did not see the document or its story`;
      calibration.held_out.seconds = Math.round((Date.now() - started) / 100) / 10;
      passOf.clear();
      return calibration;
    },
  };
}

/** Up to `windowsPerDocument` windows of a document (from its collected pass), centres drawn without replacement (seeded by its id). */
export function trainingWindows(pass: DocumentPass, document: LabeledDocument, opts: SentenceExtensionOptions): TrainingWindow[] {
  if (document.label === null) return [];
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
  return centres.slice(0, take).map((s) => new TrainingWindow(pass, s, opts.radius, label, group, random()));
}

/**
 * A window model on the windows of each document set: each (dataset, label)
 * group the same total weight, at most maxWindows windows (the first by
 * their seeded order). The fits are independent and run on threads when
 * their windows are many (model/fit-threads.ts: the same models either way).
 */
export function fitWindowModels(sets: LabeledDocument[][], windowsOf: Map<LabeledDocument, TrainingWindow[]>, opts: SentenceExtensionOptions): WindowModel[] {
  const chosen = sets.map((documents) => {
    const rows = documents.flatMap((d) => windowsOf.get(d) ?? []);
    return rows.length > opts.maxWindows ? [...rows].sort((a, b) => a.order - b.order).slice(0, opts.maxWindows) : rows;
  });
  let nonZeros = 0;
  for (const rows of chosen) for (const r of rows) nonZeros += r.vector.indices.length;
  const threads = defaultFitThreads(nonZeros);
  const dimension = 2 ** opts.hashBits;
  // Capped sets hold their windows in seeded order, so they share one pack (measured on all of
  // ../shared/data: four packs of 50,000 windows took 5.0 s of the calling thread's time); sets in
  // document order (small corpora) are packed one by one. The fits are the same either way.
  const shared = packRowSets(chosen, (r) => r.vector, (r) => r.order, dimension, threads > 1);
  const jobs = chosen.map((rows, k) => {
    const labels = rows.map((r) => r.label);
    return subsetJob(
      shared?.packed ?? packRows(rows.map((r) => r.vector), dimension, threads > 1),
      shared?.subsets[k] ?? null,
      labels,
      balancedGroupWeights(rows.map((r) => r.group), labels),
      { ...DEFAULT_LOGISTIC_OPTIONS, l2: opts.l2, maxIterations: opts.maxIterations },
    );
  });
  return fitPackedRowsMany(jobs, threads).map((fitted, k) =>
    WindowModel.fromFloat(fitted.weights, fitted.bias, opts.hashBits, { windows: chosen[k].length, documents: sets[k].length, l2: opts.l2 }),
  );
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
