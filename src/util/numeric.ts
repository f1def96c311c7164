/** Six decimals: more than any calibration supports, fewer bytes per JSON line. */
export function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** The first index of an ascending array whose value is ≥ x (its length when none is). */
export function lowerBound(sorted: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
