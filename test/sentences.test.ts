import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { isLetterOrDot, splitSentences } from '../src/text/sentences.ts';

function texts(input: string): string[] {
  const spans = splitSentences(input);
  for (const s of spans) {
    assert.equal(input.slice(s.start, s.end), s.text, 'offsets point into the original text');
    assert.equal(s.text, s.text.trim(), 'spans are trimmed');
  }
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i].start >= spans[i - 1].end, 'spans do not overlap');
  return spans.map((s) => s.text);
}

test('titles, months, "No." and decimals do not end sentences', () => {
  assert.deepEqual(texts('Mr. Smith met Sen. Jones on Jan. 5 at the U.S. Capitol. Growth was 3.5 percent. It ranked No. 1 again.'), [
    'Mr. Smith met Sen. Jones on Jan. 5 at the U.S. Capitol.',
    'Growth was 3.5 percent.',
    'It ranked No. 1 again.',
  ]);
});

test('initials stay inside names; an acronym ends a sentence before a common opener', () => {
  assert.deepEqual(texts('John F. Kennedy spoke. J.K. Rowling wrote. She lives in the U.S. The weather is nice.'), [
    'John F. Kennedy spoke.',
    'J.K. Rowling wrote.',
    'She lives in the U.S.',
    'The weather is nice.',
  ]);
  assert.deepEqual(texts('Talks end at 5 p.m. on Friday. Apple Inc. said sales rose.'), ['Talks end at 5 p.m. on Friday.', 'Apple Inc. said sales rose.']);
});

test('quotations: inner sentence ends split, closing quotes stay with their sentence, "Go!" he said stays whole', () => {
  assert.deepEqual(texts('"It\'s over. We lost," he said. "Go!" she shouted. He said: "Enough." Then he left.'), [
    '"It\'s over.',
    'We lost," he said.',
    '"Go!" she shouted.',
    'He said: "Enough."',
    'Then he left.',
  ]);
  assert.deepEqual(texts('He left. “I am done,” he said. ‘Fine.’ She nodded.'), ['He left.', '“I am done,” he said.', '‘Fine.’', 'She nodded.']);
});

test('datelines and bylines stay with the first sentence; detached " ." periods end sentences', () => {
  assert.deepEqual(texts('WASHINGTON (CNN) -- The president said Tuesday the bill would pass. Critics disagreed.'), [
    'WASHINGTON (CNN) -- The president said Tuesday the bill would pass.',
    'Critics disagreed.',
  ]);
  assert.deepEqual(texts('By . Jane Doe . The minister resigned on Monday . He denied wrongdoing .'), [
    'By . Jane Doe .',
    'The minister resigned on Monday .',
    'He denied wrongdoing .',
  ]);
});

test('headlines, blank lines and bullet lists are boundaries; bullet markers are left out', () => {
  const input = 'Ad sales boost profit\n\nProfits jumped 76% to $1.13bn (£600m) in the quarter.\nKey points:\n- Prices rose 5%\n* Wages fell\n1. First item\n• Last item.';
  assert.deepEqual(texts(input), [
    'Ad sales boost profit',
    'Profits jumped 76% to $1.13bn (£600m) in the quarter.',
    'Key points:',
    'Prices rose 5%',
    'Wages fell',
    'First item',
    'Last item.',
  ]);
});

test('hard-wrapped prose is joined; glued sentences ("ago.An") are split; web addresses are not', () => {
  assert.deepEqual(texts('This is a long hard-wrapped line of prose that continues onto the next line\nwithout any break, and it ends here. Next one.'), [
    'This is a long hard-wrapped line of prose that continues onto the next line\nwithout any break, and it ends here.',
    'Next one.',
  ]);
  assert.deepEqual(texts('It began two decades ago.An online trailer appeared.See www.bbc.co.uk for more.'), [
    'It began two decades ago.',
    'An online trailer appeared.',
    'See www.bbc.co.uk for more.',
  ]);
});

test('edge cases: empty text, no final punctuation, ellipsis, question and exclamation runs', () => {
  assert.deepEqual(texts(''), []);
  assert.deepEqual(texts('   \n\n  '), []);
  assert.deepEqual(texts('No punctuation at all'), ['No punctuation at all']);
  assert.deepEqual(texts('Wait... They came back. Really?! Yes.'), ['Wait...', 'They came back.', 'Really?!', 'Yes.']);
});

test('isLetterOrDot answers as the plain /[\\p{L}.]/u test does, for every UTF-16 code unit', () => {
  for (let c = 0; c <= 0xffff; c++) assert.equal(isLetterOrDot(c), /[\p{L}.]/u.test(String.fromCharCode(c)), `U+${c.toString(16)}`);
});
