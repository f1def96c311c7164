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
