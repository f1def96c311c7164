import { hashSet, TokenKind, type Tokens } from '../text/tokenize.js';
import { combine, hashString, HashFlags } from './hashing.js';
import { FUNCTION_WORDS } from './function-words.js';

/**
 * The hashed n-gram feature families, defined once. Every consumer — the
 * document model's vector and dot product (featurizer.ts), the window model's
 * per-sentence sums (detect/windows.ts) and evidence naming — reads the
 * occurrences that `hashNgrams` writes into a PreparedDocument
 * (document.ts), so no consumer walks n-grams itself.
 *
 * ADDING A FAMILY happens here and nowhere else: give its unit stream an entry
 * in STREAMS (which token hashes its n-grams combine, how a unit is shown in
 * evidence, which config field lists its orders) and add that field to
 * FeaturizerConfig. Featurizer, window model and evidence pick it up. The
 * streams here are token streams (unit i is token i, so an n-gram belongs to
 * the sentence of its last token); a character n-gram family would be a
 * stream whose units are characters of the normalised text, and would also
 * say which token each unit ends in so the window model can place it.
 * Existing seeds must never change: the shipped model's weights depend on them.
 */
export interface FamilyConfig {
  /** Word n-gram orders over lower-cased tokens (punctuation included). */
  wordNgrams: number[];
  /** Orders of "distorted" n-grams: function words and punctuation kept, other words reduced to shape. */
  distortedNgrams: number[];
}

/** One n-gram family: its order, hash seed and the unit stream it reads. */
export interface FeatureFamily {
  n: number;
  seed: number;
  stream: StreamName;
  /** Evidence family name, e.g. "word 2-gram". */
  label: string;
}

export type StreamName = 'word' | 'distorted';

interface UnitStream {
  orders(config: FamilyConfig): number[];
  /** Seed prefix: the family of order n hashes from hashString(`${seedPrefix}${n}`). */
  seedPrefix: string;
  /** Evidence label: "<label> <n>-gram". */
  label: string;
  /** The hash of each unit, in order (into `out` when the stream computes them). */
  units(tokens: Tokens, out: Uint32Array): Uint32Array;
  /** How unit i reads in evidence (`word` is the lower-cased token). */
  display(tokens: Tokens, i: number, word: string): string;
}

const FUNCTION_HASHES = new HashFlags([...hashSet(FUNCTION_WORDS)].map((h): [number, number] => [h, 1]));
const SHAPE_NAMES = ['', '·w', '·C', '·C', '·N'];
const SHAPE_HASHES = Uint32Array.from(SHAPE_NAMES, (name) => hashString(name));

/** Function words and punctuation stay themselves; other tokens become their shape. */
function keepsIdentity(tokens: Tokens, i: number): boolean {
  return tokens.kinds[i] === TokenKind.Punctuation || FUNCTION_HASHES.get(tokens.hashes[i]) !== 0;
}

/** Unit streams in vector order. */
const STREAMS: Record<StreamName, UnitStream> = {
  word: {
    orders: (config) => config.wordNgrams,
    seedPrefix: 'word',
    label: 'word',
    units: (tokens) => tokens.hashes,
    display: (_tokens, _i, word) => word,
  },
  distorted: {
    orders: (config) => config.distortedNgrams,
    seedPrefix: 'distorted',
    label: 'pattern',
    units(tokens, out) {
      for (let i = 0; i < tokens.count; i++) out[i] = keepsIdentity(tokens, i) ? tokens.hashes[i] : SHAPE_HASHES[tokens.kinds[i]];
      return out;
    },
    display: (tokens, i, word) => (keepsIdentity(tokens, i) ? word : SHAPE_NAMES[tokens.kinds[i]]),
  },
};
const STREAM_ORDER: StreamName[] = ['word', 'distorted'];

/** The n-gram families of a configuration, in vector order. */
export function featureFamilies(config: FamilyConfig): FeatureFamily[] {
  return STREAM_ORDER.flatMap((stream) =>
    STREAMS[stream].orders(config).map((n) => ({ n, seed: hashString(`${STREAMS[stream].seedPrefix}${n}`), stream, label: `${STREAMS[stream].label} ${n}-gram` })),
  );
}

/** Scratch for the unit streams of one document (reused across documents). */
export class UnitBuffers {
  private buffers = new Map<StreamName, Uint32Array>();
  /** The answer, reused: valid until the next call. */
  private readonly out = new Map<StreamName, Uint32Array>();

  /** Each stream's unit hashes for these tokens, computed once per document (valid until the next call). */
  streams(tokens: Tokens, families: readonly FeatureFamily[]): ReadonlyMap<StreamName, Uint32Array> {
    const out = this.out;
    out.clear();
    for (const { stream } of families) {
      if (out.has(stream)) continue;
      let buffer = this.buffers.get(stream);
      if (!buffer || buffer.length < tokens.count) this.buffers.set(stream, (buffer = new Uint32Array(Math.max(1024, tokens.count * 2))));
      out.set(stream, STREAMS[stream].units(tokens, buffer));
    }
    return out;
  }
}

/**
 * THE n-gram walk: the 32-bit hash of every n-gram occurrence of `family`,
 * in order, into `out` (grown when short); returns the array and the count.
 * Consumers mask the hash to their own table size (document model 2^19,
 * window model 2^18), so one walk serves both.
 */
export function hashNgrams(units: Uint32Array, count: number, family: FeatureFamily, out: Uint32Array): Uint32Array {
  const total = count - family.n + 1;
  if (out.length < total) out = new Uint32Array(total * 2);
  const { n, seed } = family;
  // Orders 1 and 2 unrolled: they are most of the work, and V8 does not unroll the inner loop itself.
  if (n === 1) for (let i = 0; i < total; i++) out[i] = combine(seed, units[i]);
  else if (n === 2) for (let i = 0; i < total; i++) out[i] = combine(combine(seed, units[i]), units[i + 1]);
  else
    for (let i = 0; i < total; i++) {
      let h = seed;
      for (let j = 0; j < n; j++) h = combine(h, units[i + j]);
      out[i] = h;
    }
  return out;
}

/** How n-gram `i` of a family reads in evidence ("the council", "·C said ,"). */
export function ngramName(family: FeatureFamily, tokens: Tokens, i: number, word: (token: number) => string): string {
  const parts: string[] = [];
  for (let j = 0; j < family.n; j++) parts.push(STREAMS[family.stream].display(tokens, i + j, word(i + j)));
  return parts.join(' ');
}
