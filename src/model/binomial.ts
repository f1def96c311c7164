/**
 * Exact binomial bounds for a false-positive rate measured on n human
 * documents. Hand-written: the exact tail is a dozen lines summed in log
 * space, where the library route (a Beta quantile from @stdlib) brings in
 * dozens of packages for one formula.
 */

/** P(X ≤ k) for X ~ Binomial(n, p), summed in log space so large n·p does not underflow. */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n || p <= 0) return 1;
  if (p >= 1) return 0;
  const logRatio = Math.log(p) - Math.log1p(-p);
  let logTerm = n * Math.log1p(-p); // log P(X = 0)
  let logSum = logTerm;
  for (let i = 0; i < k; i++) {
    logTerm += Math.log(n - i) - Math.log(i + 1) + logRatio;
    logSum = logAddExp(logSum, logTerm);
  }
  return Math.min(1, Math.exp(logSum));
}

function logAddExp(a: number, b: number): number {
  const hi = Math.max(a, b);
  return hi === -Infinity ? hi : hi + Math.log1p(Math.exp(Math.min(a, b) - hi));
}

/**
 * One-sided Clopper–Pearson upper confidence bound on the rate behind k
 * events in n trials: the p with P(X ≤ k | n, p) = 1 − confidence. For k = 0
 * it is 1 − (1 − confidence)^(1/n): 0 flags in 300 documents bound the
 * rate below 1.0% at 95%.
 */
export function clopperPearsonUpper(k: number, n: number, confidence = 0.95): number {
  if (n <= 0) return 1;
  if (k >= n) return 1;
  const alpha = 1 - confidence;
  let lo = k / n;
  let hi = 1;
  for (let i = 0; i < 100 && hi - lo > 1e-12; i++) {
    const mid = (lo + hi) / 2;
    if (binomialCdf(k, n, mid) > alpha) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * The most events n trials may show while the upper bound on their rate
 * stays ≤ target, or −1 when even none is too many (n too small). The bound
 * is ≤ target exactly when P(X ≤ k | n, target) ≤ 1 − confidence, so one
 * running sum of the binomial terms finds it.
 */
export function maxEventsWithin(n: number, target: number, confidence = 0.95): number {
  const alpha = 1 - confidence;
  let k = -1;
  while (k + 1 < n && binomialCdf(k + 1, n, target) <= alpha) k++;
  return k;
}

/** Fewest trials for which 0 events bound the rate ≤ target: ⌈ln(1 − confidence) / ln(1 − target)⌉. */
export function trialsNeeded(target: number, confidence = 0.95): number {
  return Math.ceil(Math.log(1 - confidence) / Math.log1p(-target) - 1e-9);
}
