import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copydesk } from './fixtures/cli.js';
import { storyKey } from '../src/corpus/split.ts';
import { assessDocument } from '../src/detect/applicability.js';
import { Detector } from '../src/model/detector.ts';
import type { LabeledDocument } from '../src/corpus/types.ts';
import { analyzeSentences, SENTENCE_EXTENSION, type SentenceCalibration } from '../src/detect/sentences.ts';
import { createSentenceExtension, DEFAULT_SENTENCE_CALIBRATION, DEFAULT_SENTENCE_OPTIONS, withTestOptions } from '../src/detect/sentence-training.ts';
import { trainDetector } from '../src/model/train.ts';
import { DEFAULT_FEATURIZER_CONFIG } from '../src/features/featurizer.ts';
import { countShift, evaluateMixtureShift, formatMixtureShift, shiftPlans, topicOf, trainWithCalibrations } from '../src/evaluate/mixture-shift.ts';
import { UserError } from '../src/util/errors.ts';

// Synthetic news-like sentences, written for these tests: human plain reporting, machine stock phrasing.
const HUMAN_SENTENCES = [
  'The council met on Tuesday night .',
  'Residents complained about the noise from the new road .',
  'One man said he had not slept for weeks .',
  'Police were called to the scene at 3am .',
  'Shares in the firm fell 12% after it warned on profits .',
  'The chief executive blamed weak demand in Europe .',
];
const MACHINE_SENTENCES = [
  'In a significant development, the council convened to address growing concerns.',
  'Furthermore, the mayor emphasized the importance of a thorough review.',
  'Overall, the situation highlights the challenges facing the community.',
  'This incident underscores the importance of public safety.',
  'Ultimately, the investigation will shed light on what happened.',
  'It is crucial to monitor these developments closely.',
];

const TOPICS = ['sport', 'politics', 'business', 'health'];

/** Four sources of paired stories; the first carries a topic per story. */
function corpus(): LabeledDocument[] {
  const docs: LabeledDocument[] = [];
  for (const dataset of ['alpha', 'beta', 'gamma', 'delta']) {
    for (let i = 0; i < 24; i++) {
      const pair = `${dataset}-${i}`;
      const extra = dataset === 'alpha' ? { topic: TOPICS[i % TOPICS.length] } : {};
      const base = { generator: null, domain: 'news', source: dataset, prompt: null, dataset, extra, origin: { file: dataset, line: i + 1 } };
      const pick = (list: string[], n: number) => Array.from({ length: n }, (_, j) => list[(i + j * 5) % list.length]).join(' ');
      docs.push({ ...base, id: `${pair}-h`, label: 'human', pair_id: pair, text: `${pick(HUMAN_SENTENCES, 8)} Story ${i} of ${dataset} ends .` });
      docs.push({ ...base, id: `${pair}-m`, label: 'machine', generator: 'fixture-llm', pair_id: pair, text: `${pick(MACHINE_SENTENCES, 8)} This was story ${i}.` });
    }
  }
  return docs;
}

const fast = { folds: 2, maxIterations: 20, featurizer: { ...DEFAULT_FEATURIZER_CONFIG, hashBits: 14 } };

test('held-out sources: each source is left out whole, and no story sits on both sides', () => {
  const docs = corpus();
  const plans = shiftPlans(docs, 'sources');
  assert.deepEqual(plans.map((p) => p.held_out), ['alpha', 'beta', 'delta', 'gamma']);
  for (const plan of plans) {
    assert.ok(plan.test.every((d) => d.dataset === plan.held_out));
    assert.ok(plan.train.every((d) => d.dataset !== plan.held_out));
    assert.equal(plan.train.length + plan.test.length, docs.length);
  }
});

test('held-out topics: topics are dealt into folds, and a held-out topic story never trains', () => {
  const docs = corpus();
  // one story of 'beta' shares its pair_id with an alpha sport story: it must leave training with it
  const leak = { ...docs.find((d) => d.dataset === 'beta')!, id: 'leak', pair_id: 'alpha-0' };
  const plans = shiftPlans([...docs, leak], 'topics', { topicFolds: 2 });
  assert.equal(plans.length, 2);
  const heldTopics = plans.flatMap((p) => p.held_out.split(', '));
  assert.deepEqual([...heldTopics].sort(), [...TOPICS].sort(), 'every topic held out exactly once');
  for (const plan of plans) {
    const topics = new Set(plan.held_out.split(', '));
    assert.ok(plan.test.every((d) => topics.has(topicOf(d)!)));
    const testStories = new Set(plan.test.map(storyKey));
    assert.ok(plan.train.every((d) => !testStories.has(storyKey(d))));
    assert.ok(plan.train.some((d) => d.dataset === 'beta'), 'other sources train');
  }
  const sportPlan = plans.find((p) => p.held_out.includes('sport'))!;
  assert.ok(!sportPlan.train.some((d) => d.id === 'leak'));
  assert.throws(() => shiftPlans(docs.filter((d) => d.dataset !== 'alpha'), 'topics'), UserError);
});

test('one training carries every compared calibration: same document model, different held-out folds', () => {
  const train = corpus().filter((d) => d.dataset !== 'delta');
  const [story, training] = trainWithCalibrations(train, ['story', 'training'], fast);
  assert.equal(story.model, training.model, 'the document model is shared');
  const a = story.metadata.extensions[SENTENCE_EXTENSION] as SentenceCalibration;
  const b = training.metadata.extensions[SENTENCE_EXTENSION] as SentenceCalibration;
  assert.match(a.held_out.method, /by story/);
  assert.match(b.held_out.method, /core training folds \(3\)/, 'three sources: one fold per source');
  assert.notDeepEqual(a.doc_null, b.doc_null);
  assert.throws(() => trainWithCalibrations(train, ['nope'], fast), /unknown sentence calibration "nope"/);
});

test('calibrations that differ only in the test or the per-source nulls share one fit', () => {
  const train = corpus().filter((d) => d.dataset !== 'delta');
  const [full, pooled, simes] = trainWithCalibrations(train, ['training', 'training-pooled', 'training-simes'], fast).map(
    (d) => d.metadata.extensions[SENTENCE_EXTENSION] as SentenceCalibration,
  );
  assert.equal(pooled.window_model, full.window_model, 'one fit');
  assert.deepEqual(pooled.doc_null, full.doc_null);
  assert.equal(full.primary, 'hc');
  assert.equal(simes.primary, 'simes');
  assert.equal(simes.window_model, full.window_model);
  // (the fixture's sources are too small for their own nulls: withTestOptions is pinned below)
  const withSources = { ...full, doc_null_by_dataset: { alpha: full.doc_null } };
  assert.deepEqual(withTestOptions(withSources, { primary: 'hc', sourceNulls: false }).doc_null_by_dataset, {});
  assert.equal(withTestOptions(withSources, { primary: 'hc', sourceNulls: true }).doc_null_by_dataset.alpha, full.doc_null);
  assert.equal(withTestOptions(withSources, { primary: 'fisher', sourceNulls: true }).primary, 'fisher');
});

test('shift counts: flags at each level per detector, a larger level flags at least as many', () => {
  const docs = corpus();
  // Without the fitted applicability state (as an older model file), so only length and language decide
  // what is judged: these tiny synthetic sources are all "unlike the training data" to each other.
  const detectors = trainWithCalibrations(docs.filter((d) => d.dataset !== 'delta'), ['story', 'training'], fast).map((d) => {
    const { applicability: _dropped, ...extensions } = d.metadata.extensions;
    return new Detector(d.model, { ...d.metadata, extensions });
  });
  // Long enough to judge (the fixtures alone are under 50 words: each is joined with the next one, not with itself,
  // which would be repeated_text), except four cut short (too_short: uncertain).
  const deltaHumans = docs.filter((d) => d.dataset === 'delta' && d.label === 'human');
  const humans = deltaHumans.map((d, i) => ({ ...d, text: i < 20 ? `${d.text} ${deltaHumans[(i + 1) % deltaHumans.length].text}` : d.text.split(' ').slice(0, 20).join(' ') }));
  const deltaMachines = docs.filter((d) => d.dataset === 'delta' && d.label === 'machine');
  const machines = deltaMachines.map((d, i) => `${d.text} ${deltaMachines[(i + 1) % deltaMachines.length].text}`);
  const counts = countShift(detectors, humans, machines, [0.01, 0.05, 1]);
  const judged = humans.filter((d) => assessDocument(detectors[0], detectors[0].featurizer.prepare(d.text, { sentences: true })).length === 0).length;
  assert.ok(judged > 0 && judged < humans.length, `some held-out articles judged, some uncertain (${judged} of ${humans.length})`);
  assert.equal(counts.length, 2);
  for (const c of counts) {
    assert.equal(c.humans, 24);
    assert.equal(c.mixtures, 24);
    assert.ok(c.flagged['0.01'] <= c.flagged['0.05'] && c.flagged['0.05'] <= c.flagged['1']);
    // Every p-value is ≤ 1, so at level 1 exactly the human articles copydesk judges are flagged.
    assert.equal(c.flagged['1'], judged, 'level 1 flags every judged article and no uncertain one');
    assert.ok(c.detected['0.05'] > c.flagged['0.05'], 'machine text is flagged more often than human text');
  }
});

test('evaluateMixtureShift: one row per held-out split and calibration, totals sum the rows', () => {
  const report = evaluateMixtureShift(corpus(), { settings: ['sources'], calibrations: ['story', 'training'], maxTest: 10, train: fast });
  assert.equal(report.rows.length, 4 * 2);
  assert.equal(report.totals.length, 2);
  for (const total of report.totals) {
    const rows = report.rows.filter((r) => r.calibration === total.calibration);
    assert.equal(total.humans, rows.reduce((n, r) => n + r.humans, 0));
    assert.equal(total.flagged['0.05'], rows.reduce((n, r) => n + r.flagged['0.05'], 0));
    assert.equal(total.humans, 40, 'maxTest caps each split');
  }
  const table = formatMixtureShift(report);
  assert.match(table, /FPR@0\.01\s+FPR@0\.05\s+worst split FPR@0\.01\s+worst split FPR@0\.05\s+mixtures 20%\s+power@0\.01\s+power@0\.05/);
  assert.match(table, /sources\s+4 splits\s+training\s+40\s/);
});

test('eval-mixtures --held-out: unknown settings and calibrations are clear errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'copydesk-shift-'));
  const data = join(dir, 'd.jsonl');
  writeFileSync(data, `${corpus().slice(0, 8).map((d) => JSON.stringify({ id: d.id, label: d.label, text: d.text, source: d.source, pair_id: d.pair_id })).join('\n')}\n`);
  const bad = copydesk(['eval-mixtures', '--data', data, '--held-out', 'planets', '--quiet']);
  // Commander's choices, as for every other choice flag: a usage error (exit 1) naming the allowed values.
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, /option '--held-out <settings\.\.\.>' argument 'planets' is invalid\. Allowed choices are stories, sources, topics\./);
  const unknown = copydesk(['eval-mixtures', '--data', data, '--held-out', 'sources', '--calibrations', 'nope', '--quiet']);
  assert.equal(unknown.code, 1, unknown.stderr);
  assert.match(unknown.stderr, /option '--calibrations <names\.\.\.>' argument 'nope' is invalid\. Allowed choices are story, story-simes, training/);
  const model = copydesk(['eval-mixtures', '--data', data, '--held-out', 'sources', '--model', data, '--quiet']);
  assert.match(model.stderr, /--held-out trains one model per held-out split/);
});

test('eval-mixtures refuses flags of the other mode instead of ignoring them, before reading any data', () => {
  const missing = join(tmpdir(), 'copydesk-no-such-data.jsonl');
  const refused = (args: string[], pattern: RegExp) => {
    const run = copydesk(['eval-mixtures', '--data', missing, ...args, '--quiet']);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, pattern);
    assert.doesNotMatch(run.stderr, /no-such-data/, 'refused before the data is read');
  };
  refused(['--max-test', '5'], /^copydesk: --max-test goes with --held-out only/);
  refused(['--calibrations', 'story', '--max-per-group', '9'], /--calibrations, --max-per-group go with --held-out only/);
  refused(['--held-out', 'stories', '--max-pairs', '3'], /--held-out .* cannot take --max-pairs or --level/);
  refused(['--held-out', 'stories', '--level', '0.2'], /cannot take --max-pairs or --level/);
  refused(['--model', missing, '--save-model', join(tmpdir(), 'copydesk-unused.cdm')], /with --model nothing is trained/);
});

test('default sentence calibration: story folds, Higher Criticism, per-source nulls (measured in reports/mixture-shift.md)', () => {
  assert.equal(DEFAULT_SENTENCE_CALIBRATION, 'story');
  assert.deepEqual(
    { folds: DEFAULT_SENTENCE_OPTIONS.folds, primary: DEFAULT_SENTENCE_OPTIONS.primary, sourceNulls: DEFAULT_SENTENCE_OPTIONS.sourceNulls },
    { folds: 'story', primary: 'hc', sourceNulls: true },
  );
  // what train/trainDetector fit by default: story folds even with four sources, HC decides
  const detector = trainDetector(corpus(), { ...fast, extensions: [createSentenceExtension()] });
  const calibration = detector.metadata.extensions[SENTENCE_EXTENSION] as SentenceCalibration;
  assert.match(calibration.held_out.method, /^3-fold by story/);
  assert.equal(calibration.primary, 'hc');
  const text = corpus()[0].text;
  const analysis = analyzeSentences(detector, detector.featurizer.prepare(text, { sentences: true }));
  assert.equal(analysis.mixture.test, 'hc');
  assert.equal(analysis.mixture.p_value, analysis.mixture.p_values.hc);
  assert.equal(analysis.mixture.machine_passage, analysis.mixture.p_values.hc <= analysis.mixture.level);
});
