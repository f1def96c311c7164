import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copydesk } from './fixtures/cli.js';
import { loadDetector, saveDetector } from '../src/model/model-file.js';
import { UserError } from '../src/util/errors.js';

/** Bad inputs and output paths found by an audit: each must give one clear line, never a result of nothing or a stack trace. */

const dir = mkdtempSync(join(tmpdir(), 'copydesk-audit-'));

const TEXT = 'The council voted on Tuesday to approve a new budget for parks and libraries, officials said after the meeting.';

function assertOneLineError(result: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, pattern);
  assert.doesNotMatch(result.stderr, /internal error|\n\s+at /, 'no stack trace');
}

test('eval on a file with no rows, or only blank lines, is an error, not an empty report that exits 0', () => {
  const empty = join(dir, 'empty.jsonl');
  writeFileSync(empty, '');
  const blank = join(dir, 'blank.jsonl');
  writeFileSync(blank, '\n  \r\n\n');
  for (const file of [empty, blank]) {
    const result = copydesk(['eval', '--data', file, '--quiet']);
    assertOneLineError(result, new RegExp(`no documents in ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.equal(result.stdout, '', 'no report of nothing');
  }
});

test('eval --skip-invalid where every row is skipped says so, with the reasons', () => {
  const file = join(dir, 'all-bad.jsonl');
  writeFileSync(file, `["an array"]\n"a string"\n${JSON.stringify({ id: 'x', label: 'robot', text: TEXT })}\n`);
  const result = copydesk(['eval', '--data', file, '--quiet', '--skip-invalid']);
  assertOneLineError(result, /no documents in .*all-bad\.jsonl \(skipped 3 rows: 2 not a JSON object, 1 bad label\)/);
  assert.equal(result.stdout, '');
});

test('train and calibrate refuse an output in a missing directory, or one that is a directory, before reading any data', () => {
  const data = join(dir, 'labeled.jsonl');
  writeFileSync(data, `${JSON.stringify({ id: 'h', label: 'human', text: TEXT })}\n`);
  const missing = join(dir, 'no-such-dir', 'model.cdm');
  const trainMissing = copydesk(['train', '--data', data, '--out', missing, '--quiet']);
  assertOneLineError(trainMissing, /cannot write .*no-such-dir\/model\.cdm: directory .*no-such-dir does not exist/);
  assert.doesNotMatch(trainMissing.stderr, /read \d+ documents/, 'refused before reading (and training)');

  const outDir = join(dir, 'models');
  mkdirSync(outDir);
  const trainDir = copydesk(['train', '--data', data, '--out', outDir, '--quiet']);
  assertOneLineError(trainDir, /cannot write .*models: it is a directory/);
  assert.ok(!readdirSync(dir).some((name) => name.includes('.tmp-')), 'no temporary model file left beside it');

  const underFile = join(data, 'model.cdm');
  assertOneLineError(copydesk(['train', '--data', data, '--out', underFile, '--quiet']), /labeled\.jsonl is not a directory/);

  const calibrate = copydesk(['calibrate', '--human', data, '--out', missing, '--quiet']);
  assertOneLineError(calibrate, /cannot write .*no-such-dir\/model\.cdm: directory .*no-such-dir does not exist/);
  const plot = copydesk(['eval', '--data', data, '--plot', join(dir, 'no-such-dir', 'roc.svg'), '--quiet']);
  assertOneLineError(plot, /cannot write .*roc\.svg: directory .*no-such-dir does not exist/);
});

test('eval on one class says which metrics are undefined, and never prints NaN', () => {
  const human = join(dir, 'only-human.jsonl');
  writeFileSync(human, [0, 1, 2].map((i) => JSON.stringify({ id: `h${i}`, text: `${TEXT} Story ${i}.`, label: 'human' })).join('\n') + '\n');
  const run = copydesk(['eval', '--data', human, '--quiet']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /no machine-labelled documents: AUROC, .* undefined/);
  assert.doesNotMatch(run.stdout, /NaN/);
  const json = copydesk(['eval', '--data', human, '--quiet', '--json']);
  assert.equal(JSON.parse(json.stdout).overall.auroc, null);
});

test('eval --plot that cannot be written names the plot file, after printing the report', () => {
  const data = join(dir, 'plot-data.jsonl');
  writeFileSync(data, ['human', 'machine'].map((label, i) => JSON.stringify({ id: `p${i}`, text: `${TEXT} Story ${i}.`, label })).join('\n') + '\n');
  const run = copydesk(['eval', '--data', data, '--plot', '/dev/full', '--quiet']);
  assertOneLineError(run, /^copydesk: cannot write \/dev\/full: no space left on the device \(ENOSPC, write\)\n$/);
  assert.match(run.stdout, /^documents: 2 \(1 human, 1 machine\)/, 'the report is not lost');
});

test('saveDetector that cannot write names the model path and leaves no temporary file behind', () => {
  const target = join(dir, 'taken');
  mkdirSync(target);
  const detector = loadDetector();
  assert.throws(
    () => saveDetector(detector, target),
    (error: unknown) => error instanceof UserError && error.message.startsWith(`cannot write ${target}: it is a directory`) && !error.message.includes('.tmp-'),
  );
  assert.deepEqual(readdirSync(dir).filter((name) => name.includes('.tmp-')), []);
});

test('saveDetector refuses a path that is a pipe or device instead of renaming a file over it', () => {
  // Write-then-rename would replace the node itself: --out /dev/null, run as root, left a 4 MB regular file in /dev.
  const fifo = join(dir, 'model.fifo');
  execFileSync('mkfifo', [fifo]);
  assert.throws(
    () => saveDetector(loadDetector(), fifo),
    (error: unknown) => error instanceof UserError && error.message === `cannot write ${fifo}: it is not a regular file; a model file must go to a regular file`,
  );
  assert.ok(statSync(fifo).isFIFO(), 'the pipe is still there');
  assert.deepEqual(readdirSync(dir).filter((name) => name.includes('.tmp-')), []);
});

test('saveDetector through a symbolic link writes the file it points to and keeps the link', () => {
  const real = join(dir, 'real-model.cdm');
  const link = join(dir, 'link-model.cdm');
  writeFileSync(real, 'old');
  symlinkSync(real, link);
  saveDetector(loadDetector(), link);
  assert.ok(lstatSync(link).isSymbolicLink(), 'the link is still a link');
  assert.equal(loadDetector(real).version, loadDetector().version, 'the model went to the file it points to');
  // A link to a device is refused like the device.
  const fifo = join(dir, 'linked.fifo');
  execFileSync('mkfifo', [fifo]);
  const toFifo = join(dir, 'link-to-fifo');
  symlinkSync(fifo, toFifo);
  assert.throws(() => saveDetector(loadDetector(), toFifo), /it is not a regular file/);
  assert.ok(lstatSync(toFifo).isSymbolicLink());
});

test('a directory input that holds x.jsonl and x.csv says, once, that it reads only x.jsonl', () => {
  const data = join(dir, 'twins');
  mkdirSync(data);
  writeFileSync(join(data, 'x.jsonl'), `${JSON.stringify({ id: 'j', text: TEXT })}\n`);
  writeFileSync(join(data, 'x.csv'), `id,text\nc,"${TEXT}"\n`);
  const output = join(dir, 'twins-out.jsonl');
  const result = copydesk(['batch', '--input', data, '--output', output, '--workers', '1', '--progress', 'none']);
  assert.equal(result.code, 0, result.stderr);
  const notes = result.stderr.split('\n').filter((line) => line.includes('not reading'));
  assert.equal(notes.length, 1, result.stderr);
  assert.match(notes[0], /not reading .*twins\/x\.csv: x\.jsonl beside it has the same name/);
  assert.deepEqual(readFileSync(output, 'utf8').trim().split('\n').map((line) => JSON.parse(line).id), ['j']);
});

test('a directory or glob says which data-like files it passes over (JSON arrays, TSV, compressed JSON lines …), not READMEs', () => {
  const data = join(dir, 'mixed');
  mkdirSync(join(data, 'more'), { recursive: true });
  writeFileSync(join(data, 'a.jsonl'), `${JSON.stringify({ id: 'a', text: TEXT })}\n`);
  writeFileSync(join(data, 'b.json'), JSON.stringify([{ id: 'b', text: TEXT }]));
  writeFileSync(join(data, 'more', 'c.csv.gz'), 'not really gzip');
  writeFileSync(join(data, 'README.md'), '# about\n');
  writeFileSync(join(data, 'LICENSE.txt'), 'licence\n');
  const output = join(dir, 'mixed-out.jsonl');
  const result = copydesk(['batch', '--input', data, '--output', output, '--workers', '1', '--progress', 'none']);
  assert.equal(result.code, 0, result.stderr);
  const notes = result.stderr.split('\n').filter((line) => line.includes('not reading'));
  assert.equal(notes.length, 1, result.stderr);
  assert.match(notes[0], /not reading 2 files in a format copydesk does not read \(it reads \.jsonl, .*\): .*mixed\/b\.json, .*mixed\/more\/c\.csv\.gz; convert them/);
  assert.doesNotMatch(notes[0], /README|LICENSE/);
  assert.deepEqual(readFileSync(output, 'utf8').trim().split('\n').map((line) => JSON.parse(line).id), ['a']);
  // A glob notes only what it matches; one that matches only such files says so before its error.
  const glob = copydesk(['eval', '--data', join(data, '*.json'), '--quiet']);
  assertOneLineError({ code: glob.code, stderr: glob.stderr.split('\n').filter((l) => !l.includes('note:')).join('\n') }, /no data files .* found for: .*mixed\/\*\.json/);
  assert.match(glob.stderr, /not reading 1 file in a format copydesk does not read .*: .*mixed\/b\.json; convert it/);
  assert.doesNotMatch(glob.stderr, /c\.csv\.gz/);
});

test('eval on few human texts says that TPR at 1% / 0.1% FPR is then the TPR at no false positive; not on one class', () => {
  const few = join(dir, 'few.jsonl');
  const rows = [0, 1, 2, 3, 4, 5].flatMap((i) => [
    { id: `h${i}`, text: `${TEXT} Story ${i}.`, label: 'human' },
    { id: `m${i}`, text: `In today's rapidly evolving landscape, it is important to note that story ${i} highlights a pivotal moment for the community.`, label: 'machine' },
  ]);
  writeFileSync(few, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const run = copydesk(['eval', '--data', few, '--quiet']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^TPR at 1% and 0\.1% FPR: with 6 human texts both are the TPR at no false positive at all \(1% needs ≥ 100 human texts, 0\.1% ≥ 1,000\)/m);
  const onlyHuman = join(dir, 'few-human.jsonl');
  writeFileSync(onlyHuman, rows.filter((r) => r.label === 'human').map((r) => JSON.stringify(r)).join('\n') + '\n');
  const human = copydesk(['eval', '--data', onlyHuman, '--quiet']);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /no machine-labelled documents/);
  assert.doesNotMatch(human.stdout, /no false positive at all/, 'one class: the undefined-metrics note says it all');
});
