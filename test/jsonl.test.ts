/**
 * detect --jsonl reads raw byte chunks and lets the scoring side split lines:
 * the lines, their numbers and the output must be exactly what util/utf8.ts
 * utf8Lines gives (strict UTF-8 per line), whatever the chunk and batch boundaries.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import { detectJsonlStream } from '../src/detect/jsonl.js';
import { chunkRows, scoreRows, type Row, type ScoredRows } from '../src/detect/lines.js';
import { HelpingScorer, type Scorer } from '../src/detect/pool.js';
import { utf8Lines } from '../src/util/utf8.js';
import { UserError } from '../src/util/errors.js';
import { DEFAULT_MODEL_PATH, loadDetector } from '../src/model/model-file.js';

const detector = loadDetector();
const line = (id: string, text: string) => JSON.stringify({ id, text });
const INPUTS: Record<string, string> = {
  lf: `${line('a', 'The council met on Tuesday.')}\n${line('b', 'Rain is expected — «again» — on Friday…')}\n`,
  crlf: `\uFEFF${line('a', 'First.')}\r\n\r\n${line('b', 'Second one here.')}\r\n`,
  'no final break': `${line('a', 'One.')}\n${line('b', 'Two, ünïcödé.')}\n\n${line('c', 'Three.')}`,
  'bad lines': `${line('a', 'Fine text.')}\nnot json\n{"id":"e","text":""}\n${line('d', 'Also fine.')}\n`,
};

async function referenceRows(input: Buffer): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const l of utf8Lines(Readable.from([input]))) rows.push('invalid' in l ? [l.invalid, l.line, true] : [l.text, l.line]);
  return rows;
}

async function viaStream(bytes: Buffer, batchSize: number, split: number): Promise<string> {
  // Deliver the input in pieces of `split` bytes, cutting through lines and characters.
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += split) pieces.push(bytes.subarray(i, i + split));
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await detectJsonlStream(Readable.from(pieces), out, detector, { file: 'in.jsonl', dataset: 'in', skipInvalid: true, modelPath: '', workers: 0, batchSize });
  out.end();
  await once(out, 'end');
  return Buffer.concat(chunks).toString('utf8');
}

const CASES: Record<string, Buffer> = Object.fromEntries(Object.entries(INPUTS).map(([name, text]) => [name, Buffer.from(text, 'utf8')]));
CASES['invalid UTF-8'] = Buffer.concat([Buffer.from(`${line('a', 'Fine.')}\n{"id":"b","text":"caf`), Buffer.from([0xe9]), Buffer.from(`"}\n${line('c', 'Also fine.')}\n`)]);

for (const [name, input] of Object.entries(CASES)) {
  test(`JSONL chunks split and number lines as utf8Lines does: ${name}`, async () => {
    const rows = await referenceRows(input);
    assert.deepEqual(chunkRows(input, 1), rows);
    const expected = scoreRows(detector, rows, { file: 'in.jsonl', dataset: 'in', invalid: 'error-line' }).output;
    assert.ok(expected.length > 0);
    for (const batchSize of [1, 2, 256]) {
      for (const split of [1, 7, 1 << 16]) assert.equal(await viaStream(input, batchSize, split), expected, `batch ${batchSize}, pieces of ${split} bytes`);
    }
  });
}

test('HelpingScorer: a request goes to the pool while it has room, and is scored here when it is full', async () => {
  const calls: string[] = [];
  const pending: Array<() => void> = [];
  const reply = (by: string): ScoredRows => ({ output: `${by}\n`, rowsIn: 1, rowsOut: 1, skips: {}, firstSkip: {} });
  const pool = {
    threads: 1,
    get full() {
      return pending.length >= 2;
    },
    scoreRows: () => {
      calls.push('pool');
      return new Promise<ScoredRows>((resolve) => pending.push(() => resolve(reply('pool'))));
    },
  } as unknown as Scorer & { full: boolean };
  const here = { scoreRows: async () => (calls.push('here'), reply('here')) } as unknown as Scorer;
  const scorer = new HelpingScorer(pool, here);
  const rows: Row[] = [['{}', 1]];
  const options = { file: 'in.jsonl', dataset: 'in', invalid: 'stop' } as const;
  const first = [1, 2, 3, 4].map(() => scorer.scoreRows(rows, options));
  assert.deepEqual(calls, ['pool', 'pool', 'here', 'here']);
  pending.shift()!();
  assert.equal((await first[0]).output, 'pool\n');
  assert.equal((await first[2]).output, 'here\n');
  void scorer.scoreRows(rows, options);
  assert.deepEqual(calls.slice(4), ['pool'], 'room again: back to the pool');
  for (const release of pending.splice(0)) release();
  assert.equal(scorer.threads, 1);
});

test('detect --jsonl with scoring threads and the calling thread helping writes what the calling thread alone writes', async () => {
  const texts = ['The council met on Tuesday to discuss the budget.', 'Rain is expected — «again» — on Friday…', 'not json', 'Officials said the bridge would reopen in May after repairs.'];
  const input = Buffer.from(Array.from({ length: 120 }, (_, i) => (i % 4 === 2 ? texts[2] : line(`d${i}`, `${texts[i % 4]} Item ${i}.`))).join('\n') + '\n');
  const run = async (workers: number) => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const summary = await detectJsonlStream(Readable.from([input]), out, workers === 0 ? detector : null, { file: 'in.jsonl', dataset: 'in', skipInvalid: true, modelPath: DEFAULT_MODEL_PATH, workers, batchSize: 3 });
    out.end();
    await once(out, 'end');
    return { text: Buffer.concat(chunks).toString('utf8'), summary };
  };
  const alone = await run(0);
  assert.equal(alone.text.split('\n').length - 1, 120);
  assert.match(alone.text, /"error":"in\.jsonl:3: /);
  const helped = await run(3);
  assert.equal(helped.text, alone.text);
  assert.deepEqual(helped.summary, alone.summary);
});

test('detect --jsonl with scoring threads: a model file that cannot be read is one clear error naming it (the threads started are closed, or this test would not end)', async () => {
  const out = new PassThrough();
  await assert.rejects(
    detectJsonlStream(Readable.from([Buffer.from(`${line('a', 'Text.')}\n`)]), out, null, { file: 'in.jsonl', dataset: 'in', skipInvalid: false, modelPath: '/nonexistent/model.cdm', workers: 2 }),
    (error: unknown) => error instanceof UserError && /\/nonexistent\/model\.cdm/.test(error.message),
  );
});
