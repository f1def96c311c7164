import type { LabeledDocument } from '../corpus/types.js';
import { balancedWeights, type TrainingExtension } from '../model/train.js';
import type { Detector } from '../model/detector.js';
import { calibrate, type PlattCalibration } from '../model/calibration.js';
import { decisionFunction, fitLogistic, DEFAULT_LOGISTIC_OPTIONS, type LogisticModel } from '../model/logistic.js';
import { Featurizer, type FeaturizerState, type SparseVector } from '../features/featurizer.js';
import { styleVector } from '../features/stylometry.js';
import { combine, hashString } from '../features/hashing.js';
import { FUNCTION_WORDS } from '../features/function-words.js';
import { normalize } from '../text/normalize.js';
import { hashSet, tokenize, TokenKind, type Tokens } from '../text/tokenize.js';
import { splitSentences, type SentenceSpan } from '../text/sentences.js';
import { UserError } from '../util/errors.js';
import {
  empiricalPValue,
  mixtureStatistics,
  MIXTURE_TESTS,
  nullSample,
  sentenceCountGroup,
  SENTENCE_COUNT_GROUPS,
  thin,
  type MixtureTest,
  type NullSample,
} from './mixture.js';

/**
 * Sentence-level attribution.
 *
 * Score. Each sentence is scored by the document model on a window: the
 * sentence with `radius` neighbours on each side. The window score is the
 * model's linear score restricted to the n-grams that end inside the window,
 * each n-gram family scaled by 1/√(its n-gram count) as the featurizer's unit
 * length does (repeats counted as distinct, style features left out). It is
 * computed from the document's own tokens with prefix sums, so all windows of
 * a document cost one pass over its n-grams, not one featurisation each.
 *
 * Calibration (fitted while training, on held-out folds only): a Platt
 * mapping of window scores to P(machine) on held-out human and machine
 * sentences; for each window length (in words) the sorted scores of held-out
 * human sentences, giving p = (1 + #{human ≥ s}) / (n + 1); and the empirical
 * null of the mixture statistics over held-out human documents (p-values
 * computed leaving the document's own sentences out), by sentence count,
 * which corrects for the correlation neighbouring windows introduce.
 */
export const SENTENCE_EXTENSION = 'sentences';
export const DEFAULT_RADIUS = 1;
export const DEFAULT_LEVEL = 0.05;
/** Upper bounds (inclusive) of window lengths in words, one p-value table each. */
export const LENGTH_BUCKETS = [15, 30, 45, 60, 80, 110, 150, Infinity];
const TABLE_SIZE = 4000;

export interface SentenceCalibration {
  version: 1;
  radius: number;
  platt: PlattCalibration;
  length_buckets: Array<number | null>;
  /** Held-out human window scores per length bucket. */
  tables: NullSample[];
  /** Primary mixture test, used for mixture_p_value. */
  primary: MixtureTest;
  /** Null distributions of each mixture statistic, per sentence-count group. */
  doc_null: Record<MixtureTest, NullSample[]>;
  sentence_count_groups: Array<number | null>;
  held_out: { method: string; human_documents: number; human_sentences: number; machine_sentences: number; fold_weights: string };
}

// ------------------------------------------------------------------ scoring

const FUNCTION_HASHES = hashSet(FUNCTION_WORDS);
const SHAPE_HASHES = ['', '·w', '·C', '·C', '·N'].map((name) => hashString(name));

export interface WindowScores {
  spans: SentenceSpan[];
  /** Window score per sentence (no bias). */
  scores: Float64Array;
  /** Words in each sentence's window. */
  words: Int32Array;
  /** Canonical tokens of the whole document (reusable for the document score). */
  tokens: Tokens;
}

/** Per-n-gram weights of one linear model over the featurizer's hashed n-grams. */
export class SentenceScorer {
  private readonly families: Array<{ n: number; seed: number; distorted: boolean }>;
  private readonly mask: number;
  private readonly style: { offset: number; mean: number[]; std: number[] } | null;
  private readonly quantized: Int8Array;
  private readonly scale: number;

  constructor(state: FeaturizerState, private readonly weights: Float32Array) {
    const config = state.config;
    this.mask = 2 ** config.hashBits - 1;
    this.style = config.useStyle ? { offset: 2 ** config.hashBits, mean: state.styleMean, std: state.styleStd } : null;
    // n-gram weights as int8 (a quarter of the memory, so the random lookups
    // stay in cache); calibration uses the same scorer, so p-values are exact
    // for the quantised score.
    const hashSize = 2 ** config.hashBits;
    let max = 0;
    for (let i = 0; i < hashSize; i++) max = Math.max(max, Math.abs(weights[i]));
    this.scale = max > 0 ? max / 127 : 1;
    this.quantized = new Int8Array(hashSize);
    for (let i = 0; i < hashSize; i++) this.quantized[i] = Math.round(weights[i] / this.scale);
    this.families = [
      ...config.wordNgrams.map((n) => ({ n, seed: hashString(`word${n}`), distorted: false })),
      ...config.distortedNgrams.map((n) => ({ n, seed: hashString(`distorted${n}`), distorted: true })),
    ];
  }

  score(text: string, radius: number, spans = splitSentences(text)): WindowScores {
    const normalized = normalize(text);
    const tokens = tokenize(normalized);
    const S = spans.length;
    const F = this.families.length;
    const scores = new Float64Array(S);
    const words = new Int32Array(S);
    if (S === 0) return { spans, scores, words, tokens };
    const sentenceOf = alignTokens(text, normalized, tokens, spans);
    const wordsPer = new Int32Array(S);
    for (let t = 0; t < tokens.count; t++) if (tokens.kinds[t] !== TokenKind.Punctuation) wordsPer[sentenceOf[t]]++;
    // sums[f*S + s], counts[f*S + s]: weight sum and n-gram count of family f ending in sentence s
    const sums = new Float64Array(F * S);
    const counts = new Float64Array(F * S);
    const { mask, quantized } = this;
    const words32 = tokens.hashes;
    let distorted: Uint32Array | null = null;
    for (let f = 0; f < F; f++) {
      const { n, seed } = this.families[f];
      let hashes = words32;
      if (this.families[f].distorted) {
        if (!distorted) {
          distorted = new Uint32Array(tokens.count);
          for (let i = 0; i < tokens.count; i++) {
            distorted[i] =
              tokens.kinds[i] === TokenKind.Punctuation || FUNCTION_HASHES.has(tokens.hashes[i]) ? tokens.hashes[i] : SHAPE_HASHES[tokens.kinds[i]];
          }
        }
        hashes = distorted;
      }
      const base = f * S;
      for (let i = 0; i + n <= tokens.count; i++) {
        let h = seed;
        for (let j = 0; j < n; j++) h = combine(h, hashes[i + j]);
        const s = sentenceOf[i + n - 1];
        sums[base + s] += quantized[h & mask];
        counts[base + s] += 1;
      }
    }
    // first token of each sentence (sentenceOf is non-decreasing)
    const firstToken = new Int32Array(S + 1).fill(-1);
    firstToken[S] = tokens.count;
    for (let t = tokens.count - 1; t >= 0; t--) firstToken[sentenceOf[t]] = t;
    for (let s = S - 1; s >= 0; s--) if (firstToken[s] < 0) firstToken[s] = firstToken[s + 1];
    for (let s = 0; s < S; s++) {
      const lo = Math.max(0, s - radius);
      const hi = Math.min(S - 1, s + radius);
      let total = this.style ? this.styleScore(tokens, firstToken[lo], firstToken[hi + 1]) : 0;
      for (let f = 0; f < F; f++) {
        let a = 0;
        let c = 0;
        for (let u = lo; u <= hi; u++) {
          a += sums[f * S + u];
          c += counts[f * S + u];
        }
        if (c > 0) total += (this.scale * a) / Math.sqrt(c);
      }
      let w = 0;
      for (let u = lo; u <= hi; u++) w += wordsPer[u];
      scores[s] = total;
      words[s] = w;
    }
    return { spans, scores, words, tokens };
  }

  /** The style features' contribution for tokens [from, to), as the featurizer computes them for that text alone. */
  private styleScore(tokens: Tokens, from: number, to: number): number {
    if (to <= from || !this.style) return 0;
    const view: Tokens = {
      count: to - from,
      hashes: tokens.hashes.subarray(from, to),
      kinds: tokens.kinds.subarray(from, to),
      lengths: tokens.lengths.subarray(from, to),
      chars: tokens.chars.subarray(from, to),
      starts: tokens.starts.subarray(from, to),
    };
    const style = styleVector(view);
    const { offset, mean, std } = this.style;
    let z = 0;
    for (let j = 0; j < style.length; j++) {
      const v = (style[j] - mean[j]) / std[j];
      z += this.weights[offset + j] * (v > STYLE_CLIP ? STYLE_CLIP : v < -STYLE_CLIP ? -STYLE_CLIP : v);
    }
    return z;
  }
}

const STYLE_CLIP = 5;

/**
 * The sentence each canonical token came from. Normalisation rewrites the
 * text (quotes, dashes, boilerplate), so each word token is looked up in the
 * original text from where the previous one matched; a token normalisation
 * changed (or one removed boilerplate shadows) is skipped and the next one
 * re-anchors. Punctuation goes with the word before it.
 */
function alignTokens(original: string, normalized: string, tokens: Tokens, spans: SentenceSpan[]): Uint32Array {
  const out = new Uint32Array(tokens.count);
  let cursor = 0;
  let sentence = 0;
  const last = spans.length - 1;
  for (let t = 0; t < tokens.count; t++) {
    if (tokens.kinds[t] !== TokenKind.Punctuation) {
      const start = tokens.starts[t];
      const word = normalized.slice(start, start + tokens.lengths[t]);
      let at = original.indexOf(word, cursor);
      while (at >= 0 && at - cursor < 2000 && (isWordChar(original.charCodeAt(at - 1)) || isWordChar(original.charCodeAt(at + word.length)))) {
        at = original.indexOf(word, at + 1);
      }
      if (at >= 0 && at - cursor < 2000) {
        cursor = at + word.length;
        while (sentence < last && at >= spans[sentence].end) sentence++;
      }
    }
    out[t] = sentence;
  }
  return out;
}

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 0xc0 && c !== 0x2019 && c !== 0x2018 && c < 0x2000);
}

// ------------------------------------------------------------------ analysis

export interface SentenceResult {
  start: number;
  end: number;
  text: string;
  machine_probability: number;
  p_value: number;
  /** In the set the mixture test selected, in a document it decided contains machine text. */
  machine_passage: boolean;
}

export interface MixtureResult {
  test: MixtureTest;
  level: number;
  /** p-value that the document contains machine-written sentences (primary test). */
  p_value: number;
  /** Decision: p_value ≤ level. */
  machine_passage: boolean;
  p_values: Record<MixtureTest, number>;
  statistics: Record<MixtureTest, number>;
}

export interface SentenceAnalysis {
  document_score: number;
  sentences: SentenceResult[];
  mixture: MixtureResult;
}

const scorers = new WeakMap<Detector, SentenceScorer>();

export function sentenceCalibration(detector: Detector): SentenceCalibration {
  const calibration = detector.metadata.extensions?.[SENTENCE_EXTENSION] as SentenceCalibration | undefined;
  if (!calibration || calibration.version !== 1) {
    throw new UserError('this model file has no sentence calibration (trained before sentence-level detection existed); retrain it with copydesk train');
  }
  return calibration;
}

function scorerFor(detector: Detector): SentenceScorer {
  let scorer = scorers.get(detector);
  if (!scorer) {
    scorer = new SentenceScorer(detector.metadata.featurizer, detector.model.weights);
    scorers.set(detector, scorer);
  }
  return scorer;
}

export function lengthBucket(words: number): number {
  let b = 0;
  while (words > LENGTH_BUCKETS[b]) b++;
  return b;
}

/** Scores every sentence, tests for machine passages; also returns the document score (one normalisation for both). */
export function analyzeSentences(detector: Detector, text: string, level = DEFAULT_LEVEL): SentenceAnalysis {
  const calibration = sentenceCalibration(detector);
  const windows = scorerFor(detector).score(text, calibration.radius);
  const document_score = detector.scoreVector(detector.featurizer.transformTokens(windows.tokens));
  const pValues = Array.from(windows.scores, (s, i) => empiricalPValue(calibration.tables[lengthBucket(windows.words[i])], s));
  const mixture = mixtureTest(calibration, pValues, level);
  const selected = new Set(mixture.result.machine_passage ? mixture.selected : []);
  const sentences = windows.spans.map((span, i) => ({
    start: span.start,
    end: span.end,
    text: span.text,
    machine_probability: round(calibrate(calibration.platt, windows.scores[i])),
    p_value: round(pValues[i]),
    machine_passage: selected.has(i),
  }));
  return { document_score, sentences, mixture: mixture.result };
}

export function mixtureTest(
  calibration: SentenceCalibration,
  pValues: readonly number[],
  level = DEFAULT_LEVEL,
): { result: MixtureResult; selected: number[] } {
  const stats = mixtureStatistics(pValues);
  const group = sentenceCountGroup(pValues.length);
  const p_values = {} as Record<MixtureTest, number>;
  const statistics = {} as Record<MixtureTest, number>;
  for (const test of MIXTURE_TESTS) {
    statistics[test] = round(stats[test]);
    p_values[test] = pValues.length === 0 ? 1 : round(empiricalPValue(calibration.doc_null[test][group], stats[test]));
  }
  const p = p_values[calibration.primary];
  return {
    result: { test: calibration.primary, level, p_value: p, machine_passage: p <= level, p_values, statistics },
    selected: stats.selected,
  };
}

function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

// ------------------------------------------------------------------ training extension

interface Fold {
  scoreText: (text: string) => number;
  heldOut: LabeledDocument[];
  model?: LogisticModel;
}

export interface SentenceExtensionOptions {
  radius: number;
  primary: MixtureTest;
}

/**
 * Calibrates sentence scores on held-out folds. The window score needs the
 * fold model's weights, which the hook hands over only inside `scoreText`:
 * they are read back exactly by scoring one-hot vectors through it (checked
 * against a real document's score), and where that is impossible the fold
 * model is refitted with the training options.
 */
export function createSentenceExtension(options: Partial<SentenceExtensionOptions> = {}): TrainingExtension {
  const radius = options.radius ?? DEFAULT_RADIUS;
  const primary = options.primary ?? 'hc';
  const folds: Fold[] = [];
  return {
    name: SENTENCE_EXTENSION,
    onFold(scoreText: (text: string) => number, heldOut: LabeledDocument[], model?: LogisticModel) {
      folds.push({ scoreText, heldOut, model });
    },
    finish(detector: Detector): SentenceCalibration {
      const humans: Array<{ scores: Float64Array; words: Int32Array }> = [];
      const machineScores: number[] = [];
      let method = 'exact';
      for (let k = 0; k < folds.length; k++) {
        const fold = folds[k];
        let weights = fold.model?.weights ?? readWeights(fold, detector);
        if (!weights) {
          method = 'refitted';
          weights = refitFold(folds, k, detector).weights;
        }
        const scorer = new SentenceScorer(detector.metadata.featurizer, weights);
        for (const document of fold.heldOut) {
          const w = scorer.score(document.text, radius);
          if (w.scores.length === 0) continue;
          if (document.label === 'human') humans.push({ scores: w.scores, words: w.words });
          else machineScores.push(...w.scores);
        }
      }
      return calibrateFromHeldOut(humans, machineScores, radius, primary, method);
    },
  } as TrainingExtension;
}

export function calibrateFromHeldOut(
  humans: Array<{ scores: Float64Array; words: Int32Array }>,
  machineScores: number[],
  radius: number,
  primary: MixtureTest,
  method: string,
): SentenceCalibration {
  const byBucket: number[][] = LENGTH_BUCKETS.map(() => []);
  for (const h of humans) h.scores.forEach((s, i) => byBucket[lengthBucket(h.words[i])].push(s));
  for (const list of byBucket) list.sort((a, b) => a - b);
  // Sparse buckets borrow their neighbours' scores so every table has enough to give p-values.
  const tables = byBucket.map((list, b) => {
    let merged = list;
    for (let d = 1; merged.length < 200 && d < LENGTH_BUCKETS.length; d++) {
      merged = [...merged, ...(byBucket[b - d] ?? []), ...(byBucket[b + d] ?? [])];
    }
    const sorted = [...merged].sort((a, b2) => a - b2);
    return { n: sorted.length, values: thin(sorted, TABLE_SIZE) };
  });

  // Leave-one-document-out sentence p-values for each held-out human document, then its mixture statistics.
  const fullTables = tables.map((t, b) => ({ full: byBucket[b].length >= 200 ? byBucket[b] : null, table: t }));
  const statsByGroup = SENTENCE_COUNT_GROUPS.map(() => MIXTURE_TESTS.map(() => [] as number[]));
  for (const h of humans) {
    const pValues = Array.from(h.scores, (s, i) => {
      const b = lengthBucket(h.words[i]);
      const { full, table } = fullTables[b];
      if (!full) return empiricalPValue(table, s);
      let own = 0;
      let ownAbove = 0;
      h.scores.forEach((t, j) => {
        if (lengthBucket(h.words[j]) !== b) return;
        own++;
        if (t >= s) ownAbove++;
      });
      const above = full.length - lowerBound(full, s) - ownAbove;
      return (1 + above) / (full.length - own + 1);
    });
    const stats = mixtureStatistics(pValues);
    const g = sentenceCountGroup(pValues.length);
    MIXTURE_TESTS.forEach((test, t) => statsByGroup[g][t].push(stats[test]));
  }
  const doc_null = {} as Record<MixtureTest, NullSample[]>;
  MIXTURE_TESTS.forEach((test, t) => {
    doc_null[test] = SENTENCE_COUNT_GROUPS.map((_, g) => {
      // A group with few documents pools its neighbours (statistics grow slowly with n).
      let values = statsByGroup[g][t];
      for (let d = 1; values.length < 100 && d < SENTENCE_COUNT_GROUPS.length; d++) {
        values = [...values, ...(statsByGroup[g - d]?.[t] ?? []), ...(statsByGroup[g + d]?.[t] ?? [])];
      }
      return nullSample(values);
    });
  });

  const humanScores = humans.flatMap((h) => Array.from(h.scores));
  const scores = [...humanScores, ...machineScores];
  const labels = scores.map((_, i) => (i < humanScores.length ? 0 : 1));
  const wH = scores.length / (2 * Math.max(1, humanScores.length));
  const wM = scores.length / (2 * Math.max(1, machineScores.length));
  const platt = fitLogistic1d(scores, labels, labels.map((y) => (y ? wM : wH)));
  return {
    version: 1,
    radius,
    platt,
    length_buckets: LENGTH_BUCKETS.map((b) => (Number.isFinite(b) ? b : null)),
    tables,
    primary,
    doc_null,
    sentence_count_groups: SENTENCE_COUNT_GROUPS.map((b) => (Number.isFinite(b) ? b : null)),
    held_out: {
      method: 'training folds: every score comes from a model that did not see the document',
      human_documents: humans.length,
      human_sentences: humanScores.length,
      machine_sentences: machineScores.length,
      fold_weights: method,
    },
  };
}

function lowerBound(sorted: number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The fold model's weights, read through `scoreText` by having the featurizer
 * return one-hot vectors; null when scoreText does not go through
 * Featurizer.prototype.transform or the read-back weights do not reproduce a
 * real document's score.
 */
function readWeights(fold: Fold, detector: Detector): Float32Array | null {
  const dimension = detector.featurizer.dimension;
  const proto = Featurizer.prototype as unknown as { transform: (text: string) => SparseVector };
  const original = proto.transform;
  const probe: SparseVector = { indices: new Int32Array(0), values: new Float32Array(0) };
  const one: SparseVector = { indices: new Int32Array(1), values: Float32Array.of(1) };
  const weights = new Float32Array(dimension);
  let bias: number;
  try {
    let current = probe;
    proto.transform = () => current;
    bias = fold.scoreText('');
    current = one;
    for (let j = 0; j < dimension; j++) {
      one.indices[0] = j;
      weights[j] = fold.scoreText('') - bias;
    }
  } catch {
    return null;
  } finally {
    proto.transform = original;
  }
  const sample = fold.heldOut.slice(0, 3);
  for (const document of sample) {
    const expected = fold.scoreText(document.text);
    const got = decisionFunction({ weights, bias }, detector.featurizer.transform(document.text));
    if (!(Math.abs(expected - got) < 1e-3 * Math.max(1, Math.abs(expected)))) return null;
  }
  return sample.length > 0 ? weights : null;
}

/** Refits fold k's model the way training does (all other folds, balanced weights, same options). */
function refitFold(folds: Fold[], k: number, detector: Detector): LogisticModel {
  const all = folds.flatMap((f, i) => f.heldOut.map((d) => ({ d, fold: i })));
  const weights = balancedWeights(all.map((x) => x.d));
  const rows = all.map((x, i) => ({ ...x, i })).filter((x) => x.fold !== k);
  const options = detector.metadata.training.options as { l2?: number; maxIterations?: number };
  return fitLogistic(
    rows.map((x) => detector.featurizer.transform(x.d.text)),
    rows.map((x) => (x.d.label === 'machine' ? 1 : 0)),
    rows.map((x) => weights[x.i]),
    detector.featurizer.dimension,
    { l2: options.l2 ?? DEFAULT_LOGISTIC_OPTIONS.l2, maxIterations: options.maxIterations ?? DEFAULT_LOGISTIC_OPTIONS.maxIterations, tolerance: DEFAULT_LOGISTIC_OPTIONS.tolerance },
  );
}

/**
 * P(machine | window score) = sigmoid(a·s + b) by damped Newton steps on the
 * weighted log loss (scores standardised first): the plain Platt fit can
 * overshoot on a hundred thousand sentence scores.
 */
export function fitLogistic1d(scores: readonly number[], labels: readonly number[], weights: readonly number[]): PlattCalibration {
  const n = scores.length;
  if (n === 0) return { kind: 'platt', a: 1, b: 0 };
  let mean = 0;
  for (const s of scores) mean += s / n;
  let variance = 0;
  for (const s of scores) variance += (s - mean) ** 2 / n;
  const sd = Math.sqrt(variance) || 1;
  const loss = (a: number, b: number) => {
    let l = 0;
    for (let i = 0; i < n; i++) {
      const z = (a * (scores[i] - mean)) / sd + b;
      l += weights[i] * (Math.max(z, 0) - labels[i] * z + Math.log1p(Math.exp(-Math.abs(z))));
    }
    return l;
  };
  let a = 1;
  let b = 0;
  let current = loss(a, b);
  for (let iteration = 0; iteration < 50; iteration++) {
    let ga = 0, gb = 0, haa = 1e-9, hab = 0, hbb = 1e-9;
    for (let i = 0; i < n; i++) {
      const x = (scores[i] - mean) / sd;
      const p = 1 / (1 + Math.exp(-(a * x + b)));
      const d = weights[i] * (p - labels[i]);
      const h = weights[i] * p * (1 - p);
      ga += d * x;
      gb += d;
      haa += h * x * x;
      hab += h * x;
      hbb += h;
    }
    const det = haa * hbb - hab * hab;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    let step = 1;
    while (step > 1e-6 && !(loss(a - step * da, b - step * db) <= current)) step /= 2;
    if (step <= 1e-6) break;
    a -= step * da;
    b -= step * db;
    const next = loss(a, b);
    if (current - next < 1e-10 * Math.abs(current)) break;
    current = next;
  }
  // back to raw scores: a·(s − mean)/sd + b
  return { kind: 'platt', a: a / sd, b: b - (a * mean) / sd };
}
