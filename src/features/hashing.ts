/**
 * The hashing trick: features are strings hashed into a fixed number of
 * buckets, so the model is a flat weight array of known size with no
 * vocabulary to ship, and unseen n-grams cost nothing at detection time.
 */

/** FNV-1a over UTF-16 code units, finished with a murmur3 avalanche. */
export function hashString(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
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
