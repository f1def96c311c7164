import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copydesk } from './fixtures/cli.js';

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
