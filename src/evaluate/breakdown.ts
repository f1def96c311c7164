/**
 * The plain-text tables the CLI prints for per-group evaluations (the
 * per-group summaries themselves are computed in model/breakdown.ts).
 */
import type { BreakdownRow, VerdictRow } from '../model/breakdown.js';

// Re-exported for imports that predate the move (model/train.ts); new code imports model/breakdown.
export { breakdown, breakdownAgainstHumans, type BreakdownRow } from '../model/breakdown.js';

const NUMERIC_CELL = /^(—|[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?%?)$/;

/**
 * An aligned plain-text table. The first row is the header and is followed
 * by a rule; columns whose body cells are all numbers (or '—') are
 * right-aligned so decimals line up.
 */
export function formatTable(rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '';
  const columns = Math.max(...rows.map((row) => row.length));
  const cell = (row: readonly string[], c: number): string => row[c] ?? '';
  const widths = Array.from({ length: columns }, (_, c) => Math.max(...rows.map((row) => cell(row, c).length)));
  const body = rows.slice(1);
  const rightAligned = widths.map((_, c) => body.length > 0 && body.every((row) => NUMERIC_CELL.test(cell(row, c))));
  const line = (row: readonly string[]): string =>
    widths
      .map((width, c) => (rightAligned[c] ? cell(row, c).padStart(width) : cell(row, c).padEnd(width)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [line(rows[0]), rule, ...body.map(line)].join('\n');
}

function formatNumber(value: number | null, decimals: number): string {
  return value === null || Number.isNaN(value) ? '—' : value.toFixed(decimals);
}

/** The breakdown as a titled terminal table; '—' marks a metric undefined for that group. */
export function formatSummaryTable(rows: readonly BreakdownRow[], title: string): string {
  const header = ['group', 'n', 'human', 'machine', 'AUROC', 'TPR@1%FPR', 'TPR@0.1%FPR', 'FPR@threshold', 'F1', 'ECE'];
  const body = rows.map(({ group, summary: s }) => [
    group,
    String(s.n),
    String(s.n_human),
    String(s.n_machine),
    formatNumber(s.auroc, 4),
    formatNumber(s.tpr_at_1pct_fpr, 3),
    formatNumber(s.tpr_at_0_1pct_fpr, 3),
    formatNumber(s.fpr, 4),
    formatNumber(s.f1, 3),
    formatNumber(s.ece, 3),
  ]);
  return `${title}\n${formatTable([header, ...body])}`;
}

/** Verdicts at the default threshold per group: uncertain shares, FPR and recall counting only "machine" verdicts. */
export function formatVerdictTable(rows: readonly VerdictRow[], title: string): string {
  const pct = (v: number | null) => (v === null ? '—' : `${(100 * v).toFixed(1)}%`);
  const header = ['group', 'human', 'machine', 'uncertain (human)', 'uncertain (machine)', 'FPR', 'recall'];
  const body = rows.map((r) => [r.group, String(r.n_human), String(r.n_machine), pct(r.uncertain_human), pct(r.uncertain_machine), pct(r.fpr), pct(r.recall)]);
  return `${title}\n${formatTable([header, ...body])}`;
}
