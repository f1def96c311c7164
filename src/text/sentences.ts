/**
 * Sentence segmentation for news text, on the ORIGINAL (un-normalised) text:
 * every sentence keeps `start` (inclusive) and `end` (exclusive) offsets so an
 * interface can highlight exactly `text.slice(start, end)`; spans are trimmed
 * of surrounding whitespace and never overlap.
 *
 * Rules, in the order they apply:
 * - Line structure first: a blank line, a bulleted or numbered line, and a
 *   short line without final punctuation (a headline) end a sentence. A long
 *   line that stops mid-sentence followed by a lower-case line is hard-wrapped
 *   prose and is joined. Bullet markers are left out of the sentence span.
 * - Inside a line: `.`, `!`, `?`, `…` (and runs such as `?!` or `...`), with
 *   any closing quotes and brackets, end a sentence when whitespace and a
 *   sentence opener (capital, digit, opening quote) follow. Without
 *   whitespace only the glued form "ago.An" (lower-case or digit before the
 *   stop, capital then lower-case after) splits, so decimals (3.5), U.S.A
 *   and web addresses stay whole.
 * - A single `.` after a title (Mr., Dr., Gov.), "No." before a number, a
 *   month before a day (Jan. 5), an initial (John F. Kennedy), a dotted
 *   acronym (U.S., a.m.) or a company suffix (Inc., Corp.) only ends a
 *   sentence when the next word is a common sentence opener ("the U.S. The").
 * - A fragment with at most one word ("By ." in a byline) is merged into the
 *   next sentence, and punctuation-only fragments into the previous one.
 * Quotations spanning several sentences are split at their inner sentence
 * ends; a closing quote belongs to the sentence it closes, and `"Go!" he
 * said` stays one sentence because a lower-case word follows.
 * Hand-written: Intl.Segmenter (ICU) splits "Gov. | Smith met Mr. | Jones" (checked on Node 20), and news needs these rules.
 */
export interface SentenceSpan {
  start: number;
  end: number;
  text: string;
}

const TITLES = new Set([
  'mr', 'mrs', 'ms', 'messrs', 'mme', 'dr', 'prof', 'sen', 'sens', 'rep', 'reps', 'gov', 'gen', 'col', 'lt', 'sgt', 'capt', 'cmdr', 'adm',
  'st', 'rev', 'hon', 'pres', 'supt', 'det', 'insp', 'maj', 'cpl', 'pvt', 'ft', 'mt', 'vs', 'v', 'approx', 'dept', 'fig', 'vol', 'atty',
  'gens', 'brig', 'cdr', 'lieut', 'sr', 'jr', 'cf', 'al', 'nos', 'pp', 'ch', 'sec', 'gov', 'ald', 'del',
]);
/** Abbreviations that end a sentence only before a common sentence opener. */
const SOFT = new Set(['inc', 'corp', 'co', 'ltd', 'llc', 'plc', 'bros', 'jr', 'sr', 'etc', 'esq', 'ave', 'blvd', 'rd', 'cos']);
const MONTHS = new Set(['jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec']);
const NEVER_FINAL = new Set(['e.g', 'i.e', 'cf', 'viz']);
/** Words that very often open a sentence and rarely follow an abbreviation inside one. */
const OPENERS = new Set([
  'the', 'a', 'an', 'he', 'she', 'it', 'they', 'we', 'i', 'you', 'but', 'and', 'in', 'on', 'at', 'this', 'that', 'these', 'those', 'his',
  'her', 'their', 'its', 'our', 'my', 'there', 'when', 'while', 'after', 'before', 'however', 'meanwhile', 'if', 'as', 'for', 'so', 'some',
  'many', 'one', 'what', 'why', 'how', 'who', 'yet', 'also', 'then', 'still', 'since', 'although', 'during', 'last', 'now', 'according',
  'officials', 'police', 'both', 'each', 'most', 'no', 'not', 'all', 'more', 'other', 'such', 'with', 'by', 'from', 'to', 'under', 'despite',
]);
const BULLET = /^[ \t]*(?:[-*•▪◦‣–—]|\d{1,2}[.)]|#{1,6})[ \t]+(?=\S)/;
const CLOSERS = '"\'”’»)]*_';
const OPENING = '"\'“‘«([*_';
const HEADLINE_MAX_WORDS = 12;
const HAS_WORD = /[\p{L}\p{N}]/u;
const HAS_TWO_WORDS = /[\p{L}\p{N}][^\p{L}\p{N}]+[\p{L}\p{N}]/u;
const WRAPPED_LINE_MIN_CHARS = 50;

export function splitSentences(text: string): SentenceSpan[] {
  const pieces: Array<{ start: number; end: number; hard: boolean }> = [];
  for (const block of lineBlocks(text)) splitBlock(text, block.start, block.end, pieces);
  return mergeFragments(text, pieces);
}

/** Line-level segments: [start, end) ranges of the text that sentences never cross. */
function lineBlocks(text: string): Array<{ start: number; end: number }> {
  const lines: Array<{ start: number; end: number }> = [];
  let from = 0;
  for (;;) {
    const nl = text.indexOf('\n', from);
    const end = nl < 0 ? text.length : nl;
    lines.push({ start: from, end });
    if (nl < 0) break;
    from = nl + 1;
  }
  const blocks: Array<{ start: number; end: number }> = [];
  let current: { start: number; end: number } | null = null;
  for (let i = 0; i < lines.length; i++) {
    let { start, end } = lines[i];
    const raw = text.slice(start, end);
    if (raw.trim() === '') {
      if (current) blocks.push(current);
      current = null;
      continue;
    }
    const bullet = BULLET.exec(raw);
    if (bullet) start += bullet[0].length;
    if (current && (bullet || !continues(text.slice(current.start, current.end), raw))) {
      blocks.push(current);
      current = null;
    }
    if (current) current.end = end;
    else current = { start, end };
  }
  if (current) blocks.push(current);
  return blocks;
}

/** Whether `next` continues the sentence of `previous` (hard-wrapped prose) rather than starting anew. */
function continues(previous: string, next: string): boolean {
  const last = previous.trimEnd();
  const first = next.trimStart();
  if (/[.!?…:]["'”’)\]]*$/.test(last)) return /^[a-z]/.test(first);
  if (/^[a-z(,;]/.test(first)) return true;
  const lastLine = last.slice(last.lastIndexOf('\n') + 1);
  return lastLine.length >= WRAPPED_LINE_MIN_CHARS && lastLine.trim().split(/\s+/).length > HEADLINE_MAX_WORDS;
}

const STOP = /[.!?…]/g;

function splitBlock(text: string, from: number, to: number, out: Array<{ start: number; end: number; hard: boolean }>): void {
  let start = from;
  let i = from;
  while (i < to) {
    // jump to the next stop character (a regex search beats a character loop)
    STOP.lastIndex = i;
    if (!STOP.test(text) || STOP.lastIndex > to) break;
    i = STOP.lastIndex - 1;
    const runStart = i;
    while (i < to && '.!?…'.includes(text[i])) i++;
    const runEnd = i;
    while (i < to && CLOSERS.includes(text[i])) i++;
    const end = i;
    let k = i;
    while (k < to && isSpace(text[k])) k++;
    if (k >= to) break;
    const spaced = k > end;
    if (!startsSentence(text, k, to)) continue;
    if (!spaced && !isGlued(text, runStart, runEnd, k)) continue;
    if (runEnd - runStart === 1 && text[runStart] === '.' && !periodEnds(text, runStart, k, to)) continue;
    out.push({ start, end, hard: false });
    start = k;
    i = k;
  }
  out.push({ start, end: to, hard: true });
}

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\u00a0' || c === '\u2009' || c === '\u202f';
}

function isUpper(c: string | undefined): boolean {
  return c !== undefined && c !== c.toLowerCase() && c === c.toUpperCase();
}

function isLower(c: string | undefined): boolean {
  return c !== undefined && c !== c.toUpperCase() && c === c.toLowerCase();
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** A sentence can open at k: a capital, a digit, or opening quotes/brackets before one. */
function startsSentence(text: string, k: number, to: number): boolean {
  let j = k;
  while (j < to && OPENING.includes(text[j])) j++;
  return j < to && (isUpper(text[j]) || isDigit(text[j]));
}

/** "ago.An", 'fantastic".What': a lower-case letter, digit, % or ) before the stop, then Capital + lower-case. */
function isGlued(text: string, runStart: number, runEnd: number, k: number): boolean {
  const before = text[runStart - 1];
  if (!(isLower(before) || isDigit(before) || before === '%' || before === ')')) return false;
  if (text[runStart] === '.' && runEnd - runStart === 1 && isAbbreviation(wordBefore(text, runStart))) return false;
  let j = k;
  while (OPENING.includes(text[j] ?? '')) j++;
  return isUpper(text[j]) && isLower(text[j + 1]);
}

/** The letters and inner dots right before position `dot`, e.g. "U.S" or "Mr". */
function wordBefore(text: string, dot: number): string {
  let j = dot;
  while (j > 0 && isLetterOrDot(text.charCodeAt(j - 1))) j--;
  return text.slice(j, dot);
}

const LETTER_OR_DOT = /[\p{L}.]/u;

/**
 * LETTER_OR_DOT.test(String.fromCharCode(c)), with ASCII answered without
 * building a string (issue 10: wordBefore was 3% of --sentences; pinned for
 * every code unit by test/sentences.test.ts).
 */
export function isLetterOrDot(c: number): boolean {
  if (c < 128) return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 46;
  return LETTER_OR_DOT.test(String.fromCharCode(c));
}

function isAbbreviation(word: string): boolean {
  const lower = word.toLowerCase();
  return TITLES.has(lower) || MONTHS.has(lower) || SOFT.has(lower) || NEVER_FINAL.has(lower);
}

function nextWord(text: string, k: number, to: number): string {
  let j = k;
  while (j < to && OPENING.includes(text[j])) j++;
  const m = /^[\p{L}']+/u.exec(text.slice(j, Math.min(to, j + 30)));
  return m ? m[0].toLowerCase() : '';
}

/** Whether a single '.' at `dot` (next sentence would open at k) ends a sentence. */
function periodEnds(text: string, dot: number, k: number, to: number): boolean {
  const word = wordBefore(text, dot);
  if (word === '') return true; // " ." (CNN/DailyMail spacing) or after a digit/quote
  const lower = word.toLowerCase();
  const next = text[k];
  if (NEVER_FINAL.has(lower)) return false;
  if (TITLES.has(lower) && !SOFT.has(lower)) return false;
  if (lower === 'no' && isDigit(next)) return false;
  if (MONTHS.has(lower)) return !isDigit(next) && OPENERS.has(nextWord(text, k, to));
  const initial = word.length === 1 && isUpper(word);
  const dotted = word.includes('.');
  if (initial || dotted || SOFT.has(lower)) return OPENERS.has(nextWord(text, k, to)) || (isDigit(next) && !initial);
  return true;
}

/** Trims spans, drops empty ones, merges one-word and punctuation-only fragments. */
function mergeFragments(text: string, pieces: Array<{ start: number; end: number; hard: boolean }>): SentenceSpan[] {
  const trimmed: Array<{ start: number; end: number; hard: boolean }> = [];
  for (const p of pieces) {
    let { start, end } = p;
    while (start < end && isSpace(text[start])) start++;
    while (end > start && isSpace(text[end - 1])) end--;
    if (end > start) trimmed.push({ start, end, hard: p.hard });
  }
  const out: Array<{ start: number; end: number; hard: boolean }> = [];
  let carry: number | null = null;
  for (let i = 0; i < trimmed.length; i++) {
    const p = { ...trimmed[i] };
    if (carry !== null) {
      p.start = carry;
      carry = null;
    }
    const body = text.slice(p.start, p.end);
    const words = !HAS_WORD.test(body) ? 0 : HAS_TWO_WORDS.test(body) ? 2 : 1;
    if (words === 0 && out.length > 0 && !out[out.length - 1].hard) {
      out[out.length - 1].end = p.end;
      out[out.length - 1].hard = p.hard;
      continue;
    }
    if (words <= 1 && !p.hard && i + 1 < trimmed.length && /^[\p{L}]+\s*\.$/u.test(body)) {
      carry = p.start;
      continue;
    }
    out.push(p);
  }
  return out.map(({ start, end }) => ({ start, end, text: text.slice(start, end) }));
}
