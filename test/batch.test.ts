/**
 * `copydesk batch` on one machine: order and completeness, skips with
 * reasons, every input format, Parquet output, refusal to resume a changed
 * run, torn-line repair, and the CLI killed with SIGKILL and resumed.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync, mkdirSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { parquetWriteFile } from 'hyparquet-writer';
import { localScorer } from '../src/batch/local.js';
import { runBatch, formatSummary, type BatchOptions } from '../src/batch/run.js';
import { scoreRows, type Row } from '../src/detect/lines.js';
import { createSentenceExtension } from '../src/detect/sentence-training.js';
import { DEFAULT_MODEL_PATH, deserializeDetector, loadDetector, saveDetector, serializeDetector } from '../src/model/model-file.js';
import { SENTENCE_EXTENSION } from '../src/detect/sentences.js';
import { trainDetector } from '../src/model/train.js';
import { DEFAULT_FEATURIZER_CONFIG } from '../src/features/featurizer.js';
import { syntheticCorpus } from './fixtures/core/synthetic.js';
import { LONG_ENGLISH, REVIEW, SHORT_ENGLISH } from './fixtures/core/texts.js';
import { UserError } from '../src/util/errors.js';
import { readJsonl, runCli, startCli, syntheticRows, syntheticText, toJsonl, waitFor, type OutputRow } from './batch-support.js';

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'copydesk-batch-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const detector = loadDetector(DEFAULT_MODEL_PATH);

/** What detect's shared line scorer says for each valid row: batch must match it byte for byte. */
function expectedLines(file: string): string[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const rows = lines.map((line, i): Row => [line, i + 1]);
  return splitLines(scoreRows(detector, rows, { file, dataset: path.basename(file, path.extname(file)), invalid: 'skip' }).output);
}

function splitLines(output: string): string[] {
  return output === '' ? [] : output.slice(0, -1).split('\n');
}

function options(input: string | string[], output: string, extra: Partial<BatchOptions> = {}): BatchOptions {
  return {
    inputs: Array.isArray(input) ? input : [input],
    output,
    modelPath: DEFAULT_MODEL_PATH,
    sentences: false,
    skipInvalid: false,
    restart: false,
    batchSize: 64,
    checkpointMs: 50,
    progress: 'none',
    log: () => {},
    ...extra,
  };
}

const run = (o: BatchOptions, workers = 2) => runBatch(o, (info) => localScorer(info, workers));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

test('JSONL in, JSONL out: every row once, in input order, identical to detect --jsonl', async () => {
  const input = write('plain.jsonl', toJsonl(syntheticRows(3000)));
  const output = path.join(dir, 'plain.out.jsonl');
  const summary = await run(options(input, output));
  assert.equal(readFileSync(output, 'utf8'), expectedLines(input).join('\n') + '\n');
  const rows = readJsonl(output);
  assert.deepEqual(rows.map((r) => r.id), syntheticRows(3000).map((r) => r.id));
  assert.ok(rows.every((r) => typeof r.machine_probability === 'number' && ['human', 'machine', 'uncertain'].includes(r.verdict)));
  assert.ok(rows.every((r) => (r.verdict === 'uncertain') === Array.isArray(r.reasons)), 'reasons exactly on uncertain rows');
  assert.equal(summary.rowsIn, 3000);
  assert.equal(summary.rowsOut, 3000);
  assert.equal(summary.skipped, 0);
  assert.equal(existsSync(`${output}.progress`), false, 'the checkpoint goes once the run is complete');
  // The main thread alone, or helping one or two scoring threads (batches go wherever there is room): the same bytes.
  for (const workers of [1, 3]) {
    const other = path.join(dir, `plain.${workers}.jsonl`);
    await run(options(input, other), workers);
    assert.equal(readFileSync(other, 'utf8'), readFileSync(output, 'utf8'), `${workers} scoring threads`);
  }
});

test('--skip-invalid leaves bad rows out and counts them by reason; without it the run stops and can be resumed with it', async () => {
  const rows: string[] = syntheticRows(500).map((row) => JSON.stringify(row));
  rows[10] = '{"id": "broken", "text": ';
  rows[200] = JSON.stringify({ id: 'empty', text: '   ' });
  rows[300] = JSON.stringify({ id: 'no-text', body: 'x' });
  rows[301] = '';
  const input = write('mixed.jsonl', rows.join('\n') + '\n');
  const output = path.join(dir, 'mixed.out.jsonl');

  await assert.rejects(run(options(input, output)), (error: Error) => {
    assert.ok(error instanceof UserError);
    assert.match(error.message, /mixed\.jsonl:11: invalid JSON/);
    assert.match(error.message, /--skip-invalid/);
    return true;
  });
  assert.ok(existsSync(`${output}.progress`), 'the rows before the bad one stay committed');

  const summary = await run(options(input, output, { skipInvalid: true }));
  assert.equal(summary.rowsIn, 499, 'the blank line is not a row');
  assert.equal(summary.rowsOut, 496);
  assert.deepEqual(summary.skips, { 'invalid JSON': 1, 'empty text': 1, 'missing field "text"': 1 });
  assert.equal(summary.firstSkip['empty text'], `${input}:201`);
  const ids = readJsonl(output).map((r) => r.id);
  assert.equal(ids.length, 496);
  assert.equal(new Set(ids).size, 496);
  assert.ok(!ids.includes('empty') && !ids.includes('no-text'));
  assert.equal(readFileSync(output, 'utf8'), expectedLines(input).join('\n') + '\n');
  const text = formatSummary(summary).join('\n');
  assert.match(text, /499 rows in, 496 rows out/);
  assert.match(text, /skipped 3 rows: 1 empty text \(first at .*mixed\.jsonl:201\), 1 invalid JSON/);
  assert.match(text, /rows\/s/);
  assert.doesNotMatch(text, /hold no rows/);
});

test('an empty input gives an empty output and says so', async () => {
  const input = path.join(dir, 'empty-input.jsonl');
  writeFileSync(input, '');
  const output = path.join(dir, 'empty-input.out.jsonl');
  const summary = await run(options(input, output));
  assert.equal(summary.rowsIn, 0);
  assert.equal(readFileSync(output, 'utf8'), '');
  assert.match(formatSummary(summary).join('\n'), /batch: note: the inputs hold no rows; the output is empty/);
});

test('a JSON line that is not valid UTF-8 stops the run naming file, line and field, or is skipped and counted; never scored as U+FFFD', async () => {
  const good = syntheticRows(3).map((row) => Buffer.from(`${JSON.stringify(row)}\n`));
  const [head, tail] = JSON.stringify({ id: 'latin1', text: `Caf@ ${syntheticText(7)}` }).split('@');
  const bad = Buffer.concat([Buffer.from(head), Buffer.from([0xe9]), Buffer.from(`${tail}\n`)]);
  const input = path.join(dir, 'latin1.jsonl');
  writeFileSync(input, Buffer.concat([good[0], bad, good[1], good[2]]));
  const output = path.join(dir, 'latin1.out.jsonl');
  await assert.rejects(run(options(input, output)), /latin1\.jsonl:2: field "text" is not valid UTF-8/);
  const summary = await run(options(input, output, { skipInvalid: true, restart: true }));
  assert.equal(summary.rowsOut, 3);
  assert.deepEqual(summary.skips, { 'invalid UTF-8': 1 });
  assert.ok(!readFileSync(output, 'utf8').includes('latin1'));
});

test('a CSV record that is not valid UTF-8 stops the run, or with --skip-invalid is skipped and counted while the rest of the file is scored', async () => {
  const rows = syntheticRows(3, 'csv8');
  const csvRow = (row: { id: string; text: string }) => `${row.id},"${row.text.replaceAll('"', '""')}"\n`;
  const input = path.join(dir, 'latin1.csv');
  writeFileSync(input, Buffer.concat([Buffer.from(`id,text\n${csvRow(rows[0])}bad,"Caf`), Buffer.from([0xe9]), Buffer.from(` ${syntheticText(9)}"\n${csvRow(rows[1])}${csvRow(rows[2])}`)]));
  const output = path.join(dir, 'latin1-csv.out.jsonl');
  await assert.rejects(run(options(input, output)), /latin1\.csv:3: not valid UTF-8/);
  const summary = await run(options(input, output, { skipInvalid: true, restart: true }));
  assert.equal(summary.rowsOut, 3);
  assert.deepEqual(summary.skips, { 'invalid UTF-8': 1 });
  const ids = readFileSync(output, 'utf8').trim().split('\n').map((line) => JSON.parse(line).id);
  assert.deepEqual(ids, rows.map((row) => row.id));
});

test('a Parquet string that is not valid UTF-8 stops the run naming file, row and field, or is skipped and counted; never scored as U+FFFD', async () => {
  const rows = syntheticRows(3, 'pq8');
  const bad = Buffer.concat([Buffer.from(`Caf`), Buffer.from([0xe9]), Buffer.from(` ${syntheticText(11)}`)]);
  const input = path.join(dir, 'latin1.parquet');
  parquetWriteFile({
    filename: input,
    columnData: [
      { name: 'id', data: [rows[0].id, 'latin1', rows[1].id, rows[2].id], type: 'STRING' },
      // BYTE_ARRAY without an annotation, as a writer leaves raw bytes: read as text, so it must be UTF-8.
      { name: 'text', data: [rows[0].text, bad, rows[1].text, rows[2].text].map((t) => new Uint8Array(Buffer.from(t))), type: 'BYTE_ARRAY' },
    ],
  });
  const output = path.join(dir, 'latin1-parquet.out.jsonl');
  await assert.rejects(run(options(input, output)), /latin1\.parquet:2: field "text" is not valid UTF-8/);
  const summary = await run(options(input, output, { skipInvalid: true, restart: true }));
  assert.equal(summary.rowsOut, 3);
  assert.deepEqual(summary.skips, { 'invalid UTF-8': 1 });
  const ids = readFileSync(output, 'utf8').trim().split('\n').map((line) => JSON.parse(line).id);
  assert.deepEqual(ids, rows.map((row) => row.id));
});

test('CSV, Parquet, a directory and a glob give the same scores; seed rows give two documents', async () => {
  const rows = syntheticRows(700, 'fmt');
  const jsonl = write('formats/a.jsonl', toJsonl(rows));
  write('formats/b.csv', 'id,text\n' + rows.map((r) => `${r.id},"${r.text.replace(/"/g, '""')}"`).join('\n') + '\n');
  parquetWriteFile({
    filename: path.join(dir, 'formats/c.parquet'),
    columnData: [
      { name: 'id', data: rows.map((r) => r.id), type: 'STRING' },
      { name: 'text', data: rows.map((r) => r.text), type: 'STRING' },
    ],
    rowGroupSize: 300,
  });
  const reference = expectedLines(jsonl);
  for (const [name, input] of [
    ['csv', path.join(dir, 'formats/b.csv')],
    ['parquet', path.join(dir, 'formats/c.parquet')],
  ] as const) {
    const output = path.join(dir, `formats-${name}.jsonl`);
    await run(options(input, output));
    assert.deepEqual(readFileSync(output, 'utf8').trimEnd().split('\n'), reference, name);
  }
  // A directory: its files in sorted order, one after another.
  const all = path.join(dir, 'formats-all.jsonl');
  const summary = await run(options(path.join(dir, 'formats'), all));
  assert.equal(summary.rowsIn, 2100);
  assert.deepEqual(readFileSync(all, 'utf8').trimEnd().split('\n'), [...reference, ...reference, ...reference]);
  const glob = path.join(dir, 'formats-glob.jsonl');
  await run(options(path.join(dir, 'formats', '*.parquet'), glob));
  assert.equal(readJsonl(glob).length, 700);

  const seed = write('seed.jsonl', toJsonl(rows.slice(0, 50).map((r) => ({ id: r.id, article: r.text, highlights: 'h', chatgpt: `${r.text} Overall.` }))));
  const seedOut = path.join(dir, 'seed.out.jsonl');
  const seedSummary = await run(options(seed, seedOut));
  assert.equal(seedSummary.rowsIn, 50);
  assert.equal(seedSummary.rowsOut, 100);
  assert.deepEqual(readJsonl(seedOut).slice(0, 2).map((r) => r.id), ['fmt-0:human', 'fmt-0:chatgpt']);
});

test('a run that dies part-way through CSV, Parquet and a directory of files resumes exactly', async () => {
  const all = path.join(dir, 'formats');
  const reference = readFileSync(path.join(dir, 'formats-all.jsonl'), 'utf8');
  for (const [input, dieAt] of [
    [path.join(all, 'b.csv'), 4],
    [path.join(all, 'c.parquet'), 6],
    [all, 13],
    [all, 25],
  ] as const) {
    const output = path.join(dir, `die-${path.basename(input)}-${dieAt}.jsonl`);
    // Batches after `dieAt` fail as if the process had died there; what was committed stays.
    await assert.rejects(
      runBatch(options(input, output, { batchSize: 50, checkpointMs: 0 }), async (info) => {
        const scorer = await localScorer(info, 1);
        return { ...scorer, score: (batch, index, context) => (index >= dieAt ? Promise.reject(new Error('died')) : scorer.score(batch, index, context)) };
      }),
      /died/,
    );
    const checkpoint = JSON.parse(readFileSync(`${output}.progress`, 'utf8')) as { rowsIn: number };
    assert.equal(checkpoint.rowsIn, dieAt * 50);
    const summary = await run(options(input, output, { batchSize: 50 }), 1);
    assert.equal(summary.resumedRows, dieAt * 50);
    const expected = input === all ? reference : reference.split('\n').slice(0, 700).join('\n') + '\n';
    assert.equal(readFileSync(output, 'utf8'), expected, `${input} died at batch ${dieAt}`);
  }
});

/** A Parquet row as its JSON line: `reasons` is JSON text there, and null (absent in JSON) on judged rows. */
function fromParquet<T extends Record<string, unknown>>(row: T): T {
  const { reasons, ...rest } = row;
  return (reasons === null || reasons === undefined ? rest : { ...rest, reasons: JSON.parse(String(reasons)) }) as unknown as T;
}

test('Parquet output: the same rows, written in row groups', async () => {
  const input = path.join(dir, 'plain.jsonl');
  const output = path.join(dir, 'plain.out.parquet');
  const summary = await run(options(input, output));
  assert.equal(summary.rowsOut, 3000);
  const rows = (await parquetReadObjects({ file: await asyncBufferFromFile(output) })) as OutputRow[];
  assert.deepEqual(rows.map(fromParquet), readJsonl(path.join(dir, 'plain.out.jsonl')));
  assert.ok(rows.some((r) => r.verdict === 'uncertain' && typeof r.reasons === 'string'), 'uncertain rows carry their reasons as JSON text');
  assert.equal(existsSync(`${output}.rows.jsonl`), false);
  assert.equal(existsSync(`${output}.progress`), false);
});

test('cautions on a "human" verdict survive into JSON lines and (as JSON text) Parquet', async () => {
  const input = write('cautions.jsonl', toJsonl([{ id: 'news', text: LONG_ENGLISH }, { id: 'review', text: REVIEW }, { id: 'note', text: SHORT_ENGLISH }]));
  const jsonl = path.join(dir, 'cautions.out.jsonl');
  await run(options(input, jsonl));
  const lines = readJsonl(jsonl);
  assert.deepEqual(lines.map((r) => [r.id, r.verdict, r.reasons ?? null, r.cautions ?? null]), [
    ['news', lines[0].verdict, null, null],
    ['review', 'human', null, ['not_news']],
    ['note', 'uncertain', ['too_short'], null],
  ]);
  const parquet = path.join(dir, 'cautions.out.parquet');
  await run(options(input, parquet));
  const rows = (await parquetReadObjects({ file: await asyncBufferFromFile(parquet) })) as OutputRow[];
  assert.deepEqual(rows.map((r) => [r.id, r.cautions ?? null]), [['news', null], ['review', '["not_news"]'], ['note', null]]);
});

test('--sentences: the sentence fields of detect --jsonl --sentences, in JSON lines and (as JSON text) in Parquet', async () => {
  // A small model trained here carries the sentence calibration --sentences needs.
  const model = path.join(dir, 'small.cdm');
  const small = trainDetector(syntheticCorpus(30, 3), { folds: 2, maxIterations: 30, featurizer: { ...DEFAULT_FEATURIZER_CONFIG, hashBits: 14 }, extensions: [createSentenceExtension()] });
  saveDetector(small, model);
  const texts = syntheticCorpus(10, 9).map((d, i) => ({ id: `s-${i}`, text: d.text }));
  const input = write('sentences.jsonl', toJsonl(texts));
  const output = path.join(dir, 'sentences.out.jsonl');
  await run(options(input, output, { modelPath: model, sentences: true }));
  const lines = readFileSync(input, 'utf8').trimEnd().split('\n');
  const expected = scoreRows(small, lines.map((line, i): Row => [line, i + 1]), { file: input, dataset: 'sentences', invalid: 'stop', sentences: true }).output;
  assert.equal(readFileSync(output, 'utf8'), expected);
  const rows = readJsonl(output);
  assert.ok(rows.every((r) => typeof r.mixture_p_value === 'number' && Array.isArray(r.sentences) && (r.sentences as unknown[]).length > 0));

  const parquet = path.join(dir, 'sentences.out.parquet');
  await run(options(input, parquet, { modelPath: model, sentences: true }));
  const stored = (await parquetReadObjects({ file: await asyncBufferFromFile(parquet) })) as Array<Record<string, unknown>>;
  assert.deepEqual(Object.keys(stored[0]).slice(0, 3), ['id', 'machine_probability', 'verdict']);
  assert.deepEqual(
    stored.map((r) => fromParquet({ ...r, sentences: JSON.parse(String(r.sentences)) })),
    rows.map((r) => ({ ...r })),
  );

  // The shipped model may lack the calibration: that is the user's error, said plainly.
  const bare = deserializeDetector(serializeDetector(small));
  delete bare.metadata.extensions[SENTENCE_EXTENSION];
  saveDetector(bare, path.join(dir, 'bare.cdm'));
  const refused = await runCli(['batch', '--input', input, '--output', path.join(dir, 'bare.out.jsonl'), '--sentences', '--model', path.join(dir, 'bare.cdm'), '--workers', '1']);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /^copydesk: this model file has no sentence calibration/m);
  assert.doesNotMatch(refused.stderr, /internal error/);
});

test('a torn last line and rows written after the last checkpoint are cut off on resume', async () => {
  const input = path.join(dir, 'plain.jsonl');
  const output = path.join(dir, 'torn.jsonl');
  const reference = readFileSync(path.join(dir, 'plain.out.jsonl'), 'utf8');
  const lines = reference.split('\n');
  // As a crash leaves it: 1000 rows committed, 37 more written but not committed, then half a line.
  const committed = lines.slice(0, 1000).join('\n') + '\n';
  writeFileSync(output, committed + lines.slice(1000, 1037).join('\n') + '\n' + lines[1037].slice(0, 20));
  // A checkpoint as a run with batch size 100 would have written after ten batches.
  const inputText = readFileSync(input, 'utf8');
  let offset = 0;
  for (let k = 0; k < 1000; k++) offset = inputText.indexOf('\n', offset) + 1;
  const { fingerprintOf, fingerprintId, fileSha256 } = await import('../src/batch/checkpoint.js');
  const { describeInputs } = await import('../src/batch/reader.js');
  const fingerprint = await fingerprintOf(await describeInputs([input]), await fileSha256(DEFAULT_MODEL_PATH), {
    sentences: false,
    output: 'jsonl',
    batchSize: 100,
  });
  writeFileSync(
    `${output}.progress`,
    JSON.stringify({
      fingerprint,
      id: fingerprintId(fingerprint),
      phase: 'score',
      cursor: {
        file: 0,
        row: 1000,
        offset: Buffer.byteLength(inputText.slice(0, offset)),
        line: 1000,
        sha256: createHash('sha256').update(inputText.slice(0, offset)).digest('hex'),
      },
      consumed: [],
      batches: 10,
      rowsIn: 1000,
      rowsOut: 1000,
      skips: {},
      firstSkip: {},
      outputBytes: Buffer.byteLength(committed),
      elapsedSeconds: 1,
    }),
  );
  const summary = await run(options(input, output, { batchSize: 100 }));
  assert.equal(summary.resumedRows, 1000);
  assert.equal(summary.rowsOut, 3000);
  assert.equal(readFileSync(output, 'utf8'), reference);
});

test('a changed input, model or option is refused unless --restart', async () => {
  const output = path.join(dir, 'change.out.jsonl');
  // A run that stops on a bad row leaves a checkpoint behind, as a crash would.
  const bad = write('change-bad.jsonl', toJsonl(syntheticRows(400, 'chg')) + '{oops\n');
  await assert.rejects(run(options(bad, output)), /invalid JSON/);
  appendFileSync(bad, toJsonl(syntheticRows(5, 'more')));
  await assert.rejects(run(options(bad, output, { skipInvalid: true })), (error: Error) => {
    assert.match(error.message, /unfinished run with different settings \(changed: the content of the input\)/);
    assert.match(error.message, /--restart/);
    return true;
  });
  await assert.rejects(run(options(bad, output, { sentences: true })), /changed: the content of the input, --sentences/);
  const summary = await run(options(bad, output, { skipInvalid: true, restart: true }));
  assert.equal(summary.rowsIn, 406);
  assert.equal(summary.rowsOut, 405);
  assert.equal(readJsonl(output).length, 405);
});

test('a resume refuses an input whose part already scored changed at the same size (a reordered middle)', async () => {
  // Over 2 MiB, so the fingerprint's first and last MiB leave a middle it does not see.
  const rows = syntheticRows(12_000, 'mid');
  const sizes = rows.map((row) => Buffer.byteLength(JSON.stringify(row)) + 1);
  const at = (bytes: number) => {
    let sum = 0;
    return sizes.findIndex((size) => (sum += size) > bytes);
  };
  const swap = at(1.2 * 2 ** 20);
  const bad = at(2.3 * 2 ** 20);
  const lines = rows.map((row) => JSON.stringify(row));
  lines[bad] = '{oops';
  const input = write('middle.jsonl', lines.join('\n') + '\n');
  const output = path.join(dir, 'middle.out.jsonl');
  // The run stops at the bad row, past the middle, and leaves its checkpoint.
  await assert.rejects(run(options(input, output)), /invalid JSON/);
  // Two rows of the part already scored trade places: same size, same first and last MiB.
  [lines[swap], lines[swap + 1]] = [lines[swap + 1], lines[swap]];
  const before = statSync(input).size;
  writeFileSync(input, lines.join('\n') + '\n');
  assert.equal(statSync(input).size, before);
  await assert.rejects(run(options(input, output, { skipInvalid: true })), (error: Error) => {
    assert.ok(error instanceof UserError, String(error));
    assert.match(error.message, /middle\.jsonl: the first \d+ bytes, already scored, have changed since the run stopped/);
    assert.match(error.message, /--restart/);
    return true;
  });
  // Put back as it was, the run resumes and completes exactly.
  [lines[swap], lines[swap + 1]] = [lines[swap + 1], lines[swap]];
  writeFileSync(input, lines.join('\n') + '\n');
  const summary = await run(options(input, output, { skipInvalid: true }));
  assert.ok(summary.resumedRows > swap + 1, 'the swapped rows were in the part already scored');
  assert.equal(summary.rowsOut, rows.length - 1);
  assert.deepEqual(readJsonl(output).map((r) => r.id), rows.filter((_, i) => i !== bad).map((r) => r.id));
});

test('the CLI killed with SIGKILL mid-run resumes: exact rows, no duplicates, no losses', async () => {
  const n = 12_000;
  const input = write('kill.jsonl', toJsonl(syntheticRows(n, 'kill')));
  const output = path.join(dir, 'kill.out.jsonl');
  const args = ['batch', '--input', input, '--output', output, '--workers', '1', '--batch-size', '50', '--checkpoint-every', '0.02', '--progress', 'lines'];
  const committedRows = () => {
    try {
      return (JSON.parse(readFileSync(`${output}.progress`, 'utf8')) as { rowsIn: number }).rowsIn;
    } catch {
      return 0;
    }
  };
  // Killed twice at different points, then left to finish.
  for (const atLeast of [500, 3000]) {
    const started = startCli(args);
    await waitFor(() => committedRows() >= atLeast || started.child.exitCode !== null, `${atLeast} committed rows`);
    started.child.kill('SIGKILL');
    const killed = await started.done;
    assert.equal(killed.signal, 'SIGKILL', `killed before finishing (stderr: ${killed.stderr})`);
    assert.ok(statSync(output).size > 0);
  }
  // And a torn line on top, as a kill in the middle of a write leaves.
  appendFileSync(output, '{"id":"kill-');
  const finished = await runCli(args);
  assert.equal(finished.code, 0, finished.stderr);
  assert.match(finished.stderr, /resuming .*kill\.out\.jsonl: \d+ rows/);
  assert.match(finished.stderr, new RegExp(`${n} rows in, ${n} rows out`));
  const ids = readJsonl(output).map((r) => r.id);
  assert.equal(ids.length, n);
  assert.equal(new Set(ids).size, n);
  assert.deepEqual(ids, syntheticRows(n, 'kill').map((r) => r.id));
  assert.equal(readFileSync(output, 'utf8'), expectedLines(input).join('\n') + '\n');
  assert.equal(existsSync(`${output}.progress`), false);
});

test('CLI: clear errors for missing flags and stdout output', async () => {
  const missing = await runCli(['batch', '--output', path.join(dir, 'x.jsonl')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /batch needs --input/);
  const stdout = await runCli(['batch', '--input', path.join(dir, 'plain.jsonl'), '--output', '-']);
  assert.equal(stdout.code, 2);
  assert.match(stdout.stderr, /needs an output file/);
  const status = await runCli(['batch', '--status']);
  assert.match(status.stderr, /--status needs --queue/);
});

test('a checkpoint of an older format is refused naming that, not as "the run settings"', async () => {
  const { describeChange } = await import('../src/batch/checkpoint.js');
  const now = { version: 2 as const, inputs: [{ path: '/a.jsonl', size: 1, sample: 'x' }], model: 'm', sentences: false, output: 'jsonl' as const, batchSize: 256 };
  const older = { ...now, version: 1 } as unknown as typeof now;
  assert.equal(describeChange(older, now), 'the checkpoint format (written by an older copydesk)');
  assert.equal(describeChange({ ...now, inputs: [{ ...now.inputs[0], sample: 'y' }] }, now), 'the content of the input');
});

test('bad CSV records at the end of a file are counted once when a run resumes at that file\'s end', async () => {
  // 10 good records, then two the reader refuses (a stray quote, a wrong field count); a JSON-lines file follows.
  const good = Array.from({ length: 10 }, (_, i) => `tail-${i},"${syntheticText(i)}"`);
  const csv = write('tail-bad/a.csv', ['id,text', ...good, 'bad-1,"quoted" then not', 'bad-2,one,two,three'].join('\n') + '\n');
  const jsonl = write('tail-bad/b.jsonl', toJsonl(syntheticRows(40, 'after')));
  const output = path.join(dir, 'tail-bad.out.jsonl');
  const reference = await run(options([csv, jsonl], path.join(dir, 'tail-bad.ref.jsonl'), { batchSize: 4, skipInvalid: true }), 1);
  assert.deepEqual(reference.skips, { 'invalid CSV': 2 });
  // Dies at the JSON-lines file's first batch (index 3): the last commit leaves the cursor at the CSV's end.
  await assert.rejects(
    runBatch(options([csv, jsonl], output, { batchSize: 4, skipInvalid: true, checkpointMs: 0 }), async (info) => {
      const scorer = await localScorer(info, 1);
      return { ...scorer, score: (batch, index, context) => (index >= 3 ? Promise.reject(new Error('died')) : scorer.score(batch, index, context)) };
    }),
    /died/,
  );
  const summary = await run(options([csv, jsonl], output, { batchSize: 4, skipInvalid: true }), 1);
  assert.equal(summary.resumedRows, 12, 'the CSV\'s 10 good and 2 bad records were done before resuming');
  assert.deepEqual(summary.skips, { 'invalid CSV': 2 }, 'the two bad records were counted again (4) on resume');
  assert.equal(summary.rowsIn, reference.rowsIn);
  assert.equal(readFileSync(output, 'utf8'), readFileSync(path.join(dir, 'tail-bad.ref.jsonl'), 'utf8'));
});

test('Parquet output: a run killed just after its rows file was removed is finished, not stuck on the missing rows file', async () => {
  const input = write('convert-end.jsonl', toJsonl(syntheticRows(300, 'conv')));
  const output = path.join(dir, 'convert-end.parquet');
  const rowsFile = `${output}.rows.jsonl`;
  // The process dies right after removing the rows file (whatever cleanup was due after that never happens).
  const { promises } = await import('node:fs');
  const rm = promises.rm;
  promises.rm = async (target, rmOptions) => {
    await rm(target, rmOptions);
    if (String(target) === rowsFile) throw new Error('died');
  };
  try {
    await assert.rejects(run(options(input, output)), /died/);
  } finally {
    promises.rm = rm;
  }
  const reference = path.join(dir, 'convert-end.ref.jsonl');
  await run(options(input, reference));
  const rerun = await run(options(input, output));
  assert.equal(rerun.rowsOut, 300);
  const rows = (await parquetReadObjects({ file: await asyncBufferFromFile(output) })) as OutputRow[];
  assert.deepEqual(rows.map(fromParquet), readJsonl(reference));
  assert.equal(existsSync(`${output}.progress`), false);
  assert.equal(existsSync(rowsFile), false);
});

test('a JSON-lines input that grows while the run reads it: the rows it held when the run started, no half line', async () => {
  // Over 2 MiB, so the reader (1 MiB reads, one ahead) has not reached the end when the first batch is scored.
  const input = write('growing.jsonl', toJsonl(syntheticRows(10_000, 'grow')));
  assert.ok(statSync(input).size > 2 << 20);
  const reference = path.join(dir, 'growing.ref.jsonl');
  await run(options(input, reference, { batchSize: 256 }));
  const output = path.join(dir, 'growing.out.jsonl');
  // A writer appends 50 rows and half of one more while the first batch is being scored.
  const summary = await runBatch(options(input, output, { batchSize: 256 }), async (info) => {
    const scorer = await localScorer(info, 1);
    return {
      ...scorer,
      score: (batch, index, context) => {
        if (index === 0) appendFileSync(input, toJsonl(syntheticRows(50, 'late')) + '{"id":"late-half","te');
        return scorer.score(batch, index, context);
      },
    };
  });
  assert.equal(summary.rowsIn, 10_000);
  assert.equal(readFileSync(output, 'utf8'), readFileSync(reference, 'utf8'));
});

describe('one run per output (<output>.lock)', () => {
  test('two runs on one output at once: one scores, the other is refused naming the holder, and the output is whole', async () => {
    const input = write('lock.jsonl', toJsonl(syntheticRows(600)));
    const output = path.join(dir, 'lock.out.jsonl');
    const [a, b] = await Promise.allSettled([run(options(input, output), 1), run(options(input, output, { restart: true }), 1)]);
    const refused = [a, b].filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    assert.equal(refused.length, 1, 'exactly one run refused');
    assert.ok(refused[0].reason instanceof UserError);
    assert.match(refused[0].reason.message, new RegExp(`lock\\.out\\.jsonl is being written by another batch run \\(process ${process.pid}, started .*\\); wait for it to finish, or if it is no longer running remove .*lock\\.out\\.jsonl\\.lock`));
    assert.equal(readFileSync(output, 'utf8'), expectedLines(input).join('\n') + '\n');
    assert.equal(existsSync(`${output}.lock`), false, 'the lock goes with the run');
  });

  test('a lock left by a process that is gone is taken over with a note; one from another host is refused; a failed run leaves none', async () => {
    const input = write('stale.jsonl', toJsonl(syntheticRows(50)));
    const output = path.join(dir, 'stale.out.jsonl');
    const { spawnSync } = await import('node:child_process');
    const { hostname } = await import('node:os');
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    writeFileSync(`${output}.lock`, JSON.stringify({ host: hostname(), pid: gone, started: '2026-01-01T00:00:00.000Z', token: 'old' }));
    const lines: string[] = [];
    await run(options(input, output, { log: (line) => lines.push(line) }), 1);
    assert.ok(lines.some((line) => line.includes(`took over ${output}.lock, left by process ${gone} (started 2026-01-01T00:00:00.000Z), which is no longer running`)), lines.join('\n'));
    assert.equal(readFileSync(output, 'utf8'), expectedLines(input).join('\n') + '\n');
    assert.equal(existsSync(`${output}.lock`), false);

    writeFileSync(`${output}.lock`, JSON.stringify({ host: 'elsewhere.example', pid: gone, started: '2026-01-01T00:00:00.000Z', token: 'far' }));
    await assert.rejects(run(options(input, output, { restart: true }), 1), (e: unknown) => e instanceof UserError && /process \d+ on elsewhere\.example/.test(e.message));
    assert.equal(readFileSync(output, 'utf8'), expectedLines(input).join('\n') + '\n', 'the refused run touched nothing');
    rmSync(`${output}.lock`);

    const bad = write('stale-bad.jsonl', `${toJsonl(syntheticRows(3))}not json\n`);
    await assert.rejects(run(options(bad, path.join(dir, 'stale-bad.out.jsonl')), 1), UserError);
    assert.equal(existsSync(path.join(dir, 'stale-bad.out.jsonl.lock')), false, 'a run that stops releases its lock');
  });
});

test('a fresh run whose scorer cannot start (Redis unreachable, say) leaves no output, checkpoint or lock; a resumed one keeps its checkpoint', async () => {
  const input = write('nostart.jsonl', toJsonl(syntheticRows(40)));
  const output = path.join(dir, 'nostart.out.jsonl');
  const failing = () => Promise.reject(new UserError('cannot reach Redis at 127.0.0.1:1 (ECONNREFUSED)'));
  await assert.rejects(runBatch(options(input, output), failing), /cannot reach Redis/);
  for (const left of [output, `${output}.progress`, `${output}.lock`]) assert.equal(existsSync(left), false, left);
  // Another command on the same output is not refused as "an unfinished run".
  await run(options(input, output, { sentences: true }), 1);
  assert.equal(readJsonl(output).length, 40);

  // An unfinished run that cannot restart its scorer keeps what it has done.
  const resumed = path.join(dir, 'nostart.resumed.jsonl');
  await assert.rejects(run(options(write('nostart-bad.jsonl', `${toJsonl(syntheticRows(5))}not json\n`), resumed), 1), UserError);
  const progress = readFileSync(`${resumed}.progress`, 'utf8');
  await assert.rejects(runBatch(options(path.join(dir, 'nostart-bad.jsonl'), resumed, { skipInvalid: true }), failing), /cannot reach Redis/);
  assert.equal(readFileSync(`${resumed}.progress`, 'utf8'), progress, 'the checkpoint of the unfinished run is kept');
  assert.ok(existsSync(resumed));
});
