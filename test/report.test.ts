import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../src/util/errors.js';
import { capPerGroup, generalisationReport, formatGeneralisationMarkdown } from '../src/evaluate/generalisation.js';
import { fitBaseline, termFrequencies } from '../src/model/baseline.js';
import { reportProgressLine } from '../src/cli/commands/report.js';
import { syntheticCorpus, SMALL_TRAIN_OPTIONS } from './fixtures/core/synthetic.js';

// Three datasets: stories 0..89 spread over outlet_x / outlet_y, plus a third outlet.
const corpus = syntheticCorpus(90, 5).map((d, i) => (Math.floor(i / 2) % 3 === 1 ? { ...d, dataset: 'outlet_z', source: 'outlet-z', domain: 'reviews' } : d));

test('the generalisation report holds out each source and each generator, for copydesk and the baseline', () => {
  const report = generalisationReport(corpus, {
    train: SMALL_TRAIN_OPTIONS,
    baseline: { bits: 16, maxIterations: 40 },
    uncertainty: undefined,
    minGeneratorSize: 10,
    testFraction: 0.3,
  });
  assert.deepEqual(report.leave_one_source_out.map((r) => r.held_out), ['outlet_x', 'outlet_y', 'outlet_z']);
  for (const row of report.leave_one_source_out) {
    assert.ok(row.n_human > 0 && row.n_machine > 0);
    assert.ok(row.detector.auroc! > 0.9, `${row.held_out}: ${row.detector.auroc}`);
    assert.ok(row.baseline.auroc! >= 0 && row.baseline.auroc! <= 1);
    assert.ok(row.detector.fpr_at_threshold! >= 0 && row.detector.fpr_at_threshold! <= 1);
  }
  assert.deepEqual(report.leave_one_generator_out.map((r) => r.held_out), ['model-a', 'model-b']);
  for (const row of report.leave_one_generator_out) assert.ok(row.n_machine > 0 && row.n_human > 0);
  assert.deepEqual(report.leave_one_domain_out.map((r) => r.held_out), ['news', 'reviews']);
  for (const row of report.leave_one_domain_out) {
    assert.ok(row.detector.recall_at_threshold! >= 0 && row.detector.recall_at_threshold! <= 1);
    assert.equal(row.detector.uncertain_human, 0, 'nothing is uncertain without an applicability check');
  }
  const markdown = formatGeneralisationMarkdown(report);
  assert.match(markdown, /### Leave one source out/);
  assert.match(markdown, /### Leave one domain out/);
  assert.match(markdown, /\| outlet_z \|/);
  assert.match(markdown, /### Leave one generator out\n\n\| held out \|.*\| threshold \| FPR@threshold \| recall@threshold \|/);
});

test('a source whose absence leaves one class is refused before any fit, by name; a domain that cannot be held out says so', () => {
  // All machine text in one source, stories not shared: without it there is nothing to learn from.
  const split = corpus.map((d) => (d.label === 'machine' ? { ...d, dataset: 'generated', source: 'generated', pair_id: null, domain: 'reviews' } : { ...d, domain: 'news' }));
  const steps: string[] = [];
  assert.throws(
    () => generalisationReport(split, { train: SMALL_TRAIN_OPTIONS, parts: ['source'], onProgress: (m) => steps.push(m) }),
    (error: unknown) => error instanceof UserError && /without generated the rest has only one class/.test(error.message),
  );
  assert.deepEqual(steps, [], 'no fit started');

  // Each source holds both classes, but each domain only one: no domain row can be fitted, and the progress says so instead of dropping them silently.
  const byDomain = corpus.map((d) => ({ ...d, domain: d.label === 'machine' ? 'reviews' : 'news' }));
  steps.length = 0;
  const report = generalisationReport(byDomain, { train: { ...SMALL_TRAIN_OPTIONS, extensions: [] }, baseline: { bits: 16, maxIterations: 20 }, parts: ['domain'], onProgress: (m) => steps.push(m) });
  assert.deepEqual(report.leave_one_domain_out, []);
  assert.deepEqual(steps.filter((m) => m.startsWith('leave-one-domain-out')), [
    'leave-one-domain-out: news — skipped: the other domains have only one class to train on',
    'leave-one-domain-out: reviews — skipped: the other domains have only one class to train on',
  ]);
});

test('texts judged uncertain are never counted as false positives, and the threshold rule ignores them', () => {
  // Everything from outlet_y is "unlike the training data" for every held-out model.
  const report = generalisationReport(corpus, {
    train: SMALL_TRAIN_OPTIONS,
    baseline: { bits: 16, maxIterations: 20 },
    parts: ['source'],
    uncertainty: (trainings) => trainings.map(() => (d) => (d.dataset === 'outlet_y' ? ['too_short'] : [])),
  });
  const y = report.leave_one_source_out.find((r) => r.held_out === 'outlet_y')!;
  assert.equal(y.detector.uncertain_human, 1);
  assert.equal(y.detector.uncertain_machine, 1);
  assert.equal(y.detector.fpr_at_threshold, 0);
  assert.equal(y.detector.recall_at_threshold, 0);
  const x = report.leave_one_source_out.find((r) => r.held_out === 'outlet_x')!;
  assert.equal(x.detector.uncertain_human, 0);
  assert.deepEqual(report.leave_one_domain_out, []);
  assert.deepEqual(report.leave_one_generator_out, []);
});

test('soft reasons: never a false positive or a catch; they decline the texts that lean machine and let low scores be "human"', () => {
  const report = generalisationReport(corpus, {
    train: SMALL_TRAIN_OPTIONS,
    baseline: { bits: 16, maxIterations: 20 },
    parts: ['source'],
    uncertainty: (trainings) => trainings.map(() => (d) => (d.dataset === 'outlet_y' ? ['unlike_training_data'] : [])),
  });
  const y = report.leave_one_source_out.find((r) => r.held_out === 'outlet_y')!;
  assert.equal(y.detector.fpr_at_threshold, 0);
  assert.equal(y.detector.recall_at_threshold, 0);
  assert.ok(y.detector.uncertain_human! < 0.5, `most held-out human texts score low and are judged: ${y.detector.uncertain_human}`);
  assert.ok(y.detector.uncertain_machine! > 0.5, `most machine texts lean machine and are declined: ${y.detector.uncertain_machine}`);
});

test('capPerGroup keeps at most n documents per (dataset, label), the same ones every time', () => {
  const capped = capPerGroup(corpus, 5, 7);
  const counts = new Map<string, number>();
  for (const d of capped) counts.set(`${d.dataset}/${d.label}`, (counts.get(`${d.dataset}/${d.label}`) ?? 0) + 1);
  assert.deepEqual([...counts.values()], [5, 5, 5, 5, 5, 5]);
  assert.deepEqual(capPerGroup(corpus, 5, 7).map((d) => d.id), capped.map((d) => d.id));
  assert.notDeepEqual(capPerGroup(corpus, 5, 8).map((d) => d.id), capped.map((d) => d.id));
  assert.equal(capPerGroup(corpus, undefined, 7), corpus);
});

test('leave-one-generator-out alone fits the source-held-out models its thresholds need, but no source rows or baselines', () => {
  const steps: string[] = [];
  const report = generalisationReport(corpus, {
    train: { ...SMALL_TRAIN_OPTIONS, extensions: [] },
    baseline: { bits: 16, maxIterations: 20 },
    parts: ['generator'],
    minGeneratorSize: 10,
    onProgress: (message) => steps.push(message),
  });
  assert.deepEqual(report.leave_one_source_out, []);
  assert.deepEqual(
    steps.filter((s) => !s.startsWith('leave-one-source-out')),
    ['leave-one-generator-out: model-a', 'leave-one-generator-out: model-b', 'done'],
  );
  assert.ok(steps.some((s) => s.startsWith('leave-one-source-out')), 'the threshold needs source-held-out scores');
  // Every generator row carries what the product would have shipped: a threshold, FPR and recall at it, uncertain shares.
  for (const row of report.leave_one_generator_out) {
    assert.ok(row.detector.threshold! >= 0.5 && row.detector.threshold! <= 1, `threshold ${row.detector.threshold}`);
    for (const key of ['fpr_at_threshold', 'recall_at_threshold', 'uncertain_human', 'uncertain_machine'] as const) {
      const v = row.detector[key];
      assert.ok(typeof v === 'number' && v >= 0 && v <= 1, `${row.held_out} ${key} = ${v}`);
    }
  }
});

test('a generator too small to hold out is named on the progress line; a generator-only report with none is refused before any fit', () => {
  const steps: string[] = [];
  const report = generalisationReport(corpus, {
    train: { ...SMALL_TRAIN_OPTIONS, extensions: [] },
    baseline: { bits: 16, maxIterations: 20 },
    parts: ['domain', 'generator'],
    minGeneratorSize: 100,
    onProgress: (message, done, total) => steps.push(`${done}/${total} ${message}`),
  });
  assert.deepEqual(report.leave_one_generator_out, []);
  const skipped = steps.filter((s) => s.includes('leave-one-generator-out'));
  assert.equal(skipped.length, 2);
  assert.match(skipped[0], /leave-one-generator-out: model-a — skipped: \d+ machine texts, fewer than 100$/);
  assert.match(skipped[1], /leave-one-generator-out: model-b — skipped/);
  const total = Number(steps[0].split(' ')[0].split('/')[1]);
  assert.equal(steps.at(-1), `${total}/${total} done`, 'the skipped generators count in n of N');

  steps.length = 0;
  assert.throws(
    () => generalisationReport(corpus, { train: SMALL_TRAIN_OPTIONS, parts: ['generator'], minGeneratorSize: 100, onProgress: (m) => steps.push(m) }),
    (error: unknown) => error instanceof UserError && /no generator can be held out: model-a \(\d+ machine texts, fewer than 100\), model-b/.test(error.message),
  );
  assert.deepEqual(steps, [], 'no fit started');
});

test('report progress says n of N and estimates time left only once a fit has finished', () => {
  assert.equal(reportProgressLine('leave-one-source-out: a', 0, 4, 0), 'report: [1/4] leave-one-source-out: a — 0 s elapsed');
  assert.equal(reportProgressLine('leave-one-source-out: b', 1, 4, 30), 'report: [2/4] leave-one-source-out: b — 30 s elapsed, about 90 s left');
  assert.equal(reportProgressLine('done', 4, 4, 125), 'report: 4 fits in 125 s');
});

test('baseline term frequencies: word 1–2-grams in the first 2^bits slots, char_wb 3–5-grams in the next, 1 + log(count)', () => {
  const f = termFrequencies('The the cat', 12);
  const words = Array.from(f.indices.subarray(0, f.charStart));
  const chars = Array.from(f.indices.subarray(f.charStart));
  assert.ok(words.length >= 3 && words.every((i) => i < 4096), 'the, cat, "the the", "the cat" (up to collisions)');
  assert.ok(chars.length > 0 && chars.every((i) => i >= 4096 && i < 8192));
  assert.ok(Math.abs(Math.max(...f.values.subarray(0, f.charStart)) - (1 + Math.log(2))) < 1e-6, '"the" twice (lower-cased)');
  assert.equal(new Set(f.indices).size, f.indices.length, 'one entry per bucket');
});

test('the TF-IDF baseline learns the synthetic task', () => {
  const train = syntheticCorpus(40, 8);
  const score = fitBaseline(train, { l2: 1e-4, maxIterations: 40, bits: 16 });
  const heldOut = syntheticCorpus(10, 9);
  const human = heldOut.filter((d) => d.label === 'human').map((d) => score(d.text));
  const machine = heldOut.filter((d) => d.label === 'machine').map((d) => score(d.text));
  assert.ok(Math.max(...human) < Math.min(...machine));
});
