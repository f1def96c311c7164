/**
 * Oracle test: the shipped model's outputs, byte for byte, as recorded from
 * the code before the prepared-document redesign (test/fixtures/golden/record.sh).
 * Same probabilities, same sentences, same JSON bytes in every interface:
 * CLI JSON and text, JSONL (main thread and worker threads), batch rows, HTTP.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadDetector } from '../src/model/model-file.js';
import { buildApp } from '../src/server/app.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const G = 'test/fixtures/golden';
const TEXTS = ['council', 'summit', 'messy', 'short'].map((t) => `${G}/${t}.txt`);
const dir = mkdtempSync(join(tmpdir(), 'copydesk-golden-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function copydesk(args: string[]): string {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 120_000,
  });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

const golden = (name: string) => readFileSync(join(ROOT, G, name), 'utf8');

test('detect --json with sentences and evidence: same bytes', () => {
  assert.equal(copydesk(['detect', '--json', '--sentences', ...TEXTS]), golden('texts.sentences.json'));
});

test('detect --json without evidence: same bytes', () => {
  assert.equal(copydesk(['detect', '--json', '--no-evidence', ...TEXTS]), golden('texts.json'));
});

test('detect --sentences (text output): same bytes', () => {
  assert.equal(copydesk(['detect', '--sentences', ...TEXTS]), golden('texts.sentences.txt'));
});

test('detect --jsonl on the main thread: same bytes, error lines included', () => {
  assert.equal(copydesk(['detect', '--jsonl', `${G}/articles.jsonl`, '--skip-invalid', '--workers', '0', '--quiet']), golden('articles.out.jsonl'));
});

test('detect --jsonl --sentences on worker threads: same bytes as recorded on the main thread', () => {
  const args = ['detect', '--jsonl', `${G}/articles.jsonl`, '--skip-invalid', '--sentences', '--quiet'];
  assert.equal(copydesk([...args, '--workers', '2']), golden('articles.sentences.out.jsonl'));
});

test('batch --sentences rows: same bytes', () => {
  const output = join(dir, 'batch.jsonl');
  copydesk(['batch', '--input', `${G}/articles.jsonl`, '--output', output, '--skip-invalid', '--sentences', '--workers', '1', '--quiet']);
  assert.equal(readFileSync(output, 'utf8'), golden('batch.sentences.out.jsonl'));
});

test('POST /v1/detect: same bytes', async () => {
  const app = await buildApp({ detector: loadDetector(), audit: null, rateLimit: null });
  try {
    const texts = ['council', 'summit', 'messy'].map((t) => readFileSync(join(ROOT, G, `${t}.txt`), 'utf8'));
    const one = await app.inject({ method: 'POST', url: '/v1/detect', payload: { text: texts[0] } });
    const many = await app.inject({ method: 'POST', url: '/v1/detect', payload: { texts, evidence: false } });
    assert.equal(`${one.body}\n${many.body}\n`, golden('http.out.json'));
  } finally {
    await app.close();
  }
});
