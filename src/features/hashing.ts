/**
 * The hashing trick: features are strings hashed into a fixed number of
 * buckets, so the model is a flat weight array of known size with no
 * vocabulary to ship, and unseen n-grams cost nothing at detection time.
 */

// The primitives live in util/hash.ts (text and corpus use them too); re-exported for existing imports.
export { avalanche, combine, hashString } from '../util/hash.js';

/**
 * A fixed set of 32-bit hashes with a small flag byte each, in typed arrays
 * with linear probing. Lookups on the hot path cost a multiply and usually
 * one probe; a JavaScript Set keyed by numbers above 2^30 boxes every key.
 */
export class HashFlags {
  private readonly keys: Uint32Array;
  private readonly flags: Uint8Array;
  private readonly shift: number;

  constructor(entries: Iterable<[number, number]>) {
    const list = [...entries];
    const bits = Math.max(4, Math.ceil(Math.log2(list.length * 4 + 1)));
    this.keys = new Uint32Array(1 << bits);
    this.flags = new Uint8Array(1 << bits);
    this.shift = 32 - bits;
    for (const [hash, flag] of list) this.set(hash, flag);
  }

  /** The flags stored for `hash`, 0 when absent. */
  get(hash: number): number {
    const key = hash === 0 ? 1 : hash;
    const mask = this.keys.length - 1;
    for (let slot = Math.imul(key, 0x9e3779b1) >>> this.shift; ; slot = (slot + 1) & mask) {
      const k = this.keys[slot];
      if (k === key) return this.flags[slot];
      if (k === 0) return 0;
    }
  }

  private set(hash: number, flag: number): void {
    const key = hash === 0 ? 1 : hash;
    const mask = this.keys.length - 1;
    let slot = Math.imul(key, 0x9e3779b1) >>> this.shift;
    while (this.keys[slot] !== 0 && this.keys[slot] !== key) slot = (slot + 1) & mask;
    this.keys[slot] = key;
    this.flags[slot] |= flag;
  }
}

/** Math.fround(Math.log1p(c)) for small counts c: the sublinear value, exactly. */
const LOG1P_TABLE_SIZE = 256;
const LOG1P = Float64Array.from({ length: LOG1P_TABLE_SIZE }, (_, c) => Math.fround(Math.log1p(c)));

/**
 * Counts how often each bucket occurs among one family's n-grams: a stamped
 * open-addressing table reused across documents, so counting costs one
 * multiply and a probe per n-gram and resetting costs nothing. Each slot's
 * stamp, key and count sit side by side (one cache line per probe), and the
 * table in use is sized for the document at hand, not for the longest
 * document seen so far (measured: after one long article every later one
 * probed a 512 kB table, missing the cache on most n-grams).
 */
export class BucketCounter {
  /** Per slot: stamp, key, count. */
  private table = new Uint32Array(3 * 1024);
  private order = new Uint32Array(1024);
  private stamp = 0;
  private shift = 22;
  private mask = 1023;
  size = 0;

  reset(capacity: number): void {
    const slots = 2 ** Math.max(4, Math.ceil(Math.log2(capacity * 2 + 1)));
    if (this.table.length < 3 * slots) {
      this.table = new Uint32Array(3 * slots);
      this.order = new Uint32Array(slots);
      this.stamp = 0;
    }
    this.mask = slots - 1;
    this.shift = 32 - Math.log2(slots);
    this.stamp++;
    this.size = 0;
  }

  add(key: number): void {
    const table = this.table;
    const stamp = this.stamp;
    let slot = Math.imul(key, 0x9e3779b1) >>> this.shift;
    while (table[3 * slot] === stamp) {
      if (table[3 * slot + 1] === key) {
        table[3 * slot + 2]++;
        return;
      }
      slot = (slot + 1) & this.mask;
    }
    table[3 * slot] = stamp;
    table[3 * slot + 1] = key;
    table[3 * slot + 2] = 1;
    this.order[this.size++] = slot;
  }

  /** The k-th distinct key, in order of first occurrence. */
  keyAt(k: number): number {
    return this.table[3 * this.order[k] + 1];
  }

  countAt(k: number): number {
    return this.table[3 * this.order[k] + 2];
  }

  /**
   * The family's contribution with sublinear weighting: Σ w[bucket]·log(1+count)
   * over the counted buckets, divided by the family's length. Values are
   * rounded to float32 as Featurizer.transform stores them, so every path
   * gives the same score.
   */
  sublinearDot(weights: Float32Array): number {
    let sum = 0;
    let norm = 0;
    for (let k = 0; k < this.size; k++) {
      const count = this.countAt(k);
      // A table lookup for the usual small counts (measured: log1p was a third of the dot product).
      const v = count < LOG1P_TABLE_SIZE ? LOG1P[count] : Math.fround(Math.log1p(count));
      sum += weights[this.keyAt(k)] * v;
      norm += v * v;
    }
    return norm > 0 ? sum / Math.sqrt(norm) : 0;
  }
}
