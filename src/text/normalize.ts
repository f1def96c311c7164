/**
 * Canonical text form: the only view of a document that features ever see.
 *
 * Corpora leak their label through formatting that says nothing about who
 * wrote the words: CNN/DailyMail's " ." spacing and bylines, XSum's glued
 * sentences and mojibake, curly versus straight quotes, paragraph breaks,
 * markdown and "Title:" lines in generated text, look-alike letters in
 * attacked text. Each rule below removes one such artifact, so a model
 * trained on the canonical form has to learn the writing itself.
 *
 * The rules run in a fixed order; every rule is idempotent, and so is the
 * whole function (normalize(normalize(x)) === normalize(x)).
 */
import { isSentenceEndChar } from './tokenize.js';

/** Mojibake: UTF-8 bytes decoded as Windows-1252, the common cases in news dumps. */
const MOJIBAKE: Array<[RegExp, string]> = [
  [/â€™|â€˜/g, "'"],
  [/â€œ|â€\u009d|â€�/g, '"'],
  [/â€"|â€”|â€“/g, ' - '],
  [/â€¦/g, '...'],
  [/Ã©/g, 'é'],
  [/Ã¨/g, 'è'],
  [/Ã¶/g, 'ö'],
  [/Ã¼/g, 'ü'],
  [/Ã¤/g, 'ä'],
  [/Ã±/g, 'ñ'],
  [/Â(?=[\s£€°±²³µ·½¼¾©®])/g, ''],
];

/**
 * Letters from other scripts that look like Latin ones (Cyrillic, Greek,
 * Armenian). Attacks swap them in to break tokenisers; mapping them back
 * means the detector reads the word the reader sees.
 */
const CONFUSABLES: Record<string, string> = {
  // Cyrillic
  а: 'a', в: 'b', е: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x',
  ѕ: 's', і: 'i', ј: 'j', ԁ: 'd', ԛ: 'q', ԝ: 'w', ү: 'y', һ: 'h', ӏ: 'l',
  А: 'A', В: 'B', Е: 'E', К: 'K', М: 'M', Н: 'H', О: 'O', Р: 'P', С: 'C', Т: 'T', У: 'Y', Х: 'X',
  Ѕ: 'S', І: 'I', Ј: 'J', Ԁ: 'D', Ү: 'Y', Һ: 'H', Ӏ: 'I',
  // Greek
  α: 'a', ο: 'o', ρ: 'p', ν: 'v', τ: 't', ι: 'i', κ: 'k', χ: 'x', υ: 'u',
  Α: 'A', Β: 'B', Ε: 'E', Ζ: 'Z', Η: 'H', Ι: 'I', Κ: 'K', Μ: 'M', Ν: 'N', Ο: 'O', Ρ: 'P', Τ: 'T', Υ: 'Y', Χ: 'X',
  // Armenian
  օ: 'o', ս: 'u', ո: 'n', հ: 'h', զ: 'q', ց: 'g', ա: 'w', Տ: 'S', Օ: 'O', Ս: 'U',
};
/** The look-alike letters normalize() maps to Latin ones (the language check counts them as Latin inside Latin words). */
export const CONFUSABLE_LETTERS: readonly string[] = Object.keys(CONFUSABLES);
/** Greek, Cyrillic and Armenian blocks: the only places confusables come from. */
const OTHER_SCRIPTS = /[\u0370-\u058F]/;
const CONFUSABLE_PATTERN = new RegExp(`[${Object.keys(CONFUSABLES).join('')}]`, 'g');

const ZERO_WIDTH = /[\u200B-\u200D\u2060\uFEFF\u00AD\u180E]/g;
const SINGLE_QUOTES = /[\u2018\u2019\u201A\u201B\u2032\u02BC`´]/g;
const DOUBLE_QUOTES = /[\u201C\u201D\u201E\u201F\u2033\u00AB\u00BB]|''/g;
/** Em, en, figure and horizontal-bar dashes, the minus sign, and "--". */
const DASHES = /[\u2012\u2013\u2014\u2015\u2212]|--+/g;
const ELLIPSIS = /\u2026/g;
const ASCII_QUOTE_VARIANTS = /[`]|''/g;
const HAS_DASH = /[\u2012-\u2015\u2212]|--/;
const HAS_SPACE_BEFORE_PUNCT = / [.,;:!?]/;
const ODD_SPACES = /[\u00A0\u2000-\u200A\u202F\u205F\u3000\t\f\v]/g;

/** "By . James Chapman . " and "By James Chapman, Political Editor ." at the very start. */
const BYLINE = /^\s*By\s*\.?\s+(?:[A-Z][\w'’-]*\.?\s*){1,5}(?:(?:,|for|and|In)[^.\n]{0,80})?\s\.\s*/;
/** DailyMail's "PUBLISHED: 12:01 EST, 2 May 2013 | UPDATED: 09:12 EST, 3 May 2013". */
const PUBLISHED_STAMP = /\b(?:PUBLISHED|UPDATED):\s*\.?\s*\d{1,2}:\d{2}\s*(?:EST|GMT|BST|EDT)?,?\s*\d{1,2}\s+\w+\s+\d{4}\s*\.?\s*\|?\s*/g;
const LAST_UPDATED = /\bLast updated at \d{1,2}:\d{2}\s*[AP]M on \d{1,2}\w*\s+\w+\s+\d{4}\s*\.?\s*/g;
/** "WASHINGTON (CNN) -- " and "(CNN)" datelines. */
const CNN_DATELINE = /^\s*(?:[A-Z][A-Za-z.'-]*(?:[ ,]+[A-Z][A-Za-z.'-]*)*\s*)?\(CNN\)\s*(?:-+|\u2014|\u2013)?\s*/;
/** "Follow @handle" lines that bylines carry. */
const FOLLOW_HANDLE = /\bFollow @+\w+\s*\.?\s*/g;

const MARKDOWN_EMPHASIS = /(\*\*|__)(?=\S)([\s\S]*?\S)\1/g;
const MARKDOWN_SINGLE = /(^|[\s(])[*_](?=\S)([^*_\n]*?\S)[*_](?=[\s).,;:!?]|$)/g;
const LINE_MARKERS = /^[ \t]*(?:#{1,6}[ \t]+|[-*•][ \t]+|>[ \t]*)/gm;
const TITLE_LINE = /^\s*(?:title|headline)\s*:[^\n]*\n/i;

/** Space before punctuation: CNN/DailyMail's " ." and " ," tokenisation residue. */
const SPACE_BEFORE_PUNCT = /[ ]+([.,;:!?])(?=\s|$|["')])/g;
/**
 * Sentences glued without a space ("ago.An", 'fantastic".What'). A lower-case
 * letter or digit before the stop keeps "U.S.A" and "p.m" intact.
 */
const GLUED_SENTENCE = /([a-z0-9%)][.!?]["')]?)(?=["(]?[A-Z][a-z])/g;
/** What every GLUED_SENTENCE match contains: a stop, then (at most two quotes or brackets) a capitalised word (MAYBE_GLUED below tests for it). */
const GLUED_PATTERN = /[.!?]["')]?["(]?[A-Z][a-z]/;

export function normalize(text: string): string {
  let t = text.normalize('NFC');
  t = fixEncoding(t);
  t = stripLayout(t);
  t = stripCorpusBoilerplate(t);
  t = canonicalPunctuation(t);
  return collapseWhitespace(t);
}

const NON_ASCII = /[^\x00-\x7F]/;
const MOJIBAKE_LEAD = /[âÃÂ]/;

/**
 * What any rule of fixEncoding but NFKC looks for, as one character class
 * (ZERO_WIDTH, MOJIBAKE_LEAD, OTHER_SCRIPTS merged: an alternation of the
 * three was twice as slow, ~3.5 µs on a 2 kB article).
 */
const ENCODING_ISSUE = /[\u200B-\u200D\u2060\uFEFF\u00AD\u180EâÃÂ\u0370-\u058F]/;

function fixEncoding(t: string): string {
  // Every rule here concerns non-ASCII characters: most news is pure ASCII.
  if (!NON_ASCII.test(t)) return t;
  // Most non-ASCII news has none of these: one scan instead of three (~1 µs each on a 2 kB article).
  if (!ENCODING_ISSUE.test(t)) return t.normalize('NFKC');
  t = t.replace(ZERO_WIDTH, '');
  // Every mojibake pattern starts with â, Ã or Â: one scan instead of eleven (measured ~20 µs per article).
  if (MOJIBAKE_LEAD.test(t)) for (const [pattern, replacement] of MOJIBAKE) t = t.replace(pattern, replacement);
  if (OTHER_SCRIPTS.test(t)) t = t.replace(CONFUSABLE_PATTERN, (c) => CONFUSABLES[c] ?? c);
  // NFKC folds full-width letters, ligatures and other compatibility forms.
  return t.normalize('NFKC');
}

/** Headline lines, markdown and line structure: layout, not language. */
function stripLayout(t: string): string {
  if (t.includes('\r')) t = t.replace(/\r\n?/g, '\n');
  t = t.replace(TITLE_LINE, '');
  t = stripHeadlineLine(t);
  // Each guard is a cheap scan that skips a regex that would otherwise try
  // to match at every space: normalisation sits on the detection hot path.
  if (t.includes('*') || t.includes('_')) {
    t = t.replace(MARKDOWN_EMPHASIS, '$2');
    t = t.replace(MARKDOWN_SINGLE, '$1$2');
  }
  if (t.includes('\n')) t = t.replace(LINE_MARKERS, '');
  else t = t.replace(/^[ \t]*(?:#{1,6}[ \t]+|[-*•][ \t]+|>[ \t]*)/, '');
  return t;
}

/**
 * A first line that is short and has no sentence-final punctuation, followed
 * by a line break, is a headline (BBC human text has one, so do many
 * generated articles). It is layout, not body text.
 */
function stripHeadlineLine(t: string): string {
  const trimmed = t.replace(/^\s+/, '');
  const end = trimmed.indexOf('\n');
  if (end <= 0) return trimmed;
  const first = trimmed.slice(0, end).trim();
  const rest = trimmed.slice(end + 1);
  if (!rest.trim()) return trimmed;
  const words = first.split(/\s+/).length;
  if (words <= 20 && !/[.!?]["')]?$/.test(first)) return rest;
  return trimmed;
}

function stripCorpusBoilerplate(t: string): string {
  // The literal guards skip /g patterns that would be tried at every word boundary.
  if (t.includes('Last updated at ')) t = t.replace(LAST_UPDATED, '');
  if (t.includes('PUBLISHED:') || t.includes('UPDATED:')) t = t.replace(PUBLISHED_STAMP, '');
  t = t.replace(BYLINE, '');
  if (t.includes('Follow @')) t = t.replace(FOLLOW_HANDLE, '');
  t = t.replace(/^\s*\.\s*/, '');
  t = t.replace(CNN_DATELINE, '');
  return t;
}

/**
 * Whether one of the four passes below would change anything: a character
 * of their classes, or "''" (DOUBLE_QUOTES's other alternative). One merged
 * class and a literal search (~2.7 µs on a 2 kB article) instead of four
 * passes (~4.6 µs); an alternation of all of it was no faster than the passes.
 */
const QUOTE_OR_SPACE_CHAR = /[\u2018\u2019\u201A\u201B\u2032\u02BC`´\u201C\u201D\u201E\u201F\u2033\u00AB\u00BB\u2026\u00A0\u2000-\u200A\u202F\u205F\u3000\t\f\v]/;
const QUOTE_OR_SPACE_VARIANT = { test: (t: string): boolean => QUOTE_OR_SPACE_CHAR.test(t) || t.includes("''") };

function canonicalQuotesAndSpaces(t: string): string {
  t = t.replace(SINGLE_QUOTES, "'");
  t = t.replace(DOUBLE_QUOTES, '"');
  t = t.replace(ELLIPSIS, '...');
  return t.replace(ODD_SPACES, ' ');
}

function canonicalPunctuation(t: string): string {
  if (NON_ASCII.test(t)) {
    // One scan says whether any of the four passes would change anything (~1 µs each on a 2 kB article).
    if (QUOTE_OR_SPACE_VARIANT.test(t)) t = canonicalQuotesAndSpaces(t);
  } else {
    t = t.replace(ASCII_QUOTE_VARIANTS, (q) => (q === "''" ? '"' : "'"));
  }
  // Spaces around the dash are left to collapseWhitespace: a pattern that
  // begins with \s* would be tried at every space of the text.
  if (HAS_DASH.test(t)) t = t.replace(DASHES, ' - ');
  if (HAS_SPACE_BEFORE_PUNCT.test(t)) t = t.replace(SPACE_BEFORE_PUNCT, '$1');
  // " ." at the very end of a sentence followed by a newline, and ". ." runs
  if (SPACED_STOP.test(t)) t = t.replace(SPACED_STOPS, '$1');
  // GLUED_SENTENCE starts with a class most characters match; this scan starts at a stop and fails fast.
  if (MAYBE_GLUED.test(t)) t = t.replace(GLUED_SENTENCE, '$1 ');
  return t;
}

const SPACED_STOPS = /([.!?])(?:\s+\.)+/g;
const WHITESPACE = /\s/;

/** A code unit /\s/ matches. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || (c >= 0xa0 && WHITESPACE.test(String.fromCharCode(c)));
}

/**
 * Whether SPACED_STOPS matches (a stop, white space, a period), visiting
 * only the periods: ~0.4 µs on a 2 kB article against ~2.3 µs for the
 * regex scan, which tries at every character (issue 10).
 */
const SPACED_STOP = {
  test(t: string): boolean {
    for (let q = t.indexOf('.', 1); q !== -1; q = t.indexOf('.', q + 1)) {
      if (!isSpace(t.charCodeAt(q - 1))) continue;
      let j = q - 2;
      while (j >= 0 && isSpace(t.charCodeAt(j))) j--;
      if (isSentenceEndChar(t.charCodeAt(j))) return true;
    }
    return false;
  },
};

/** The rest of a MAYBE_GLUED match after its stop. */
const AFTER_STOP = /["')]?["(]?[A-Z][a-z]/y;

/**
 * Whether MAYBE_GLUED matches (a stop, at most two quotes or brackets, a
 * capitalised word), trying only at each stop: ~0.8 µs on a 2 kB article
 * against ~2.2 µs for the regex scan (issue 10).
 */
const MAYBE_GLUED = {
  test(t: string): boolean {
    for (const stop of '.!?') {
      for (let i = t.indexOf(stop); i !== -1; i = t.indexOf(stop, i + 1)) {
        AFTER_STOP.lastIndex = i + 1;
        if (AFTER_STOP.test(t)) return true;
      }
    }
    return false;
  },
};

/**
 * All line-break conventions (single paragraph, blank-line paragraphs) become
 * single spaces. Only runs of two or more, or whitespace other than a plain
 * space, are rewritten: replacing every single space costs more than all
 * other rules together.
 */
function collapseWhitespace(t: string): string {
  return t.replace(WHITESPACE_RUN, ' ').trim();
}

/**
 * A run of white space that is not one plain space: the same matches as
 * /[ \t\n\r\f\v]{2,}|[\t\n\r\f\v]/g (each starts where a run starts and
 * takes all of it), but a lone space fails at its second character instead
 * of being tried twice: 3.6 → 2.9 µs on a 2 kB article (issue 10; pinned by
 * test/normalize.test.ts).
 */
export const WHITESPACE_RUN = /[\t\n\r\f\v][ \t\n\r\f\v]*| [ \t\n\r\f\v]+/g;

/** Each one-scan guard with the patterns it stands for (test/normalize.test.ts pins them: it matches exactly when one of them does). */
export const NORMALIZE_GUARDS: ReadonlyArray<[guard: { test(text: string): boolean }, patterns: readonly RegExp[]]> = [
  [ENCODING_ISSUE, [ZERO_WIDTH, MOJIBAKE_LEAD, OTHER_SCRIPTS]],
  [QUOTE_OR_SPACE_VARIANT, [SINGLE_QUOTES, DOUBLE_QUOTES, ELLIPSIS, ODD_SPACES]],
  [SPACED_STOP, [SPACED_STOPS]],
  [MAYBE_GLUED, [GLUED_PATTERN]],
];
