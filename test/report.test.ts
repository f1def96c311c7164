import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generalisationReport, formatGeneralisationMarkdown } from '../src/evaluate/generalisation.js';
import { fitBaseline } from '../src/model/baseline.js';
import { syntheticCorpus, SMALL_TRAIN_OPTIONS } from './fixtures/core/synthetic.js';

// Three datasets: stories 0..89 spread over outlet_x / outlet_y, plus a third outlet.
const corpus = syntheticCorpus(90, 5).map((d, i) => (Math.floor(i / 2) % 3 === 1 ? { ...d, dataset: 'outlet_z', source: 'outlet-z' } : d));

test('the generalisation report holds out each source and each generator, for copydesk and the baseline', () => {
  const report = generalisationReport(corpus, { train: SMALL_TRAIN_OPTIONS, minGeneratorSize: 10, testFraction: 0.3 });
  assert.deepEqual(report.leave_one_source_out.map((r) => r.held_out), ['outlet_x', 'outlet_y', 'outlet_z']);
  for (const row of report.leave_one_source_out) {
    assert.ok(row.n_human > 0 && row.n_machine > 0);
    assert.ok(row.detector.auroc! > 0.9, `${row.held_out}: ${row.detector.auroc}`);
    assert.ok(row.baseline.auroc! >= 0 && row.baseline.auroc! <= 1);
    assert.ok(row.detector.fpr_at_threshold! >= 0 && row.detector.fpr_at_threshold! <= 1);
  }
  assert.deepEqual(report.leave_one_generator_out.map((r) => r.held_out), ['model-a', 'model-b']);
  for (const row of report.leave_one_generator_out) assert.ok(row.n_machine > 0 && row.n_human > 0);
  const markdown = formatGeneralisationMarkdown(report);
  assert.match(markdown, /### Leave one source out/);
  assert.match(markdown, /\| outlet_z \|/);
});

test('the TF-IDF baseline learns the synthetic task', () => {
  const train = syntheticCorpus(40, 8);
  const score = fitBaseline(train, 1e-4, 40);
  const heldOut = syntheticCorpus(10, 9);
  const human = heldOut.filter((d) => d.label === 'human').map((d) => score(d.text));
  const machine = heldOut.filter((d) => d.label === 'machine').map((d) => score(d.text));
  assert.ok(Math.max(...human) < Math.min(...machine));
});
