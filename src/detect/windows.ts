import { distortedHashesInto, featureFamilies, type FeatureFamily, type FeaturizerState, type SparseVector } from '../features/featurizer.js';
import { BucketCounter, combine } from '../features/hashing.js';
import { styleVector } from '../features/stylometry.js';
import { normalize } from '../text/normalize.js';
import { splitSentences, type SentenceSpan } from '../text/sentences.js';
import { tokenBuffers, tokenizeInto, TokenKind, type Tokens } from '../text/tokenize.js';

/**
 * The window model and the one pass over a document's tokens that feeds it.
 *
 * A window is a sentence with `radius` neighbours on each side. The window
 * model is a logistic regression over the same hashed n-gram families as the
 * document model (same seeds, a smaller hash space), fitted on windows of
 * training documents, with count weighting: a family's features are
 * count / √(n-grams of that family ending in the window). A window's score is
 * therefore a sum over its n-gram occurrences, so the scores of all windows
 * of a document come from per-sentence sums (one pass over the document's
 * n-grams), and the same hashes serve the document model's score.
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
    const bytes = Buffer.from(stored.weights, 'base64');
    if (bytes.length !== 2 * 2 ** stored.hash_bits) throw new Error(`window model: expected ${2 ** stored.hash_bits} weights, got ${bytes.length / 2}`);
    this.weights = new Int16Array(2 ** stored.hash_bits);
    if (LITTLE_ENDIAN) this.weights.set(new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)));
    else for (let i = 0; i < this.weights.length; i++) this.weights[i] = bytes.readInt16LE(2 * i);
  }

  /** Quantises fitted float weights (the stored model is what gets calibrated, so p-values are exact for it). */
  static fromFloat(weights: Float32Array, bias: number, hashBits: number, trained_on: WindowModelState['trained_on']): WindowModel {
    let max = 0;
    for (let i = 0; i < weights.length; i++) max = Math.max(max, Math.abs(weights[i]));
    const scale = max > 0 ? max / 32767 : 1;
    const bytes = Buffer.alloc(2 * weights.length);
    for (let i = 0; i < weights.length; i++) bytes.writeInt16LE(Math.round(weights[i] / scale), 2 * i);
    return new WindowModel({ hash_bits: hashBits, bias, scale, weights: bytes.toString('base64'), trained_on });
  }
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;


// ------------------------------------------------------------------ one pass over a document

type Family = FeatureFamily;

function familiesOf(state: FeaturizerState): Family[] {
  return featureFamilies(state.config);
}
const STYLE_CLIP = 5;

/** What a document pass yields. Arrays are owned by the caller (fresh per pass). */
export interface DocumentPass {
  spans: SentenceSpan[];
  /** Words (non-punctuation tokens) per sentence. */
  wordsPer: Int32Array;
  /** Window-model weight sum (int16 units) of family f's n-grams ending in sentence s, at [f·S + s]. */
  sums: Float64Array;
  /** Number of family f's n-grams ending in sentence s, at [f·S + s]. */
  counts: Float64Array;
  families: number;
  /** Document model's score (bias included); NaN when not asked for. */
  documentScore: number;
  /** With `collect`: family f's window-model buckets in n-gram order, and the first n-gram of each sentence (S + 1 entries). */
  buckets?: Uint32Array[];
  firstNgram?: Int32Array[];
}

export interface DocumentModel {
  state: FeaturizerState;
  weights: Float32Array;
  bias: number;
  /** For term weightings the streaming sum cannot reproduce: scores the tokens the usual way. */
  scoreTokens: (tokens: Tokens) => number;
}

/**
 * Scores one document's n-grams for the window model (per sentence) and,
 * when `document` is given, the document model, normalising and tokenising
 * the text once. With `collect`, also returns every n-gram's window-model
 * bucket (for building training windows).
 */
export class DocumentScanner {
  private readonly families: Family[];
  private tokens = tokenBuffers(1 << 12);
  private distorted = new Uint32Array(1 << 12);
  private sentenceOf = new Uint32Array(1 << 12);
  private readonly streaming: boolean;
  private readonly sublinear: boolean;
  private readonly counter = new BucketCounter();

  constructor(
    private readonly featurizer: FeaturizerState,
    private readonly window: { mask: number; weights: Int16Array } | null,
    private readonly document: DocumentModel | null = null,
  ) {
    this.families = familiesOf(featurizer);
    this.streaming = featurizer.config.termWeighting === 'count';
    this.sublinear = featurizer.config.termWeighting === 'sublinear' || featurizer.config.termWeighting === undefined;
  }

  scan(text: string, spans = splitSentences(text), collect = false): DocumentPass {
    const normalized = normalize(text);
    const tokens = (this.tokens = tokenizeInto(normalized, this.tokens));
    const count = tokens.count;
    const S = spans.length;
    const F = this.families.length;
    const sums = new Float64Array(F * S);
    const counts = new Float64Array(F * S);
    const wordsPer = new Int32Array(S);
    const pass: DocumentPass = { spans, wordsPer, sums, counts, families: F, documentScore: NaN };
    if (collect) {
      pass.buckets = [];
      pass.firstNgram = [];
    }
    if (this.sentenceOf.length < count) this.sentenceOf = new Uint32Array(count * 2);
    const sentenceOf = this.sentenceOf;
    if (S > 0) alignTokens(text, normalized, tokens, spans, sentenceOf);
    for (let t = 0; t < count; t++) if (tokens.kinds[t] !== TokenKind.Punctuation) wordsPer[sentenceOf[t]]++;
    // first token of each sentence (sentenceOf is non-decreasing); firstToken[S] = count
    const firstToken = new Int32Array(S + 1);
    for (let s = 0, t = 0; s <= S; s++) {
      while (t < count && sentenceOf[t] < s) t++;
      firstToken[s] = t;
    }

    const doc = this.document;
    const streamDoc = doc !== null && this.streaming;
    const countDoc = doc !== null && this.sublinear;
    const counter = this.counter;
    const docWeights = doc?.weights ?? new Float32Array(0);
    const docMask = 2 ** this.featurizer.config.hashBits - 1;
    const windowWeights = this.window?.weights ?? null;
    const windowMask = this.window?.mask ?? 0;
    let docTotal = 0;
    let hashes: Uint32Array = tokens.hashes;
    let distortedReady = false;
    for (let f = 0; f < F; f++) {
      const { n, seed, distorted } = this.families[f];
      if (distorted) {
        if (!distortedReady) {
          if (this.distorted.length < count) this.distorted = new Uint32Array(count * 2);
          distortedHashesInto(tokens, this.distorted);
          distortedReady = true;
        }
        hashes = this.distorted;
      } else {
        hashes = tokens.hashes;
      }
      const total = count - n + 1;
      const base = f * S;
      let docSum = 0;
      if (countDoc) counter.reset(Math.max(1, total));
      const buckets = collect ? new Uint32Array(Math.max(0, total)) : null;
      // n-gram i ends at token i + n − 1; sentence s owns the n-grams ending in [firstToken[s], firstToken[s + 1]).
      let i = 0;
      for (let s = 0; s <= S; s++) {
        const stop = s < S ? Math.min(total, firstToken[s + 1] - n + 1) : total;
        let sum = 0;
        const from = i;
        for (; i < stop; i++) {
          let h = seed;
          for (let j = 0; j < n; j++) h = combine(h, hashes[i + j]);
          if (streamDoc) docSum += docWeights[h & docMask];
          else if (countDoc) counter.add(h & docMask);
          if (windowWeights) sum += windowWeights[h & windowMask];
          if (buckets) buckets[i] = h & windowMask;
        }
        if (s < S) {
          sums[base + s] = sum;
          counts[base + s] = i - from;
        }
      }
      if (streamDoc && total > 0) docTotal += docSum / Math.sqrt(total);
      if (countDoc && total > 0) {
        // The document model's score, exactly as Featurizer.dot computes it.
        docTotal += counter.sublinearDot(docWeights);
      }
      if (collect) {
        pass.buckets!.push(buckets!);
        const first = new Int32Array(S + 1);
        let acc = 0;
        for (let s = 0; s < S; s++) {
          first[s] = acc;
          acc += counts[base + s];
        }
        first[S] = acc;
        pass.firstNgram!.push(first);
      }
    }
    if (doc) {
      if (streamDoc || countDoc) {
        if (this.featurizer.config.useStyle) {
          const style = styleVector(tokens);
          const offset = docMask + 1;
          for (let j = 0; j < style.length; j++) {
            const v = (style[j] - this.featurizer.styleMean[j]) / this.featurizer.styleStd[j];
            docTotal += docWeights[offset + j] * Math.fround(v > STYLE_CLIP ? STYLE_CLIP : v < -STYLE_CLIP ? -STYLE_CLIP : v);
          }
        }
        pass.documentScore = doc.bias + docTotal;
      } else {
        pass.documentScore = doc.scoreTokens(tokens);
      }
    }
    return pass;
  }
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

/** The window model's feature vector of the window centred on sentence s (needs a pass made with `collect`). */
export function windowVector(pass: DocumentPass, s: number, radius: number): SparseVector {
  const S = pass.spans.length;
  const lo = Math.max(0, s - radius);
  const hi = Math.min(S - 1, s + radius);
  const indices: number[] = [];
  const values: number[] = [];
  for (let f = 0; f < pass.families; f++) {
    const from = pass.firstNgram![f][lo];
    const to = pass.firstNgram![f][hi + 1];
    if (to <= from) continue;
    const run = pass.buckets![f].slice(from, to).sort();
    const scale = 1 / Math.sqrt(to - from);
    for (let i = 0; i < run.length; ) {
      let j = i + 1;
      while (j < run.length && run[j] === run[i]) j++;
      indices.push(run[i]);
      values.push((j - i) * scale);
      i = j;
    }
  }
  return { indices: Int32Array.from(indices), values: Float32Array.from(values) };
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
        const word = normalized.slice(start, start + tokens.lengths[t]);
        // Usually normalisation has only shifted the text: try where the running offset says first.
        const guess = start + shift;
        at = guess >= cursor && original.startsWith(word, guess) && !isWordChar(original.charCodeAt(guess - 1)) && !isWordChar(original.charCodeAt(guess + word.length)) ? guess : original.indexOf(word, cursor);
        while (at >= 0 && at - cursor < 2000 && (isWordChar(original.charCodeAt(at - 1)) || isWordChar(original.charCodeAt(at + word.length)))) {
          at = original.indexOf(word, at + 1);
        }
        if (!(at >= 0 && at - cursor < 2000)) at = -1;
        else {
          cursor = at + word.length;
          shift = at - start;
        }
      }
      if (at >= 0) while (sentence < last && at >= spans[sentence].end) sentence++;
    }
    out[t] = sentence;
  }
}

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 0xc0 && c !== 0x2019 && c !== 0x2018 && c < 0x2000);
}
