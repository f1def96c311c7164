import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, linkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertOutputsNotInputs } from '../src/util/paths.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'copydesk-robust-'));

function copydesk(args: string[], input?: string | Buffer) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
    input,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const TEXT =
  'Councillors voted 7-2 on Tuesday to delay the Harbor Street plan. "We weren\'t told until Friday," said Maria Keane, who has lived there since 1987. The meeting ran past midnight.';
const LABELED = [
  JSON.stringify({ id: 'a', text: TEXT, label: 'human', source: 's' }),
  JSON.stringify({ id: 'b', text: `Overall, the plan represents a crucial step. ${TEXT}`, label: 'machine', source: 's' }),
].join('\n') + '\n';

/** One clear line on stderr naming the problem, no stack trace. */
function assertOneLineError(result: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, pattern);
  assert.doesNotMatch(result.stderr, /internal error|\n\s+at /);
}

test('batch refuses an output that is its input, and leaves the input intact', () => {
  const file = join(dir, 'same.jsonl');
  writeFileSync(file, LABELED);
  const result = copydesk(['batch', '--input', file, '--output', file, '--quiet']);
  assertOneLineError(result, /refusing to write .*same\.jsonl: it is also an input/);
  assert.equal(readFileSync(file, 'utf8'), LABELED);
});

test('train refuses --out equal to --data (also through a symbolic link and a directory)', () => {
  const data = join(dir, 't.jsonl');
  writeFileSync(data, LABELED);
  assertOneLineError(copydesk(['train', '--data', data, '--out', data, '--quiet']), /refusing to write .*t\.jsonl/);
  assert.equal(readFileSync(data, 'utf8'), LABELED);
  const link = join(dir, 'link.jsonl');
  symlinkSync(data, link);
  assertOneLineError(copydesk(['train', '--data', data, '--out', link, '--quiet']), /refusing to write .*link\.jsonl/);
  assert.equal(readFileSync(data, 'utf8'), LABELED);
  assertOneLineError(copydesk(['train', '--data', dir, '--out', data, '--quiet']), /refusing to write/);
  assert.equal(readFileSync(data, 'utf8'), LABELED);
});

test('eval --plot, report --out/--json, eval-mixtures --save-model and generate --out refuse their inputs', () => {
  const data = join(dir, 'e.jsonl');
  writeFileSync(data, LABELED);
  assertOneLineError(copydesk(['eval', '--data', data, '--plot', data, '--quiet']), /refusing to write/);
  assertOneLineError(copydesk(['report', '--data', data, '--json', data]), /refusing to write/);
  const md = join(dir, 'r.md');
  assertOneLineError(copydesk(['report', '--data', data, '--out', md, '--json', md]), /same file as the output/);
  assertOneLineError(copydesk(['eval-mixtures', '--data', data, '--save-model', data, '--quiet']), /refusing to write/);
  assertOneLineError(copydesk(['generate', '--data', data, '--out', data, '--endpoint', 'http://127.0.0.1:9', '--model', 'm']), /refusing to write/);
  assert.equal(readFileSync(data, 'utf8'), LABELED);
  assert.equal(existsSync(md), false);
});

test('assertOutputsNotInputs: links, hard links, directories and globs; unrelated outputs pass', async () => {
  const sub = join(dir, 'guard');
  mkdirSync(join(sub, 'data'), { recursive: true });
  const data = join(sub, 'data', 'x.jsonl');
  writeFileSync(data, LABELED);
  const hard = join(sub, 'hard.jsonl');
  linkSync(data, hard);
  await assert.rejects(assertOutputsNotInputs([hard], [data]), /hard\.jsonl: it is also an input/);
  await assert.rejects(assertOutputsNotInputs([join(sub, 'data', 'new.jsonl')], [join(sub, 'data')]), /new\.jsonl/);
  await assert.rejects(assertOutputsNotInputs([join(sub, 'data', 'y.parquet')], [join(sub, 'data', '*.parquet')]), /y\.parquet/);
  await assert.rejects(assertOutputsNotInputs([join(sub, 'data', 'sub', '..', 'x.jsonl')], [data]), /it is also an input/);
  // A model file beside the data is not data; stdout and unset flags are ignored.
  await assertOutputsNotInputs([join(sub, 'data', 'model.cdm'), '-', undefined], [join(sub, 'data'), '-']);
  await assertOutputsNotInputs([join(sub, 'out.jsonl')], [join(sub, 'data', '*.jsonl')]);
});
