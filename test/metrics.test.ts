import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  auroc,
  averagePrecision,
  brierScore,
  classificationAt,
  confusionAt,
  downsampleCurve,
  expectedCalibrationError,
  logLoss,
  nextUp,
  reliabilityBins,
  rocCurve,
  summarize,
  thresholdForFpr,
  tprAtFpr,
  type BinaryLabel,
} from '../src/model/metrics.js';
import { breakdown, breakdownAgainstHumans } from '../src/model/breakdown.js';
import { formatSummaryTable, formatTable } from '../src/evaluate/breakdown.js';
import { random } from './fixtures/core/random.js';

const close = (actual: number, expected: number, tolerance = 1e-12) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `expected ${expected}, got ${actual}`);

/** Noisy, tie-heavy scores (rounded to 2 decimals) where machine text scores higher on average. */
function noisyDataset(n: number, seed: number): { labels: BinaryLabel[]; scores: number[] } {
  const next = random(seed);
  const labels: BinaryLabel[] = [];
  const scores: number[] = [];
  for (let i = 0; i < n; i++) {
    const label: BinaryLabel = next() < 0.5 ? 1 : 0;
    labels.push(label);
    scores.push(Math.round(Math.min(1, Math.max(0, 0.5 * next() + (label ? 0.35 : 0.15))) * 100) / 100);
  }
  return { labels, scores };
}

// ---------------------------------------------------------------- ROC / AUROC

test('rocCurve matches scikit-learn on the textbook example', () => {
  const curve = rocCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
  assert.deepEqual(curve.fpr, [0, 0, 0.5, 0.5, 1]);
  assert.deepEqual(curve.tpr, [0, 0.5, 0.5, 1, 1]);
  assert.deepEqual(curve.thresholds, [Infinity, 0.8, 0.4, 0.35, 0.1]);
});

test('rocCurve groups tied scores into one step', () => {
  const curve = rocCurve([0, 1, 1, 0], [0.3, 0.3, 0.9, 0.1]);
  assert.deepEqual(curve.thresholds, [Infinity, 0.9, 0.3, 0.1]);
  assert.deepEqual(curve.tpr, [0, 0.5, 1, 1]);
  assert.deepEqual(curve.fpr, [0, 0, 0.5, 1]);
});

test('auroc: textbook example, ties count one half, perfect and inverse', () => {
  assert.equal(auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.75);
  assert.equal(auroc([0, 1], [0.5, 0.5]), 0.5);
  assert.equal(auroc([0, 0, 1, 1], [0.2, 0.5, 0.5, 0.9]), 0.875);
  assert.equal(auroc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]), 1);
  assert.equal(auroc([0, 0, 1, 1], [0.8, 0.9, 0.1, 0.2]), 0);
});

test('auroc is NaN when a class is absent', () => {
  assert.ok(Number.isNaN(auroc([1, 1, 1], [0.2, 0.5, 0.9])));
  assert.ok(Number.isNaN(auroc([0, 0], [0.2, 0.5])));
  assert.ok(Number.isNaN(auroc([], [])));
});

test('auroc (Mann–Whitney) equals the trapezoid area under the tie-grouped ROC curve', () => {
  const { labels, scores } = noisyDataset(3000, 7);
  const curve = rocCurve(labels, scores);
  let area = 0;
  for (let i = 1; i < curve.fpr.length; i++) {
    area += ((curve.fpr[i] - curve.fpr[i - 1]) * (curve.tpr[i] + curve.tpr[i - 1])) / 2;
  }
  close(auroc(labels, scores), area, 1e-9);
  assert.ok(area > 0.6 && area < 0.95, `a noisy but useful detector, got ${area}`);
});

test('inputs are validated', () => {
  assert.throws(() => auroc([0, 1], [0.5]), RangeError);
  assert.throws(() => auroc([0, 1], [0.5, NaN]), RangeError);
  assert.throws(() => auroc([0, 2 as BinaryLabel], [0.5, 0.6]), RangeError);
  assert.throws(() => brierScore([0, 1], [0.5, 1.2]), RangeError);
  assert.throws(() => tprAtFpr([0, 1], [0.1, 0.9], 1.5), RangeError);
});

// ---------------------------------------------------------------- average precision

test('averagePrecision matches scikit-learn', () => {
  // sklearn.metrics.average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.8333...
  close(averagePrecision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.5 * 1 + 0.5 * (2 / 3));
  // A tie across classes is one threshold: P=1/2 at R=1/2, then P=2/3 at R=1.
  close(averagePrecision([1, 0, 1], [0.5, 0.5, 0.2]), 0.5 * 0.5 + 0.5 * (2 / 3));
  assert.equal(averagePrecision([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]), 1);
  assert.ok(Number.isNaN(averagePrecision([0, 0], [0.1, 0.2])));
});

// ---------------------------------------------------------------- operating points

// Ten humans and six machines; 0.95 and 0.9 are each shared by a human and a machine.
const humanScores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
const machineScores = [0.99, 0.97, 0.95, 0.9, 0.85, 0.5];
const operatingLabels: BinaryLabel[] = [...humanScores.map((): BinaryLabel => 0), ...machineScores.map((): BinaryLabel => 1)];
const operatingScores = [...humanScores, ...machineScores];

test('tprAtFpr takes a tied group whole when it fits the FPR budget', () => {
  const point = tprAtFpr(operatingLabels, operatingScores, 0.1);
  assert.deepEqual(point, { tpr: 3 / 6, fpr: 0.1, threshold: 0.95 });
  const check = classificationAt(operatingLabels, operatingScores, point.threshold);
  assert.equal(check.tpr, point.tpr);
  assert.equal(check.fpr, point.fpr);
});

test('tprAtFpr never splits a tie to claim more TPR than a threshold can give', () => {
  // Flagging the machine at 0.95 without the human at 0.95 would give TPR 3/6 at FPR 0;
  // no threshold does that, so with a budget below one human the answer is 2/6.
  assert.deepEqual(tprAtFpr(operatingLabels, operatingScores, 0.05), { tpr: 2 / 6, fpr: 0, threshold: 0.97 });
  // The next tied group (0.9) would push FPR to 0.2.
  assert.deepEqual(tprAtFpr(operatingLabels, operatingScores, 0.15), { tpr: 3 / 6, fpr: 0.1, threshold: 0.95 });
});

test('tprAtFpr: nothing flaggable, and single-class input', () => {
  assert.deepEqual(tprAtFpr([0, 1], [0.9, 0.1], 0), { tpr: 0, fpr: 0, threshold: Infinity });
  const missing = tprAtFpr([1, 1], [0.9, 0.1], 0.01);
  assert.ok(Number.isNaN(missing.tpr) && Number.isNaN(missing.threshold));
});

const fractionAtOrAbove = (scores: readonly number[], t: number) => scores.filter((s) => s >= t).length / scores.length;

test('thresholdForFpr flags at most maxFpr of the humans, and is the smallest such threshold', () => {
  const t = thresholdForFpr(humanScores, 0.1);
  assert.equal(t, nextUp(0.9));
  assert.equal(fractionAtOrAbove(humanScores, t), 0.1);
  // A tie at the top cannot be half-flagged: nothing may be flagged.
  const tied = [0.9, 0.9, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
  assert.equal(thresholdForFpr(tied, 0.1), nextUp(0.9));
  assert.equal(fractionAtOrAbove(tied, thresholdForFpr(tied, 0.1)), 0);
  assert.equal(thresholdForFpr(humanScores, 0), nextUp(0.95));
  assert.equal(thresholdForFpr(humanScores, 1), 0.1);
  assert.throws(() => thresholdForFpr([], 0.01), RangeError);
});

test('thresholdForFpr holds on random tie-heavy humans, including rates that are inexact in binary', () => {
  const next = random(11);
  const humans = Array.from({ length: 100 }, () => Math.round(next() * 60) / 60);
  const distinct = Array.from({ length: 100 }, (_, i) => i / 100);
  assert.equal(fractionAtOrAbove(distinct, thresholdForFpr(distinct, 0.29)), 0.29); // 0.29 * 100 < 29 in floating point
  for (const maxFpr of [0, 0.001, 0.01, 0.05, 0.1, 0.29, 0.5, 0.9]) {
    const t = thresholdForFpr(humans, maxFpr);
    assert.ok(fractionAtOrAbove(humans, t) <= maxFpr, `maxFpr ${maxFpr}`);
    // Minimal: lowering t to the highest human score below it would break the bound.
    const below = Math.max(...humans.filter((s) => s < t));
    assert.ok(fractionAtOrAbove(humans, below) > maxFpr, `maxFpr ${maxFpr} not minimal`);
  }
});

test('nextUp returns the adjacent double', () => {
  assert.equal(nextUp(1), 1 + Number.EPSILON);
  assert.equal(nextUp(0), Number.MIN_VALUE);
  assert.ok(nextUp(-0.5) > -0.5 && nextUp(-0.5) - -0.5 < 1e-16);
});

// ---------------------------------------------------------------- at a threshold

test('confusionAt and classificationAt on a hand-counted case (score == threshold is flagged)', () => {
  const labels: BinaryLabel[] = [1, 1, 1, 0, 0, 0, 0, 1];
  const scores = [0.9, 0.6, 0.4, 0.7, 0.2, 0.1, 0.5, 0.5];
  assert.deepEqual(confusionAt(labels, scores, 0.5), { tp: 3, fp: 2, tn: 2, fn: 1 });
  const rates = classificationAt(labels, scores, 0.5);
  close(rates.accuracy, 5 / 8);
  close(rates.precision, 3 / 5);
  close(rates.recall, 3 / 4);
  close(rates.f1, 2 / 3);
  close(rates.fpr, 1 / 2);
  assert.equal(rates.tpr, rates.recall);
});

test('classificationAt: 0/0 is NaN, not 0', () => {
  const rates = classificationAt([0, 0, 1], [0.1, 0.2, 0.3], 0.9);
  assert.ok(Number.isNaN(rates.precision), 'nothing flagged: precision undefined');
  assert.equal(rates.recall, 0);
  assert.equal(rates.fpr, 0);
  assert.ok(Number.isNaN(classificationAt([0, 0], [0.1, 0.2], 0.5).recall));
});

// ---------------------------------------------------------------- calibration

test('expectedCalibrationError: zero for calibrated bins, known values otherwise', () => {
  const calibratedLabels: BinaryLabel[] = [1, 0, 0, 0, 1, 1, 1, 0];
  const calibratedProbs = [0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75];
  assert.equal(expectedCalibrationError(calibratedLabels, calibratedProbs), 0);
  close(expectedCalibrationError([1, 0, 1, 0], [0.9, 0.9, 0.9, 0.9]), 0.4);
  // Two bins, each off by 0.2 (over-cautious), each half the data.
  close(expectedCalibrationError([0, 0, 1, 1], [0.2, 0.2, 0.8, 0.8]), 0.2);
  assert.ok(Number.isNaN(expectedCalibrationError([], [])));
});

test('reliabilityBins: equal-width bins, p = 1 in the last bin, empty bins NaN', () => {
  const bins = reliabilityBins([1, 0, 1, 1], [1, 0, 0.05, 0.55], 10);
  assert.equal(bins.length, 10);
  assert.deepEqual(bins.map((b) => b.count), [2, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
  assert.equal(bins[0].lo, 0);
  assert.equal(bins[9].hi, 1);
  close(bins[0].meanProbability, 0.025);
  assert.equal(bins[0].fractionMachine, 0.5);
  assert.equal(bins[9].fractionMachine, 1);
  assert.ok(Number.isNaN(bins[1].meanProbability));
});

test('brierScore and logLoss', () => {
  close(brierScore([1, 0], [0.8, 0.4]), 0.1);
  close(logLoss([1, 0], [0.8, 0.4]), -(Math.log(0.8) + Math.log(0.6)) / 2);
  const confidentMistake = logLoss([1], [0]);
  assert.ok(Number.isFinite(confidentMistake) && confidentMistake > 30, 'clipped, not Infinity');
});

// ---------------------------------------------------------------- summaries

test('summarize: both classes give every metric; the ROC is downsampled but keeps its ends', () => {
  const { labels, scores } = noisyDataset(5000, 3);
  const jittered = scores.map((s, i) => Math.min(1, Math.max(0, s + (i % 97) * 1e-5))); // many distinct scores
  const summary = summarize(labels, jittered, 0.5);
  assert.equal(summary.n, 5000);
  assert.equal(summary.n_human + summary.n_machine, 5000);
  close(summary.auroc!, auroc(labels, jittered));
  assert.equal(summary.tpr_at_1pct_fpr, tprAtFpr(labels, jittered, 0.01).tpr);
  assert.equal(summary.tpr_at_0_1pct_fpr, tprAtFpr(labels, jittered, 0.001).tpr);
  assert.ok(rocCurve(labels, jittered).fpr.length > 200);
  const roc = summary.roc!;
  assert.ok(roc.fpr.length <= 200 && roc.fpr.length > 50, `${roc.fpr.length} points`);
  assert.deepEqual([roc.fpr[0], roc.tpr[0]], [0, 0]);
  assert.deepEqual([roc.fpr.at(-1), roc.tpr.at(-1)], [1, 1]);
  for (const key of ['average_precision', 'accuracy', 'f1', 'precision', 'recall', 'fpr', 'ece', 'brier'] as const) {
    assert.equal(typeof summary[key], 'number', key);
  }
  assert.deepEqual(JSON.parse(JSON.stringify(summary)), summary, 'JSON round-trips');
});

test('summarize: a human-only subset has FPR but null rank metrics', () => {
  const summary = summarize([0, 0, 0, 0], [0.1, 0.2, 0.7, 0.3], 0.5);
  assert.equal(summary.n_machine, 0);
  assert.equal(summary.fpr, 0.25);
  assert.equal(summary.accuracy, 0.75);
  for (const key of ['auroc', 'average_precision', 'tpr_at_1pct_fpr', 'tpr_at_0_1pct_fpr', 'recall', 'roc'] as const) {
    assert.equal(summary[key], null, key);
  }
});

test('downsampleCurve drops collinear points losslessly and respects the budget', () => {
  const staircase = { fpr: [0, 0, 0, 0.5, 1, 1], tpr: [0, 0.5, 1, 1, 1, 1] };
  assert.deepEqual(downsampleCurve(staircase), { fpr: [0, 0, 1], tpr: [0, 1, 1] });
  const fpr = Array.from({ length: 1001 }, (_, i) => i / 1000);
  const curve = downsampleCurve({ fpr, tpr: fpr.map(Math.sqrt) }, 50);
  assert.ok(curve.fpr.length <= 50);
  assert.ok(curve.fpr.every((x, i) => i === 0 || x > curve.fpr[i - 1]), 'order kept');
});

// ---------------------------------------------------------------- breakdowns

interface Doc {
  label: BinaryLabel;
  p: number;
  source: string | null;
  generator: string | null;
}

const docs: Doc[] = [
  { label: 0, p: 0.1, source: 'wire', generator: null },
  { label: 0, p: 0.3, source: 'wire', generator: null },
  { label: 0, p: 0.6, source: 'blog', generator: null },
  { label: 1, p: 0.9, source: 'wire', generator: 'gpt' },
  { label: 1, p: 0.4, source: 'blog', generator: 'gpt' },
  { label: 1, p: 0.8, source: 'blog', generator: 'llama' },
  { label: 1, p: 0.7, source: null, generator: 'llama' },
];
const labelOf = (d: Doc) => d.label;
const probOf = (d: Doc) => d.p;

test('breakdown groups by key, sorted, skipping missing keys', () => {
  const rows = breakdown(docs, (d) => d.source, labelOf, probOf, 0.5);
  assert.deepEqual(rows.map((r) => r.group), ['blog', 'wire']);
  assert.deepEqual(rows.map((r) => r.summary.n), [3, 3]);
  // blog: human 0.6 vs machines 0.4, 0.8
  assert.equal(rows[0].summary.auroc, 0.5);
});

test('breakdownAgainstHumans scores each generator against every human', () => {
  const rows = breakdownAgainstHumans(docs, (d) => d.generator, labelOf, probOf, 0.5);
  assert.deepEqual(rows.map((r) => r.group), ['gpt', 'llama']);
  for (const row of rows) {
    assert.equal(row.summary.n_human, 3);
    assert.equal(row.summary.n_machine, 2);
  }
  // gpt: 0.9 beats all three humans (0.1, 0.3, 0.6), 0.4 beats two of them -> 5/6.
  close(rows[0].summary.auroc!, 5 / 6);
  // llama: 0.8 and 0.7 beat all three humans.
  assert.equal(rows[1].summary.auroc, 1);
  // A plain breakdown by generator has no humans, hence no AUROC.
  assert.equal(breakdown(docs, (d) => d.generator, labelOf, probOf, 0.5)[0].summary.auroc, null);
});

test('formatTable aligns columns, right-aligning numeric ones', () => {
  const table = formatTable([
    ['group', 'AUROC'],
    ['a', '0.5'],
    ['longer', '—'],
  ]);
  assert.equal(table, ['group   AUROC', '------  -----', 'a         0.5', 'longer      —'].join('\n'));
});

test('formatSummaryTable shows every column and — for undefined metrics', () => {
  const rows = breakdown(docs, (d) => d.generator ?? (d.label === 0 ? 'human' : null), labelOf, probOf, 0.5);
  const table = formatSummaryTable(rows, 'By generator');
  const lines = table.split('\n');
  assert.equal(lines[0], 'By generator');
  for (const column of ['group', 'n', 'human', 'machine', 'AUROC', 'TPR@1%FPR', 'TPR@0.1%FPR', 'FPR@threshold', 'F1', 'ECE']) {
    assert.ok(lines[1].includes(column), column);
  }
  const humanLine = lines.find((l) => l.startsWith('human'))!;
  assert.match(humanLine, /—/);
  assert.match(humanLine, /0\.3333/); // FPR at 0.5: one of three humans flagged
  assert.equal(new Set(lines.slice(1).map((l) => l.length)).size <= 2, true, 'rows are aligned');
});
