import { sigmoid } from './logistic.js';

/**
 * Platt scaling: P(machine) = sigmoid(a·score + b), fitted on scores the
 * model produced for documents it was not trained on (out-of-fold), with
 * Platt's smoothed targets so a perfectly separated fold does not send the
 * slope to infinity.
 */
export interface PlattCalibration {
  kind: 'platt';
  a: number;
  b: number;
  /**
   * Length-aware Platt scaling (model/length-calibration.ts): with it,
   * P(machine) = sigmoid((a + slope·u)·score + b + offset·u), u = ln(words / reference)
   * with words clipped to [min, max]. Absent in older model files and in
   * fits where it did not apply: then P = sigmoid(a·score + b).
   */
  length?: LengthTerm;
}

export interface LengthTerm {
  kind: 'log_words';
  reference: number;
  min: number;
  max: number;
  slope: number;
  offset: number;
}

/** u = ln(words / reference), words clipped to the term's range. */
export function lengthPosition(term: LengthTerm, words: number): number {
  return Math.log(Math.min(term.max, Math.max(term.min, words)) / term.reference);
}

/** A fitted calibration and what is wrong with it, in words for the model file and the person training. */
export interface CalibrationFit {
  calibration: PlattCalibration;
  /** Empty when the fit is sound; otherwise why the calibrated probabilities should not be trusted. */
  warnings: string[];
}

/**
 * The fit works on standardised scores z = (score − mean) / sd, so these
 * constants do not depend on the scale of the model's scores.
 *
 * PRIOR_PRECISION: a Gaussian prior N(0, 10²) on the standardised slope
 * and intercept (weights are rescaled to a mean of 1, so it counts as much
 * as 1% of one document). It changes no sound fit measurably but makes the
 * objective strictly convex, so Newton's method cannot run off along a flat
 * direction. The old undamped fit did exactly that on 958 documents (600
 * XSum humans + the 179 CNN/DailyMail pairs): a = 5.7e12, every probability
 * exactly 0 or 1, threshold 1.0.
 *
 * MIN_SLOPE: the smallest standardised slope kept. A fitted slope below it
 * means held-out scores do not separate the classes, or are inverted
 * (machine text scoring lower than human text); an inverted calibration
 * would call human text machine-written, so the slope is held at this
 * small positive value (one standard deviation of score moves the log-odds
 * by 0.05: practically the base rate for every text) and a warning says so.
 */
export const PRIOR_PRECISION = 0.01;
export const MIN_STANDARDISED_SLOPE = 0.05;
export const MAX_ITERATIONS = 100;

/**
 * Fits Platt scaling by damped Newton's method (backtracking line search on
 * the penalised log-loss; the 2×2 system is solved in closed form), with a
 * weak prior on both parameters and the slope constrained to be positive.
 * Always returns finite parameters; `warnings` explains a fit that cannot be
 * trusted (one class only, constant scores, inverted or uninformative scores).
 */
export function fitCalibration(scores: ArrayLike<number>, labels: ArrayLike<number>, weights?: ArrayLike<number>): CalibrationFit {
  if (scores.length !== labels.length || (weights && weights.length !== scores.length)) {
    throw new RangeError('fitCalibration: scores, labels and weights must have the same length');
  }
  const n = scores.length;
  const warnings: string[] = [];
  let total = 0;
  for (let i = 0; i < n; i++) {
    const w = weights ? weights[i] : 1;
    if (!(w >= 0) || !Number.isFinite(w) || !Number.isFinite(scores[i])) throw new RangeError('fitCalibration: scores and weights must be finite, weights non-negative');
    total += w;
  }
  const { w, positives, negatives, mean, sd, targets } = plattData(scores, labels, weights, total);
  if (positives === 0 || negatives === 0) {
    warnings.push(`calibration saw only ${positives === 0 ? 'human' : 'machine'} examples: probabilities are not calibrated`);
    return { calibration: { kind: 'platt', a: 1, b: 0 }, warnings };
  }
  const z = Float64Array.from({ length: n }, (_, i) => (sd > 0 ? (scores[i] - mean) / sd : 0));

  let { alpha, beta } = newton(z, targets, w, { alpha: 1, beta: 0 }, false);
  if (sd === 0) {
    warnings.push('every held-out score is the same: the model cannot tell the classes apart, so every text gets the base-rate probability');
  } else if (alpha < MIN_STANDARDISED_SLOPE) {
    warnings.push(
      `held-out scores are ${alpha <= 0 ? 'inverted (machine text scores lower than human text)' : 'almost uninformative'} ` +
        `(fitted standardised slope ${alpha.toPrecision(3)}): the calibration slope is held at ${MIN_STANDARDISED_SLOPE}, ` +
        'so probabilities stay near the base rate; this model cannot be trusted — train on more, and more varied, data',
    );
    alpha = MIN_STANDARDISED_SLOPE;
    beta = newton(z, targets, w, { alpha, beta }, true).beta;
  }
  // Back from standardised scores: alpha·(s − mean)/sd + beta.
  const a = sd > 0 ? alpha / sd : MIN_STANDARDISED_SLOPE;
  const b = beta - a * mean;
  return { calibration: { kind: 'platt', a, b }, warnings };
}

/** What every Platt-style fit works on: weights rescaled to a mean of 1, class weights, the weighted score mean and sd, Platt's smoothed targets. */
export interface PlattData {
  w: Float64Array;
  positives: number;
  negatives: number;
  mean: number;
  sd: number;
  targets: Float64Array;
}

/** PlattData of validated inputs; `total` is the sum of the weights (n without weights). */
export function plattData(scores: ArrayLike<number>, labels: ArrayLike<number>, weights: ArrayLike<number> | undefined, total: number): PlattData {
  const n = scores.length;
  const scale = total > 0 ? n / total : 0;
  const w = Float64Array.from({ length: n }, (_, i) => (weights ? weights[i] : 1) * scale);
  let positives = 0;
  let negatives = 0;
  let mean = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i] === 1) positives += w[i];
    else negatives += w[i];
    mean += w[i] * scores[i];
  }
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += w[i] * (scores[i] - mean) ** 2;
  const sd = Math.sqrt(variance / n);
  const hi = (positives + 1) / (positives + 2);
  const lo = 1 / (negatives + 2);
  const targets = Float64Array.from({ length: n }, (_, i) => (labels[i] === 1 ? hi : lo));
  return { w, positives, negatives, mean, sd, targets };
}

/** Platt scaling parameters only; see fitCalibration for the fit and its warnings. */
export function fitPlatt(scores: ArrayLike<number>, labels: ArrayLike<number>, weights?: ArrayLike<number>): PlattCalibration {
  return fitCalibration(scores, labels, weights).calibration;
}

/**
 * Calibrated P(machine) of a score. `words` (non-punctuation tokens of the
 * normalised text, PreparedDocument.words) is required when the calibration
 * has a length term: leaving it out there is a programming error, not bad input.
 */
export function calibrate(calibration: PlattCalibration, score: number, words?: number): number {
  return sigmoid(calibrationSlope(calibration, words) * score + calibration.b + (calibration.length ? calibration.length.offset * lengthPosition(calibration.length, words!) : 0));
}

/** d logit / d score for a text of `words` words: how much one unit of raw score moves its log-odds. */
export function calibrationSlope(calibration: PlattCalibration, words?: number): number {
  if (!calibration.length) return calibration.a;
  if (words === undefined || !Number.isFinite(words)) throw new Error('calibrate: this calibration depends on length; pass the word count');
  return calibration.a + calibration.length.slope * lengthPosition(calibration.length, words);
}

interface Params {
  alpha: number;
  beta: number;
}

/**
 * Minimises Σ wᵢ·logloss(tᵢ, σ(α·zᵢ + β)) + PRIOR_PRECISION/2·(α² + β²)
 * (with α fixed when `interceptOnly`). Strictly convex, so Newton steps
 * with Armijo backtracking converge from any start.
 */
function newton(z: Float64Array, t: Float64Array, w: Float64Array, start: Params, interceptOnly: boolean): Params {
  let { alpha, beta } = start;
  let value = objective(z, t, w, alpha, beta);
  for (let iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
    let ga = PRIOR_PRECISION * alpha;
    let gb = PRIOR_PRECISION * beta;
    let haa = PRIOR_PRECISION;
    let hab = 0;
    let hbb = PRIOR_PRECISION;
    for (let i = 0; i < z.length; i++) {
      const p = sigmoid(alpha * z[i] + beta);
      const d = w[i] * (p - t[i]);
      const h = w[i] * p * (1 - p);
      ga += d * z[i];
      gb += d;
      haa += h * z[i] * z[i];
      hab += h * z[i];
      hbb += h;
    }
    let da: number;
    let db: number;
    if (interceptOnly) {
      da = 0;
      db = -gb / hbb;
    } else {
      const det = haa * hbb - hab * hab;
      da = -(hbb * ga - hab * gb) / det;
      db = -(haa * gb - hab * ga) / det;
    }
    const slope = (interceptOnly ? 0 : ga * da) + gb * db; // directional derivative, < 0
    if (!(slope < -1e-14 * Math.max(1, Math.abs(value)))) break;
    let step = 1;
    let next = objective(z, t, w, alpha + da, beta + db);
    while (!(next <= value + 1e-4 * step * slope) && step > 1e-10) {
      step /= 2;
      next = objective(z, t, w, alpha + step * da, beta + step * db);
    }
    if (!(next <= value)) break;
    alpha += step * da;
    beta += step * db;
    const converged = value - next <= 1e-12 * Math.max(1, Math.abs(value));
    value = next;
    if (converged) break;
  }
  return { alpha, beta };
}

/** Penalised weighted log-loss, computed without overflow: softplus(u) − t·u per example. */
function objective(z: Float64Array, t: Float64Array, w: Float64Array, alpha: number, beta: number): number {
  let sum = 0.5 * PRIOR_PRECISION * (alpha * alpha + beta * beta);
  for (let i = 0; i < z.length; i++) {
    const u = alpha * z[i] + beta;
    sum += w[i] * (Math.max(u, 0) + Math.log1p(Math.exp(-Math.abs(u))) - t[i] * u);
  }
  return sum;
}

/**
 * A 1-d logistic fit P(y = 1 | s) = sigmoid(a·s + b) by damped Newton steps on
 * the weighted log loss (scores standardised first, hard 0/1 targets): the
 * sentence calibration uses it because the undamped Platt fit can overshoot
 * on a hundred thousand window scores.
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
