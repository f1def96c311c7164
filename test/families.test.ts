import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashNgrams, type FeatureFamily } from '../src/features/families.js';
import { combine } from '../src/util/hash.js';

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
