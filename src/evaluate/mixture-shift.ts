import type { LabeledDocument } from '../corpus/types.js';
import { groupBySourceComponents, seededUnit, splitByStory, storyKey } from '../corpus/split.js';
import { Detector } from '../model/detector.js';
import { trainDetector, type TrainOptions } from '../model/train.js';
import { analyzeSentences, SENTENCE_EXTENSION, type SentenceCalibration } from '../detect/sentences.js';
import { assessDocument, createApplicabilityExtension } from '../detect/applicability.js';
import { createSentenceExtension, DEFAULT_SENTENCE_OPTIONS, SENTENCE_CALIBRATIONS, TEST_OPTIONS, withTestOptions } from '../detect/sentence-training.js';
import { UserError } from '../util/errors.js';
import { buildMixture, pairsOf } from './mixtures.js';
import { capPerGroup } from './generalisation.js';
import { formatTable } from './breakdown.js';

/**
 * Is the mixture p-value honest on text unlike the training data? For each
 * held-out split — held-out stories of known sources (what `eval-mixtures`
 * always measured), a whole source left out (with every story it shares),
 * or a set of topics left out — one detector is trained on the rest with
 * every compared sentence calibration (they share the document model and
 * differ only in the held-out scores their nulls come from), and each
 * calibration is scored on the held-out side: the share of human articles
 * flagged at each level (FPR) and the share of 20%-machine mixtures flagged
 * (power).
 */
export type ShiftSetting = 'stories' | 'sources' | 'topics';
export const SHIFT_SETTINGS: readonly ShiftSetting[] = ['stories', 'sources', 'topics'];

export interface ShiftPlan {
  setting: ShiftSetting;
  held_out: string;
  train: LabeledDocument[];
  test: LabeledDocument[];
}

export interface ShiftOptions {
  /** Share of stories held out in the 'stories' setting. */
  holdout: number;
  /** Topics are dealt into this many folds (seeded) in the 'topics' setting. */
  topicFolds: number;
  /** The `extra` field that names a document's topic. */
  topicField: string;
  seed: number;
}

export const DEFAULT_SHIFT_OPTIONS: ShiftOptions = { holdout: 0.25, topicFolds: 3, topicField: 'topic', seed: 13 };

/** The topic of a document, or null when it has none. */
export function topicOf(document: LabeledDocument, field = DEFAULT_SHIFT_OPTIONS.topicField): string | null {
  const value = document.extra?.[field];
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

/**
 * The held-out splits of a setting. No story sits on both sides: a source is
 * held out with every source it shares stories with, and a topic split drops
 * from training any story that has a document in a held-out topic.
 */
export function shiftPlans(documents: LabeledDocument[], setting: ShiftSetting, options: Partial<ShiftOptions> = {}): ShiftPlan[] {
  const opts = { ...DEFAULT_SHIFT_OPTIONS, ...options };
  const usable = (plan: ShiftPlan) => plan.test.some((d) => d.label === 'human') && hasBothLabels(plan.train);
  if (setting === 'stories') {
    const { train, test } = splitByStory(documents, { testFraction: opts.holdout, seed: opts.seed });
    return [{ setting, held_out: `${opts.holdout} of the stories (seed ${opts.seed})`, train, test }].filter(usable);
  }
  if (setting === 'sources') {
    const groups = groupBySourceComponents(documents);
    return [...groups]
      .map(([name, members]) => ({ setting, held_out: name, train: documents.filter((d) => !members.includes(d)), test: members }))
      .filter(usable);
  }
  const topics = [...new Set(documents.map((d) => topicOf(d, opts.topicField)).filter((t): t is string => t !== null))];
  if (topics.length < 2) throw new UserError(`held-out topics need documents with at least two values of the field "${opts.topicField}"`);
  topics.sort((a, b) => seededUnit(opts.seed, a) - seededUnit(opts.seed, b) || (a < b ? -1 : 1));
  const k = Math.min(opts.topicFolds, topics.length);
  return Array.from({ length: k }, (_, fold) => {
    const held = new Set(topics.filter((_, i) => i % k === fold));
    const test = documents.filter((d) => held.has(topicOf(d, opts.topicField) ?? ''));
    const stories = new Set(test.map(storyKey));
    const train = documents.filter((d) => !stories.has(storyKey(d)));
    return { setting, held_out: [...held].sort().join(', '), train, test };
  }).filter(usable);
}

export const DEFAULT_SHIFT_LEVELS = [0.01, 0.05];
export const DEFAULT_SHIFT_FRACTION = 0.2;

export interface ShiftCounts {
  /** Human articles scored, and how many were flagged at each level. */
  humans: number;
  flagged: Record<string, number>;
  /** Mixtures with `fraction` machine sentences scored, and how many were flagged at each level. */
  mixtures: number;
  detected: Record<string, number>;
}

export interface ShiftRow extends ShiftCounts {
  setting: ShiftSetting;
  held_out: string;
  calibration: string;
}

export interface MixtureShiftReport {
  levels: number[];
  fraction: number;
  calibrations: string[];
  rows: ShiftRow[];
  /** Per setting and calibration, summed over its held-out splits. */
  totals: ShiftRow[];
  options: Record<string, unknown>;
}

export interface MixtureShiftOptions extends Partial<ShiftOptions> {
  settings: ShiftSetting[];
  /** Names from SENTENCE_CALIBRATIONS; the first is the reference. */
  calibrations: string[];
  levels?: number[];
  fraction?: number;
  /** At most this many training documents per (dataset, label), sampled by story. */
  maxPerGroup?: number;
  /** At most this many held-out human articles, and pairs, per held-out split (seeded). */
  maxTest?: number;
  train?: Partial<TrainOptions>;
  onProgress?: (message: string, done: number, total: number) => void;
  /** The rows of each held-out split as soon as it is scored (long runs keep partial results). */
  onSplit?: (rows: ShiftRow[]) => void;
}

/** The detector with another sentence calibration in place of its own (the document model is shared). */
export function withSentenceCalibration(detector: Detector, calibration: SentenceCalibration): Detector {
  return new Detector(detector.model, { ...detector.metadata, extensions: { ...detector.metadata.extensions, [SENTENCE_EXTENSION]: calibration } }, detector.version);
}

/**
 * Trains one detector carrying every named calibration; returns one detector
 * per calibration. Calibrations that differ only in TEST_OPTIONS share one
 * fit of the sentence extension.
 */
export function trainWithCalibrations(train: LabeledDocument[], calibrations: string[], options: Partial<TrainOptions> = {}): Detector[] {
  const variants = calibrations.map((name) => {
    const variant = SENTENCE_CALIBRATIONS[name];
    if (!variant) throw new UserError(`unknown sentence calibration "${name}" (known: ${Object.keys(SENTENCE_CALIBRATIONS).join(', ')})`);
    const opts = { ...DEFAULT_SENTENCE_OPTIONS, ...variant };
    const fitted = Object.fromEntries(Object.entries(opts).filter(([key]) => !(TEST_OPTIONS as readonly string[]).includes(key)));
    return { opts, key: `${SENTENCE_EXTENSION}:${JSON.stringify(fitted)}` };
  });
  const keys = [...new Set(variants.map((v) => v.key))];
  const extensions = keys.map((key) => ({ ...createSentenceExtension(variants.find((v) => v.key === key)!.opts), name: key }));
  // The applicability state too, so a held-out text the product would call uncertain is counted as it would be shown.
  const detector = trainDetector(train, { ...options, extensions: [...extensions, createApplicabilityExtension()] });
  return variants.map(({ opts, key }) => withSentenceCalibration(detector, withTestOptions(detector.metadata.extensions[key] as SentenceCalibration, opts)));
}

/** Flags at each level for human articles and for mixtures, one count per detector (all share a featurizer). */
export function countShift(detectors: Detector[], humans: LabeledDocument[], mixtures: string[], levels: number[]): ShiftCounts[] {
  const counts = detectors.map(() => ({ humans: humans.length, flagged: zeros(levels), mixtures: mixtures.length, detected: zeros(levels) }));
  const tally = (text: string, key: 'flagged' | 'detected') => {
    const prepared = detectors[0].featurizer.prepare(text, { sentences: true });
    detectors.forEach((detector, i) => {
      // What a user sees: no machine passage in a document copydesk declines to judge.
      const reasons = assessDocument(detector, prepared);
      const { p_value: p } = analyzeSentences(detector, prepared, undefined, reasons).mixture;
      const judged = reasons.length === 0;
      for (const level of levels) if (judged && p <= level) counts[i][key][String(level)]++;
    });
  };
  for (const h of humans) tally(h.text, 'flagged');
  for (const m of mixtures) tally(m, 'detected');
  return counts;
}

export function evaluateMixtureShift(documents: LabeledDocument[], options: MixtureShiftOptions): MixtureShiftReport {
  const levels = options.levels ?? DEFAULT_SHIFT_LEVELS;
  const fraction = options.fraction ?? DEFAULT_SHIFT_FRACTION;
  const seed = options.seed ?? DEFAULT_SHIFT_OPTIONS.seed;
  const plans = options.settings.flatMap((setting) => shiftPlans(documents, setting, options));
  const rows: ShiftRow[] = [];
  plans.forEach((plan, done) => {
    options.onProgress?.(`${plan.setting}: ${plan.held_out}`, done, plans.length);
    const train = capPerGroup(plan.train, options.maxPerGroup, seed);
    const detectors = trainWithCalibrations(train, options.calibrations, { seed, ...options.train });
    const humans = sample(plan.test.filter((d) => d.label === 'human'), options.maxTest, seed);
    const mixtures = sample(pairsOf(plan.test), options.maxTest, seed)
      .map((pair) => buildMixture(pair, fraction, seed)?.text)
      .filter((t): t is string => t !== undefined);
    const here = countShift(detectors, humans, mixtures, levels).map((c, i) => ({ setting: plan.setting, held_out: plan.held_out, calibration: options.calibrations[i], ...c }));
    rows.push(...here);
    options.onSplit?.(here);
  });
  options.onProgress?.('done', plans.length, plans.length);
  const totals: ShiftRow[] = [];
  for (const setting of options.settings) {
    for (const calibration of options.calibrations) {
      const here = rows.filter((r) => r.setting === setting && r.calibration === calibration);
      if (here.length === 0) continue;
      const sum = (f: (r: ShiftRow) => number) => here.reduce((a, r) => a + f(r), 0);
      totals.push({
        setting,
        calibration,
        held_out: `${here.length} split${here.length === 1 ? '' : 's'}`,
        humans: sum((r) => r.humans),
        mixtures: sum((r) => r.mixtures),
        flagged: Object.fromEntries(levels.map((l) => [String(l), sum((r) => r.flagged[String(l)])])),
        detected: Object.fromEntries(levels.map((l) => [String(l), sum((r) => r.detected[String(l)])])),
      });
    }
  }
  return {
    levels,
    fraction,
    calibrations: options.calibrations,
    rows,
    totals,
    options: { settings: options.settings, maxPerGroup: options.maxPerGroup ?? null, maxTest: options.maxTest ?? null, seed, holdout: options.holdout ?? DEFAULT_SHIFT_OPTIONS.holdout, topicFolds: options.topicFolds ?? DEFAULT_SHIFT_OPTIONS.topicFolds },
  };
}

const pct = (n: number, d: number) => (d === 0 ? '–' : `${((100 * n) / d).toFixed(1)}%`);

/**
 * Table: setting × held-out split × calibration, FPR at each level and power
 * at each level; the totals add the worst split's FPR at each level.
 */
export function formatMixtureShift(report: Pick<MixtureShiftReport, 'levels' | 'fraction' | 'rows' | 'totals'>, which: 'rows' | 'totals' = 'totals'): string {
  const k = `${Math.round(report.fraction * 100)}%`;
  const totals = which === 'totals';
  const header = [
    'setting',
    'held out',
    'calibration',
    'human',
    ...report.levels.map((l) => `FPR@${l}`),
    ...(totals ? report.levels.map((l) => `worst split FPR@${l}`) : []),
    `mixtures ${k}`,
    ...report.levels.map((l) => `power@${l}`),
  ];
  const worst = (r: ShiftRow, level: number) => {
    const splits = report.rows.filter((x) => x.setting === r.setting && x.calibration === r.calibration && x.humans > 0);
    return Math.max(...splits.map((x) => x.flagged[String(level)] / x.humans));
  };
  const cells = (totals ? report.totals : report.rows).map((r) => [
    r.setting,
    r.held_out,
    r.calibration,
    String(r.humans),
    ...report.levels.map((l) => pct(r.flagged[String(l)], r.humans)),
    ...(totals ? report.levels.map((l) => pct(worst(r, l), 1)) : []),
    String(r.mixtures),
    ...report.levels.map((l) => pct(r.detected[String(l)], r.mixtures)),
  ]);
  return `${formatTable([header, ...cells])}\n`;
}

function zeros(levels: number[]): Record<string, number> {
  return Object.fromEntries(levels.map((l) => [String(l), 0]));
}

/** At most `max` items, chosen by a seeded hash of their story (stable under reordering). */
function sample<T extends LabeledDocument | { human: LabeledDocument }>(items: T[], max: number | undefined, seed: number): T[] {
  if (max === undefined || items.length <= max) return items;
  const key = (x: T) => storyKey('human' in x ? x.human : x);
  return [...items].sort((a, b) => seededUnit(seed, key(a)) - seededUnit(seed, key(b))).slice(0, max);
}

function hasBothLabels(documents: LabeledDocument[]): boolean {
  return documents.some((d) => d.label === 'human') && documents.some((d) => d.label === 'machine');
}
