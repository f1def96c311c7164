import { normalize } from '../text/normalize.js';
import { tokenize, type Tokens } from '../text/tokenize.js';
import { BucketCounter } from './hashing.js';
import { DocumentPreparer, tokenText, type PrepareOptions, type PreparedDocument } from './document.js';
import { featureFamilies, ngramName, type FamilyConfig, type FeatureFamily } from './families.js';
import { STYLE_FEATURES, styleVector } from './stylometry.js';

/**
 * Text → sparse feature vector, the scikit-learn way: `fit` learns what
 * needs learning (here only the scale of the style measurements), and
 * `transform` is a pure function of the text and that state.
 *
 * Layout: [0, 2^hashBits) hashed n-gram buckets, then one slot per style
 * measurement. Each n-gram family is scaled to unit length on its own, so
 * no family dominates by having more n-grams. The families themselves (what
 * is hashed, with which seeds) are defined once in families.ts, and a text
 * is prepared once (document.ts) for every consumer.
 */
export interface FeaturizerConfig extends FamilyConfig {
  hashBits: number;
  useStyle: boolean;
  /**
   * How an n-gram's count becomes its value. 'sublinear': log(1 + count),
   * then unit length per family. 'count': count / √(n-grams in the family),
   * so a score is a sum over n-gram occurrences — streamable without
   * counting, and exactly decomposable into sentence windows.
   */
  termWeighting?: 'sublinear' | 'count';
}

export interface FeaturizerState {
  config: FeaturizerConfig;
  styleMean: number[];
  styleStd: number[];
}

export interface SparseVector {
  indices: Int32Array;
  values: Float32Array;
}

/**
 * Word bigrams stay, measured: without them leave-one-source-out AUROC was
 * about the same (0.963/0.963/0.981 vs 0.959/0.966/0.983) and training
 * 40% faster, but unseen PAN'24 human text was flagged at 15.6% instead of
 * 9.2% at the default threshold, and false positives come first.
 *
 * The 17 style measurements stay, measured (2026-12-02, reports/ablation.md):
 * without them, leave-one-source-out on all of ../shared/data ranked
 * unseen news sources better (AUROC up on 5 of 8) and lowered the threshold
 * 0.896 → 0.881 (median news recall 52% → 58%), but on a domain never seen
 * in training the model called more human writers "machine": abstracts held
 * out (scripts/measure-applicability.ts --domains) 1.4% → 4.1%, and
 * creative writing lost 0.03 AUROC held out. Unseen domains come first.
 */
export const DEFAULT_FEATURIZER_CONFIG: FeaturizerConfig = {
  hashBits: 19,
  wordNgrams: [1, 2],
  distortedNgrams: [3, 4],
  useStyle: true,
  termWeighting: 'sublinear',
};

/** One human-readable feature with its value, for evidence. */
export interface NamedFeature {
  index: number;
  family: string;
  name: string;
  value: number;
}

/** Style measurements are standardised, then clipped to ±5 standard deviations. */
const STYLE_CLIP = 5;

export class Featurizer {
  readonly config: FeaturizerConfig;
  readonly families: readonly FeatureFamily[];
  private styleMean: Float64Array;
  private styleStd: Float64Array;
  private readonly hashSize: number;
  private readonly mask: number;
  /** Reused per document: n-gram bucket indices. */
  private buckets = new Uint32Array(1 << 14);
  private readonly counter = new BucketCounter();
  /** Reused per document: the scaled style slots (a document's raw `style` is never scaled in place). */
  private readonly styleScratch = new Float64Array(STYLE_FEATURES.length);
  private readonly preparer: DocumentPreparer;

  constructor(state: FeaturizerState) {
    this.config = state.config;
    this.hashSize = 2 ** state.config.hashBits;
    this.mask = this.hashSize - 1;
    this.styleMean = Float64Array.from(state.styleMean);
    this.styleStd = Float64Array.from(state.styleStd);
    this.families = featureFamilies(state.config);
    this.preparer = new DocumentPreparer(this.families);
  }

  /** Learns the style scale from training texts. */
  static fit(texts: Iterable<string>, config: FeaturizerConfig = DEFAULT_FEATURIZER_CONFIG): Featurizer {
    const k = STYLE_FEATURES.length;
    const sum = new Float64Array(k);
    const sumSq = new Float64Array(k);
    let n = 0;
    for (const text of texts) {
      const style = styleVector(tokenize(normalize(text)));
      for (let j = 0; j < k; j++) {
        sum[j] += style[j];
        sumSq[j] += style[j] * style[j];
      }
      n++;
    }
    return new Featurizer({ config, ...styleScale(sum, sumSq, n) });
  }

  /**
   * fit, then transform every text, preparing each text once (training used
   * to normalise and tokenise every text twice): the style slots are written
   * raw and rescaled once the scale is known. Equal to
   * `fit(texts).transform(text)` for each text.
   */
  static fitTransform(
    texts: readonly string[],
    config: FeaturizerConfig = DEFAULT_FEATURIZER_CONFIG,
    onProgress?: (done: number) => void,
    observe?: { prepare: PrepareOptions; each: (index: number, document: PreparedDocument) => void },
  ): { featurizer: Featurizer; vectors: SparseVector[]; words: number[] } {
    const k = STYLE_FEATURES.length;
    const identity = new Featurizer({ config, styleMean: new Array(k).fill(0), styleStd: new Array(k).fill(1) });
    const sum = new Float64Array(k);
    const sumSq = new Float64Array(k);
    const raw: Float64Array[] = [];
    const vectors: SparseVector[] = [];
    const words: number[] = [];
    for (const text of texts) {
      const document = identity.prepare(text, observe?.prepare);
      // Whoever else reads the training texts (training's extensions) sees each prepared text once, here;
      // it aliases reused buffers and its style is scaled below, so it must copy what it keeps.
      observe?.each(vectors.length, document);
      words.push(document.words);
      const style = document.style;
      for (let j = 0; j < k; j++) {
        sum[j] += style[j];
        sumSq[j] += style[j] * style[j];
      }
      raw.push(style);
      vectors.push(identity.transform(document));
      if (vectors.length % 500 === 0) onProgress?.(vectors.length);
    }
    const featurizer = new Featurizer({ config, ...styleScale(sum, sumSq, texts.length) });
    if (config.useStyle) {
      vectors.forEach((vector, i) => {
        const scaled = featurizer.scaleStyle(raw[i], raw[i]);
        for (let j = 0, at = vector.values.length - k; j < k; j++) vector.values[at + j] = scaled[j];
      });
    }
    return { featurizer, vectors, words };
  }

  state(): FeaturizerState {
    return { config: this.config, styleMean: Array.from(this.styleMean), styleStd: Array.from(this.styleStd) };
  }

  /** Total vector length: hashed buckets plus style slots. */
  get dimension(): number {
    return this.hashSize + (this.config.useStyle ? STYLE_FEATURES.length : 0);
  }

  /**
   * Normalises, tokenises and hashes a text once for every consumer. The
   * result aliases this featurizer's buffers: it is valid until the next
   * prepare (or transform/dot of a string) on this featurizer.
   */
  prepare(text: string, options?: PrepareOptions): PreparedDocument {
    return this.preparer.prepare(text, options);
  }

  transform(input: string | PreparedDocument): SparseVector {
    const document = typeof input === 'string' ? this.prepare(input) : input;
    const ranges = this.sortedBuckets(document);
    const buckets = this.buckets;
    let unique = 0;
    for (let r = 0; r < ranges.length; r += 2) {
      for (let i = ranges[r]; i < ranges[r + 1]; i++) if (i === ranges[r] || buckets[i] !== buckets[i - 1]) unique++;
    }
    const styleCount = this.config.useStyle ? STYLE_FEATURES.length : 0;
    const indices = new Int32Array(unique + styleCount);
    const values = new Float32Array(unique + styleCount);
    let k = 0;
    const sublinear = this.config.termWeighting !== 'count';
    for (let r = 0; r < ranges.length; r += 2) {
      const first = k;
      let norm = 0;
      for (let i = ranges[r], end = ranges[r + 1]; i < end; ) {
        let j = i + 1;
        while (j < end && buckets[j] === buckets[i]) j++;
        const v = sublinear ? Math.log1p(j - i) : j - i;
        indices[k] = buckets[i];
        values[k++] = v;
        norm += v * v;
        i = j;
      }
      const total = ranges[r + 1] - ranges[r];
      const scale = sublinear ? (norm > 0 ? 1 / Math.sqrt(norm) : 0) : total > 0 ? 1 / Math.sqrt(total) : 0;
      for (let i = first; i < k; i++) values[i] *= scale;
    }
    if (styleCount > 0) {
      const style = this.scaleStyle(document.style, this.styleScratch);
      for (let j = 0; j < styleCount; j++) {
        indices[k + j] = this.hashSize + j;
        values[k + j] = style[j];
      }
    }
    return { indices, values };
  }

  /**
   * The dot product of a text's feature vector with `weights`, without
   * building the vector: the detection hot path. Equal to summing
   * weights[i] * value[i] over transform(text), up to float rounding.
   */
  dot(input: string | PreparedDocument, weights: Float32Array): number {
    const document = typeof input === 'string' ? this.prepare(input) : input;
    const sublinear = this.config.termWeighting !== 'count';
    const mask = this.mask;
    let total = 0;
    for (let f = 0; f < this.families.length; f++) {
      const count = document.ngramCounts[f];
      if (count <= 0) continue;
      const hashes = document.ngrams[f];
      if (!sublinear) {
        // count / √N per bucket: a plain sum over occurrences, nothing to count.
        let sum = 0;
        for (let i = 0; i < count; i++) sum += weights[hashes[i] & mask];
        total += sum / Math.sqrt(count);
        continue;
      }
      total += this.counter.sublinearDot(hashes, count, mask, weights);
    }
    if (this.config.useStyle) {
      const style = this.scaleStyle(document.style, this.styleScratch);
      for (let j = 0; j < style.length; j++) total += weights[this.hashSize + j] * Math.fround(style[j]);
    }
    return total;
  }

  /** The style measurements standardised with the fitted scale and clipped (the style slots of the vector). */
  scaledStyle(tokens: Tokens): Float64Array {
    const style = styleVector(tokens);
    return this.scaleStyle(style, style);
  }

  /** Standardises and clips raw style measurements into `out` (may be `style` itself). */
  private scaleStyle(style: Float64Array, out: Float64Array): Float64Array {
    for (let j = 0; j < style.length; j++) out[j] = clip((style[j] - this.styleMean[j]) / this.styleStd[j], STYLE_CLIP);
    return out;
  }

  /**
   * Fills `this.buckets` with every n-gram's bucket, family after family,
   * each family's run sorted; returns [start, end) pairs per family. Sorting
   * a few hundred integers per family beats counting in a half-million-slot
   * table, whose random accesses miss the cache.
   */
  private sortedBuckets(document: PreparedDocument): number[] {
    let size = 0;
    for (let f = 0; f < this.families.length; f++) size += document.ngramCounts[f];
    if (this.buckets.length < size) this.buckets = new Uint32Array(size * 2);
    const { buckets, mask } = this;
    const ranges: number[] = [];
    let count = 0;
    for (let f = 0; f < this.families.length; f++) {
      const start = count;
      const hashes = document.ngrams[f];
      for (let i = 0, n = document.ngramCounts[f]; i < n; i++) buckets[count++] = hashes[i] & mask;
      ranges.push(start, count);
    }
    for (let r = 0; r < ranges.length; r += 2) buckets.subarray(ranges[r], ranges[r + 1]).sort();
    return ranges;
  }

  /**
   * Human-readable names for the given feature indices of a document (the
   * n-gram or style measurement behind each), for evidence. Only wanted
   * buckets get a string built.
   */
  nameFeatures(document: PreparedDocument, wanted: ReadonlySet<number>): Map<number, { family: string; name: string }> {
    const names = new Map<number, { family: string; name: string }>();
    for (const index of wanted) {
      const styleIndex = index - this.hashSize;
      if (styleIndex >= 0) names.set(index, { family: 'style', name: STYLE_FEATURES[styleIndex] });
    }
    const word = (i: number) => tokenText(document, i);
    this.families.forEach((family, f) => {
      const hashes = document.ngrams[f];
      for (let i = 0, n = document.ngramCounts[f]; i < n; i++) {
        const index = hashes[i] & this.mask;
        if (!wanted.has(index) || names.has(index)) continue;
        names.set(index, { family: family.label, name: ngramName(family, document.tokens, i, word) });
      }
    });
    return names;
  }
}

function styleScale(sum: Float64Array, sumSq: Float64Array, n: number): { styleMean: number[]; styleStd: number[] } {
  const styleMean = Array.from(sum, (s) => s / Math.max(n, 1));
  const styleStd = Array.from(sumSq, (s, j) => Math.sqrt(Math.max(s / Math.max(n, 1) - styleMean[j] * styleMean[j], 0)) || 1);
  return { styleMean, styleStd };
}

function clip(v: number, limit: number): number {
  return v > limit ? limit : v < -limit ? -limit : v;
}
