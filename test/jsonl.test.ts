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
import { chunkRows, scoreRows, type Row } from '../src/detect/lines.js';
import { utf8Lines } from '../src/util/utf8.js';
import { loadDetector } from '../src/model/model-file.js';

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
