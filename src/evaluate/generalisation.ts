import type { LabeledDocument } from '../corpus/types.js';
import { groupBySourceComponents, seededUnit, splitByStory, storyKey } from '../corpus/split.js';
import { decideVerdict, fitUncertainty, tokensOf, type Reason } from '../model/applicability.js';
import { fitBaseline, type BaselineOptions } from '../model/baseline.js';
import { calibrate, type PlattCalibration } from '../model/calibration.js';
import { fitDocumentCalibration } from '../model/length-calibration.js';
import { countWords } from '../text/tokenize.js';
import { balancedWeights, chooseThreshold, DEFAULT_TRAIN_OPTIONS, fitScorer, type TrainOptions, type UncertaintyFit } from '../model/train.js';
import { auroc, tprAtFpr, type BinaryLabel } from '../model/metrics.js';
import { formatTable } from './breakdown.js';
import { UserError } from '../util/errors.js';

/**
 * How a detector does on text unlike anything it was trained on:
 * leave-one-source-out (a whole source, with every story it shares, held
 * out) and leave-one-generator-out (a generator never seen in training,
 * against human text of held-out stories). The copydesk detector and the
 * plain TF-IDF baseline are trained and tested on exactly the same splits.
 */
export interface Scores {
  auroc: number | null;
  tpr_at_1pct_fpr: number | null;
  tpr_at_0_1pct_fpr: number | null;
  /** Share of held-out human texts called "machine" at the detector's own default threshold (uncertain ones are not). */
  fpr_at_threshold?: number | null;
  /** Share of held-out machine texts called "machine" at that threshold. */
  recall_at_threshold?: number | null;
  /** Share of held-out texts judged `uncertain` (human, machine). */
  uncertain_human?: number | null;
  uncertain_machine?: number | null;
  /** The default threshold the held-out model would have shipped with. */
  threshold?: number;
}

export interface GeneralisationRow {
  held_out: string;
  n_human: number;
  n_machine: number;
  detector: Scores;
  baseline: Scores;
}

export interface GeneralisationReport {
  leave_one_source_out: GeneralisationRow[];
  leave_one_domain_out: GeneralisationRow[];
  leave_one_generator_out: GeneralisationRow[];
  options: Record<string, unknown>;
}

export type { UncertaintyFit };

export interface GeneralisationOptions {
  train: Partial<TrainOptions>;
  /** Fraction of stories held out as human test text in leave-one-generator-out. */
  testFraction: number;
  /** Generators with fewer machine texts than this are not reported on their own. */
  minGeneratorSize: number;
  seed: number;
  /** Baseline settings (defaults: scikit-learn's). */
  baseline?: Partial<BaselineOptions>;
  /** Applicability check (default: the product's); `undefined`: nothing is `uncertain`. */
  uncertainty?: UncertaintyFit;
  /**
   * At most this many documents of each (dataset, label) group, drawn by a
   * seeded hash of the story so a story's versions stay together: every
   * held-out model costs a full fit, and on two cores the full data makes
   * the report take hours. Omitted: all documents.
   */
  maxPerGroup?: number;
  /** Which parts to run (default all three). */
  parts?: Array<'source' | 'domain' | 'generator'>;
  /** (what, done, total) before each held-out fit. */
  onProgress?: (message: string, done: number, total: number) => void;
}

export const DEFAULT_GENERALISATION_OPTIONS: GeneralisationOptions = {
  // Document-level measurements only: sentence calibration is not needed here.
  train: {},
  testFraction: 0.3,
  minGeneratorSize: 100,
  seed: 7,
  uncertainty: fitUncertainty,
};

/** A document's domain; the news corpora leave it out. */
export function domainOf(document: LabeledDocument): string {
  return document.domain ?? 'news';
}

/**
 * Every held-out row is scored by models that never saw it. The threshold
 * (and Platt calibration) a held-out model would ship with comes from the
 * product's own rule — leave-one-source-out scores, the 1%-FPR threshold on
 * every human dataset, uncertain texts not counted — applied to the
 * leave-one-source-out scores of every *other* source (for a held-out
 * domain: of every text outside that domain; for a held-out generator: of
 * its training side, which has none of its texts nor any test story). Those
 * scores come from the one set of source-held-out models, so a row costs one
 * fit instead of one nested training; the approximation is that the other
 * sources' scores were made by models that had seen the held-out source or
 * generator (never the held-out texts themselves). The threshold rule reads
 * human texts only, which is why the approximation is tolerable; a
 * generator's texts do move the calibration a little.
 */
export function generalisationReport(documents: LabeledDocument[], options: Partial<GeneralisationOptions> = {}): GeneralisationReport {
  const opts = { ...DEFAULT_GENERALISATION_OPTIONS, ...options };
  const parts = new Set(opts.parts ?? ['source', 'domain', 'generator']);
  const all = documents.filter((d) => d.label !== null);
  const labeled = capPerGroup(all, opts.maxPerGroup, opts.seed);
  const sources = [...groupBySourceComponents(labeled)];
  const domains = groupBy(labeled, domainOf);
  // Per generator, so a dataset's ten generators are not cut to a few texts each.
  const { plans: generatorPlan, skipped: generatorsSkipped } = parts.has('generator')
    ? planLeaveOneGeneratorOut(capPerGroup(all, opts.maxPerGroup, opts.seed, (d) => `${d.dataset}\u0000${d.label}\u0000${d.generator ?? ''}`), opts)
    : { plans: [], skipped: [] };
  // A generator-only report with no generator to hold out would fit every source for nothing and print nothing.
  if (parts.has('generator') && parts.size === 1 && generatorPlan.length === 0) {
    const why = generatorsSkipped.length > 0 ? generatorsSkipped.map((g) => `${g.generator} (${g.why})`).join(', ') : 'no machine text names its generator';
    throw new UserError(`leave-one-generator-out: no generator can be held out: ${why}`);
  }
  // Source-held-out scores are needed for every threshold, so every part needs them all.
  const sourcePass = sources;
  const total = sourcePass.length + (parts.has('domain') ? domains.length : 0) + generatorPlan.length + generatorsSkipped.length;
  let done = 0;
  const progress = (message: string) => opts.onProgress?.(message, done++, total);

  // Every source is held out in turn (the thresholds need all their scores): say before the first fit, not after hours of them, when one cannot be.
  const lopsided = sourcePass.filter(([, test]) => !hasBothLabels(without(labeled, test))).map(([source]) => source);
  if (lopsided.length > 0) {
    throw new UserError(
      `the report holds out each source in turn, but without ${lopsided.join(', ')} the rest has only one class (human or machine) to train on; add a source with the other class`,
    );
  }
  const heldOut = new Map<LabeledDocument, HeldOutScore>();
  const sourceRows: GeneralisationRow[] = [];
  const sourceTests: Array<[string, LabeledDocument[], number[]]> = [];
  for (const [source, test] of sourcePass) {
    progress(`leave-one-source-out: ${source}`);
    const train = without(labeled, test);
    const scorer = fitScorer(train, opts.train);
    const uncertain = opts.uncertainty?.([train])[0];
    for (const d of test) heldOut.set(d, heldOutScore(scorer, d, uncertain));
    // Scores, not the fitted baseline: keeping nine models alive is what ran the first full report out of memory.
    const baseline = parts.has('source') ? fitBaseline(train, opts.baseline) : null;
    sourceTests.push([source, test, baseline ? test.map((d) => baseline(d.text)) : []]);
  }
  const targetFpr = opts.train.targetFpr ?? DEFAULT_TRAIN_OPTIONS.targetFpr;
  const exclude = opts.train.thresholdExclude ?? DEFAULT_TRAIN_OPTIONS.thresholdExclude;
  const lengthAware = opts.train.lengthCalibration ?? DEFAULT_TRAIN_OPTIONS.lengthCalibration;
  if (parts.has('source')) {
    for (const [source, test, baselineScores] of sourceTests) {
      const operating = operatingPoint(without(labeled, test), heldOut, targetFpr, exclude, lengthAware);
      sourceRows.push(row(source, test, test.map((d) => heldOut.get(d)!), operating, baselineScores));
    }
  }
  const domainRows: GeneralisationRow[] = [];
  if (parts.has('domain')) {
    for (const [domain, test] of domains) {
      const train = without(labeled, test);
      // No row without a model to score it; the progress line says why it is missing.
      if (!hasBothLabels(train)) {
        progress(`leave-one-domain-out: ${domain} — skipped: the other domains have only one class to train on`);
        continue;
      }
      progress(`leave-one-domain-out: ${domain}`);
      const scorer = fitScorer(train, opts.train);
      const uncertain = opts.uncertainty?.([train])[0];
      const scores = test.map((d) => heldOutScore(scorer, d, uncertain));
      const baseline = fitBaseline(train, opts.baseline);
      domainRows.push(row(domain, test, scores, operatingPoint(train, heldOut, targetFpr, exclude, lengthAware), test.map((d) => baseline(d.text))));
    }
  }
  const generatorRows: GeneralisationRow[] = [];
  // No row for these; the progress line says why each is missing.
  for (const { generator, why } of generatorsSkipped) progress(`leave-one-generator-out: ${generator} — skipped: ${why}`);
  for (const plan of generatorPlan) {
    progress(`leave-one-generator-out: ${plan.generator}`);
    const scorer = fitScorer(plan.train, opts.train);
    const uncertain = opts.uncertainty?.([plan.train])[0];
    const scores = plan.test.map((d) => heldOutScore(scorer, d, uncertain));
    const baseline = fitBaseline(plan.train, opts.baseline);
    const operating = operatingPoint(plan.train, heldOut, targetFpr, exclude, lengthAware);
    generatorRows.push(row(plan.generator, plan.test, scores, operating, plan.test.map((d) => baseline(d.text))));
  }
  opts.onProgress?.('done', total, total);
  return {
    leave_one_source_out: sourceRows,
    leave_one_domain_out: domainRows,
    leave_one_generator_out: generatorRows,
    options: { n_documents: labeled.length, max_per_group: opts.maxPerGroup ?? null, train: opts.train, test_fraction: opts.testFraction, min_generator_size: opts.minGeneratorSize, seed: opts.seed, uncertainty: Boolean(opts.uncertainty) },
  };
}

interface HeldOutScore {
  score: number;
  /** Words (PreparedDocument.words), for a length-aware calibration. */
  words: number;
  /** The applicability check's reasons (whether they decline the text depends on its probability: `declines`). */
  reasons: Reason[];
}

function heldOutScore(scorer: (text: string) => number, document: LabeledDocument, uncertain: ((d: LabeledDocument) => Reason[]) | undefined): HeldOutScore {
  return { score: scorer(document.text), words: countWords(tokensOf(document.text)), reasons: uncertain?.(document) ?? [] };
}

/** Platt calibration and default threshold fitted, by the product's rule, on the held-out scores of `reference` only. */
function operatingPoint(reference: LabeledDocument[], heldOut: Map<LabeledDocument, HeldOutScore>, targetFpr: number, exclude: readonly string[], lengthAware: boolean): { calibration: PlattCalibration; threshold: number } {
  const scored = reference.filter((d) => heldOut.has(d));
  const scores = scored.map((d) => heldOut.get(d)!.score);
  const words = scored.map((d) => heldOut.get(d)!.words);
  const labels = scored.map((d) => (d.label === 'machine' ? 1 : 0));
  const { calibration } = fitDocumentCalibration(scores, labels, balancedWeights(scored), words, lengthAware);
  const probabilities = scores.map((s, i) => calibrate(calibration, s, words[i]));
  const { threshold } = chooseThreshold(scored, probabilities, targetFpr, (i) => heldOut.get(scored[i])!.reasons.length === 0, exclude);
  return { calibration, threshold };
}

function row(
  name: string,
  test: LabeledDocument[],
  scores: HeldOutScore[],
  operating: { calibration: PlattCalibration; threshold: number },
  baselineScores: number[],
): GeneralisationRow {
  const share = (label: 'human' | 'machine', predicate: (s: HeldOutScore) => boolean): number | null => {
    const members = scores.filter((_, i) => test[i].label === label);
    return members.length === 0 ? null : members.filter(predicate).length / members.length;
  };
  const verdict = (s: HeldOutScore) => decideVerdict(calibrate(operating.calibration, s.score, s.words), operating.threshold, s.reasons);
  const flagged = (s: HeldOutScore) => verdict(s) === 'machine';
  return {
    held_out: name,
    ...classCounts(test),
    detector: {
      ...rankScores(test, scores.map((s) => s.score)),
      fpr_at_threshold: share('human', flagged),
      recall_at_threshold: share('machine', flagged),
      uncertain_human: share('human', (s) => verdict(s) === 'uncertain'),
      uncertain_machine: share('machine', (s) => verdict(s) === 'uncertain'),
      threshold: operating.threshold,
    },
    baseline: rankScores(test, baselineScores),
  };
}

interface GeneratorPlan {
  generator: string;
  train: LabeledDocument[];
  test: LabeledDocument[];
}

/** The generators that can be held out, and why each of the others cannot. */
function planLeaveOneGeneratorOut(documents: LabeledDocument[], opts: GeneralisationOptions): { plans: GeneratorPlan[]; skipped: Array<{ generator: string; why: string }> } {
  const { train: trainStories, test: testStories } = splitByStory(documents, { testFraction: opts.testFraction, seed: opts.seed });
  const testKeys = new Set(testStories.map(storyKey));
  const plans: GeneratorPlan[] = [];
  const skipped: Array<{ generator: string; why: string }> = [];
  for (const [generator, n] of countGenerators(documents)) {
    if (n < opts.minGeneratorSize) {
      skipped.push({ generator, why: `${n} machine texts, fewer than ${opts.minGeneratorSize}` });
      continue;
    }
    const isHeldOut = (d: LabeledDocument) => d.label === 'machine' && d.generator === generator;
    // Training never sees the generator, nor any story of the test set.
    const train = trainStories.filter((d) => !isHeldOut(d) && !testKeys.has(storyKey(d)));
    const test = testStories.filter((d) => d.label === 'human' || isHeldOut(d));
    if (!test.some((d) => d.label === 'machine')) skipped.push({ generator, why: 'none of its texts falls in the held-out stories' });
    else if (!hasBothLabels(train)) skipped.push({ generator, why: 'without it the training stories have only one class' });
    else plans.push({ generator, train, test });
  }
  return { plans, skipped };
}

/** At most `max` documents per group (default: dataset and label), the stories with the smallest seeded hash first. */
export function capPerGroup(
  documents: LabeledDocument[],
  max: number | undefined,
  seed: number,
  group: (d: LabeledDocument) => string = (d) => `${d.dataset}\u0000${d.label}`,
): LabeledDocument[] {
  if (max === undefined) return documents;
  const groups = groupBy(documents, group);
  const kept = new Set<LabeledDocument>();
  for (const [, members] of groups) {
    const ranked = members.map((d) => ({ d, rank: seededUnit(seed, `${storyKey(d)}\u0000${d.id}`) }));
    ranked.sort((a, b) => a.rank - b.rank);
    for (const { d } of ranked.slice(0, max)) kept.add(d);
  }
  return documents.filter((d) => kept.has(d));
}

function without(documents: LabeledDocument[], removed: LabeledDocument[]): LabeledDocument[] {
  const set = new Set(removed);
  return documents.filter((d) => !set.has(d));
}

function groupBy(documents: LabeledDocument[], key: (d: LabeledDocument) => string): Array<[string, LabeledDocument[]]> {
  const groups = new Map<string, LabeledDocument[]>();
  for (const d of documents) {
    const k = key(d);
    const list = groups.get(k) ?? [];
    list.push(d);
    groups.set(k, list);
  }
  return [...groups].sort((a, b) => a[0].localeCompare(b[0]));
}

function hasBothLabels(documents: LabeledDocument[]): boolean {
  return documents.some((d) => d.label === 'human') && documents.some((d) => d.label === 'machine');
}

function rankScores(documents: LabeledDocument[], scores: number[]): Scores {
  const labels = documents.map((d) => (d.label === 'machine' ? 1 : 0) as BinaryLabel);
  const bothClasses = labels.includes(1) && labels.includes(0);
  if (!bothClasses) return { auroc: null, tpr_at_1pct_fpr: null, tpr_at_0_1pct_fpr: null };
  return {
    auroc: auroc(labels, scores),
    tpr_at_1pct_fpr: tprAtFpr(labels, scores, 0.01).tpr,
    tpr_at_0_1pct_fpr: tprAtFpr(labels, scores, 0.001).tpr,
  };
}

function classCounts(documents: LabeledDocument[]): { n_human: number; n_machine: number } {
  const n_machine = documents.filter((d) => d.label === 'machine').length;
  return { n_human: documents.length - n_machine, n_machine };
}

function countGenerators(documents: LabeledDocument[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const d of documents) if (d.label === 'machine' && d.generator) counts.set(d.generator, (counts.get(d.generator) ?? 0) + 1);
  return [...counts].sort((a, b) => a[0].localeCompare(b[0]));
}

const RANK_HEADER = ['held out', 'human', 'machine', 'AUROC copydesk', 'AUROC baseline', 'TPR@1% copydesk', 'TPR@1% baseline', 'TPR@0.1% copydesk', 'TPR@0.1% baseline'];
const THRESHOLD_HEADER = ['threshold', 'FPR@threshold', 'recall@threshold', 'uncertain (human)', 'uncertain (machine)'];

function rankCells(r: GeneralisationRow): string[] {
  return [
    r.held_out,
    String(r.n_human),
    String(r.n_machine),
    fmt(r.detector.auroc),
    fmt(r.baseline.auroc),
    fmt(r.detector.tpr_at_1pct_fpr, 3),
    fmt(r.baseline.tpr_at_1pct_fpr, 3),
    fmt(r.detector.tpr_at_0_1pct_fpr, 3),
    fmt(r.baseline.tpr_at_0_1pct_fpr, 3),
  ];
}

function thresholdCells(r: GeneralisationRow): string[] {
  const d = r.detector;
  return [fmt(d.threshold ?? null, 3), fmt(d.fpr_at_threshold ?? null), fmt(d.recall_at_threshold ?? null, 3), fmt(d.uncertain_human ?? null, 3), fmt(d.uncertain_machine ?? null, 3)];
}

export function formatGeneralisationMarkdown(report: GeneralisationReport): string {
  const table = (title: string, rows: GeneralisationRow[]) => {
    if (rows.length === 0) return '';
    const header = [...RANK_HEADER, ...THRESHOLD_HEADER];
    const body = rows.map((r) => [...rankCells(r), ...thresholdCells(r)]);
    return [`### ${title}`, '', `| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...body.map((c) => `| ${c.join(' | ')} |`), ''].join('\n');
  };
  return [
    table('Leave one source out', report.leave_one_source_out),
    table('Leave one domain out', report.leave_one_domain_out),
    table('Leave one generator out', report.leave_one_generator_out),
  ]
    .filter(Boolean)
    .join('\n');
}

export function formatGeneralisationText(report: GeneralisationReport): string {
  const header = ['held out', 'human', 'machine', 'AUROC', 'AUROC(base)', 'TPR@1%', 'TPR@1%(base)', 'FPR@thr', 'recall@thr', 'uncertain'];
  const rows = (list: GeneralisationRow[]) =>
    list.map((r) => [
      ...rankCells(r).slice(0, 7),
      fmt(r.detector.fpr_at_threshold ?? null),
      fmt(r.detector.recall_at_threshold ?? null, 3),
      fmt(r.detector.uncertain_human ?? null, 3),
    ]);
  return [
    ['leave one source out', report.leave_one_source_out],
    ['leave one domain out', report.leave_one_domain_out],
    ['leave one generator out', report.leave_one_generator_out],
  ]
    .filter(([, list]) => (list as GeneralisationRow[]).length > 0)
    .map(([title, list]) => `${title}\n${formatTable([header, ...rows(list as GeneralisationRow[])])}\n`)
    .join('\n');
}

function fmt(v: number | null, digits = 4): string {
  return v === null || Number.isNaN(v) ? '—' : v.toFixed(digits);
}
