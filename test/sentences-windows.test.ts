import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { DEFAULT_FEATURIZER_CONFIG, Featurizer } from '../src/features/featurizer.ts';
import { decisionFunction } from '../src/model/logistic.ts';
import { sentencePass, weighPass, WindowModel, windowScores, windowVector, type DocumentPass } from '../src/detect/windows.ts';

const TEXT =
  'The council met on Tuesday night. Residents complained about the noise from the new road. “One man said he had not slept for weeks,” a neighbour said. ' +
  'In a significant development, the mayor emphasized the importance of a thorough review. Officials declined to comment further.';

function seeded(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5));
}

test('window scores from the per-sentence sums equal the window model applied to each window vector', () => {
  const featurizer = Featurizer.fit([TEXT], { ...DEFAULT_FEATURIZER_CONFIG, hashBits: 14, termWeighting: 'count' });
  const model = WindowModel.fromFloat(seeded(2 ** 12, 3), 0.25, 12, { windows: 0, documents: 0, l2: 0 });
  const reloaded = new WindowModel(model.stored);
  assert.deepEqual(reloaded.weights, model.weights, 'base64 round trip');
  const dequantised = Float32Array.from(model.weights, (q) => q * model.scale);
  const pass = sentencePass(featurizer.prepare(TEXT, { sentences: true }), model);
  const collected = sentencePass(featurizer.prepare(TEXT, { sentences: true }), { mask: model.mask, weights: new Int16Array(0) }, true);
  // Training scores held-out texts from their collected pass: the same sums, bit for bit.
  assert.deepEqual(weighPass(collected, model), { spans: pass.spans, wordsPer: pass.wordsPer, sums: pass.sums, counts: pass.counts, families: pass.families });
  assert.throws(() => weighPass(pass, model), /collected/);
  assert.throws(() => weighPass(collected, { mask: 2 ** 10 - 1, weights: model.weights }), /same bucket mask/);
  for (const radius of [0, 1, 2]) {
    const { scores, words } = windowScores(pass, model, radius);
    assert.equal(scores.length, 5);
    for (let s = 0; s < scores.length; s++) {
      const expected = decisionFunction({ weights: dequantised, bias: model.bias }, windowVector(collected, s, radius));
      assert.ok(Math.abs(scores[s] - expected) < 1e-6, `radius ${radius}, sentence ${s}: ${scores[s]} vs ${expected}`);
      assert.ok(words[s] > 0);
    }
  }
});

/** The plain definition windowVector is pinned to: each family's buckets in the window sorted, counted, divided by √(their number). */
function windowVectorPlain(pass: DocumentPass, s: number, radius: number): { indices: Int32Array; values: Float32Array } {
  const S = pass.spans.length;
  const lo = Math.max(0, s - radius);
  const hi = Math.min(S - 1, s + radius);
  const indices: number[] = [];
  const values: number[] = [];
  for (let f = 0; f < pass.families; f++) {
    const run = Array.from(pass.buckets![f].slice(pass.firstNgram![f][lo], pass.firstNgram![f][hi + 1])).sort((a, b) => a - b);
    for (const bucket of new Set(run)) {
      indices.push(bucket);
      values.push(run.filter((b) => b === bucket).length * (1 / Math.sqrt(run.length)));
    }
  }
  return { indices: Int32Array.from(indices), values: Float32Array.from(values) };
}

test('window vectors (scratch arrays) equal their plain definition bit for bit, over texts long and short and every radius', () => {
  const featurizer = Featurizer.fit([TEXT], { ...DEFAULT_FEATURIZER_CONFIG, hashBits: 14 });
  const long = Array.from({ length: 40 }, (_, i) => `Sentence ${i} says the council met again, and again the council said it met. `).join('');
  for (const text of [TEXT, long, 'One sentence only.', `${TEXT} ${long}`]) {
    const pass = sentencePass(featurizer.prepare(text, { sentences: true }), { mask: 2 ** 12 - 1, weights: new Int16Array(0) }, true);
    for (let s = 0; s < pass.spans.length; s++) {
      // Radius 40 on the long text: more n-grams than the scratch arrays start with.
      for (const radius of [0, 1, 2, 5, 40]) {
        const fast = windowVector(pass, s, radius);
        const plain = windowVectorPlain(pass, s, radius);
        assert.deepEqual(fast.indices, plain.indices, `indices, sentence ${s}, radius ${radius}`);
        assert.deepEqual(new Uint32Array(fast.values.buffer), new Uint32Array(plain.values.buffer), `values, sentence ${s}, radius ${radius}`);
      }
    }
  }
});

test('one prepared document gives the same document score as the vector, for both term weightings', () => {
  for (const termWeighting of ['count', 'sublinear'] as const) {
    const featurizer = Featurizer.fit([TEXT], { ...DEFAULT_FEATURIZER_CONFIG, hashBits: 14, termWeighting });
    const weights = seeded(featurizer.dimension, 7);
    for (const text of [TEXT, '', 'One sentence only', `${TEXT}\n\nLast updated at 10:31 AM on 3rd March 2024`]) {
      const expected = decisionFunction({ weights, bias: 0.5 }, featurizer.transform(text));
      const document = featurizer.prepare(text, { sentences: true });
      const got = 0.5 + featurizer.dot(document, weights);
      assert.ok(Math.abs(got - expected) < 1e-6 * Math.max(1, Math.abs(expected)), `${termWeighting}: ${got} vs ${expected}`);
      assert.equal(featurizer.dot(text, weights), got - 0.5, 'a string and its prepared document score alike');
    }
  }
});

test('every n-gram bucket of the vector is named from the same prepared document', () => {
  const featurizer = Featurizer.fit([TEXT], { ...DEFAULT_FEATURIZER_CONFIG, hashBits: 14 });
  const document = featurizer.prepare(TEXT);
  const vector = featurizer.transform(document);
  const wanted = new Set(vector.indices);
  const names = featurizer.nameFeatures(document, wanted);
  assert.equal(names.size, wanted.size, 'every vector index has a name');
  const families = new Set([...names.values()].map((n) => n.family));
  assert.deepEqual([...families].sort(), ['pattern 3-gram', 'pattern 4-gram', 'style', 'word 1-gram', 'word 2-gram']);
  assert.ok([...names.values()].some((n) => n.family === 'word 2-gram' && n.name === 'the council'));
});
