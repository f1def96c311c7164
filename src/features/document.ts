import { normalize } from '../text/normalize.js';
import { splitSentences, type SentenceSpan } from '../text/sentences.js';
import { countWords, tokenBuffers, tokenizeInto, TokenKind, type Tokens } from '../text/tokenize.js';
import { hashNgrams, UnitBuffers, type FeatureFamily } from './families.js';
import { styleVector } from './stylometry.js';

/**
 * A document prepared once for everything that scores it: the normalised
 * text, its tokens, the hash of every n-gram occurrence per feature family
 * (families.ts), and — when sentences are wanted — the sentence spans of
 * the original text and the sentence each token came from. The document
 * score, the sentence windows and the evidence all read this one object, so
 * a text is normalised, tokenised and hashed once whatever is asked of it.
 */
export interface PreparedDocument {
  /** The text as given (sentence offsets refer to it). */
  readonly text: string;
  readonly normalized: string;
  readonly tokens: Tokens;
  /**
   * The raw (unscaled) style measurements of `tokens` (stylometry.ts),
   * measured once: the featurizer's style slots and the applicability check
   * both read them (they used to measure them twice). A fresh array per
   * document, never scaled in place, so it stays valid after the buffers are
   * reused.
   */
  readonly style: Float64Array;
  /** Non-punctuation tokens (countWords): the length the calibration and `too_short` read. */
  readonly words: number;
  readonly families: readonly FeatureFamily[];
  /** ngrams[f]: the 32-bit hash of family f's n-grams in order; ngramCounts[f] of them are valid. */
  readonly ngrams: readonly Uint32Array[];
  readonly ngramCounts: Int32Array;
  /** Sentence spans of `text`; null unless prepared with sentences. */
  readonly sentences: SentenceSpan[] | null;
  /** With sentences: the sentence each token came from (non-decreasing). */
  readonly tokenSentence: Uint32Array | null;
}

export interface PrepareOptions {
  /** Split sentences and place every token in one (for sentence windows). */
  sentences?: boolean;
  /** Sentence spans already split (skips splitting). */
  spans?: SentenceSpan[];
}

/**
 * Prepares documents into reused buffers: the hot path allocates nothing per
 * document but the normalised string. A PreparedDocument aliases these
 * buffers and is valid until the next `prepare` call on the same preparer.
 */
export class DocumentPreparer {
  private tokens = tokenBuffers(1 << 12);
  private readonly units = new UnitBuffers();
  private readonly ngrams: Uint32Array[];
  private tokenSentence = new Uint32Array(1 << 12);

  constructor(readonly families: readonly FeatureFamily[]) {
    this.ngrams = families.map(() => new Uint32Array(1 << 12));
  }

  prepare(text: string, options: PrepareOptions = {}): PreparedDocument {
    const normalized = normalize(text);
    const tokens = (this.tokens = tokenizeInto(normalized, this.tokens));
    const streams = this.units.streams(tokens, this.families);
    const ngramCounts = new Int32Array(this.families.length);
    for (let f = 0; f < this.families.length; f++) {
      const family = this.families[f];
      this.ngrams[f] = hashNgrams(streams.get(family.stream)!, tokens.count, family, this.ngrams[f]);
      ngramCounts[f] = Math.max(0, tokens.count - family.n + 1);
    }
    let sentences: SentenceSpan[] | null = null;
    let tokenSentence: Uint32Array | null = null;
    if (options.sentences || options.spans) {
      sentences = options.spans ?? splitSentences(text);
      if (this.tokenSentence.length < tokens.count) this.tokenSentence = new Uint32Array(tokens.count * 2);
      tokenSentence = this.tokenSentence;
      if (sentences.length > 0) alignTokens(text, normalized, tokens, sentences, tokenSentence);
      else tokenSentence.fill(0, 0, tokens.count);
    }
    return { text, normalized, tokens, style: styleVector(tokens), words: countWords(tokens), families: this.families, ngrams: this.ngrams, ngramCounts, sentences, tokenSentence };
  }
}

/** The lower-cased text of token i (as evidence shows it). */
export function tokenText(document: PreparedDocument, i: number): string {
  const start = document.tokens.starts[i];
  return document.normalized.slice(start, start + document.tokens.lengths[i]).toLowerCase();
}

/**
 * Where each sentence's n-grams of family f start, S + 1 entries: an n-gram
 * belongs to the sentence of its last token, so sentence s owns n-grams
 * [first[s], first[s + 1]).
 */
export function sentenceNgramStarts(document: PreparedDocument, f: number, firstToken: Int32Array): Int32Array {
  const S = firstToken.length - 1;
  const n = document.families[f].n;
  const total = document.ngramCounts[f];
  const first = new Int32Array(S + 1);
  let at = 0;
  for (let s = 0; s < S; s++) {
    first[s] = at;
    const stop = s < S - 1 ? Math.min(total, firstToken[s + 1] - n + 1) : total;
    if (stop > at) at = stop;
  }
  first[S] = total;
  return first;
}

/** The first token of each sentence, S + 1 entries (the last is the token count). */
export function sentenceFirstTokens(document: PreparedDocument): Int32Array {
  const S = document.sentences?.length ?? 0;
  const sentenceOf = document.tokenSentence!;
  const count = document.tokens.count;
  const firstToken = new Int32Array(S + 1);
  for (let s = 0, t = 0; s <= S; s++) {
    while (t < count && sentenceOf[t] < s) t++;
    firstToken[s] = t;
  }
  return firstToken;
}

/**
 * The sentence each canonical token came from. Normalisation rewrites the
 * text (quotes, dashes, boilerplate), so each word token is looked up in the
 * original text from where the previous one matched; a token normalisation
 * changed (or one removed boilerplate shadows) is skipped and the next one
 * re-anchors. Punctuation goes with the word before it.
 */
function alignTokens(original: string, normalized: string, tokens: Tokens, spans: SentenceSpan[], out: Uint32Array): void {
  let cursor = 0;
  let shift = 0;
  let sentence = 0;
  const last = spans.length - 1;
  const same = original === normalized;
  for (let t = 0; t < tokens.count; t++) {
    if (tokens.kinds[t] !== TokenKind.Punctuation) {
      const start = tokens.starts[t];
      let at: number;
      if (same) {
        at = start;
      } else {
        const length = tokens.lengths[t];
        // Usually normalisation has only shifted the text: try where the running offset says first
        // (compared in place: the token's string is built only when the guess fails).
        const guess = start + shift;
        if (guess >= cursor && regionMatches(original, guess, normalized, start, length) && !isWordChar(original.charCodeAt(guess - 1)) && !isWordChar(original.charCodeAt(guess + length))) {
          at = guess;
        } else {
          const word = normalized.slice(start, start + length);
          at = original.indexOf(word, cursor);
          while (at >= 0 && at - cursor < 2000 && (isWordChar(original.charCodeAt(at - 1)) || isWordChar(original.charCodeAt(at + length)))) {
            at = original.indexOf(word, at + 1);
          }
        }
        if (!(at >= 0 && at - cursor < 2000)) at = -1;
        else {
          cursor = at + length;
          shift = at - start;
        }
      }
      if (at >= 0) while (sentence < last && at >= spans[sentence].end) sentence++;
    }
    out[t] = sentence;
  }
}

/** original.startsWith(normalized.slice(from, from + length), at), without building the slice. */
function regionMatches(original: string, at: number, normalized: string, from: number, length: number): boolean {
  if (at + length > original.length) return false;
  for (let k = 0; k < length; k++) if (original.charCodeAt(at + k) !== normalized.charCodeAt(from + k)) return false;
  return true;
}

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 0xc0 && c !== 0x2019 && c !== 0x2018 && c < 0x2000);
}
