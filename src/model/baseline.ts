import type { LabeledDocument } from '../corpus/types.js';
import { avalanche, hashString } from '../util/hash.js';
import type { SparseVector } from '../features/featurizer.js';
import { decisionFunction, fitLogistic } from './logistic.js';

/**
 * The baseline every copydesk detector must beat: the textbook scikit-learn
 * recipe, `TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)` over words
 * beside `TfidfVectorizer(analyzer='char_wb', ngram_range=(3, 5),
 * sublinear_tf=True)`, each block L2-normalised, then
 * `LogisticRegression()` (C = 1, no class weights) — on the raw text, with
 * no normalisation, no style features and no per-source weighting, so the
 * report shows what those add. Differences from scikit-learn, both kept
 * small on purpose: n-grams are hashed (2^20 buckets per block, as
 * HashingVectorizer would) instead of counted in a vocabulary, and the fit
 * stops after `maxIterations` L-BFGS steps (scikit-learn's default is 100).
 */
const DEFAULT_BITS = 20;
/** scikit-learn's default token_pattern, `(?u)\b\w\w+\b`: words of two or more word characters. */
const WORD = /\b\w\w+\b/gu;

/** Word unigram and bigram buckets (block 0). */
function wordBuckets(text: string, mask: number, out: number[]): void {
  const hashes = (text.toLowerCase().match(WORD) ?? []).map((w) => hashString(w));
  for (let i = 0; i < hashes.length; i++) {
    out.push(avalanche(hashes[i] ^ 0x01) & mask);
    if (i + 1 < hashes.length) out.push(avalanche((Math.imul(hashes[i], 0x9e3779b1) ^ hashes[i + 1]) >>> 0) & mask);
  }
}

/**
 * char_wb 3–5-grams (block 1): every word, padded with one space each side,
 * contributes its character n-grams; a padded word shorter than n contributes
 * itself once, as scikit-learn does.
 */
function charBuckets(text: string, mask: number, out: number[]): void {
  for (const word of text.toLowerCase().split(/\s+/)) {
    if (word === '') continue;
    const padded = ` ${word} `;
    for (let n = 3; n <= 5; n++) {
      if (padded.length < n) {
        out.push(avalanche(hashString(padded) ^ n) & mask);
        continue;
      }
      for (let i = 0; i + n <= padded.length; i++) out.push(avalanche(hashString(padded.slice(i, i + n)) ^ n) & mask);
    }
  }
}

/**
 * A text's sublinear term frequencies, 1 + log(count), per block: indices
 * already offset into the concatenated [word | char] space, and where the
 * char block starts. Typed arrays, not Maps: the report keeps thousands.
 */
export interface TermFrequencies {
  indices: Int32Array;
  values: Float32Array;
  charStart: number;
}

export function termFrequencies(text: string, bits: number): TermFrequencies {
  const mask = (1 << bits) - 1;
  const parts: Array<[number, number][]> = [wordBuckets, charBuckets].map((extract, block) => {
    const buckets: number[] = [];
    extract(text, mask, buckets);
    const counts = new Map<number, number>();
    for (const b of buckets) counts.set(b, (counts.get(b) ?? 0) + 1);
    return [...counts].map(([bucket, count]): [number, number] => [bucket + block * (mask + 1), 1 + Math.log(count)]);
  });
  const all = [...parts[0], ...parts[1]];
  return { indices: Int32Array.from(all, (e) => e[0]), values: Float32Array.from(all, (e) => e[1]), charStart: parts[0].length };
}

export interface BaselineOptions {
  /** L2 penalty per document; default scikit-learn's C = 1, i.e. 1 / n. */
  l2?: number;
  maxIterations: number;
  /** Hash buckets per block: 2^bits (small values only for tests). */
  bits: number;
}

/** Fits the baseline; returns an uncalibrated scorer (log-odds). */
export function fitBaseline(documents: LabeledDocument[], options: Partial<BaselineOptions> = {}): (text: string) => number {
  const { l2, maxIterations, bits } = { maxIterations: 100, bits: DEFAULT_BITS, ...options };
  const size = 1 << bits;
  const frequencies = documents.map((d) => termFrequencies(d.text, bits));
  const n = documents.length;
  // smooth_idf=True: log((1 + n) / (1 + df)) + 1, over both blocks' buckets at once.
  const df = new Float64Array(2 * size);
  for (const f of frequencies) for (const i of f.indices) df[i]++;
  const idf = Float32Array.from(df, (x) => Math.log((1 + n) / (1 + x)) + 1);
  /** TF-IDF in place, each block scaled to unit length (scikit-learn's norm='l2' per vectorizer). */
  const vectorize = (f: TermFrequencies): SparseVector => {
    const { indices, values } = f;
    for (let i = 0; i < indices.length; i++) values[i] *= idf[indices[i]];
    for (const [from, to] of [
      [0, f.charStart],
      [f.charStart, indices.length],
    ]) {
      let norm = 0;
      for (let i = from; i < to; i++) norm += values[i] * values[i];
      const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let i = from; i < to; i++) values[i] *= scale;
    }
    return { indices, values };
  };
  const labels = documents.map((d) => (d.label === 'machine' ? 1 : 0));
  const weights = new Float64Array(n).fill(1);
  const model = fitLogistic(frequencies.map(vectorize), labels, weights, 2 * size, { l2: l2 ?? 1 / Math.max(n, 1), maxIterations });
  frequencies.length = 0;
  return (text) => decisionFunction(model, vectorize(termFrequencies(text, bits)));
}
