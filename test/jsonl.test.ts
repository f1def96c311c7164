/**
 * detect --jsonl reads raw byte chunks and lets the scoring side split lines:
 * the lines, their numbers and the output must be exactly what node:readline
 * (crlfDelay: Infinity) gives, whatever the chunk and batch boundaries.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import readline from 'node:readline';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import { detectJsonlStream } from '../src/detect/jsonl.js';
import { chunkLines, scoreRows, type Row } from '../src/detect/lines.js';
import { loadDetector } from '../src/model/model-file.js';

const detector = loadDetector();
const line = (id: string, text: string) => JSON.stringify({ id, text });
const INPUTS: Record<string, string> = {
  lf: `${line('a', 'The council met on Tuesday.')}\n${line('b', 'Rain is expected — «again» — on Friday…')}\n`,
  crlf: `\uFEFF${line('a', 'First.')}\r\n\r\n${line('b', 'Second one here.')}\r\n`,
  'lone cr and no final break': `${line('a', 'One.')}\r${line('b', 'Two, ünïcödé.')}\n\n${line('c', 'Three.')}`,
  'bad lines': `${line('a', 'Fine text.')}\nnot json\n{"id":"e","text":""}\n${line('d', 'Also fine.')}\n`,
};

async function readlineRows(input: string): Promise<Row[]> {
  const rows: Row[] = [];
  let n = 0;
  for await (const text of readline.createInterface({ input: Readable.from([input]), crlfDelay: Infinity })) rows.push([text, ++n]);
  return rows;
}

async function viaStream(input: string, batchSize: number, split: number): Promise<string> {
  const bytes = Buffer.from(input, 'utf8');
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

for (const [name, input] of Object.entries(INPUTS)) {
  test(`JSONL chunks split and number lines as readline does: ${name}`, async () => {
    const rows = await readlineRows(input);
    assert.deepEqual(chunkLines(Buffer.from(input)), rows.map(([text]) => text));
    const expected = scoreRows(detector, rows, { file: 'in.jsonl', dataset: 'in', invalid: 'error-line' }).output;
    assert.ok(expected.length > 0);
    for (const batchSize of [1, 2, 256]) {
      for (const split of [1, 7, 1 << 16]) assert.equal(await viaStream(input, batchSize, split), expected, `batch ${batchSize}, pieces of ${split} bytes`);
    }
  });
}
