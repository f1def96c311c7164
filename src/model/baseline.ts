import type { LabeledDocument } from '../corpus/types.js';
import { combine, hashString } from '../util/hash.js';
import type { SparseVector } from '../features/featurizer.js';
import { decisionFunction, fitLogistic } from './logistic.js';

/**
 * The baseline every copydesk detector must beat: plain TF-IDF over word
 * unigrams and bigrams of the raw, lower-cased text, and a class-balanced
 * logistic regression. No normalisation, no style features, no per-source
 * weighting — the textbook recipe, so the report shows what those add.
 */
const HASH_BITS = 19;
const MASK = (1 << HASH_BITS) - 1;
const WORD = /[a-z0-9']+|[^\sa-z0-9']/g;

function ngramBuckets(text: string): number[] {
  const hashes = (text.toLowerCase().match(WORD) ?? []).map((w) => hashString(w));
  const out: number[] = [];
  for (let i = 0; i < hashes.length; i++) {
    out.push(combine(1, hashes[i]) & MASK);
    if (i + 1 < hashes.length) out.push(combine(combine(2, hashes[i]), hashes[i + 1]) & MASK);
  }
  return out;
}

function termCounts(text: string): Map<number, number> {
  const counts = new Map<number, number>();
  for (const b of ngramBuckets(text)) counts.set(b, (counts.get(b) ?? 0) + 1);
  return counts;
}

export function fitBaseline(documents: LabeledDocument[], l2 = 1e-4, maxIterations = 100): (text: string) => number {
  const counts = documents.map((d) => termCounts(d.text));
  const documentFrequency = new Float64Array(1 << HASH_BITS);
  for (const c of counts) for (const b of c.keys()) documentFrequency[b]++;
  const idf = Float64Array.from(documentFrequency, (df) => Math.log((1 + documents.length) / (1 + df)) + 1);
  const vectorize = (c: Map<number, number>): SparseVector => {
    const indices = Int32Array.from(c.keys());
    const values = Float32Array.from(indices, (b) => (1 + Math.log(c.get(b)!)) * idf[b]);
    let norm = 0;
    for (const v of values) norm += v * v;
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let i = 0; i < values.length; i++) values[i] *= scale;
    return { indices, values };
  };
  const labels: number[] = documents.map((d) => (d.label === 'machine' ? 1 : 0));
  const machines = labels.reduce((a, b) => a + b, 0);
  const weights = labels.map((y) => (y === 1 ? documents.length / (2 * machines) : documents.length / (2 * (documents.length - machines))));
  const model = fitLogistic(counts.map(vectorize), labels, weights, 1 << HASH_BITS, { l2, maxIterations });
  return (text) => decisionFunction(model, vectorize(termCounts(text)));
}
