import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { DEFAULT_FEATURIZER_CONFIG, Featurizer } from '../src/features/featurizer.ts';
import { decisionFunction } from '../src/model/logistic.ts';
import { DocumentScanner, WindowModel, windowScores, windowVector } from '../src/detect/windows.ts';

const TEXT =
  'The council met on Tuesday night. Residents complained about the noise from the new road. “One man said he had not slept for weeks,” a neighbour said. ' +
  'In a significant development, the mayor emphasized the importance of a thorough review. Officials declined to comment further.';

function seeded(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5));
}

test('window scores from the one-pass sums equal the window model applied to each window vector', () => {
  const featurizer = Featurizer.fit([TEXT], { ...DEFAULT_FEATURIZER_CONFIG, hashBits: 14, termWeighting: 'count' });
  const model = WindowModel.fromFloat(seeded(2 ** 12, 3), 0.25, 12, { windows: 0, documents: 0, l2: 0 });
  const reloaded = new WindowModel(model.stored);
  assert.deepEqual(reloaded.weights, model.weights, 'base64 round trip');
  const dequantised = Float32Array.from(model.weights, (q) => q * model.scale);
  const scanner = new DocumentScanner(featurizer.state(), model);
  const collected = new DocumentScanner(featurizer.state(), { mask: model.mask, weights: new Int16Array(0) }).scan(TEXT, undefined, true);
  for (const radius of [0, 1, 2]) {
    const { scores, words } = windowScores(scanner.scan(TEXT), model, radius);
    assert.equal(scores.length, 5);
    for (let s = 0; s < scores.length; s++) {
      const expected = decisionFunction({ weights: dequantised, bias: model.bias }, windowVector(collected, s, radius));
      assert.ok(Math.abs(scores[s] - expected) < 1e-6, `radius ${radius}, sentence ${s}: ${scores[s]} vs ${expected}`);
      assert.ok(words[s] > 0);
    }
  }
});

test('the document score from the same pass equals the document model on the whole text', () => {
  for (const termWeighting of ['count', 'sublinear'] as const) {
    const featurizer = Featurizer.fit([TEXT], { ...DEFAULT_FEATURIZER_CONFIG, hashBits: 14, termWeighting });
    const weights = seeded(featurizer.dimension, 7);
    const model = WindowModel.fromFloat(seeded(2 ** 10, 5), 0, 10, { windows: 0, documents: 0, l2: 0 });
    const scanner = new DocumentScanner(featurizer.state(), model, {
      state: featurizer.state(),
      weights,
      bias: 0.5,
      scoreTokens: (tokens) => decisionFunction({ weights, bias: 0.5 }, featurizer.transformTokens(tokens)),
    });
    for (const text of [TEXT, '', 'One sentence only', `${TEXT}\n\nLast updated at 10:31 AM on 3rd March 2024`]) {
      const expected = 0.5 + featurizer.dot(text, weights);
      const got = scanner.scan(text).documentScore;
      assert.ok(Math.abs(got - expected) < 1e-6 * Math.max(1, Math.abs(expected)), `${termWeighting}: ${got} vs ${expected}`);
    }
  }
});
