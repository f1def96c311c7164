import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseThreshold, trainDetector } from '../src/model/train.js';
import type { LabeledDocument } from '../src/corpus/types.js';
import { syntheticCorpus, SMALL_TRAIN_OPTIONS } from './fixtures/core/synthetic.js';

function human(id: string, dataset: string): LabeledDocument {
  return { id, text: id, label: 'human', dataset, source: null, generator: 'human', domain: null, pair_id: null } as unknown as LabeledDocument;
}

test('the threshold rule ignores held-out texts the applicability check calls uncertain', () => {
  // 100 human texts of one dataset: 98 score low, two (an unlike-the-training-data pair) score near 1.
  const documents = Array.from({ length: 100 }, (_, i) => human(`h${i}`, 'outlet'));
  const probabilities = documents.map((_, i) => (i < 2 ? 0.999 : 0.1 + i / 1000));
  const all = chooseThreshold(documents, probabilities, 0.01);
  assert.ok(all.threshold > 0.999, 'counting both, 1% FPR needs a threshold above them');
  const judged = chooseThreshold(documents, probabilities, 0.01, (i) => i >= 2);
  assert.equal(judged.threshold, 0.5, 'left out as uncertain, they no longer hold the threshold up');
});

test('training fits the applicability check on each fold without its held-out texts', () => {
  const corpus = syntheticCorpus(40, 3);
  const seen: number[] = [];
  const detector = trainDetector(corpus, {
    ...SMALL_TRAIN_OPTIONS,
    extensions: [],
    foldBy: 'story',
    uncertainty: (trainings) =>
      trainings.map((training) => {
        seen.push(training.length);
        const fitted = new Set(training);
        return (d) => {
          assert.ok(!fitted.has(d), 'a held-out text is never in the training side it is judged against');
          return [];
        };
      }),
  });
  assert.equal(seen.length, 2, 'one fit per fold');
  assert.equal(seen.reduce((a, b) => a + b, 0), corpus.length, 'each text is held out exactly once');
  assert.match(detector.metadata.threshold_rule, /uncertain/);
});

test('when every human text is uncertain, the threshold rule counts them all rather than fail', () => {
  const documents = Array.from({ length: 10 }, (_, i) => human(`h${i}`, 'outlet'));
  const probabilities = documents.map((_, i) => 0.2 + i / 100);
  assert.deepEqual(chooseThreshold(documents, probabilities, 0.01, () => false), chooseThreshold(documents, probabilities, 0.01));
});
