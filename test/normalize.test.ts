import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalize, NORMALIZE_GUARDS, WHITESPACE_RUN } from '../src/text/normalize.js';
import { DEFAULT_FEATURIZER_CONFIG, Featurizer } from '../src/features/featurizer.js';

const featurizer = new Featurizer({
  config: DEFAULT_FEATURIZER_CONFIG,
  styleMean: new Array(17).fill(0),
  styleStd: new Array(17).fill(1),
});

/** Same features, bucket for bucket and value for value. */
function assertSameFeatures(a: string, b: string): void {
  const x = featurizer.transform(a);
  const y = featurizer.transform(b);
  assert.deepEqual(Array.from(x.indices), Array.from(y.indices), `indices differ:\n${normalize(a)}\n${normalize(b)}`);
  assert.deepEqual(Array.from(x.values), Array.from(y.values));
}

const CLEAN =
  'The council voted on Tuesday to delay the plan. "We are not against housing," said Maria Keane, who has lived there since 1987. The plan returns in March.';

const ARTIFACTS: Array<[string, string]> = [
  ['CNN/DailyMail " ." spacing', CLEAN.replace(/\. /g, ' . ').replace(/,"/, ' ,"')],
  ['"By . Name ." byline', `By . James Porter . ${CLEAN}`],
  ['"By Name, Role ." byline', `By James Porter, Political Editor . ${CLEAN}`],
  ['PUBLISHED/UPDATED stamp', `PUBLISHED: 12:01 EST, 2 May 2013 | UPDATED: 09:12 EST, 3 May 2013 . ${CLEAN}`],
  ['Last updated line', `Last updated at 1:40 AM on 10th September 2011 . ${CLEAN}`],
  ['(CNN) -- dateline', `WASHINGTON (CNN) -- ${CLEAN}`],
  ['(CNN) dateline without dashes', `(CNN)${CLEAN}`],
  ['sentences glued without a space', CLEAN.replace('plan. "We', 'plan."We').replace('1987. The', '1987.The')],
  ['mojibake', CLEAN.replace(/"/g, 'â€œ').replace('â€œWe', 'â€œWe')],
  ['curly quotes', CLEAN.replace('"We', '\u201cWe').replace('housing,"', 'housing,\u201d')],
  ['zero-width characters', CLEAN.replace('council', 'coun\u200bcil').replace('delay', 'de\u200dlay\ufeff')],
  ['look-alike letters (Cyrillic, Greek, Armenian)', CLEAN.replace('council', 'c\u043euncil').replace('plan', 'pl\u03b1n').replace('voted', 'v\u0585ted')],
  ['line breaks and paragraphs', CLEAN.replace('plan. ', 'plan.\n\n').replace('1987. ', '1987.\r\n')],
  ['leading "Title:" line', `Title: Council delays the housing plan\n${CLEAN}`],
  ['leading headline line', `Council delays housing plan\n\n${CLEAN}`],
  ['markdown emphasis', CLEAN.replace('voted', '**voted**').replace('delay', '*delay*')],
  ['non-breaking and odd spaces', CLEAN.replace('the plan', 'the\u00a0plan').replace('on Tuesday', 'on\u2009Tuesday')],
];

for (const [name, variant] of ARTIFACTS) {
  test(`normalisation neutralises ${name}`, () => {
    assert.notEqual(variant, CLEAN, 'the variant must differ from the clean text');
    assertSameFeatures(variant, CLEAN);
  });
}

test('dash variants all read as the same dash', () => {
  const variants = ['prices rose \u2014 sharply \u2014 in May.', 'prices rose \u2013 sharply \u2013 in May.', 'prices rose -- sharply -- in May.', 'prices rose\u2014sharply\u2014in May.'];
  const expected = normalize(variants[0]);
  for (const v of variants) assert.equal(normalize(v), expected);
  assert.equal(expected, 'prices rose - sharply - in May.');
});

test('curly and straight apostrophes are the same', () => {
  assert.equal(normalize('It\u2019s the mayor\u2019s plan'), normalize("It's the mayor's plan"));
});

test('normalisation keeps abbreviations, decimals and real hyphens', () => {
  assert.equal(normalize('The U.S. economy grew 2.5% in the well-known survey.'), 'The U.S. economy grew 2.5% in the well-known survey.');
});

test('normalisation is idempotent', () => {
  for (const [, variant] of ARTIFACTS) {
    const once = normalize(variant);
    assert.equal(normalize(once), once);
  }
});

test('empty and whitespace-only texts normalise to the empty string and featurise without error', () => {
  assert.equal(normalize(''), '');
  assert.equal(normalize(' \n\t '), '');
  const vector = featurizer.transform('   ');
  assert.ok(vector.values.every((v) => Number.isFinite(v)));
});

test('each normalisation guard matches exactly when one of the patterns it stands for does (every UTF-16 code unit, and "\'\'")', () => {
  for (const [guard, patterns] of NORMALIZE_GUARDS) {
    const plain = patterns.map((p) => new RegExp(p.source, p.flags.replace('g', '')));
    const texts = ["''", "a'b'c", 'plain ASCII text.'];
    for (let c = 0; c <= 0xffff; c++) texts.push(`a${String.fromCharCode(c)}b`);
    for (const text of texts) assert.equal(guard.test(text), plain.some((p) => p.test(text)), `guard ${patterns.map(String).join(" ")} on ${JSON.stringify(text)}`);
  }
});

/** Every string of up to `length` characters over `alphabet`. */
function* strings(alphabet: string, length: number): Generator<string> {
  yield '';
  let level = [''];
  for (let n = 1; n <= length; n++) {
    level = level.flatMap((s) => [...alphabet].map((c) => s + c));
    yield* level;
  }
}

test('the stop guards match exactly when their patterns do, on every short string of stops, quotes, spaces and letters', () => {
  const guards = NORMALIZE_GUARDS.slice(2);
  assert.equal(guards.length, 2);
  for (const text of strings('.!?"\'( \n\u00a0\u2028aAZ', 5)) {
    for (const [guard, patterns] of guards) {
      const plain = patterns.map((p) => new RegExp(p.source, p.flags.replace('g', '')));
      assert.equal(guard.test(text), plain.some((p) => p.test(text)), `guard ${patterns.map(String).join(' ')} on ${JSON.stringify(text)}`);
    }
  }
});

test('WHITESPACE_RUN replaces exactly what the plain collapse pattern does', () => {
  const plain = /[ \t\n\r\f\v]{2,}|[\t\n\r\f\v]/g;
  for (const text of strings(' \t\n\r\f\va\u00a0', 6)) assert.equal(text.replace(WHITESPACE_RUN, '_'), text.replace(plain, '_'), JSON.stringify(text));
});
