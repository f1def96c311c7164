import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashNgrams, type FeatureFamily } from '../src/features/families.js';
import { combine } from '../src/util/hash.js';
import { BucketCounter } from '../src/features/hashing.js';

/** The unrolled orders of hashNgrams against the plain definition: h = seed, then h = combine(h, unit) for each unit of the n-gram. */
test('hashNgrams equals the plain n-gram hash for orders 1 to 6', () => {
  const units = Uint32Array.from({ length: 50 }, (_, i) => Math.imul(i + 1, 2654435761) >>> 0);
  for (let n = 1; n <= 6; n++) {
    const family: FeatureFamily = { n, seed: 0x9e3779b9 + n, stream: 'word', label: `word ${n}-gram` };
    const out = hashNgrams(units, units.length, family, new Uint32Array(1));
    const total = units.length - n + 1;
    for (let i = 0; i < total; i++) {
      let h = family.seed;
      for (let j = 0; j < n; j++) h = combine(h, units[i + j]);
      assert.equal(out[i], h, `order ${n}, n-gram ${i}`);
    }
  }
});

/**
 * BucketCounter.sublinearDot (the document score's per-family sum) against
 * its plain definition: distinct buckets in order of first occurrence, each
 * weighted by fround(log1p(count)), divided by the family's norm — bit for
 * bit, since the order of a floating-point sum decides its last bits.
 */
test('BucketCounter.sublinearDot equals the plain per-family sum, bit for bit', () => {
  const weights = Float32Array.from({ length: 1 << 12 }, (_, i) => Math.sin(i * 12.9898) * 3);
  const mask = (1 << 12) - 1;
  const plain = (hashes: Uint32Array, count: number): number => {
    const counts = new Map<number, number>();
    for (let i = 0; i < count; i++) counts.set(hashes[i] & mask, (counts.get(hashes[i] & mask) ?? 0) + 1);
    let sum = 0;
    let norm = 0;
    for (const [bucket, c] of counts) {
      const v = Math.fround(Math.log1p(c));
      sum += weights[bucket] * v;
      norm += v * v;
    }
    return norm > 0 ? sum / Math.sqrt(norm) : 0;
  };
  const counter = new BucketCounter();
  let seed = 1;
  const random = () => (seed = Math.imul(seed, 48271) % 2147483647) >>> 0;
  // Sizes that grow and shrink the table; few distinct values give counts past the 256-entry log table.
  for (const [count, distinct] of [[0, 1], [1, 1], [7, 3], [300, 300], [5000, 4000], [2000, 5], [40, 40], [1200, 2]]) {
    const hashes = Uint32Array.from({ length: count + 3 }, () => Math.imul(random() % distinct, 2654435761) >>> 0);
    assert.equal(counter.sublinearDot(hashes, count, mask, weights), plain(hashes, count), `${count} n-grams, ${distinct} distinct`);
  }
});
