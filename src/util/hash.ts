/**
 * The hash primitives every layer shares: token hashing (text), feature
 * buckets (features, model) and seeded story splits (corpus). Hand-written
 * because they must be bit-exact across releases (model files and splits
 * depend on them) and run on the tokenizer's hot path without allocation.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over UTF-16 code units, finished with a murmur3 avalanche. */
export function hashString(s: string, seed = FNV_OFFSET): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return avalanche(h);
}

/**
 * FNV-1a over Unicode code points (not UTF-16 units), finished with the same
 * avalanche. It differs from hashString only for characters outside the BMP;
 * story splits have always used it, so it stays to keep every fold the same.
 */
export function hashCodePoints(s: string): number {
  let h = FNV_OFFSET;
  for (const char of s) {
    h ^= char.codePointAt(0)!;
    h = Math.imul(h, FNV_PRIME);
  }
  return avalanche(h);
}

/** Order-sensitive combination of two hashes (for n-grams of token hashes). */
export function combine(a: number, b: number): number {
  return avalanche((Math.imul(a, 0x9e3779b1) ^ b) >>> 0);
}

/** murmur3's 32-bit finaliser: every input bit affects every output bit. */
export function avalanche(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
