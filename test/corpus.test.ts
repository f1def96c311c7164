import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parquetMetadataAsync, asyncBufferFromFile } from 'hyparquet';
import { parquetWriteFile } from 'hyparquet-writer';
import {
  datasetName,
  detectFormat,
  groupBySourceComponents,
  InvalidRecordError,
  JsonlWriter,
  kFoldByStory,
  readAllDocuments,
  readRecords,
  resolveInputs,
  seededUnit,
  SkipReport,
  sourceName,
  splitByStory,
  storyKey,
  type LabeledDocument,
} from '../src/corpus/index.js';
import { UserError } from '../src/util/errors.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, 'fixtures', 'corpus');
const fixture = (name: string) => path.join(fixtures, name);
const sharedData = path.join(here, '..', '..', 'shared', 'data');

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'copydesk-corpus-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes string columns as Parquet, `rowGroupSize` rows per group. */
function writeParquet(filename: string, rows: Record<string, string>[], rowGroupSize = 1000): void {
  const names = Object.keys(rows[0]);
  parquetWriteFile({
    filename,
    rowGroupSize,
    columnData: names.map((name) => ({ name, data: rows.map((row) => row[name]), type: 'STRING' as const })),
  });
}

const LABELED_ROWS = [
  { id: 'h1', label: 'human', generator: 'human', domain: 'news', source: 'Example/Wire:desk/1', pair_id: 's1', prompt: '', text: 'Rain delayed the opening of the county fair by two hours on Saturday.', topic: 'weather' },
  { id: 'm1', label: 'Machine', generator: 'gpt-x', domain: 'news', source: 'Example/Wire:desk/2', pair_id: 's1', prompt: 'Fair delayed by rain.', text: 'The county fair opened two hours late on Saturday after heavy rain swept through the area.', topic: 'weather' },
  { id: 'h2', label: 'human', generator: 'human', domain: 'news', source: 'Example/Wire:desk/3', pair_id: 's2', prompt: '', text: 'The library will stay open until nine on weekdays, starting next month.', topic: 'civic' },
];

/** What must agree across formats: everything but origin and dataset. */
function comparable(doc: LabeledDocument) {
  const { origin: _origin, dataset: _dataset, ...rest } = doc;
  return rest;
}

async function rejectsWith(promise: Promise<unknown>, pattern: RegExp): Promise<Error> {
  let caught: unknown;
  await promise.catch((error: unknown) => (caught = error));
  assert.ok(caught instanceof UserError, `expected a UserError, got ${String(caught)}`);
  assert.match(caught.message, pattern);
  return caught;
}

function doc(id: string, dataset: string, pair_id: string | null = null): LabeledDocument {
  return { id, label: 'human', text: `text ${id}`, generator: null, domain: null, source: null, pair_id, prompt: null, dataset, extra: {}, origin: { file: `${dataset}.jsonl`, line: 1 } };
}

test('seed record becomes a human and a chatgpt document sharing pair_id', async () => {
  const docs = await readAllDocuments([fixture('seed.jsonl')]);
  assert.equal(docs.length, 4);
  const [human, machine] = docs;
  assert.deepEqual(
    [human.id, human.label, human.generator, machine.id, machine.label, machine.generator],
    ['story-a:human', 'human', 'human', 'story-a:chatgpt', 'machine', 'chatgpt'],
  );
  assert.equal(human.pair_id, 'story-a');
  assert.equal(machine.pair_id, 'story-a');
  assert.equal(human.prompt, 'Council votes to repair sea wall.');
  assert.match(human.text, /^The harbour council voted/);
  assert.match(machine.text, /^In a decisive move/);
  assert.deepEqual([human.domain, human.source, human.dataset], ['news', 'seed', 'seed']);
  // Line numbers are 1-based and count the blank line.
  assert.deepEqual(docs.map((d) => d.origin.line), [1, 1, 3, 3]);
});

test('labeled JSONL, CSV and Parquet give the same documents', async (t) => {
  const dir = await tempDir(t);
  const parquet = path.join(dir, 'labeled.parquet');
  writeParquet(parquet, LABELED_ROWS);
  const fromJsonl = await readAllDocuments([fixture('labeled.jsonl')]);
  const fromCsv = await readAllDocuments([fixture('labeled.csv')]);
  const fromParquet = await readAllDocuments([parquet]);
  assert.equal(fromJsonl.length, 3);
  assert.deepEqual(fromCsv.map(comparable), fromJsonl.map(comparable));
  assert.deepEqual(fromParquet.map(comparable), fromJsonl.map(comparable));
  const machine = fromJsonl[1];
  assert.equal(machine.label, 'machine', 'labels are case-insensitive');
  assert.deepEqual(machine.extra, { topic: 'weather' });
  assert.equal(fromJsonl[0].prompt, null);
  assert.deepEqual(fromCsv.map((d) => d.origin.line), [2, 3, 4]);
  assert.deepEqual(fromParquet.map((d) => d.origin.line), [1, 2, 3]);
  assert.equal(fromParquet[0].dataset, 'labeled');
});

test('CSV origin is the first line of a record spanning lines', async () => {
  const docs = await readAllDocuments([fixture('multiline.csv')]);
  assert.equal(docs[0].text, 'First paragraph of a short report.\n\nSecond paragraph, after a blank line.');
  assert.deepEqual(docs.map((d) => d.origin.line), [2, 6]);
});

test('Parquet is read one row group at a time, rows in order', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'groups.parquet');
  const rows = Array.from({ length: 23 }, (_, i) => ({ id: `r${i}`, label: i % 2 ? 'machine' : 'human', text: `Sentence number ${i}.` }));
  writeParquet(file, rows, 5);
  const metadata = await parquetMetadataAsync(await asyncBufferFromFile(file));
  assert.equal(metadata.row_groups.length, 5, 'fixture has several row groups');
  const records = [];
  for await (const record of readRecords(file)) records.push(record);
  assert.deepEqual(records.map((r) => r.record.id), rows.map((r) => r.id));
  assert.deepEqual(records.map((r) => r.origin.line), rows.map((_, i) => i + 1));
});

test('a .parquet file that is not Parquet is a clear error', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'fake.parquet');
  await fs.writeFile(file, '{"id": "x", "text": "not parquet at all"}\n');
  await rejectsWith(readAllDocuments([file]), /fake\.parquet: not a Parquet file/);
});

test('HF layout resolves through the directory and a glob', async (t) => {
  const dir = await tempDir(t);
  await fs.mkdir(path.join(dir, 'data'));
  await fs.writeFile(path.join(dir, 'README.md'), '# not data\n');
  await fs.writeFile(path.join(dir, '.hidden.jsonl'), '{}\n');
  const seedRows = [{ id: 'p1', article: 'A human article about a bridge.', highlights: 'Bridge.', chatgpt: 'A machine article about a bridge.' }];
  writeParquet(path.join(dir, 'data', 'train-00000-of-00001-3f2a.parquet'), seedRows);
  writeParquet(path.join(dir, 'data', 'test-00000-of-00001-9c1b.parquet'), seedRows);

  const all = await resolveInputs([dir]);
  assert.deepEqual(all.map((f) => path.relative(dir, f)), [
    'data/test-00000-of-00001-9c1b.parquet',
    'data/train-00000-of-00001-3f2a.parquet',
  ]);
  const train = await resolveInputs([path.join(dir, 'data', 'train-*.parquet')]);
  assert.deepEqual(train.map((f) => path.basename(f)), ['train-00000-of-00001-3f2a.parquet']);
  const deep = await resolveInputs([path.join(dir, '**', '*.parquet')]);
  assert.equal(deep.length, 2);

  const docs = await readAllDocuments([path.join(dir, 'data', 'train-*.parquet')]);
  assert.deepEqual(docs.map((d) => d.id), ['p1:human', 'p1:chatgpt']);
  assert.equal(docs[0].dataset, 'train-00000-of-00001-3f2a');
});

test('input resolution errors and format detection', async (t) => {
  const dir = await tempDir(t);
  await rejectsWith(resolveInputs([path.join(dir, 'nope.jsonl')]), /^no such file or directory: .*nope\.jsonl$/);
  await rejectsWith(resolveInputs([path.join(dir, '*.csv')]), /no data files/);
  await rejectsWith(resolveInputs([dir]), /no data files/);
  // Unknown extensions are sniffed.
  await fs.writeFile(path.join(dir, 'a.txt'), '  {"text": "x"}\n');
  await fs.writeFile(path.join(dir, 'b.dat'), 'id,text\n1,x\n');
  await fs.copyFile(fixture('labeled.csv'), path.join(dir, 'c.data'));
  assert.equal(await detectFormat(path.join(dir, 'a.txt')), 'jsonl');
  assert.equal(await detectFormat(path.join(dir, 'b.dat')), 'csv');
  assert.equal(datasetName('x/train-00000-of-00001-abc.parquet'), 'train-00000-of-00001-abc');
  const sniffed = await readAllDocuments([path.join(dir, 'a.txt')]);
  assert.equal(sniffed[0].id, 'a:1');
});

test('a directory or glob reads data files that are symbolic links (a Hugging Face cache snapshot), and linked directories once', async (t) => {
  const dir = await tempDir(t);
  await fs.mkdir(path.join(dir, 'blobs'));
  await fs.mkdir(path.join(dir, 'snapshot'));
  await fs.copyFile(fixture('labeled.jsonl'), path.join(dir, 'blobs', '3f2a'));
  await fs.copyFile(fixture('seed.jsonl'), path.join(dir, 'snapshot', 'seed.jsonl'));
  await fs.symlink(path.join('..', 'blobs', '3f2a'), path.join(dir, 'snapshot', 'labeled.jsonl'));
  await fs.mkdir(path.join(dir, 'more'));
  await fs.copyFile(fixture('unlabeled.jsonl'), path.join(dir, 'more', 'unlabeled.jsonl'));
  await fs.symlink(path.join('..', 'more'), path.join(dir, 'snapshot', 'more'));
  // A link back up the tree must not loop.
  await fs.symlink('..', path.join(dir, 'snapshot', 'more', 'up'));
  const files = await resolveInputs([path.join(dir, 'snapshot')]);
  assert.deepEqual(files.map((f) => path.relative(dir, f)), ['snapshot/labeled.jsonl', 'snapshot/more/unlabeled.jsonl', 'snapshot/seed.jsonl']);
  const globbed = await resolveInputs([path.join(dir, 'snapshot', '*.jsonl')]);
  assert.deepEqual(globbed.map((f) => path.basename(f)), ['labeled.jsonl', 'seed.jsonl']);
  const docs = await readAllDocuments([path.join(dir, 'snapshot')]);
  assert.equal(docs.filter((d) => d.dataset === 'labeled').length, 3);
  // A data file whose link points nowhere is said, not passed over.
  await fs.symlink(path.join('..', 'blobs', 'gone'), path.join(dir, 'snapshot', 'lost.jsonl'));
  await rejectsWith(resolveInputs([path.join(dir, 'snapshot')]), /lost\.jsonl: a symbolic link to nothing/);
});

test('one file named twice (another spelling, a link, or inside a directory also given) is read once', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'labeled.jsonl');
  await fs.copyFile(fixture('labeled.jsonl'), file);
  await fs.symlink(file, path.join(dir, 'alias.jsonl'));
  const relative = path.relative(process.cwd(), file);
  // The first spelling is kept (it names the dataset).
  const files = await resolveInputs([path.join(dir, '.', 'labeled.jsonl'), relative, path.join(dir, 'alias.jsonl'), dir]);
  assert.deepEqual(files, [path.join(dir, '.', 'labeled.jsonl')]);
  const docs = await readAllDocuments([file, relative]);
  assert.equal(docs.length, 3);
});

test('a dataset stored as both .jsonl and .parquet is read once from a directory', async (t) => {
  const dir = await tempDir(t);
  await fs.copyFile(fixture('labeled.jsonl'), path.join(dir, 'labeled.jsonl'));
  writeParquet(path.join(dir, 'labeled.parquet'), LABELED_ROWS);
  await fs.copyFile(fixture('seed.jsonl'), path.join(dir, 'seed.jsonl'));
  const files = await resolveInputs([dir]);
  assert.deepEqual(files.map((f) => path.basename(f)), ['labeled.jsonl', 'seed.jsonl']);
  // Named explicitly, both are read.
  assert.equal((await resolveInputs([path.join(dir, 'labeled.jsonl'), path.join(dir, 'labeled.parquet')])).length, 2);
  assert.equal((await resolveInputs([path.join(dir, '*.parquet')])).length, 1);
});

test('malformed JSON names file and line', async () => {
  const error = await rejectsWith(readAllDocuments([fixture('messy.jsonl')]), /messy\.jsonl:2: invalid JSON: /);
  assert.ok(error instanceof InvalidRecordError);
  assert.equal(error.origin.line, 2);
});

test('missing field and wrong type errors name the field', async (t) => {
  const dir = await tempDir(t);
  const write = async (name: string, line: object) => {
    const file = path.join(dir, name);
    await fs.writeFile(file, `{"id":"ok","label":"human","text":"fine"}\n${JSON.stringify(line)}\n`);
    return file;
  };
  await rejectsWith(
    readAllDocuments([await write('a.jsonl', { id: 'x', label: 'human', body: 'wrong name' })]),
    /a\.jsonl:2: field "text" is missing \(expected the seed schema \{id, article, highlights, chatgpt\} or the labeled schema \{id, label, text\}\)/,
  );
  await rejectsWith(
    readAllDocuments([await write('b.jsonl', { id: 'x', label: 'human', text: 42 })]),
    /b\.jsonl:2: field "text" must be a string, found 42/,
  );
  await rejectsWith(
    readAllDocuments([await write('c.jsonl', { id: 'x', label: 'robot', text: 'words' })]),
    /c\.jsonl:2: field "label" must be "human" or "machine", found "robot"/,
  );
  await rejectsWith(
    readAllDocuments([await write('d.jsonl', { id: 'x', article: 'a human article', highlights: 'h' })]),
    /d\.jsonl:2: field "chatgpt" is missing \(expected the seed schema/,
  );
  await rejectsWith(
    readAllDocuments([await write('e.jsonl', { id: { nested: true }, label: 'human', text: 'words' })]),
    /e\.jsonl:2: field "id" must be a string/,
  );
  await rejectsWith(readAllDocuments([await write('f.jsonl', [1, 2])]), /f\.jsonl:2: expected a JSON object/);
});

test('a numeric id beyond what a JSON number holds exactly is refused, naming the field, instead of being rounded into another row\'s id', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'snowflakes.jsonl');
  // Both parse to 12345678901234567000: as ids they would become one.
  await fs.writeFile(file, '{"id":7,"text":"first"}\n{"id":12345678901234567890,"text":"second"}\n{"id":12345678901234567891,"text":"third"}\n');
  await rejectsWith(readAllDocuments([file]), /snowflakes\.jsonl:2: field "id" is a number too large to be exact \(12345678901234567000\); write it as a string/);
  const report = new SkipReport();
  const docs = await readAllDocuments([file], { skipInvalid: true, onSkip: report.add });
  assert.deepEqual(docs.map((d) => d.id), ['7']);
  assert.equal(report.summary(), 'skipped 2 rows: 2 bad field "id"');
  // Exact integers (up to 2^53 - 1) and decimals are ids as written.
  await fs.writeFile(file, '{"id":9007199254740991,"text":"a"}\n{"id":-3,"text":"b"}\n{"id":2.5,"text":"c"}\n');
  assert.deepEqual((await readAllDocuments([file])).map((d) => d.id), ['9007199254740991', '-3', '2.5']);
});

test('empty or whitespace text is an error, or a counted skip', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'seedish.jsonl');
  await fs.writeFile(file, [
    JSON.stringify({ id: 'a', article: 'A real human article.', highlights: 'h', chatgpt: ' \n\t ' }),
    JSON.stringify({ id: 'b', article: 'Another human article.', highlights: 'h', chatgpt: 'A machine article.' }),
  ].join('\n'));
  await rejectsWith(readAllDocuments([file]), /seedish\.jsonl:1: field "chatgpt" is empty/);
  const report = new SkipReport();
  const docs = await readAllDocuments([file], { skipInvalid: true, onSkip: report.add });
  // The whole pair goes, so no orphan human text is left behind.
  assert.deepEqual(docs.map((d) => d.id), ['b:human', 'b:chatgpt']);
  assert.equal(report.summary(), 'skipped 1 row: 1 empty text');
});

test('--skip-invalid counts rows by reason', async () => {
  const report = new SkipReport();
  const docs = await readAllDocuments([fixture('messy.jsonl')], { skipInvalid: true, onSkip: report.add });
  assert.deepEqual(docs.map((d) => d.id), ['ok1', 'ok2']);
  assert.equal(report.total, 5);
  assert.deepEqual(Object.fromEntries(report.counts), {
    'invalid JSON': 1,
    'empty text': 2,
    'missing field "text"': 1,
    'bad label': 1,
  });
  assert.equal(report.summary(), 'skipped 5 rows: 2 empty text, 1 bad label, 1 invalid JSON, 1 missing field "text"');
  assert.deepEqual(report.firstOrigin.get('empty text'), { file: fixture('messy.jsonl'), line: 3 });
  assert.equal(new SkipReport().summary(), 'skipped 0 rows');
});

test('CSV structure errors are errors, or skips with --skip-invalid', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'ragged.csv');
  await fs.writeFile(file, 'id,label,text\na,human,fine text\nb,human,too,many,fields\nc,machine,more text\n');
  await rejectsWith(readAllDocuments([file]), /ragged\.csv: invalid CSV: .*line 3/i);
  const report = new SkipReport();
  const docs = await readAllDocuments([file], { skipInvalid: true, onSkip: report.add });
  assert.deepEqual(docs.map((d) => [d.id, d.origin.line]), [['a', 2], ['c', 4]]);
  assert.equal(report.summary(), 'skipped 1 row: 1 invalid CSV');
});

test('a quote in the middle of an unquoted CSV field is an invalid-CSV error naming file and line, not an internal error', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'semicolons.csv');
  // A file written with ";" as the separator: csv-parse reports this one error with code INVALID_OPENING_QUOTE (no CSV_ prefix).
  await fs.writeFile(file, 'id;label;text\na;human;"fine text"\n');
  await rejectsWith(readAllDocuments([file]), /semicolons\.csv: invalid CSV: Invalid Opening Quote: .*line 2/);
});

test('a CSV header that names a column twice is refused naming the file and column; blank names may repeat', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'two-texts.csv');
  // csv-parse kept the last "text" column: the first was dropped without a word.
  await fs.writeFile(file, 'id,label,text,text\na,human,"the story as filed","the story as edited"\n');
  await rejectsWith(readAllDocuments([file], { skipInvalid: true }), /two-texts\.csv:1: the header names column "text" twice \(columns 3 and 4\); rename one/);
  const blanks = path.join(dir, 'trailing-commas.csv');
  await fs.writeFile(blanks, 'id,label,text,,\na,human,words,,\n');
  assert.deepEqual((await readAllDocuments([blanks])).map((d) => d.text), ['words']);
});

test('a CSV record with several errors is one skipped row, at its own line', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'stray-quotes.csv');
  // csv-parse reports lines 2 and 8 three times and line 4 twice (a stray quote per field, then the field count).
  await fs.writeFile(file, 'id,label,text\n1;"a, b, c"\n2,human,"ok"\n3;"x, y"\n4,human,"multi\nline\n"\n5;"z"\n6,machine,"fine"\n');
  const report = new SkipReport();
  const skipped: number[] = [];
  const docs = await readAllDocuments([file], { skipInvalid: true, onSkip: (reason, origin) => { report.add(reason, origin); skipped.push(origin.line); } });
  assert.deepEqual(docs.map((d) => [d.id, d.origin.line]), [['2', 3], ['4', 5], ['6', 9]]);
  assert.deepEqual(skipped, [2, 4, 8]);
  assert.equal(report.summary(), 'skipped 3 rows: 3 invalid CSV');
});

test('a CSV record that is not valid UTF-8 stops the read, or with --skip-invalid is skipped alone, even inside a quoted field spanning lines', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'latin1.csv');
  await fs.writeFile(
    file,
    Buffer.concat([
      Buffer.from('id,label,text\na,human,"fine text"\nb,human,"first line\nCaf'),
      Buffer.from([0xe9]),
      Buffer.from(' on the second"\nc,machine,"more text\nover two lines"\nd,human,last\n'),
    ]),
  );
  await rejectsWith(readAllDocuments([file]), /latin1\.csv:4: not valid UTF-8/);
  const report = new SkipReport();
  const docs = await readAllDocuments([file], { skipInvalid: true, onSkip: report.add });
  assert.deepEqual(docs.map((d) => [d.id, d.origin.line]), [['a', 2], ['c', 5], ['d', 7]]);
  assert.equal(report.summary(), 'skipped 1 row: 1 invalid UTF-8');
  assert.deepEqual(report.firstOrigin.get('invalid UTF-8'), { file, line: 3 });
  assert.ok(docs.every((d) => !d.text.includes('\uFFFD')));
});

test('a Parquet string that is not valid UTF-8 stops the read naming file, row and field, or with --skip-invalid is skipped alone', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'latin1.parquet');
  const texts = ['Fine text one.', Buffer.concat([Buffer.from('Caf'), Buffer.from([0xe9]), Buffer.from(' au lait.')]), 'Fine text three.'];
  parquetWriteFile({
    filename: file,
    columnData: [
      { name: 'id', data: ['a', 'b', 'c'], type: 'STRING' },
      { name: 'label', data: ['human', 'human', 'machine'], type: 'STRING' },
      { name: 'text', data: texts.map((text) => new Uint8Array(Buffer.from(text))), type: 'BYTE_ARRAY' },
    ],
  });
  const error = await rejectsWith(readAllDocuments([file]), /latin1\.parquet:2: field "text" is not valid UTF-8/);
  assert.ok(error instanceof InvalidRecordError);
  const report = new SkipReport();
  const docs = await readAllDocuments([file], { skipInvalid: true, onSkip: report.add });
  assert.deepEqual(docs.map((d) => [d.id, d.text]), [['a', 'Fine text one.'], ['c', 'Fine text three.']]);
  assert.equal(report.summary(), 'skipped 1 row: 1 invalid UTF-8');
});

test('unlabeled input: label null, ids from position, error when labels are required', async () => {
  const docs = await readAllDocuments([fixture('unlabeled.jsonl')]);
  assert.deepEqual(docs.map((d) => [d.id, d.label]), [['u1', null], ['unlabeled:2', null]]);
  await rejectsWith(
    readAllDocuments([fixture('unlabeled.jsonl')], { requireLabels: true }),
    /unlabeled\.jsonl:1: field "label" is missing/,
  );
  const report = new SkipReport();
  await readAllDocuments([fixture('unlabeled.jsonl')], { requireLabels: true, skipInvalid: true, onSkip: report.add });
  assert.equal(report.summary(), 'skipped 2 rows: 2 missing label');
});

test('splitByStory keeps stories on one side, deterministically per seed', () => {
  const docs: LabeledDocument[] = [];
  for (let story = 0; story < 200; story += 1) {
    docs.push(doc(`h${story}`, 'set', `story-${story}`), doc(`m${story}`, 'set', `story-${story}`));
  }
  docs.push(doc('loner', 'set'));
  const split = splitByStory(docs, { testFraction: 0.25, seed: 7 });
  assert.equal(split.train.length + split.test.length, docs.length);
  const trainStories = new Set(split.train.map(storyKey));
  assert.ok(split.test.every((d) => !trainStories.has(storyKey(d))), 'no story on both sides');
  const testStories = new Set(split.test.map(storyKey)).size;
  assert.ok(Math.abs(testStories - 201 * 0.25) <= 1, `about a quarter of stories in test, got ${testStories}`);
  const again = splitByStory(docs, { testFraction: 0.25, seed: 7 });
  assert.deepEqual(again.test.map((d) => d.id), split.test.map((d) => d.id));
  const other = splitByStory(docs, { testFraction: 0.25, seed: 8 });
  assert.notDeepEqual(other.test.map((d) => d.id), split.test.map((d) => d.id));
  assert.throws(() => splitByStory(docs, { testFraction: 1, seed: 1 }), UserError);
});

test('kFoldByStory gives balanced folds that never split a story', () => {
  const docs: LabeledDocument[] = [];
  for (let story = 0; story < 50; story += 1) {
    for (let version = 0; version < 3; version += 1) docs.push(doc(`d${story}-${version}`, 'set', `s${story}`));
  }
  const folds = kFoldByStory(docs, 5, 'seed');
  const foldOfStory = new Map<string, number>();
  docs.forEach((d, i) => {
    const seen = foldOfStory.get(storyKey(d));
    assert.ok(seen === undefined || seen === folds[i], 'story in one fold');
    foldOfStory.set(storyKey(d), folds[i]);
  });
  const sizes = [0, 0, 0, 0, 0];
  for (const fold of folds) sizes[fold] += 1;
  assert.deepEqual(sizes, [30, 30, 30, 30, 30]);
  assert.deepEqual(kFoldByStory(docs, 5, 'seed'), folds);
  assert.throws(() => kFoldByStory(docs.slice(0, 3), 2, 'seed'), /cannot make 2 folds from 1 stories/);
});

test('story splits are the same as before the shared hash (oracle recorded from the hand-written FNV-1a in split.ts)', () => {
  const docs = Array.from({ length: 24 }, (_, i) => doc(`story-${i}${i % 5 === 0 ? '😀' : ''}`, 'set', null));
  // Recorded before corpus/split.ts moved to util/hash.ts; astral ids (😀) pin code-point hashing.
  assert.deepEqual(kFoldByStory(docs, 5, 42), [4, 1, 3, 4, 3, 0, 3, 4, 2, 3, 2, 0, 1, 0, 0, 2, 3, 2, 0, 1, 2, 1, 1, 4]);
  assert.deepEqual(
    splitByStory(docs, { testFraction: 0.25, seed: 'x' }).test.map((d) => d.id),
    ['story-2', 'story-5😀', 'story-8', 'story-16', 'story-17', 'story-20😀'],
  );
  assert.equal(seededUnit(7, 'Zürich-7'), 0.9499285137280822);
  assert.equal(seededUnit(7, 'emoji-😀-1'), 0.6235541962087154);
  assert.equal(seededUnit('copydesk', '新闻-12'), 0.34246717602945864);
});

test('source components merge datasets that share stories', () => {
  const docs = [
    doc('a', 'cnn_dailymail_chatgpt', 'story-1'),
    doc('b', 'cnn_dailymail_other_llms', 'story-1'),
    doc('c', 'cnn_dailymail_other_llms', 'story-2'),
    doc('d', 'pan24_news', 'p-1'),
    doc('e', 'bbc_news_human'),
    doc('f', 'bbc_news_human'),
  ];
  const groups = groupBySourceComponents(docs);
  assert.deepEqual([...groups.keys()], ['bbc_news_human', 'cnn_dailymail_chatgpt+cnn_dailymail_other_llms', 'pan24_news']);
  assert.deepEqual(groups.get('cnn_dailymail_chatgpt+cnn_dailymail_other_llms')!.map((d) => d.id), ['a', 'b', 'c']);
  assert.deepEqual(groups.get('bbc_news_human')!.map((d) => d.id), ['e', 'f']);
  assert.equal(sourceName({ ...doc('x', 'detectrl_xsum'), source: 'NLP2CT/DetectRL:xsum/12' }), 'NLP2CT/DetectRL');
  assert.equal(sourceName(doc('x', 'detectrl_xsum')), 'detectrl_xsum');
});

test('JsonlWriter writes lines that read back as the same documents', async (t) => {
  const dir = await tempDir(t);
  const out = path.join(dir, 'out.jsonl');
  const docs = await readAllDocuments([fixture('labeled.jsonl')]);
  const writer = JsonlWriter.open(out);
  for (const d of docs) await writer.write({ ...comparable(d), big: 2n ** 70n });
  await writer.close();
  const back = await readAllDocuments([out]);
  assert.deepEqual(back.map((d) => d.text), docs.map((d) => d.text));
  assert.equal(back[0].extra.big, '1180591620717411303424');
  await assert.rejects(writer.write({}), /already closed/);
  const broken = JsonlWriter.open(path.join(dir, 'missing-dir', 'x.jsonl'));
  await rejectsWith(
    (async () => {
      await broken.write({ a: 1 });
      await broken.close();
    })(),
    /cannot write .*x\.jsonl/,
  );
});

test('"-" reads JSON Lines from stdin', async (t) => {
  const dir = await tempDir(t);
  const script = path.join(dir, 'stdin.mts');
  const index = path.join(here, '..', 'src', 'corpus', 'index.js');
  await fs.writeFile(script, [
    `import { readAllDocuments } from ${JSON.stringify(index)};`,
    `const docs = await readAllDocuments(['-']);`,
    `console.log(JSON.stringify(docs.map((d) => [d.id, d.dataset, d.origin.file, d.origin.line])));`,
  ].join('\n'));
  const input = '{"id": "s1", "text": "Piped in from another program."}\n\n{"text": "A second piped paragraph."}\n';
  const run = spawnSync(process.execPath, ['--import', 'tsx', script], { input, encoding: 'utf8', cwd: path.join(here, '..') });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), [['s1', 'stdin', '<stdin>', 1], ['stdin:3', 'stdin', '<stdin>', 3]]);
});

test('stopping early releases the file', async () => {
  for (const file of ['labeled.jsonl', 'labeled.csv']) {
    for await (const { record } of readRecords(fixture(file))) {
      assert.equal(record.id, 'h1');
      break;
    }
  }
});

test('shared data: seed Parquet and JSONL give the same 358 documents', async (t) => {
  const parquet = path.join(sharedData, 'cnn_dailymail_chatgpt.parquet');
  const jsonl = path.join(sharedData, 'cnn_dailymail_chatgpt.jsonl');
  if (!existsSync(parquet) || !existsSync(jsonl)) return t.skip('../shared/data is not present');
  const fromParquet = await readAllDocuments([parquet]);
  const fromJsonl = await readAllDocuments([jsonl]);
  assert.equal(fromParquet.length, 358);
  assert.equal(fromJsonl.length, 358);
  assert.deepEqual(fromParquet.map((d) => [d.id, d.text, d.prompt]), fromJsonl.map((d) => [d.id, d.text, d.prompt]));
});
