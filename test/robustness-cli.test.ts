import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, openSync, readFileSync, symlinkSync, linkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copydesk, ROOT } from './fixtures/cli.js';
import { assertOutputsNotInputs } from '../src/corpus/paths.js';
import { ioErrorToUserError } from '../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'copydesk-robust-'));


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

// ---------------------------------------------------------------- item 2: what is not an article

test('detect refuses binary files, invalid UTF-8 and text that is empty after normalisation, naming the input', () => {
  const binary = join(dir, 'ls.bin');
  writeFileSync(binary, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00, 0x41, 0x42]));
  assertOneLineError(copydesk(['detect', binary]), /ls\.bin: binary data, not text \(NUL byte at offset 6\)/);
  const latin1 = join(dir, 'latin1.txt');
  writeFileSync(latin1, Buffer.from(`${TEXT} Caf\xe9 au lait.`, 'latin1'));
  assertOneLineError(copydesk(['detect', latin1]), /latin1\.txt: not valid UTF-8/);
  assertOneLineError(copydesk(['detect', '-'], Buffer.from([0xff, 0xfe, 0x41, 0x00])), /stdin: binary data/);
  assertOneLineError(copydesk(['detect', '-'], ' \n\t\u200B\u00AD \n'), /stdin: the text is empty \(after normalisation\)/);
});

test('detect --jsonl names file, line and field of undecodable text; --skip-invalid keeps the line', () => {
  const file = join(dir, 'bad-utf8.jsonl');
  const good = Buffer.from(`${JSON.stringify({ id: 'a', text: TEXT })}\n`);
  const [before, after] = JSON.stringify({ id: 'b', text: `Caf@ ${TEXT}` }).split('@');
  const bad = Buffer.concat([Buffer.from(before), Buffer.from([0xe9]), Buffer.from(`${after}\n`)]);
  writeFileSync(file, Buffer.concat([good, bad, Buffer.from(`${JSON.stringify({ id: 'c', text: '   ' })}\n`)]));
  assertOneLineError(copydesk(['detect', '--jsonl', file, '--workers', '0']), /bad-utf8\.jsonl:2: field "text" is not valid UTF-8/);
  const skipped = copydesk(['detect', '--jsonl', file, '--workers', '0', '--skip-invalid']);
  assert.equal(skipped.code, 0, skipped.stderr);
  const lines = skipped.stdout.trim().split('\n').map((line) => JSON.parse(line));
  assert.deepEqual(lines.map((l) => l.id), ['a', 'b', 'c']);
  assert.match(lines[1].error, /:2: field "text" is not valid UTF-8/);
  assert.match(lines[2].error, /:3: field "text" is empty/);
});

test('detect --jsonl refuses a numeric id too large to be exact; its error line does not carry the rounded id', () => {
  const file = join(dir, 'big-ids.jsonl');
  // Both parse to 12345678901234567000: scored, they came out as two rows with one id.
  writeFileSync(file, `{"id":12345678901234567890,"text":${JSON.stringify(TEXT)}}\n{"id":12345678901234567891,"text":${JSON.stringify(TEXT)}}\n`);
  assertOneLineError(copydesk(['detect', '--jsonl', file, '--workers', '0']), /big-ids\.jsonl:1: field "id" is a number too large to be exact/);
  const skipped = copydesk(['detect', '--jsonl', file, '--workers', '0', '--skip-invalid']);
  assert.equal(skipped.code, 0, skipped.stderr);
  const lines = skipped.stdout.trim().split('\n').map((line) => JSON.parse(line));
  assert.deepEqual(lines.map((l) => [l.id, l.line, l.verdict]), [[null, 1, null], [null, 2, null]]);
});

test('corpus readers name file, line and field of undecodable or binary text', async () => {
  const { readAllDocuments } = await import('../src/corpus/index.js');
  const file = join(dir, 'corpus-bad.jsonl');
  writeFileSync(file, Buffer.concat([Buffer.from(`${LABELED}{"text": "x`), Buffer.from([0xc3, 0x28]), Buffer.from('y", "label": "human"}\n')]));
  await assert.rejects(readAllDocuments([file], { requireLabels: true }), /corpus-bad\.jsonl:3: field "text" is not valid UTF-8/);
  const nul = join(dir, 'corpus-nul.jsonl');
  writeFileSync(nul, `${JSON.stringify({ text: `${TEXT}\u0000\u0001`, label: 'human' })}\n`);
  await assert.rejects(readAllDocuments([nul], { requireLabels: true }), /corpus-nul\.jsonl:1: field "text" contains NUL characters/);
  const csv = join(dir, 'corpus-bad.csv');
  writeFileSync(csv, Buffer.concat([Buffer.from('text,label\n"The council met, and voted.",human\n"Caf'), Buffer.from([0xe9]), Buffer.from('",human\n')]));
  await assert.rejects(readAllDocuments([csv], { requireLabels: true }), /corpus-bad\.csv:3: not valid UTF-8/);
});

test('the HTTP API answers 400 {error, message, status} for text that is empty after normalisation, and audits nothing', async () => {
  const { buildApp } = await import('../src/server/app.js');
  const { loadDetector } = await import('../src/model/model-file.js');
  const recorded: unknown[] = [];
  const audit = { record: async (texts: unknown) => void recorded.push(texts), close() {} };
  const app = await buildApp({ detector: loadDetector(join(ROOT, 'models/default.cdm')), rateLimit: null, audit: audit as never });
  try {
    // The empty string is the plainest empty text: the same code as whitespace, not a schema message.
    for (const payload of [{ text: '   \n\t ' }, { texts: [TEXT, '\u200B\u200B'] }, { text: '' }, { texts: [TEXT, ''] }]) {
      const response = await app.inject({ method: 'POST', url: '/v1/detect', payload });
      assert.equal(response.statusCode, 400);
      const body = response.json();
      assert.equal(body.error, 'empty_text');
      assert.equal(body.status, 400);
      assert.match(body.message, /empty \(after normalisation\)/);
      assert.equal(body.field, 'texts' in payload ? 'texts[1]' : 'text');
    }
    // NUL characters mean binary data (UTF-16 read as UTF-8 has one after every ASCII letter): refused, as detect and JSON lines refuse them.
    const utf16 = Buffer.from(TEXT, 'utf16le').toString('latin1');
    for (const payload of [{ text: utf16 }, { texts: [TEXT, `${TEXT}\u0000`] }]) {
      const response = await app.inject({ method: 'POST', url: '/v1/detect', payload });
      assert.equal(response.statusCode, 400, response.body);
      const body = response.json();
      assert.equal(body.error, 'binary_text');
      assert.match(body.message, /NUL characters/);
      assert.equal(body.field, 'texts' in payload ? 'texts[1]' : 'text');
    }
    assert.equal(recorded.length, 0);
    const models = (await app.inject({ method: 'GET', url: '/v1/models' })).json();
    assert.deepEqual(models.models[0].warnings, []);
  } finally {
    await app.close();
  }
});

// ---------------------------------------------------------------- item 8: messages, not stack traces

test('a Parquet file with a damaged page but an intact footer is one line naming the file and row group', async () => {
  const { parquetWriteFile } = await import('hyparquet-writer');
  const { parquetMetadataAsync, asyncBufferFromFile } = await import('hyparquet');
  const file = join(dir, 'damaged.parquet');
  const texts = Array.from({ length: 40 }, (_, i) => `Story ${i}: the council met on Tuesday and voted to delay the plan again.`);
  parquetWriteFile({
    filename: file,
    rowGroupSize: 20,
    columnData: [
      { name: 'text', data: texts, type: 'STRING' },
      { name: 'label', data: texts.map((_, i) => (i % 2 ? 'human' : 'machine')), type: 'STRING' },
    ],
  });
  const metadata = await parquetMetadataAsync(await asyncBufferFromFile(file));
  const bytes = readFileSync(file);
  const page = Number(metadata.row_groups[1].columns[0].meta_data!.data_page_offset);
  for (let i = 0; i < 8; i++) bytes[page + 20 + i] ^= 0xff;
  writeFileSync(file, bytes);
  assertOneLineError(copydesk(['eval', '--data', file, '--quiet']), /damaged\.parquet: row group 2 of 2 cannot be decoded \(.*\): the file is damaged/);
});

test('a closed pipe on stdout ends quietly (exit 0, nothing on stderr); a full disk is one line', async () => {
  const file = join(dir, 'pipe.txt');
  writeFileSync(file, `${TEXT} `.repeat(200));
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'detect', '--sentences', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // the reader is gone before the first byte, as with `| head -c 0`
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const [code] = await once(child, 'exit');
  assert.equal(stderr, '');
  assert.equal(code, 0);
  if (existsSync('/dev/full')) {
    const full = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'detect', file], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', openSync('/dev/full', 'w'), 'pipe'] });
    assert.equal(full.status, 1);
    assert.match(full.stderr, /^copydesk: cannot write standard output: no space left on the device \(ENOSPC, write\)\n$/);
    const batch = copydesk(['batch', '--input', file, '--output', '/dev/full', '--quiet']);
    assertOneLineError(batch, /--output \/dev\/full is not a regular file/);
  }
});

test('failed system calls on files become one line naming the file and the cause', () => {
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
  assert.equal(ioErrorToUserError(enospc, 'scores.jsonl')?.message, 'cannot write scores.jsonl: no space left on the device (ENOSPC, write)');
  const einval = Object.assign(new Error('EINVAL: invalid argument, fdatasync'), { code: 'EINVAL', syscall: 'fdatasync' });
  assert.match(ioErrorToUserError(einval, 'out.jsonl')!.message, /out\.jsonl: .*regular file \(EINVAL, fdatasync\)/);
  assert.equal(ioErrorToUserError(new TypeError('a bug'), 'x'), undefined);
});

// ---------------------------------------------------------------- item 10: README vs behaviour

test('detect --jsonl on a Parquet or CSV file says what the file is and what to use instead', () => {
  const parquet = join(dir, 'x.parquet');
  writeFileSync(parquet, Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(16), Buffer.from('PAR1')]));
  assertOneLineError(copydesk(['detect', '--jsonl', parquet]), /--jsonl reads JSON lines, but .*x\.parquet is Parquet: score it with copydesk batch --input/);
  const csv = join(dir, 'x.csv');
  writeFileSync(csv, 'id,text\na,Some text here.\n');
  assertOneLineError(copydesk(['detect', '--jsonl', csv]), /x\.csv is CSV/);
  const other = join(dir, 'x.data');
  writeFileSync(other, 'id,text\na,Some text here.\n');
  assertOneLineError(copydesk(['detect', '--jsonl', other]), /x\.data:1: invalid JSON/);
});

// ---------------------------------------------------------------- item 1: warnings where numbers mislead

test('eval shows the warnings recorded in the model; eval-mixtures warns when the pairs are in-sample', async () => {
  const { loadDetector, saveDetector } = await import('../src/model/model-file.js');
  const detector = loadDetector(join(ROOT, 'models/default.cdm'));
  detector.metadata.warnings = ['threshold 1.0000 cannot meet --target-fpr 0.01'];
  const model = join(dir, 'warned.cdm');
  saveDetector(detector, model);
  // Named like a training dataset of the shipped model, with one human/machine pair.
  const sub = join(dir, 'insample');
  mkdirSync(sub, { recursive: true });
  const data = join(sub, 'cnn_dailymail_chatgpt.jsonl');
  const machine = 'Overall, the plan represents a crucial step. Furthermore, it is important to note the broader commitment to the community. Ultimately, stakeholders remain hopeful.';
  writeFileSync(
    data,
    [
      JSON.stringify({ id: 'h', text: TEXT, label: 'human', source: 's', pair_id: 'p1' }),
      JSON.stringify({ id: 'm', text: machine, label: 'machine', source: 's', pair_id: 'p1' }),
    ].join('\n') + '\n',
  );
  const evaluated = copydesk(['eval', '--data', data, '--model', model, '--quiet']);
  assert.equal(evaluated.code, 0, evaluated.stderr);
  assert.match(evaluated.stderr, /WARNING: model .*warned\.cdm: threshold 1\.0000 cannot meet --target-fpr 0\.01/);
  assert.match(evaluated.stderr, /WARNING: this model was trained on cnn_dailymail_chatgpt; these numbers are in-sample/);
  const mixtures = copydesk(['eval-mixtures', '--data', data, '--model', join(ROOT, 'models/default.cdm'), '--quiet']);
  assert.match(mixtures.stderr, /WARNING: this model was trained on cnn_dailymail_chatgpt; these numbers are in-sample/);
});

test('the library facade: a text that is not a string, or a model path that is not one, is a TypeError that says so', async () => {
  const { pipeline } = await import('../src/index.js');
  const detect = pipeline();
  for (const [value, said] of [
    [undefined, 'text must be a string, got undefined'],
    [null, 'text must be a string, got null'],
    [42, 'text must be a string, got number'],
    [[TEXT], 'text must be a string, got an array (score each text of an array on its own)'],
    [Buffer.from(TEXT), 'text must be a string, got bytes (decode them to a string first)'],
  ] as const) {
    assert.throws(() => detect(value as unknown as string), (error: unknown) => error instanceof TypeError && error.message === said, String(value));
  }
  assert.throws(() => pipeline(0 as unknown as string), /the model path must be a string, got number/);
  assert.equal(detect(TEXT).verdict.length > 0, true);
});
