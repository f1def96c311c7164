import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calibrate, fitCalibration, fitPlatt } from '../src/model/calibration.js';
import { trainDetector } from '../src/model/train.js';
import { syntheticCorpus, SMALL_TRAIN_OPTIONS } from './fixtures/core/synthetic.js';

function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

/**
 * Held-out logits of an overconfident model on 779 human and 179 machine
 * texts (the shape of 600 XSum humans + the CNN pairs), balanced weights,
 * a few texts on the wrong side. The undamped Newton fit went to a ≈ 2e13.
 */
function overconfident(): { scores: number[]; labels: number[]; weights: number[] } {
  const r = rng(7);
  const scores: number[] = [];
  const labels: number[] = [];
  const weights: number[] = [];
  for (let i = 0; i < 779; i++) {
    scores.push(-25 + 10 * r() + (i % 97 === 0 ? 45 : 0));
    labels.push(0);
    weights.push(958 / (2 * 779));
  }
  for (let i = 0; i < 179; i++) {
    scores.push(20 + 10 * r() - (i % 50 === 0 ? 40 : 0));
    labels.push(1);
    weights.push(958 / (2 * 179));
  }
  return { scores, labels, weights };
}

test('fitPlatt converges to a finite, sane slope on large, nearly separated scores', () => {
  const { scores, labels, weights } = overconfident();
  const { calibration, warnings } = fitCalibration(scores, labels, weights);
  assert.deepEqual(warnings, []);
  assert.ok(calibration.a > 0.05 && calibration.a < 2, `a = ${calibration.a}`);
  // Probabilities stay inside (0, 1): no text is "certainly" anything.
  const probabilities = scores.map((s) => calibrate(calibration, s));
  assert.ok(probabilities.every((p) => p > 1e-6 && p < 1 - 1e-6), `range ${Math.min(...probabilities)}..${Math.max(...probabilities)}`);
  // Perfectly separated: Platt's smoothed targets bound the slope.
  const separated = scores.map((_, i) => (labels[i] ? 30 + (i % 7) / 7 : -30 - (i % 7) / 7));
  const fit = fitPlatt(separated, labels, weights);
  assert.ok(Number.isFinite(fit.a) && fit.a > 0 && fit.a < 1, `a = ${fit.a}`);
  assert.ok(calibrate(fit, 30) < 0.9999 && calibrate(fit, 30) > 0.99);
});

test('fitPlatt recovers a known calibration whatever the scale and offset of the scores', () => {
  const scores: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < 4000; i++) {
    const s = (i / 4000) * 4 - 2;
    scores.push(100 * s + 500);
    labels.push(((i * 7919) % 1000) / 1000 < 1 / (1 + Math.exp(-2 * s)) ? 1 : 0);
  }
  const platt = fitPlatt(scores, labels);
  assert.ok(Math.abs(platt.a * 100 - 2) < 0.3, `a = ${platt.a}`);
  assert.ok(Math.abs(calibrate(platt, 500) - 0.5) < 0.05);
});

test('inverted held-out scores never give an inverted calibration: the slope is held positive, with a warning', () => {
  const { scores, labels, weights } = overconfident();
  const inverted = scores.map((s) => -s);
  const { calibration, warnings } = fitCalibration(inverted, labels, weights);
  assert.ok(calibration.a > 0, `a = ${calibration.a}`);
  assert.match(warnings.join(' '), /inverted/);
  // Near the (balanced) base rate everywhere: no confident verdicts either way.
  for (const s of inverted) assert.ok(Math.abs(calibrate(calibration, s) - 0.5) < 0.1);
});

test('degenerate inputs give finite parameters and a warning', () => {
  const oneClass = fitCalibration([1, 2, 3], [0, 0, 0]);
  assert.match(oneClass.warnings[0], /only human/);
  assert.ok(Number.isFinite(oneClass.calibration.a) && Number.isFinite(oneClass.calibration.b));
  const constant = fitCalibration([4, 4, 4, 4], [0, 1, 0, 1]);
  assert.match(constant.warnings[0], /same/);
  assert.ok(Math.abs(calibrate(constant.calibration, 4) - 0.5) < 0.01);
  assert.throws(() => fitCalibration([Number.NaN], [1]), RangeError);
});

test('training on labels the text cannot predict records warnings in the model metadata', () => {
  const r = rng(3);
  const documents = syntheticCorpus(40, 5).map((d) => ({ ...d, label: r() < 0.5 ? ('human' as const) : ('machine' as const) }));
  const detector = trainDetector(documents, { ...SMALL_TRAIN_OPTIONS, extensions: [] });
  const warnings = detector.metadata.warnings ?? [];
  assert.match(warnings.join('\n'), /held-out AUROC is 0\.[0-6]/);
  assert.ok(detector.metadata.calibration.a > 0);
  // A sound corpus trains without any.
  const sound = trainDetector(syntheticCorpus(40, 5), { ...SMALL_TRAIN_OPTIONS, extensions: [] });
  assert.deepEqual(sound.metadata.warnings, []);
});
