import { sigmoid } from './logistic.js';
// Same weak prior and iteration cap as Platt scaling (calibration.ts), on the standardised parameters.
import { fitCalibration, lengthPosition, MAX_ITERATIONS, MIN_STANDARDISED_SLOPE, plattData, PRIOR_PRECISION, type CalibrationFit, type LengthTerm } from './calibration.js';

/**
 * Length-aware Platt scaling: the slope and intercept of the calibration
 * move with the logarithm of a text's length,
 *
 *   P(machine) = σ((a + c·u)·score + b + d·u),   u = ln(words / 200), words clipped to [20, 2000],
 *
 * fitted like Platt scaling on out-of-fold scores (same smoothed targets,
 * weights and weak prior). A short text's score says less than a long
 * one's — the length curve (reports/length-curve.md) loses 0.08 AUROC from
 * whole articles to 50 words — and one slope for every length made short
 * texts too confident. Fitted on the leave-one-source-out scores of all
 * 24,690 texts of ../shared/data (c = 0.26·a: the slope at 50 words is
 * about half that at 400): weighted log loss 0.368 → 0.352; the default
 * threshold rule (≤ 1% held-out FPR on every human group) then lands at
 * 0.885 instead of 0.926, and recall on held-out news sources rises from
 * 30–53% (median 37%) to 39–82% (median 56%), with held-out FPR ≤ 0.3% on
 * every human group but RAID-ar's suspect news (21.8% → 8.2%): the short
 * reviews, fiction and polished texts that set the old threshold no
 * longer reach it. Measured with scripts/oof-dump.mjs and
 * scripts/threshold-rule.mjs (reports/threshold-rule.md).
 */
export const LENGTH_REFERENCE_WORDS = 200;
export const LENGTH_MIN_WORDS = 20;
export const LENGTH_MAX_WORDS = 2000;

/**
 * Platt scaling first (with all its checks: one class only, constant or
 * inverted scores); when that fit is sound, the length term is fitted
 * jointly with it. The length term is kept only if the calibration slope
 * stays at or above the Platt minimum at every length in range, so a longer
 * or shorter text can never turn the score's meaning around; otherwise the
 * plain Platt fit is returned, unchanged.
 */
export function fitLengthCalibration(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  weights: ArrayLike<number> | undefined,
  words: ArrayLike<number>,
): CalibrationFit {
  const base = fitCalibration(scores, labels, weights);
  if (base.warnings.length > 0) return base;
  if (words.length !== scores.length) throw new RangeError('fitLengthCalibration: words and scores must have the same length');
  const n = scores.length;
  let total = 0;
  for (let i = 0; i < n; i++) total += weights ? weights[i] : 1;
  const { w, mean, sd, targets } = plattData(scores, labels, weights, total);
  const term: LengthTerm = { kind: 'log_words', reference: LENGTH_REFERENCE_WORDS, min: LENGTH_MIN_WORDS, max: LENGTH_MAX_WORDS, slope: 0, offset: 0 };
  // Design rows [z, z·u, u, 1] on standardised scores z.
  const rows = Array.from({ length: n }, (_, i) => {
    const z = (scores[i] - mean) / sd;
    const u = lengthPosition(term, words[i]);
    return [z, z * u, u, 1];
  });
  const alpha0 = base.calibration.a * sd;
  const beta0 = base.calibration.b + base.calibration.a * mean;
  const [alpha, gamma, delta, beta] = newton(rows, targets, w, [alpha0, 0, 0, beta0]);
  const slopeAt = (u: number) => alpha + gamma * u;
  if (Math.min(slopeAt(lengthPosition(term, term.min)), slopeAt(lengthPosition(term, term.max))) < MIN_STANDARDISED_SLOPE) return base;
  // Back from standardised scores: (α + γu)(s − m)/sd + δu + β.
  const a = alpha / sd;
  const slope = gamma / sd;
  return {
    calibration: { kind: 'platt', a, b: beta - a * mean, length: { ...term, slope, offset: delta - slope * mean } },
    warnings: [],
  };
}

/** The document calibration as training fits it: length-aware, or plain Platt scaling when `lengthAware` is false. */
export function fitDocumentCalibration(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  weights: ArrayLike<number> | undefined,
  words: ArrayLike<number>,
  lengthAware: boolean,
): CalibrationFit {
  return lengthAware ? fitLengthCalibration(scores, labels, weights, words) : fitCalibration(scores, labels, weights);
}

/**
 * Damped Newton on the penalised weighted log loss of a k-parameter logistic model on design
 * rows (k = 4 here: a 4×4 solve per step); also the fit of scripts/calibration-covariates.mjs.
 */
export function newton(rows: number[][], t: Float64Array, w: Float64Array, start: number[]): number[] {
  const k = start.length;
  let theta = [...start];
  let value = objective(rows, t, w, theta);
  for (let iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
    const g = theta.map((v) => PRIOR_PRECISION * v);
    const h = Array.from({ length: k }, (_, a) => Array.from({ length: k }, (_, b) => (a === b ? PRIOR_PRECISION : 0)));
    rows.forEach((x, i) => {
      const p = sigmoid(dot(x, theta));
      const d = w[i] * (p - t[i]);
      const c = w[i] * p * (1 - p);
      for (let a = 0; a < k; a++) {
        g[a] += d * x[a];
        for (let b = 0; b < k; b++) h[a][b] += c * x[a] * x[b];
      }
    });
    const step = solve(h, g).map((v) => -v);
    const slope = dot(g, step);
    if (!(slope < -1e-14 * Math.max(1, Math.abs(value)))) break;
    let size = 1;
    let next = objective(rows, t, w, theta.map((v, a) => v + step[a]));
    while (!(next <= value + 1e-4 * size * slope) && size > 1e-10) {
      size /= 2;
      next = objective(rows, t, w, theta.map((v, a) => v + size * step[a]));
    }
    if (!(next <= value)) break;
    theta = theta.map((v, a) => v + size * step[a]);
    const converged = value - next <= 1e-12 * Math.max(1, Math.abs(value));
    value = next;
    if (converged) break;
  }
  return theta;
}

function objective(rows: number[][], t: Float64Array, w: Float64Array, theta: number[]): number {
  let sum = 0.5 * PRIOR_PRECISION * dot(theta, theta);
  rows.forEach((x, i) => {
    const u = dot(x, theta);
    sum += w[i] * (Math.max(u, 0) + Math.log1p(Math.exp(-Math.abs(u))) - t[i] * u);
  });
  return sum;
}

function dot(x: readonly number[], y: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

/** Gaussian elimination with partial pivoting (the Hessian is positive definite thanks to the prior). */
function solve(matrix: number[][], rhs: number[]): number[] {
  const k = rhs.length;
  const m = matrix.map((row, i) => [...row, rhs[i]]);
  for (let c = 0; c < k; c++) {
    let p = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = m[r][c] / m[c][c];
      for (let j = c; j <= k; j++) m[r][j] -= f * m[c][j];
    }
  }
  return m.map((row, i) => row[k] / row[i]);
}
