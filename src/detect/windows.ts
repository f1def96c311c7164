import { sentenceFirstTokens, sentenceNgramStarts, type PreparedDocument } from '../features/document.js';
import type { SparseVector } from '../features/featurizer.js';
import type { SentenceSpan } from '../text/sentences.js';
import { TokenKind } from '../text/tokenize.js';
import { UserError } from '../util/errors.js';
import { decodeInt16, quantiseInt16 } from '../util/int16.js';

/**
 * The window model and the one pass over a document's tokens that feeds it.
 *
 * A window is a sentence with `radius` neighbours on each side. The window
 * model is a logistic regression over the same hashed n-gram families as the
 * document model (same seeds, a smaller hash space), fitted on windows of
 * training documents, with count weighting: a family's features are
 * count / √(n-grams of that family ending in the window). A window's score is
 * therefore a sum over its n-gram occurrences, so the scores of all windows
 * of a document come from per-sentence sums over the n-gram hashes of its
 * PreparedDocument — the same hashes the document model's score reads.
 */

export interface WindowModelState {
  hash_bits: number;
  bias: number;
  /** weight = int16 value × scale */
  scale: number;
  /** Base64 of the int16 weights, little-endian. */
  weights: string;
  trained_on: { windows: number; documents: number; l2: number };
}

export class WindowModel {
  readonly hashBits: number;
  readonly mask: number;
  readonly bias: number;
  readonly scale: number;
  readonly weights: Int16Array;

  constructor(readonly stored: WindowModelState) {
    this.hashBits = stored.hash_bits;
    this.mask = 2 ** stored.hash_bits - 1;
    this.bias = stored.bias;
    this.scale = stored.scale;
    const weights = decodeInt16(stored.weights, 2 ** stored.hash_bits);
    if (!weights) throw new UserError(`this model file's window model is corrupt: expected ${2 ** stored.hash_bits} weights, got ${Buffer.from(stored.weights, 'base64').length / 2}`);
    this.weights = weights;
  }

  /** Quantises fitted float weights (the stored model is what gets calibrated, so p-values are exact for it). */
  static fromFloat(weights: Float32Array, bias: number, hashBits: number, trained_on: WindowModelState['trained_on']): WindowModel {
    return new WindowModel({ hash_bits: hashBits, bias, ...quantiseInt16(weights), trained_on });
  }
}

// ------------------------------------------------------------------ per-sentence sums from a prepared document

/** What the window model needs of a document, per sentence. Arrays are fresh per document. */
export interface DocumentPass {
  spans: SentenceSpan[];
  /** Words (non-punctuation tokens) per sentence. */
  wordsPer: Int32Array;
  /** Window-model weight sum (int16 units) of family f's n-grams ending in sentence s, at [f·S + s]. */
  sums: Float64Array;
  /** Number of family f's n-grams ending in sentence s, at [f·S + s]. */
  counts: Float64Array;
  families: number;
  /** With `collect`: family f's window-model buckets in n-gram order, and the first n-gram of each sentence (S + 1 entries). */
  buckets?: Uint32Array[];
  firstNgram?: Int32Array[];
  /** With `collect`: the bucket mask the buckets were taken with. */
  mask?: number;
}

/**
 * The window model's per-sentence sums over a prepared document's n-gram
 * occurrences (the document must be prepared with sentences). With
 * `collect`, also every n-gram's window-model bucket, for training windows;
 * `window.weights` may then be empty.
 */
export function sentencePass(document: PreparedDocument, window: { mask: number; weights: Int16Array }, collect = false): DocumentPass {
  const spans = document.sentences;
  if (!spans) throw new Error('sentencePass needs a document prepared with sentences');
  const S = spans.length;
  const F = document.families.length;
  const sums = new Float64Array(F * S);
  const counts = new Float64Array(F * S);
  const wordsPer = new Int32Array(S);
  const { tokens, tokenSentence } = document;
  for (let t = 0; t < tokens.count; t++) if (tokens.kinds[t] !== TokenKind.Punctuation) wordsPer[tokenSentence![t]]++;
  const pass: DocumentPass = { spans, wordsPer, sums, counts, families: F };
  if (collect) {
    pass.buckets = [];
    pass.firstNgram = [];
    pass.mask = window.mask;
  }
  const firstToken = sentenceFirstTokens(document);
  const { weights, mask } = window;
  const score = weights.length > 0;
  for (let f = 0; f < F; f++) {
    const first = sentenceNgramStarts(document, f, firstToken);
    const hashes = document.ngrams[f];
    for (let s = 0, base = f * S; s < S; s++) {
      let sum = 0;
      if (score) for (let i = first[s], end = first[s + 1]; i < end; i++) sum += weights[hashes[i] & mask];
      sums[base + s] = sum;
      counts[base + s] = first[s + 1] - first[s];
    }
    if (collect) {
      const total = document.ngramCounts[f];
      const buckets = new Uint32Array(total);
      for (let i = 0; i < total; i++) buckets[i] = hashes[i] & mask;
      pass.buckets!.push(buckets);
      pass.firstNgram!.push(first);
    }
  }
  return pass;
}

/**
 * The pass sentencePass(document, window) gives, from a pass collected on the
 * same document (same sums, added in the same order): training scores every
 * held-out document with its fold's window model without preparing the text
 * again (measured on all of ../shared/data: 2.9 s of re-preparing).
 */
export function weighPass(collected: DocumentPass, window: { mask: number; weights: Int16Array }): DocumentPass {
  const { buckets, firstNgram } = collected;
  if (!buckets || !firstNgram || collected.mask !== window.mask) throw new Error('weighPass needs a pass collected with the same bucket mask');
  const S = collected.spans.length;
  const sums = new Float64Array(collected.families * S);
  const { weights } = window;
  for (let f = 0; f < collected.families; f++) {
    const first = firstNgram[f];
    const bucketsOf = buckets[f];
    for (let s = 0, base = f * S; s < S; s++) {
      let sum = 0;
      for (let i = first[s], end = first[s + 1]; i < end; i++) sum += weights[bucketsOf[i]];
      sums[base + s] = sum;
    }
  }
  return { spans: collected.spans, wordsPer: collected.wordsPer, sums, counts: collected.counts, families: collected.families };
}

/**
 * Window scores (bias included) of every sentence from a pass: the window
 * model's sum over the n-grams ending in sentences s − radius … s + radius,
 * each family divided by √(its n-gram count there). Also the words per window.
 */
export function windowScores(pass: DocumentPass, model: WindowModel, radius: number): { scores: Float64Array; words: Int32Array } {
  const S = pass.spans.length;
  const F = pass.families;
  const scores = new Float64Array(S);
  const words = new Int32Array(S);
  const { sums, counts, wordsPer } = pass;
  for (let s = 0; s < S; s++) {
    const lo = s - radius < 0 ? 0 : s - radius;
    const hi = s + radius > S - 1 ? S - 1 : s + radius;
    let total = 0;
    for (let f = 0; f < F; f++) {
      let a = 0;
      let c = 0;
      for (let u = f * S + lo, end = f * S + hi; u <= end; u++) {
        a += sums[u];
        c += counts[u];
      }
      if (c > 0) total += a / Math.sqrt(c);
    }
    let w = 0;
    for (let u = lo; u <= hi; u++) w += wordsPer[u];
    scores[s] = model.bias + model.scale * total;
    words[s] = w;
  }
  return { scores, words };
}

/** Scratch for windowVector (grown as needed; one isolate runs one call at a time). */
let scratchBuckets = new Uint32Array(1024);
let scratchIndices = new Int32Array(1024);
let scratchValues = new Float64Array(1024);

/**
 * The window model's feature vector of the window centred on sentence s
 * (needs a pass made with `collect`): each family's buckets counted, divided
 * by √(its n-gram count). Sorting and counting in scratch arrays rather than
 * fresh number[]s: 24 → 10 µs per window on pan24 articles, the same
 * vectors bit for bit (training builds ~76,000 of them).
 */
export function windowVector(pass: DocumentPass, s: number, radius: number): SparseVector {
  const S = pass.spans.length;
  const lo = Math.max(0, s - radius);
  const hi = Math.min(S - 1, s + radius);
  const firstNgram = pass.firstNgram!;
  let total = 0;
  for (let f = 0; f < pass.families; f++) total += firstNgram[f][hi + 1] - firstNgram[f][lo];
  if (scratchBuckets.length < total) {
    scratchBuckets = new Uint32Array(2 * total);
    scratchIndices = new Int32Array(2 * total);
    scratchValues = new Float64Array(2 * total);
  }
  let n = 0;
  for (let f = 0; f < pass.families; f++) {
    const from = firstNgram[f][lo];
    const to = firstNgram[f][hi + 1];
    if (to <= from) continue;
    const length = to - from;
    const run = scratchBuckets.subarray(0, length);
    run.set(pass.buckets![f].subarray(from, to));
    run.sort();
    const scale = 1 / Math.sqrt(length);
    for (let i = 0; i < length; ) {
      let j = i + 1;
      while (j < length && run[j] === run[i]) j++;
      scratchIndices[n] = run[i];
      scratchValues[n] = (j - i) * scale;
      n++;
      i = j;
    }
  }
  return { indices: scratchIndices.slice(0, n), values: new Float32Array(scratchValues.subarray(0, n)) };
}

