/**
 * Batch jobs score rows with detect/lines.ts `scoreRows` (on the scoring
 * threads of detect/pool.ts), the same code as `detect --jsonl`; a chunk's
 * result (ScoredRows) carries its skip counts by reason, so nothing is parsed back.
 */

/** Adds one batch's skip counts into running totals. */
export function addSkips(
  totals: Record<string, number>,
  firstTotals: Record<string, string>,
  skips: Record<string, number>,
  first: Record<string, string>,
): void {
  for (const [reason, count] of Object.entries(skips)) totals[reason] = (totals[reason] ?? 0) + count;
  for (const [reason, where] of Object.entries(first)) firstTotals[reason] ??= where;
}
