import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copydesk, ROOT } from './fixtures/cli.js';
import { syntheticCorpus } from './fixtures/core/synthetic.js';
import { LONG_ENGLISH } from './fixtures/core/texts.js';
import { loadDetector } from '../src/model/model-file.js';

const dir = mkdtempSync(join(tmpdir(), 'copydesk-cli-'));


const HUMAN_TEXT =
  'Councillors voted 7-2 on Tuesday to delay the Harbor Street plan. "We weren\'t told until Friday," said Maria Keane, who has lived there since 1987. The meeting ran past midnight.';

test('detect prints a verdict, probability and evidence for a text file', () => {
  const file = join(dir, 'story.txt');
  writeFileSync(file, LONG_ENGLISH);
  const { code, stdout } = copydesk(['detect', file]);
  assert.equal(code, 0);
  assert.match(stdout, /story\.txt: (HUMAN|MACHINE)-WRITTEN \(machine probability \d+\.\d%, threshold \d+\.\d%\)/);
  assert.match(stdout, /strongest evidence:/);
});

test('detect says UNCERTAIN, and why, for a text too short to judge; JSON carries the reason codes', () => {
  const file = join(dir, 'note.txt');
  writeFileSync(file, HUMAN_TEXT);
  const text = copydesk(['detect', file]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /note\.txt: UNCERTAIN — text too short to judge \(\d+ words; needs ≥ \d+\) \(not judged; machine probability \d+\.\d%, threshold \d+\.\d%\)/);
  const json = JSON.parse(copydesk(['detect', '--json', file]).stdout);
  assert.equal(json.verdict, 'uncertain');
  assert.deepEqual(json.reasons, ['too_short']);
  assert.ok(json.machine_probability >= 0 && json.machine_probability <= 1);
  const line = JSON.parse(copydesk(['detect', '--jsonl', '-', '--workers', '0'], JSON.stringify({ id: 'n', text: HUMAN_TEXT })).stdout);
  assert.deepEqual(Object.keys(line), ['id', 'machine_probability', 'verdict', 'reasons']);
  assert.equal(line.machine_probability, json.machine_probability);
});

test('detect --json reads stdin and returns the documented fields', () => {
  const { code, stdout } = copydesk(['detect', '--json', '-'], LONG_ENGLISH);
  assert.equal(code, 0);
  const result = JSON.parse(stdout);
  assert.ok(result.machine_probability >= 0 && result.machine_probability <= 1);
  assert.ok(['human', 'machine'].includes(result.verdict));
  assert.equal(result.verdict, result.machine_probability >= result.threshold ? 'machine' : 'human');
  assert.match(result.model_version, /\//);
  assert.ok(Array.isArray(result.evidence));
});

test('detect --jsonl keeps every line in input order, with or without worker threads', () => {
  const lines: string[] = [];
  const expectedIds: string[] = [];
  for (let i = 0; i < 700; i++) {
    if (i % 100 === 7) {
      lines.push(JSON.stringify({ id: `pair${i}`, article: HUMAN_TEXT, highlights: 'h', chatgpt: `Overall, the plan represents a crucial step ${i}.` }));
      expectedIds.push(`pair${i}:human`, `pair${i}:chatgpt`);
    } else {
      lines.push(JSON.stringify({ id: `doc${i}`, text: `${HUMAN_TEXT} Item ${i}.` }));
      expectedIds.push(`doc${i}`);
    }
  }
  const file = join(dir, 'many.jsonl');
  writeFileSync(file, `${lines.join('\n')}\n`);
  const threaded = copydesk(['detect', '--jsonl', file, '--workers', '2']);
  const inline = copydesk(['detect', '--jsonl', '-', '--workers', '0'], readFileSync(file, 'utf8'));
  assert.equal(threaded.code, 0, threaded.stderr);
  assert.equal(inline.code, 0, inline.stderr);
  const rows = threaded.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(rows.map((r) => r.id), expectedIds);
  for (const r of rows) {
    assert.ok(r.machine_probability >= 0 && r.machine_probability <= 1);
    assert.ok(r.verdict === 'human' || r.verdict === 'machine' || (r.verdict === 'uncertain' && r.reasons.length > 0));
  }
  assert.equal(threaded.stdout, inline.stdout);
});

test('detect --jsonl stops on a bad line naming file, line and field; --skip-invalid keeps its place', () => {
  const file = join(dir, 'bad.jsonl');
  writeFileSync(file, [JSON.stringify({ id: 'a', text: HUMAN_TEXT }), JSON.stringify({ id: 'b', body: 'no text field' }), '{not json', JSON.stringify({ id: 'd', text: '  ' })].join('\n'));
  const strict = copydesk(['detect', '--jsonl', file, '--workers', '0']);
  assert.equal(strict.code, 2);
  assert.match(strict.stderr, /bad\.jsonl:2: .*"text"/);
  assert.doesNotMatch(strict.stderr, /at .*\.ts:\d+/, 'no stack trace');
  const lenient = copydesk(['detect', '--jsonl', file, '--workers', '0', '--skip-invalid']);
  assert.equal(lenient.code, 0, lenient.stderr);
  const rows = lenient.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(rows.map((r) => r.id), ['a', 'b', null, 'd']);
  assert.equal(rows[1].verdict, null);
  assert.match(rows[1].error, /bad\.jsonl:2/);
  assert.match(rows[2].error, /bad\.jsonl:3: invalid JSON/);
  assert.match(rows[3].error, /empty/);
});

test('missing files and models give one clear line, not a stack trace', () => {
  const missing = copydesk(['detect', join(dir, 'nope.txt')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^copydesk: cannot read .*nope\.txt: no such file or directory \(ENOENT\)\n$/);
  const directory = copydesk(['detect', dir]);
  assert.equal(directory.code, 2);
  assert.match(directory.stderr, /^copydesk: cannot read .*: it is a directory \(EISDIR\); detect reads text files .*copydesk batch --input .*\n$/);
  const badModel = copydesk(['detect', '--model', join(dir, 'nope.cdm'), '-'], 'text');
  assert.equal(badModel.code, 2);
  assert.match(badModel.stderr, /^copydesk: cannot read model file .*nope\.cdm: no such file or directory \(ENOENT\)\n$/);
});

test('report checks --parts and --max-per-group before reading any data', () => {
  const missing = join(dir, 'no-such-data.jsonl');
  const parts = copydesk(['report', '--data', missing, '--parts', 'source,planets']);
  assert.equal(parts.code, 1);
  assert.match(parts.stderr, /--parts: unknown part "planets" \(choose from source, domain, generator\)/);
  assert.doesNotMatch(parts.stderr, /no-such-data/, 'refused before the data is read');
  const cap = copydesk(['report', '--data', missing, '--max-per-group', '0']);
  assert.match(cap.stderr, /--max-per-group must be a positive integer, got "0"/);
});

test('train writes a model that eval scores, with a plot', () => {
  const data = join(dir, 'train.jsonl');
  writeFileSync(data, syntheticCorpus(50, 3).map((d) => JSON.stringify({ id: d.id, label: d.label, text: d.text, generator: d.generator, source: d.source, pair_id: d.pair_id, domain: d.domain })).join('\n'));
  const test = join(dir, 'test.jsonl');
  writeFileSync(test, syntheticCorpus(20, 4).map((d) => JSON.stringify({ id: d.id, label: d.label, text: d.text, generator: d.generator, source: d.source })).join('\n'));
  const model = join(dir, 'small.cdm');
  const trained = copydesk(['train', '--data', data, '--out', model, '--folds', '2', '--iterations', '30']);
  assert.equal(trained.code, 0, trained.stderr);
  assert.ok(existsSync(model));
  assert.match(trained.stdout, /default threshold: 0\.\d+/);
  assert.match(trained.stdout, /verdicts at the default threshold[^\n]*\n.*uncertain \(human\).*\n-+.*\ntrain +50 +50 /, 'the verdict table per group is printed');
  const stored = loadDetector(model).metadata;
  assert.deepEqual(stored.evaluation.verdicts?.map((r) => r.group), ['train']);
  assert.doesNotMatch(stored.threshold_rule, /left out/);
  const excluding = join(dir, 'excluding.cdm');
  assert.equal(copydesk(['train', '--data', data, '--out', excluding, '--folds', '2', '--iterations', '10', '--quiet', '--threshold-exclude', 'train']).code, 0);
  assert.match(loadDetector(excluding).metadata.threshold_rule, /left out: train\)$/);
  assert.equal(loadDetector(excluding).metadata.calibration.length?.kind, 'log_words', 'length-aware calibration by default');
  const plain = join(dir, 'plain.cdm');
  assert.equal(copydesk(['train', '--data', data, '--out', plain, '--folds', '2', '--iterations', '10', '--quiet', '--no-length-calibration']).code, 0);
  assert.equal(loadDetector(plain).metadata.calibration.length, undefined, '--no-length-calibration: plain Platt scaling');
  assert.equal(loadDetector(plain).metadata.training.options.lengthCalibration, false);
  assert.match(trained.stderr, /featurize/, 'progress is shown on stderr');
  const plot = join(dir, 'roc.svg');
  const evaluated = copydesk(['eval', '--data', test, '--model', model, '--json', '--plot', plot]);
  assert.equal(evaluated.code, 0, evaluated.stderr);
  const report = JSON.parse(evaluated.stdout);
  assert.equal(report.overall.n, 40);
  assert.ok(report.overall.auroc > 0.95);
  for (const key of ['tpr_at_1pct_fpr', 'tpr_at_0_1pct_fpr', 'f1', 'fpr', 'ece', 'average_precision']) assert.ok(key in report.overall, key);
  assert.deepEqual(report.by_generator.map((r: { group: string }) => r.group), ['model-a', 'model-b']);
  assert.equal(report.by_source.length, 2);
  const v = report.verdicts.overall;
  assert.equal(v.n, 40);
  assert.ok(Math.abs(v.coverage + v.uncertain - 1) < 1e-9);
  assert.ok(v.fpr <= report.overall.fpr + 1e-9, 'uncertain texts are not counted as flagged');
  assert.deepEqual(report.verdicts.by_source.map((r: { group: string }) => r.group), report.by_source.map((r: { group: string }) => r.group));
  assert.match(readFileSync(plot, 'utf8'), /^<svg[\s\S]*<\/svg>\s*$/);
  const text = copydesk(['eval', '--data', test, '--model', model]);
  assert.match(text.stdout, /confusion at threshold/);
  assert.match(text.stdout, /by generator/);
  assert.match(text.stdout, /verdicts: \d+\.\d+% judged, \d+\.\d+% uncertain; FPR counting only "machine" verdicts/);
  assert.match(text.stdout, /verdicts by source/);
});

test('detect refuses an empty text with a clear message instead of a verdict on nothing', () => {
  const { code, stdout, stderr } = copydesk(['detect', '-'], '  \n\t ');
  assert.equal(code, 2);
  assert.equal(stdout, '');
  assert.match(stderr, /^copydesk: stdin: the text is empty \(after normalisation\); nothing to score\n$/);
});
