import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tokenize, TokenKind } from '../src/text/tokenize.js';
import { normalize } from '../src/text/normalize.js';
import { hashString } from '../src/util/hash.js';

/**
 * Oracle for the tokenizer's hand-written fast path: the tokens of a text by
 * the plain definition (a word is letters with inner ' or -, a number is
 * digits with inner . , : and an optional %, anything else but whitespace is
 * one punctuation token; each token's hash is hashString of its lower-cased
 * text), written here with Unicode regexes and string methods.
 */
function plainTokens(text: string): Array<{ start: number; length: number; kind: TokenKind; hash: number; char: number }> {
  const out: Array<{ start: number; length: number; kind: TokenKind; hash: number; char: number }> = [];
  const letter = (c: string | undefined) => c !== undefined && /[A-Za-z]/.test(c) ? true : c !== undefined && c.charCodeAt(0) >= 0xc0 && !(c.charCodeAt(0) >= 0xd800 && c.charCodeAt(0) <= 0xdfff) && /[\p{L}\p{M}]/u.test(c);
  const digit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
  const upper = (c: string) => c !== c.toLowerCase();
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/[ \t\n\v\f\r]/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    let kind: TokenKind;
    let lowered = '';
    if (letter(c)) {
      let ups = 0;
      let lows = 0;
      while (i < text.length) {
        const d = text[i];
        if (letter(d)) {
          if (upper(d)) ups++;
          else lows++;
          lowered += d.toLowerCase()[0];
          i++;
        } else if ((d === "'" || d === '-') && letter(text[i + 1])) {
          lowered += d;
          i++;
        } else break;
      }
      kind = !upper(c) ? TokenKind.Lower : ups > 1 && lows === 0 ? TokenKind.AllCaps : TokenKind.Capitalised;
    } else if (digit(c)) {
      while (i < text.length && (digit(text[i]) || ('.,:'.includes(text[i]) && digit(text[i + 1])))) lowered += text[i++];
      if (text[i] === '%') lowered += text[i++];
      kind = TokenKind.Number;
    } else {
      lowered = c;
      i++;
      kind = TokenKind.Punctuation;
    }
    out.push({ start, length: i - start, kind, hash: hashString(lowered), char: kind === TokenKind.Punctuation ? c.charCodeAt(0) : 0 });
  }
  return out;
}

function assertSameTokens(text: string): void {
  const tokens = tokenize(text);
  const expected = plainTokens(text);
  assert.equal(tokens.count, expected.length, `token count of ${JSON.stringify(text.slice(0, 200))}`);
  for (let t = 0; t < tokens.count; t++) {
    const e = expected[t];
    const got = { start: tokens.starts[t], length: tokens.lengths[t], kind: tokens.kinds[t], hash: tokens.hashes[t], char: tokens.chars[t] };
    if (got.start !== e.start || got.length !== e.length || got.kind !== e.kind || got.hash !== e.hash || got.char !== e.char) {
      assert.deepEqual(got, e, `token ${t} of ${JSON.stringify(text.slice(Math.max(0, e.start - 20), e.start + 40))}`);
    }
  }
}

test('tokenizer equals its plain definition (edge cases and random strings)', () => {
  for (const text of ['', ' ', "Don't stop-gap U.S. 3.5% 12:30 1,000 -x x- 'a' O'NEIL MP3 Ünïcödé ÉCOLE straße İstanbul", 'A', 'AB', 'Ab', 'aB', '--', "a'", "'a", '9%', '9.', '.9']) assertSameTokens(text);
  const alphabet = [...'aZmQ09%.,:\'"-_ \t\nÉéßİıΣσ中!?()'];
  let seed = 7;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let k = 0; k < 5000; k++) {
    let text = '';
    for (let i = 0, n = Math.floor(next() * 30); i < n; i++) text += alphabet[Math.floor(next() * alphabet.length)];
    assertSameTokens(text);
  }
});

const sharedData = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'data');

test('tokenizer equals its plain definition on normalised texts of ../shared/data (every 5th line of each file)', (t) => {
  if (!existsSync(sharedData)) return t.skip('../shared/data is not present');
  let texts = 0;
  for (const file of readdirSync(sharedData).filter((f) => f.endsWith('.jsonl'))) {
    const lines = readFileSync(path.join(sharedData, file), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i += 5) {
      if (!lines[i].trim()) continue;
      const record = JSON.parse(lines[i]) as Record<string, unknown>;
      const text = [record.text, record.article, record.chatgpt].find((v): v is string => typeof v === 'string');
      if (text === undefined) continue;
      assertSameTokens(normalize(text));
      texts++;
    }
  }
  assert.ok(texts > 4000, `tokenised ${texts} texts`);
});
