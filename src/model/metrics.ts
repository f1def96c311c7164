/**
 * Evaluation metrics for a binary detector, modelled on scikit-learn's
 * `sklearn.metrics` so numbers can be cross-checked against it.
 * Hand-written: no maintained JavaScript library computes these with sklearn's tie and NaN rules.
 *
 * Conventions throughout:
 * - `labels[i]` is 1 for machine-written, 0 for human-written text
 *   (numeric, unlike the corpus's 'human' | 'machine', because every formula
 *   below sums them).
 * - `scores[i]` is the detector's P(machine) or any score where higher means
 *   "more machine-like". Only calibration metrics need real probabilities.
 * - A threshold t flags a document when score >= t.
 * - Undefined ratios (0/0, or a rank metric on a single-class set) are NaN,
 *   never 0 or 1: a silent 0 would read as "terrible" and a silent 1 as
 *   "perfect" in a report. `summarize` turns NaN into null for JSON.
 */

export type BinaryLabel = 0 | 1;
export type Labels = readonly BinaryLabel[];
export type Scores = readonly number[];

export interface RocCurve {
  fpr: number[];
  tpr: number[];
  /** thresholds[i] produced (fpr[i], tpr[i]); thresholds[0] is +Infinity (flags nothing). */
  thresholds: number[];
}

export interface OperatingPoint {
  tpr: number;
  fpr: number;
  /** Flag score >= threshold. +Infinity when no threshold meets the FPR bound with any TPR. */
  threshold: number;
}

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export interface Classification {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  fpr: number;
  tpr: number;
  confusion: Confusion;
}

export interface ReliabilityBin {
  /** Bin covers [lo, hi); the last bin also includes 1. */
  lo: number;
  hi: number;
  count: number;
  /** NaN for an empty bin. */
  meanProbability: number;
  /** NaN for an empty bin. */
  fractionMachine: number;
}

/** A JSON-ready record of one evaluation; null where a metric is undefined for the subset. */
export interface EvaluationSummary {
  n: number;
  n_human: number;
  n_machine: number;
  threshold: number;
  auroc: number | null;
  average_precision: number | null;
  tpr_at_1pct_fpr: number | null;
  tpr_at_0_1pct_fpr: number | null;
  accuracy: number | null;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  fpr: number | null;
  ece: number | null;
  brier: number | null;
  log_loss: number | null;
  confusion: Confusion;
  /** ROC points (no thresholds: +Infinity does not survive JSON), at most ROC_STORED_POINTS. */
  roc: { fpr: number[]; tpr: number[] } | null;
}

/** Enough to draw a smooth curve, small enough to store one per subset in a report. */
export const ROC_STORED_POINTS = 200;

// ---------------------------------------------------------------- validation

function assertPaired(labels: Labels, scores: Scores): void {
  if (labels.length !== scores.length) {
    throw new RangeError(`labels (${labels.length}) and scores (${scores.length}) differ in length`);
  }
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new RangeError(`labels[${i}] is ${labels[i]}, expected 0 or 1`);
    // NaN would make the sort order (and therefore every rank metric) arbitrary.
    if (!Number.isFinite(scores[i])) throw new RangeError(`scores[${i}] is ${scores[i]}, expected a finite number`);
  }
}

function assertProbabilities(labels: Labels, probs: Scores): void {
  assertPaired(labels, probs);
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] < 0 || probs[i] > 1) throw new RangeError(`probs[${i}] is ${probs[i]}, expected a probability in [0, 1]`);
  }
}

function assertRate(name: string, rate: number): void {
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`${name} is ${rate}, expected a rate in [0, 1]`);
}

function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? NaN : numerator / denominator;
}

function classCounts(labels: Labels): { machine: number; human: number } {
  let machine = 0;
  for (const label of labels) machine += label;
  return { machine, human: labels.length - machine };
}

// ---------------------------------------------------------------- ranking

interface CumulativeCounts {
  threshold: number;
  tp: number;
  fp: number;
}

/**
 * (tp, fp) when flagging score >= s, for each distinct score s from highest
 * to lowest. Equal scores form one step because no threshold can flag some
 * of them and not others; pretending otherwise would overstate TPR at low FPR.
 */
function cumulativeCountsByScore(labels: Labels, scores: Scores): CumulativeCounts[] {
  const order = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const steps: CumulativeCounts[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    if (labels[i] === 1) tp++;
    else fp++;
    const next = order[k + 1];
    if (next === undefined || scores[next] !== scores[i]) steps.push({ threshold: scores[i], tp, fp });
  }
  return steps;
}

/**
 * ROC curve over all distinct thresholds, from (0,0) at threshold +Infinity
 * to (1,1) at the lowest score. With one class absent the corresponding rate
 * is NaN throughout (as in scikit-learn).
 */
export function rocCurve(labels: Labels, scores: Scores): RocCurve {
  assertPaired(labels, scores);
  const { machine, human } = classCounts(labels);
  const curve: RocCurve = { fpr: [ratio(0, human)], tpr: [ratio(0, machine)], thresholds: [Infinity] };
  for (const step of cumulativeCountsByScore(labels, scores)) {
    curve.fpr.push(ratio(step.fp, human));
    curve.tpr.push(ratio(step.tp, machine));
    curve.thresholds.push(step.threshold);
  }
  return curve;
}

/** 1-based ranks in ascending score order, ties sharing their average rank. */
function averageRanks(scores: Scores): number[] {
  const order = scores.map((_, i) => i).sort((a, b) => scores[a] - scores[b]);
  const ranks = new Array<number>(scores.length);
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end < order.length && scores[order[end]] === scores[order[start]]) end++;
    const averageRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k]] = averageRank;
    start = end;
  }
  return ranks;
}

/**
 * Area under the ROC curve as the Mann–Whitney U statistic: the probability
 * that a random machine text outscores a random human one, ties counting 1/2.
 * NaN when either class is absent.
 */
export function auroc(labels: Labels, scores: Scores): number {
  assertPaired(labels, scores);
  const { machine, human } = classCounts(labels);
  if (machine === 0 || human === 0) return NaN;
  const ranks = averageRanks(scores);
  let machineRankSum = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === 1) machineRankSum += ranks[i];
  const u = machineRankSum - (machine * (machine + 1)) / 2;
  return u / (machine * human);
}

/**
 * Average precision as scikit-learn defines it: sum over distinct thresholds
 * of (R_n − R_{n−1}) · P_n. A step function, not the trapezoid, which is
 * optimistic. NaN when there is no machine text.
 */
export function averagePrecision(labels: Labels, scores: Scores): number {
  assertPaired(labels, scores);
  const { machine } = classCounts(labels);
  if (machine === 0) return NaN;
  let ap = 0;
  let previousRecall = 0;
  for (const step of cumulativeCountsByScore(labels, scores)) {
    const recall = step.tp / machine;
    ap += (recall - previousRecall) * (step.tp / (step.tp + step.fp));
    previousRecall = recall;
  }
  return ap;
}

/** Highest-TPR point of a ROC curve with FPR <= maxFpr; among equal TPRs the lowest FPR. */
function bestPointWithin(curve: RocCurve, maxFpr: number): OperatingPoint {
  let best = 0; // (0,0) at +Infinity always qualifies
  for (let i = 1; i < curve.fpr.length; i++) {
    if (curve.fpr[i] <= maxFpr && curve.tpr[i] > curve.tpr[best]) best = i;
  }
  return { tpr: curve.tpr[best], fpr: curve.fpr[best], threshold: curve.thresholds[best] };
}

/**
 * The highest TPR reachable by one threshold while FPR stays <= maxFpr.
 * Only thresholds at observed scores are considered and tied scores are
 * flagged together, so the TPR is one a deployed detector can actually get.
 * NaN fields when either class is absent.
 */
export function tprAtFpr(labels: Labels, scores: Scores, maxFpr: number): OperatingPoint {
  assertRate('maxFpr', maxFpr);
  const { machine, human } = classCounts(labels);
  const curve = rocCurve(labels, scores);
  if (machine === 0 || human === 0) return { tpr: NaN, fpr: NaN, threshold: NaN };
  return bestPointWithin(curve, maxFpr);
}

/** The smallest double strictly greater than x (Math.nextUp is not in Node 20). */
export function nextUp(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === 0) return Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigInt64(0);
  view.setBigInt64(0, x > 0 ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}

/**
 * Smallest threshold t such that the fraction of `humanScores` >= t is at
 * most maxFpr: the detector's default operating point, fitted on held-out
 * human text. The result is the next double above the highest human score
 * that must stay unflagged, so every machine score above that human score is
 * still caught. When maxFpr allows flagging every human, returns the lowest
 * human score instead of −Infinity (which would flag everything ever seen).
 */
export function thresholdForFpr(humanScores: Scores, maxFpr: number): number {
  assertRate('maxFpr', maxFpr);
  if (humanScores.length === 0) throw new RangeError('thresholdForFpr needs at least one human score');
  const sorted = [...humanScores].sort((a, b) => b - a);
  if (!sorted.every(Number.isFinite)) throw new RangeError('humanScores must be finite numbers');
  const n = sorted.length;
  let flaggable = 0; // how many of the top human scores may be flagged; ties go together
  while (flaggable < n) {
    let end = flaggable;
    while (end < n && sorted[end] === sorted[flaggable]) end++;
    if (end / n > maxFpr) break;
    flaggable = end;
  }
  return flaggable === n ? sorted[n - 1] : nextUp(sorted[flaggable]);
}

// ---------------------------------------------------------------- at a threshold

/** Counts when flagging score >= threshold as machine. */
export function confusionAt(labels: Labels, scores: Scores, threshold: number): Confusion {
  assertPaired(labels, scores);
  const confusion: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < labels.length; i++) {
    const flagged = scores[i] >= threshold;
    if (labels[i] === 1) {
      if (flagged) confusion.tp++;
      else confusion.fn++;
    } else if (flagged) confusion.fp++;
    else confusion.tn++;
  }
  return confusion;
}

/** Rates from a confusion matrix; any 0/0 (e.g. precision with nothing flagged) is NaN. */
export function ratesFromConfusion(confusion: Confusion): Classification {
  const { tp, fp, tn, fn } = confusion;
  return {
    accuracy: ratio(tp + tn, tp + fp + tn + fn),
    precision: ratio(tp, tp + fp),
    recall: ratio(tp, tp + fn),
    f1: ratio(2 * tp, 2 * tp + fp + fn),
    fpr: ratio(fp, fp + tn),
    tpr: ratio(tp, tp + fn),
    confusion,
  };
}

/** Accuracy, precision, recall (= TPR), F1 and FPR when flagging score >= threshold. */
export function classificationAt(labels: Labels, scores: Scores, threshold: number): Classification {
  return ratesFromConfusion(confusionAt(labels, scores, threshold));
}

// ---------------------------------------------------------------- calibration

/** Equal-width bin of p; p = 1 falls in the last bin rather than a bin of its own. */
function binOf(probability: number, bins: number): number {
  return Math.min(bins - 1, Math.floor(probability * bins));
}

/** Per-bin mean predicted probability and observed fraction of machine text, for a reliability diagram. */
export function reliabilityBins(labels: Labels, probs: Scores, bins = 10): ReliabilityBin[] {
  assertProbabilities(labels, probs);
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins is ${bins}, expected a positive integer`);
  const count = new Array<number>(bins).fill(0);
  const probabilitySum = new Array<number>(bins).fill(0);
  const machineSum = new Array<number>(bins).fill(0);
  for (let i = 0; i < probs.length; i++) {
    const b = binOf(probs[i], bins);
    count[b]++;
    probabilitySum[b] += probs[i];
    machineSum[b] += labels[i];
  }
  return count.map((c, b) => ({
    lo: b / bins,
    hi: (b + 1) / bins,
    count: c,
    meanProbability: ratio(probabilitySum[b], c),
    fractionMachine: ratio(machineSum[b], c),
  }));
}

/**
 * Expected calibration error: per equal-width bin |mean probability −
 * fraction machine|, weighted by the bin's share of documents. NaN when empty.
 */
export function expectedCalibrationError(labels: Labels, probs: Scores, bins = 10): number {
  if (labels.length === 0) return NaN;
  let ece = 0;
  for (const bin of reliabilityBins(labels, probs, bins)) {
    if (bin.count > 0) ece += (bin.count / labels.length) * Math.abs(bin.meanProbability - bin.fractionMachine);
  }
  return ece;
}

/** Mean squared difference between probability and label. NaN when empty. */
export function brierScore(labels: Labels, probs: Scores): number {
  assertProbabilities(labels, probs);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) sum += (probs[i] - labels[i]) ** 2;
  return ratio(sum, labels.length);
}

/**
 * Mean negative log-likelihood. Probabilities are clipped to [eps, 1 − eps]
 * so one confident mistake costs a large but finite amount instead of
 * turning the whole mean into Infinity. NaN when empty.
 */
export function logLoss(labels: Labels, probs: Scores, eps = 1e-15): number {
  assertProbabilities(labels, probs);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1 - eps, Math.max(eps, probs[i]));
    sum -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return ratio(sum, labels.length);
}

// ---------------------------------------------------------------- storage

/**
 * Drop points that lie on a horizontal or vertical run between their
 * neighbours: lossless, and most of a step-shaped ROC curve.
 */
function dropCollinear(fpr: number[], tpr: number[]): { fpr: number[]; tpr: number[] } {
  const keep = fpr.map((_, i) => {
    if (i === 0 || i === fpr.length - 1) return true;
    const vertical = fpr[i - 1] === fpr[i] && fpr[i] === fpr[i + 1];
    const horizontal = tpr[i - 1] === tpr[i] && tpr[i] === tpr[i + 1];
    return !vertical && !horizontal;
  });
  return { fpr: fpr.filter((_, i) => keep[i]), tpr: tpr.filter((_, i) => keep[i]) };
}

/**
 * At most `maxPoints` points of a curve, first and last kept. After dropping
 * collinear points it samples evenly along the curve's length (not its
 * index), so the steep low-FPR region keeps as much detail as the rest.
 */
export function downsampleCurve(
  curve: { fpr: readonly number[]; tpr: readonly number[] },
  maxPoints = ROC_STORED_POINTS,
): { fpr: number[]; tpr: number[] } {
  if (maxPoints < 2) throw new RangeError(`maxPoints is ${maxPoints}, expected at least 2`);
  const { fpr, tpr } = dropCollinear([...curve.fpr], [...curve.tpr]);
  if (fpr.length <= maxPoints) return { fpr, tpr };
  const length = [0];
  for (let i = 1; i < fpr.length; i++) {
    length.push(length[i - 1] + Math.abs(fpr[i] - fpr[i - 1]) + Math.abs(tpr[i] - tpr[i - 1]));
  }
  const total = length[length.length - 1];
  const chosen = new Set<number>([0, fpr.length - 1]);
  let i = 0;
  for (let k = 1; k < maxPoints - 1; k++) {
    const target = (k * total) / (maxPoints - 1);
    while (i < length.length - 1 && length[i] < target) i++;
    chosen.add(i);
  }
  const indices = [...chosen].sort((a, b) => a - b);
  return { fpr: indices.map((j) => fpr[j]), tpr: indices.map((j) => tpr[j]) };
}

function nullIfNaN(x: number): number | null {
  return Number.isNaN(x) ? null : x;
}

/**
 * Every headline metric for one set of documents, at the given operating
 * threshold. Metrics undefined for the subset are null: a human-only subset
 * has FPR and accuracy but no AUROC, recall or TPR@FPR.
 */
export function summarize(labels: Labels, probs: Scores, threshold: number): EvaluationSummary {
  assertProbabilities(labels, probs);
  const { machine, human } = classCounts(labels);
  const bothClasses = machine > 0 && human > 0;
  const curve = rocCurve(labels, probs);
  const rates = classificationAt(labels, probs, threshold);
  return {
    n: labels.length,
    n_human: human,
    n_machine: machine,
    threshold,
    auroc: nullIfNaN(auroc(labels, probs)),
    average_precision: nullIfNaN(averagePrecision(labels, probs)),
    tpr_at_1pct_fpr: bothClasses ? bestPointWithin(curve, 0.01).tpr : null,
    tpr_at_0_1pct_fpr: bothClasses ? bestPointWithin(curve, 0.001).tpr : null,
    accuracy: nullIfNaN(rates.accuracy),
    precision: nullIfNaN(rates.precision),
    recall: nullIfNaN(rates.recall),
    f1: nullIfNaN(rates.f1),
    fpr: nullIfNaN(rates.fpr),
    ece: nullIfNaN(expectedCalibrationError(labels, probs)),
    brier: nullIfNaN(brierScore(labels, probs)),
    log_loss: nullIfNaN(logLoss(labels, probs)),
    confusion: rates.confusion,
    roc: bothClasses ? downsampleCurve(curve) : null,
  };
}
