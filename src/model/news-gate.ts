import type { SparseVector } from '../features/featurizer.js';
import { isWordKind, type Tokens } from '../text/tokenize.js';
import { decodeInt16, quantiseInt16 } from '../util/int16.js';
import { UserError } from '../util/errors.js';
import { DEFAULT_LOGISTIC_OPTIONS, packRows, packRowSets } from './logistic.js';
import { defaultFitThreads, fitPackedRowsMany, subsetJob } from './fit-threads.js';
import { balancedGroupWeights } from './weights.js';

/**
 * Is this news? copydesk is built, calibrated and thresholded for news; the
 * training data's other domains (abstracts, reviews, creative writing) are
 * there to teach it what machine writing looks like, not to be judged.
 * Human text of other kinds scores far higher than human news
 * (leave-one-source-out, shipped design, 2026-12-02: the 99th percentile of
 * held-out human probabilities is 0.50–0.71 on the six news sources but
 * 0.87–0.94 on abstracts, reviews and creative writing), so one threshold
 * cannot protect both and keep news recall. The gate is a logistic
 * regression, news against every other labeled domain, over which words a
 * text uses (hashed word unigrams, presence, L2-normalised); text it puts
 * outside news is `uncertain` with reason `not_news`.
 *
 * Measured leave-one-source-out and leave-one-domain-out with the
 * full-featurizer version of this gate (cutoff logit 0): held-out abstracts
 * 97% not_news, reviews 70%, creative writing 56%; held-out news sources
 * 0–2.4 points more uncertain than without it (reports/threshold-rule.md).
 * Unigrams alone were chosen for size and speed (2^16 int16 weights, one
 * pass over tokens the applicability check already reads).
 */

export interface NewsGateState {
  version: 1;
  bits: number;
  bias: number;
  /** weight = int16 value × scale */
  scale: number;
  /** Base64 of the int16 weights, little-endian. */
  weights: string;
  /** Texts whose news logit falls below this are `not_news`. */
  cutoff: number;
  fitted_on: { news: number; other: Record<string, number> };
}

export interface FitNewsGateOptions {
  bits: number;
  l2: number;
  maxIterations: number;
  /** Share of held-out news the cutoff may call not news (the cutoff is never above logit 0, P(news) = ½). */
  quantile: number;
  /** Fewest texts of news, and of other domains, to fit a gate at all. */
  minDocuments: number;
}

export const DEFAULT_NEWS_GATE_OPTIONS: FitNewsGateOptions = { bits: 16, l2: 1e-4, maxIterations: 40, quantile: 0.015, minDocuments: 20 };

const NEWS = 'news';


/** The gate's features: which word buckets a text uses, each 1/√(distinct buckets). */
export function newsVector(tokens: Tokens, bits: number): SparseVector {
  return newsVectorOfWords(wordHashes(tokens), bits);
}

/** The hashes of a text's word tokens (isWordKind), in order: all the gate and the vocabulary check read of its tokens. */
export function wordHashes(tokens: Tokens): Uint32Array {
  let words = 0;
  for (let i = 0; i < tokens.count; i++) if (isWordKind(tokens.kinds[i])) words++;
  const out = new Uint32Array(words);
  for (let i = 0, at = 0; i < tokens.count; i++) if (isWordKind(tokens.kinds[i])) out[at++] = tokens.hashes[i];
  return out;
}

/** newsVector from wordHashes(tokens). */
export function newsVectorOfWords(words: Uint32Array, bits: number): SparseVector {
  const mask = 2 ** bits - 1;
  const buckets = new Int32Array(words.length);
  for (let i = 0; i < words.length; i++) buckets[i] = words[i] & mask;
  buckets.sort();
  let distinct = 0;
  for (let i = 0; i < buckets.length; i++) if (i === 0 || buckets[i] !== buckets[i - 1]) buckets[distinct++] = buckets[i];
  const indices = buckets.slice(0, distinct);
  const value = indices.length > 0 ? 1 / Math.sqrt(indices.length) : 0;
  return { indices, values: new Float32Array(indices.length).fill(value) };
}

/** A document the gate is fitted on: its features, its domain (null: unknown, not used), and its (dataset, domain) group for the weights. */
export interface GateExample {
  vector: SparseVector;
  domain: string | null;
  group: string;
}

/**
 * Fits the gate on `train` and sets its cutoff on `heldOut` news; null when
 * the training data does not have enough news and enough of another domain
 * (a model trained on news alone has nothing to tell news from).
 */
export function fitNewsGate(train: GateExample[], heldOut: GateExample[], options: Partial<FitNewsGateOptions> = {}): NewsGateState | null {
  return fitNewsGates([{ train, heldOut }], options)[0];
}

/**
 * fitNewsGate for several training sets at once (training's folds), each
 * gate the one fitNewsGate fits, bit for bit. With `rankOf` (the examples'
 * order, shared between sets), sets whose examples share rows are packed
 * once and fitted on threads (packRowSets, fitPackedRowsMany).
 */
export function fitNewsGates(
  sets: ReadonlyArray<{ train: GateExample[]; heldOut: GateExample[] }>,
  options: Partial<FitNewsGateOptions> = {},
  rankOf?: (example: GateExample) => number,
): Array<NewsGateState | null> {
  const opts = { ...DEFAULT_NEWS_GATE_OPTIONS, ...options };
  const problems = sets.map(({ train }) => {
    const labeled = train.filter((e) => e.domain !== null);
    const news = labeled.filter((e) => e.domain === NEWS).length;
    const other: Record<string, number> = {};
    for (const e of labeled) if (e.domain !== NEWS) other[e.domain!] = (other[e.domain!] ?? 0) + 1;
    if (news < opts.minDocuments || labeled.length - news < opts.minDocuments) return null;
    return { labeled, news, other };
  });
  const fitted = problems.filter((p) => p !== null);
  const dimension = 2 ** opts.bits;
  let nonZeros = 0;
  for (const { labeled } of fitted) for (const e of labeled) nonZeros += e.vector.indices.length;
  const threads = defaultFitThreads(nonZeros);
  const shared = rankOf && fitted.length > 1 ? packRowSets(fitted.map((p) => p.labeled), (e) => e.vector, rankOf, dimension, threads > 1) : null;
  const jobs = fitted.map(({ labeled }, k) => {
    const labels = labeled.map((e) => (e.domain === NEWS ? 1 : 0) as 0 | 1);
    return subsetJob(
      shared?.packed ?? packRows(labeled.map((e) => e.vector), dimension, threads > 1),
      shared?.subsets[k] ?? null,
      labels,
      balancedGroupWeights(labeled.map((e) => e.group), labels),
      { ...DEFAULT_LOGISTIC_OPTIONS, l2: opts.l2, maxIterations: opts.maxIterations, tolerance: 1e-5 },
    );
  });
  const models = fitPackedRowsMany(jobs, threads);
  let next = 0;
  return problems.map((problem, k) => {
    if (problem === null) return null;
    const model = models[next++];
    const state: NewsGateState = { version: 1, bits: opts.bits, bias: model.bias, ...quantiseInt16(model.weights), cutoff: 0, fitted_on: { news: problem.news, other: problem.other } };
    const gate = new NewsGate(state);
    const heldOutNews = sets[k].heldOut.filter((e) => e.domain === NEWS).map((e) => gate.logitOf(e.vector)).sort((a, b) => a - b);
    if (heldOutNews.length > 0) state.cutoff = Math.min(0, heldOutNews[Math.floor(opts.quantile * (heldOutNews.length - 1))]);
    return state;
  });
}

/** The fitted gate, weights decoded. */
export class NewsGate {
  private readonly weights: Int16Array;
  /** Which buckets the current text has used (stamped with `generation`), so `logit` allocates nothing per text. */
  private readonly stamp: Int32Array;
  private generation = 0;

  constructor(readonly state: NewsGateState) {
    const weights = decodeInt16(state.weights, 2 ** state.bits);
    if (!weights) throw new UserError(`this model file's news gate is corrupt: expected ${2 ** state.bits} weights`);
    this.weights = weights;
    this.stamp = new Int32Array(weights.length);
  }

  logitOf(vector: SparseVector): number {
    let z = 0;
    for (let i = 0; i < vector.indices.length; i++) z += this.weights[vector.indices[i]] * vector.values[i];
    return this.state.bias + z * this.state.scale;
  }

  /**
   * Log-odds that the text is news: `logitOf(newsVector(tokens))` in one
   * pass over the tokens without building the vector (this runs on every
   * document; test/news-gate.test.ts pins it to the plain definition).
   */
  logit(tokens: Tokens): number {
    return this.logitOfHashes(tokens.hashes, tokens.count, tokens.kinds);
  }

  /**
   * `logit` over the first `count` token hashes, those of word kind when
   * `kinds` is given (else all: a wordHashes array): each distinct bucket
   * once. The int16 weights sum exactly, so the order does not matter.
   */
  logitOfHashes(hashes: Uint32Array, count: number, kinds: Uint8Array | null): number {
    if (++this.generation === 0x7fffffff) {
      this.stamp.fill(0);
      this.generation = 1;
    }
    const generation = this.generation;
    const mask = this.weights.length - 1;
    let sum = 0;
    let distinct = 0;
    for (let i = 0; i < count; i++) {
      if (kinds && !isWordKind(kinds[i])) continue;
      const b = hashes[i] & mask;
      if (this.stamp[b] === generation) continue;
      this.stamp[b] = generation;
      distinct++;
      sum += this.weights[b];
    }
    return this.state.bias + (distinct > 0 ? (sum * this.state.scale) / Math.sqrt(distinct) : 0);
  }

  isNews(logit: number): boolean {
    return logit >= this.state.cutoff;
  }
}
