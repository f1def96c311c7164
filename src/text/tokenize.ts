import { avalanche, hashString } from '../util/hash.js';

/**
 * Word-level tokens of canonical text, scanned by hand in one pass: words
 * (with inner apostrophes and hyphens), numbers (with inner separators and a
 * trailing %), and each other non-space character on its own.
 *
 * Hand-written rather than a Unicode regex because it is the hot loop of
 * detection: it hashes each token as it reads it and never builds a string
 * unless asked (`withText`), which makes it several times faster.
 */
export const enum TokenKind {
  Punctuation = 0,
  Lower = 1,
  Capitalised = 2,
  AllCaps = 3,
  Number = 4,
}

/** Words of a text: its non-punctuation tokens (numbers count). What the length rules read: `too_short` and the length-aware calibration. */
export function countWords(tokens: Tokens): number {
  let words = 0;
  for (let i = 0; i < tokens.count; i++) if (tokens.kinds[i] !== TokenKind.Punctuation) words++;
  return words;
}

/** A word token: not punctuation, not a number (what the vocabulary checks and the news gate count). */
export function isWordKind(kind: number): boolean {
  return kind !== TokenKind.Punctuation && kind !== TokenKind.Number;
}

export interface Tokens {
  count: number;
  /** hashString of the lower-cased token. */
  hashes: Uint32Array;
  kinds: Uint8Array;
  /** Token length in UTF-16 code units. */
  lengths: Uint16Array;
  /** For punctuation tokens, its character code; 0 otherwise. */
  chars: Uint16Array;
  starts: Uint32Array;
  /** Lower-cased token strings, only when tokenize was called with withText. */
  texts?: string[];
}

/** As an int32 (same bits; `h ^ c` reads it as int32 either way), so the running hash never starts as a heap double. */
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
const LETTER = /[\p{L}\p{M}]/u;

/** Fresh arrays for a text of this length (a text has at most one token per character). */
export function tokenBuffers(length: number): Tokens {
  const capacity = Math.max(16, length);
  return {
    count: 0,
    hashes: new Uint32Array(capacity),
    kinds: new Uint8Array(capacity),
    lengths: new Uint16Array(capacity),
    chars: new Uint16Array(capacity),
    starts: new Uint32Array(capacity),
  };
}

export function tokenize(text: string, withText = false): Tokens {
  return tokenizeInto(text, tokenBuffers(text.length), withText);
}

/**
 * Tokenises into caller-owned buffers (grown when too small), so the hot
 * path allocates nothing per document. The result aliases `buffers`.
 */
export function tokenizeInto(text: string, buffers: Tokens, withText = false): Tokens {
  if (buffers.hashes.length < text.length) buffers = tokenBuffers(Math.max(text.length, buffers.hashes.length * 2));
  const { hashes, kinds, lengths, chars, starts } = buffers;
  const texts: string[] | undefined = withText ? [] : undefined;
  let count = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 32 || (c >= 9 && c <= 13)) {
      i++;
      continue;
    }
    const start = i;
    let h = FNV_OFFSET;
    let kind: TokenKind;
    if (isLetter(c)) {
      let upper = 0;
      let lower = 0;
      const firstUpper = isUpper(c);
      while (i < n) {
        const d = text.charCodeAt(i);
        // ASCII letters through one table lookup (lower-cased code, 0 for a non-letter): measured
        // 42 → 26 µs per benchmark article for the whole tokenizer; the same tokens and hashes (test/tokenize.test.ts).
        if (d < 128) {
          const l = ASCII_LOWER[d];
          if (l !== 0) {
            if (l !== d) upper++;
            else lower++;
            h = Math.imul(h ^ l, FNV_PRIME);
            i++;
            continue;
          }
        }
        if (isLetter(d)) {
          if (isUpper(d)) upper++;
          else lower++;
          h = Math.imul(h ^ toLower(d), FNV_PRIME);
          i++;
        } else if ((d === 39 || d === 45) && i + 1 < n && isLetter(text.charCodeAt(i + 1))) {
          h = Math.imul(h ^ d, FNV_PRIME);
          i++;
        } else break;
      }
      kind = !firstUpper ? TokenKind.Lower : upper > 1 && lower === 0 ? TokenKind.AllCaps : TokenKind.Capitalised;
    } else if (c >= 48 && c <= 57) {
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d >= 48 && d <= 57) {
          h = Math.imul(h ^ d, FNV_PRIME);
          i++;
        } else if ((d === 46 || d === 44 || d === 58) && i + 1 < n && isDigit(text.charCodeAt(i + 1))) {
          h = Math.imul(h ^ d, FNV_PRIME);
          i++;
        } else break;
      }
      if (i < n && text.charCodeAt(i) === 37) {
        h = Math.imul(h ^ 37, FNV_PRIME);
        i++;
      }
      kind = TokenKind.Number;
    } else {
      h = Math.imul(h ^ c, FNV_PRIME);
      i++;
      kind = TokenKind.Punctuation;
    }
    chars[count] = kind === TokenKind.Punctuation ? c : 0;
    // The same finish as hashString, so token hashes equal hashString(lower-cased token).
    hashes[count] = avalanche(h);
    kinds[count] = kind;
    lengths[count] = i - start;
    starts[count] = start;
    if (texts) texts.push(text.slice(start, i).toLowerCase());
    count++;
  }
  buffers.count = count;
  buffers.texts = texts;
  return buffers;
}

/** For an ASCII code: its lower-case code when it is a letter, else 0. */
const ASCII_LOWER = new Uint8Array(128);
for (let c = 65; c <= 90; c++) ASCII_LOWER[c] = c + 32;
for (let c = 97; c <= 122; c++) ASCII_LOWER[c] = c;

function isLetter(c: number): boolean {
  if (c < 128) return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
  return c >= 0xc0 && !(c >= 0xd800 && c <= 0xdfff) && LETTER.test(String.fromCharCode(c));
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isUpper(c: number): boolean {
  if (c < 128) return c >= 65 && c <= 90;
  const s = String.fromCharCode(c);
  return s !== s.toLowerCase();
}

function toLower(c: number): number {
  if (c < 128) return c >= 65 && c <= 90 ? c + 32 : c;
  return String.fromCharCode(c).toLowerCase().charCodeAt(0);
}

/** hashString of each word in a list, for building hash sets of known words. */
export function hashSet(words: Iterable<string>): Set<number> {
  const out = new Set<number>();
  for (const w of words) out.add(hashString(w));
  return out;
}

export const CHAR = {
  period: 46,
  exclamation: 33,
  question: 63,
  comma: 44,
  quote: 34,
  apostrophe: 39,
  openParen: 40,
  closeParen: 41,
  colon: 58,
  semicolon: 59,
  hyphen: 45,
} as const;

export function isSentenceEndChar(c: number): boolean {
  return c === CHAR.period || c === CHAR.exclamation || c === CHAR.question;
}
