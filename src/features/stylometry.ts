import { HashFlags } from './hashing.js';
import { FIRST_PERSON, FUNCTION_WORDS, SECOND_PERSON } from './function-words.js';
import { CHAR, hashSet, isSentenceEndChar, TokenKind, type Tokens } from '../text/tokenize.js';

/**
 * Document-level style measurements. Length itself is deliberately absent:
 * it separates generators in the development data (alpaca writes ~120 words,
 * journalists ~490) without saying anything about authorship.
 */
export const STYLE_FEATURES = [
  'sentence_length_mean',
  'sentence_length_cv',
  'type_token_ratio',
  'comma_rate',
  'quote_rate',
  'number_rate',
  'proper_noun_rate',
  'parenthesis_rate',
  'colon_semicolon_rate',
  'question_exclamation_rate',
  'word_length_mean',
  'long_word_rate',
  'function_word_rate',
  'first_person_rate',
  'second_person_rate',
  'dash_rate',
  'all_caps_rate',
] as const;

export type StyleFeature = (typeof STYLE_FEATURES)[number];

/** Plain-language descriptions used in detection evidence. */
export const STYLE_DESCRIPTIONS: Record<StyleFeature, string> = {
  sentence_length_mean: 'average sentence length',
  sentence_length_cv: 'variation in sentence length',
  type_token_ratio: 'vocabulary variety',
  comma_rate: 'commas per word',
  quote_rate: 'quotation marks per word',
  number_rate: 'numbers per word',
  proper_noun_rate: 'names and proper nouns per word',
  parenthesis_rate: 'parentheses per word',
  colon_semicolon_rate: 'colons and semicolons per word',
  question_exclamation_rate: 'questions and exclamations per word',
  word_length_mean: 'average word length',
  long_word_rate: 'share of long words',
  function_word_rate: 'share of function words',
  first_person_rate: 'first-person pronouns per word',
  second_person_rate: 'second-person pronouns per word',
  dash_rate: 'dashes per word',
  all_caps_rate: 'all-capital words per word',
};

const TTR_WINDOW = 50;
const FUNCTION = 1;
const FIRST = 2;
const SECOND = 4;
/** One lookup per token gives all three word classes. */
const WORD_CLASS = new HashFlags(
  ([[FUNCTION_WORDS, FUNCTION], [FIRST_PERSON, FIRST], [SECOND_PERSON, SECOND]] as const).flatMap(([words, flag]) =>
    [...hashSet(words)].map((h): [number, number] => [h, flag]),
  ),
);

export function styleVector(tokens: Tokens): Float64Array {
  const { count, hashes, kinds, lengths, chars } = tokens;
  const out = new Float64Array(STYLE_FEATURES.length);
  let wordCount = 0, letters = 0, longWords = 0, functionWords = 0, firstPerson = 0, secondPerson = 0;
  let properNouns = 0, allCaps = 0, numbers = 0, commas = 0, quotes = 0, parens = 0, colons = 0, questions = 0, dashes = 0;
  let sentences = 0, lengthSum = 0, lengthSumSq = 0, current = 0;
  let sentenceStart = true;
  const closeSentence = () => {
    if (current === 0) return;
    sentences++;
    lengthSum += current;
    lengthSumSq += current * current;
    current = 0;
  };
  for (let i = 0; i < count; i++) {
    const kind = kinds[i];
    if (kind === TokenKind.Punctuation) {
      const c = chars[i];
      if (isSentenceEndChar(c)) {
        closeSentence();
        sentenceStart = true;
        if (c !== CHAR.period) questions++;
      } else if (c === CHAR.comma) commas++;
      else if (c === CHAR.quote) quotes++;
      else if (c === CHAR.openParen || c === CHAR.closeParen) parens++;
      else if (c === CHAR.colon || c === CHAR.semicolon) colons++;
      else if (c === CHAR.hyphen) dashes++;
      continue;
    }
    wordCount++;
    current++;
    if (kind === TokenKind.Number) numbers++;
    else {
      const h = hashes[i];
      letters += lengths[i];
      if (lengths[i] >= 8) longWords++;
      const wordClass = WORD_CLASS.get(h);
      if (wordClass !== 0) {
        if (wordClass & FUNCTION) functionWords++;
        if (wordClass & FIRST) firstPerson++;
        else if (wordClass & SECOND) secondPerson++;
      }
      if (kind === TokenKind.Capitalised && !sentenceStart) properNouns++;
      if (kind === TokenKind.AllCaps) allCaps++;
    }
    sentenceStart = false;
  }
  closeSentence();
  const n = Math.max(wordCount, 1);
  const mean = sentences > 0 ? lengthSum / sentences : 0;
  const sd = sentences > 0 ? Math.sqrt(Math.max(lengthSumSq / sentences - mean * mean, 0)) : 0;
  out[0] = Math.log1p(mean);
  out[1] = mean > 0 ? sd / mean : 0;
  out[2] = movingTypeTokenRatio(tokens);
  out[3] = commas / n;
  out[4] = quotes / n;
  out[5] = numbers / n;
  out[6] = properNouns / n;
  out[7] = parens / n;
  out[8] = colons / n;
  out[9] = questions / n;
  out[10] = letters / Math.max(n - numbers, 1);
  out[11] = longWords / n;
  out[12] = functionWords / n;
  out[13] = firstPerson / n;
  out[14] = secondPerson / n;
  out[15] = dashes / n;
  out[16] = allCaps / n;
  return out;
}

/**
 * MATTR: type/token ratio averaged over consecutive windows of 50 words, so
 * it does not fall with document length. Distinct words per window are
 * counted in a small stamped open-addressing table instead of a Set.
 */
const TABLE_SIZE = 128;
const tableKeys = new Uint32Array(TABLE_SIZE);
const tableStamps = new Uint32Array(TABLE_SIZE);
let stamp = 0;

function movingTypeTokenRatio(tokens: Tokens): number {
  let windows = 0, total = 0, inWindow = 0, distinct = 0;
  stamp++;
  for (let i = 0; i < tokens.count; i++) {
    if (tokens.kinds[i] === TokenKind.Punctuation) continue;
    if (insertDistinct(tokens.hashes[i])) distinct++;
    if (++inWindow === TTR_WINDOW) {
      total += distinct / TTR_WINDOW;
      windows++;
      inWindow = 0;
      distinct = 0;
      stamp++;
    }
  }
  if (windows === 0) return inWindow > 0 ? distinct / inWindow : 0;
  return total / windows;
}

function insertDistinct(h: number): boolean {
  let slot = h & (TABLE_SIZE - 1);
  for (;;) {
    if (tableStamps[slot] !== stamp) {
      tableStamps[slot] = stamp;
      tableKeys[slot] = h;
      return true;
    }
    if (tableKeys[slot] === h) return false;
    slot = (slot + 1) & (TABLE_SIZE - 1);
  }
}
