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

/**
 * Counts how often each bucket occurs among one family's n-grams: a stamped
 * open-addressing table reused across documents, so counting costs one
 * multiply and a probe per n-gram and resetting costs nothing.
 */
export class BucketCounter {
  private keys = new Uint32Array(1024);
  private counts = new Uint32Array(1024);
  private stamps = new Uint32Array(1024);
  private slots = new Uint32Array(1024);
  private stamp = 0;
  private shift = 22;
  size = 0;

  reset(capacity: number): void {
    if (this.keys.length < capacity * 2) {
      const length = 2 ** Math.ceil(Math.log2(capacity * 4));
      this.keys = new Uint32Array(length);
      this.counts = new Uint32Array(length);
      this.stamps = new Uint32Array(length);
      this.slots = new Uint32Array(length);
      this.shift = 32 - Math.log2(length);
      this.stamp = 0;
    }
    this.stamp++;
    this.size = 0;
  }

  add(key: number): void {
    const mask = this.keys.length - 1;
    let slot = Math.imul(key, 0x9e3779b1) >>> this.shift;
    while (this.stamps[slot] === this.stamp) {
      if (this.keys[slot] === key) {
        this.counts[slot]++;
        return;
      }
      slot = (slot + 1) & mask;
    }
    this.stamps[slot] = this.stamp;
    this.keys[slot] = key;
    this.counts[slot] = 1;
    this.slots[this.size++] = slot;
  }

  keyAt(k: number): number {
    return this.keys[this.slots[k]];
  }

  countAt(k: number): number {
    return this.counts[this.slots[k]];
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
      const v = Math.fround(Math.log1p(this.countAt(k)));
      sum += weights[this.keyAt(k)] * v;
      norm += v * v;
    }
    return norm > 0 ? sum / Math.sqrt(norm) : 0;
  }
}
