import type { LabeledDocument } from '../corpus/types.js';
import { groupBySourceComponents, splitByStory, storyKey } from '../corpus/split.js';
import { fitBaseline } from '../model/baseline.js';
import { fitScorer, trainDetector, type TrainOptions } from '../model/train.js';
import { auroc, tprAtFpr, type BinaryLabel } from '../model/metrics.js';
import { formatTable } from './breakdown.js';

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
  /** False-positive rate at the trained detector's own default threshold. */
  fpr_at_threshold?: number | null;
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
  leave_one_generator_out: GeneralisationRow[];
  options: Record<string, unknown>;
}

export interface GeneralisationOptions {
  train: Partial<TrainOptions>;
  /** Fraction of stories held out as human test text in leave-one-generator-out. */
  testFraction: number;
  /** Generators with fewer machine texts than this are not reported on their own. */
  minGeneratorSize: number;
  seed: number;
  onProgress?: (message: string) => void;
}

export const DEFAULT_GENERALISATION_OPTIONS: GeneralisationOptions = {
  // Document-level measurements only: sentence calibration is not needed here.
  train: { folds: 3, extensions: false },
  testFraction: 0.3,
  minGeneratorSize: 100,
  seed: 7,
};

export function generalisationReport(documents: LabeledDocument[], options: Partial<GeneralisationOptions> = {}): GeneralisationReport {
  const opts = { ...DEFAULT_GENERALISATION_OPTIONS, ...options };
  return {
    leave_one_source_out: leaveOneSourceOut(documents, opts),
    leave_one_generator_out: leaveOneGeneratorOut(documents, opts),
    options: { train: opts.train, test_fraction: opts.testFraction, min_generator_size: opts.minGeneratorSize, seed: opts.seed },
  };
}

export function leaveOneSourceOut(documents: LabeledDocument[], opts: GeneralisationOptions): GeneralisationRow[] {
  const rows: GeneralisationRow[] = [];
  for (const [source, test] of groupBySourceComponents(documents)) {
    const held = new Set(test);
    const train = documents.filter((d) => !held.has(d));
    opts.onProgress?.(`leave-one-source-out: ${source}`);
    const detector = trainDetector(train, opts.train);
    const baseline = fitBaseline(train);
    const detectorScores = test.map((d) => detector.score(d.text));
    const probabilities = detectorScores.map((s) => detector.probabilityFromScore(s));
    const humans = probabilities.filter((_, i) => test[i].label === 'human');
    rows.push({
      held_out: source,
      ...classCounts(test),
      detector: {
        ...rankScores(test, detectorScores),
        fpr_at_threshold: humans.length > 0 ? humans.filter((p) => p >= detector.threshold).length / humans.length : null,
      },
      baseline: rankScores(test, test.map((d) => baseline(d.text))),
    });
  }
  return rows;
}

export function leaveOneGeneratorOut(documents: LabeledDocument[], opts: GeneralisationOptions): GeneralisationRow[] {
  const { train: trainStories, test: testStories } = splitByStory(documents, { testFraction: opts.testFraction, seed: opts.seed });
  const testKeys = new Set(testStories.map(storyKey));
  const generators = countGenerators(documents).filter(([, n]) => n >= opts.minGeneratorSize);
  const rows: GeneralisationRow[] = [];
  for (const [generator] of generators) {
    const isHeldOut = (d: LabeledDocument) => d.label === 'machine' && d.generator === generator;
    // Training never sees the generator, nor any story of the test set.
    const train = trainStories.filter((d) => !isHeldOut(d) && !testKeys.has(storyKey(d)));
    const test = testStories.filter((d) => d.label === 'human' || isHeldOut(d));
    if (!test.some((d) => d.label === 'machine')) continue;
    opts.onProgress?.(`leave-one-generator-out: ${generator}`);
    const scorer = fitScorer(train, opts.train);
    const baseline = fitBaseline(train);
    rows.push({
      held_out: generator,
      ...classCounts(test),
      detector: rankScores(test, test.map((d) => scorer(d.text))),
      baseline: rankScores(test, test.map((d) => baseline(d.text))),
    });
  }
  return rows;
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

export function formatGeneralisationMarkdown(report: GeneralisationReport): string {
  const table = (title: string, rows: GeneralisationRow[], withFpr: boolean) => {
    const header = ['held out', 'human', 'machine', 'AUROC copydesk', 'AUROC baseline', 'TPR@1% copydesk', 'TPR@1% baseline', 'TPR@0.1% copydesk', 'TPR@0.1% baseline'];
    if (withFpr) header.push('FPR@threshold copydesk');
    const body = rows.map((r) => {
      const cells = [
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
      if (withFpr) cells.push(fmt(r.detector.fpr_at_threshold ?? null));
      return cells;
    });
    return [`### ${title}`, '', `| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...body.map((c) => `| ${c.join(' | ')} |`), ''].join('\n');
  };
  return [
    table('Leave one source out', report.leave_one_source_out, true),
    table('Leave one generator out', report.leave_one_generator_out, false),
  ].join('\n');
}

export function formatGeneralisationText(report: GeneralisationReport): string {
  const rows = (list: GeneralisationRow[]) =>
    list.map((r) => [r.held_out, String(r.n_human), String(r.n_machine), fmt(r.detector.auroc), fmt(r.baseline.auroc), fmt(r.detector.tpr_at_1pct_fpr, 3), fmt(r.baseline.tpr_at_1pct_fpr, 3), fmt(r.detector.fpr_at_threshold ?? null)]);
  const header = ['held out', 'human', 'machine', 'AUROC', 'AUROC(base)', 'TPR@1%', 'TPR@1%(base)', 'FPR@thr'];
  return `leave one source out\n${formatTable([header, ...rows(report.leave_one_source_out)])}\n\nleave one generator out\n${formatTable([header, ...rows(report.leave_one_generator_out)])}\n`;
}

function fmt(v: number | null, digits = 4): string {
  return v === null || Number.isNaN(v) ? '—' : v.toFixed(digits);
}
