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
}

export function fitPlatt(scores: ArrayLike<number>, labels: ArrayLike<number>, weights?: ArrayLike<number>): PlattCalibration {
  let positives = 0;
  let negatives = 0;
  for (let i = 0; i < labels.length; i++) {
    const w = weights ? weights[i] : 1;
    if (labels[i] === 1) positives += w;
    else negatives += w;
  }
  const hi = (positives + 1) / (positives + 2);
  const lo = 1 / (negatives + 2);
  let a = 1;
  let b = 0;
  // Newton's method on the two parameters; the problem is convex.
  for (let iteration = 0; iteration < 100; iteration++) {
    let ga = 0, gb = 0, haa = 1e-9, hab = 0, hbb = 1e-9;
    for (let i = 0; i < scores.length; i++) {
      const w = weights ? weights[i] : 1;
      const t = labels[i] === 1 ? hi : lo;
      const p = sigmoid(a * scores[i] + b);
      const d = w * (p - t);
      const h = w * p * (1 - p);
      ga += d * scores[i];
      gb += d;
      haa += h * scores[i] * scores[i];
      hab += h * scores[i];
      hbb += h;
    }
    const det = haa * hbb - hab * hab;
    if (Math.abs(det) < 1e-18) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) < 1e-9 && Math.abs(db) < 1e-9) break;
  }
  return { kind: 'platt', a, b };
}

export function calibrate(calibration: PlattCalibration, score: number): number {
  return sigmoid(calibration.a * score + calibration.b);
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
