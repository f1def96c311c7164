/**
 * Length-aware calibration (src/model/length-calibration.ts): the fitted
 * term follows how reliable scores are at each length, calibrate() is the
 * stated formula, older calibrations are unchanged, and unsound fits fall
 * back to plain Platt scaling.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calibrate, calibrationSlope, fitCalibration, lengthPosition } from '../src/model/calibration.js';
import { fitLengthCalibration, LENGTH_MAX_WORDS, LENGTH_MIN_WORDS, LENGTH_REFERENCE_WORDS } from '../src/model/length-calibration.js';
import { countWords } from '../src/text/tokenize.js';
import { Applicability, tokensOf } from '../src/model/applicability.js';
import { Featurizer, DEFAULT_FEATURIZER_CONFIG } from '../src/features/featurizer.js';
import { random } from './fixtures/core/random.js';

/** Scores whose separation grows with length: label ±1 times sqrt(words)/10 plus unit noise. */
function lengthDependentScores(n: number, seed: number): { scores: number[]; labels: number[]; words: number[] } {
  const next = random(seed);
  const scores: number[] = [];
  const labels: number[] = [];
  const words: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    const w = Math.round(30 + next() * 800);
    const gauss = Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
    scores.push((label ? 1 : -1) * (Math.sqrt(w) / 10) + gauss);
    labels.push(label);
    words.push(w);
  }
  return { scores, labels, words };
}

test('length-aware calibration: longer texts get a steeper slope when their scores separate better, and a lower log loss than Platt', () => {
  const { scores, labels, words } = lengthDependentScores(4000, 7);
  const { calibration, warnings } = fitLengthCalibration(scores, labels, undefined, words);
  assert.deepEqual(warnings, []);
  assert.ok(calibration.length, 'the length term is kept');
  assert.ok(calibrationSlope(calibration, 600) > calibrationSlope(calibration, 50) * 1.2, `slope at 600 words ${calibrationSlope(calibration, 600)} vs 50 words ${calibrationSlope(calibration, 50)}`);
  const platt = fitCalibration(scores, labels).calibration;
  const logLoss = (p: (i: number) => number) => scores.reduce((sum, _, i) => sum - Math.log(labels[i] ? p(i) : 1 - p(i)), 0) / scores.length;
  assert.ok(logLoss((i) => calibrate(calibration, scores[i], words[i])) < logLoss((i) => calibrate(platt, scores[i])) - 0.005);
});

test('calibrate: the stated formula with clipped ln(words / 200); without a length term, plain Platt; a length term without words is a programming error', () => {
  const term = { kind: 'log_words' as const, reference: LENGTH_REFERENCE_WORDS, min: LENGTH_MIN_WORDS, max: LENGTH_MAX_WORDS, slope: 0.3, offset: -0.2 };
  const calibration = { kind: 'platt' as const, a: 1.5, b: -0.4, length: term };
  for (const [score, words] of [[2, 200], [-1, 55], [0.7, 1200], [3, 5], [3, 50000]]) {
    const u = Math.log(Math.min(LENGTH_MAX_WORDS, Math.max(LENGTH_MIN_WORDS, words)) / LENGTH_REFERENCE_WORDS);
    assert.equal(lengthPosition(term, words), u);
    const expected = 1 / (1 + Math.exp(-((1.5 + 0.3 * u) * score - 0.4 - 0.2 * u)));
    assert.ok(Math.abs(calibrate(calibration, score, words) - expected) < 1e-12, `${score}, ${words} words`);
  }
  assert.equal(calibrate(calibration, 1, 5), calibrate(calibration, 1, LENGTH_MIN_WORDS), 'clipped below');
  assert.equal(calibrate(calibration, 1, 10 ** 6), calibrate(calibration, 1, LENGTH_MAX_WORDS), 'clipped above');
  const older = { kind: 'platt' as const, a: 1.5, b: -0.4 };
  assert.equal(calibrate(older, 2), 1 / (1 + Math.exp(-(1.5 * 2 - 0.4))));
  assert.equal(calibrate(older, 2, 17), calibrate(older, 2), 'words are ignored without a length term');
  assert.throws(() => calibrate(calibration, 2), /depends on length/);
});

test('fitLengthCalibration falls back to plain Platt (and its warnings) when Platt scaling is unsound', () => {
  const oneClass = fitLengthCalibration([1, 2, 3], [1, 1, 1], undefined, [100, 200, 300]);
  assert.equal(oneClass.calibration.length, undefined);
  assert.match(oneClass.warnings.join(' '), /only machine/);
  const inverted = fitLengthCalibration([3, 2, 1, 0], [0, 0, 1, 1], undefined, [100, 200, 300, 400]);
  assert.equal(inverted.calibration.length, undefined);
  assert.match(inverted.warnings.join(' '), /inverted/);
});

test('the words a prepared document counts are the words the applicability check counts', () => {
  const featurizer = Featurizer.fitTransform(['A short text.'], DEFAULT_FEATURIZER_CONFIG).featurizer;
  for (const text of ['Officials said on Tuesday that 14 people, including two children, were hurt.', '“Yes,” she said — twice. 3.5% of 1,200!', '']) {
    const document = featurizer.prepare(text);
    assert.equal(document.words, countWords(tokensOf(text)));
    assert.equal(document.words, new Applicability(null).measure(tokensOf(text), text).words);
  }
  assert.equal(countWords(tokensOf('Three small words, and a number: 42.')), 7);
});
