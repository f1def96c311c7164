/**
 * Per-group evaluation (per source, generator, domain ...) and the plain-text
 * tables the CLI prints for them.
 */
import { summarize, type BinaryLabel, type EvaluationSummary } from './metrics.js';

export interface BreakdownRow {
  group: string;
  summary: EvaluationSummary;
}

type KeyOf<T> = (item: T) => string | null | undefined;

function byGroupName(a: BreakdownRow, b: BreakdownRow): number {
  // Code-unit order, not localeCompare: tables must not change with the machine's locale.
  return a.group < b.group ? -1 : a.group > b.group ? 1 : 0;
}

function summarizeItems<T>(
  items: readonly T[],
  labelOf: (item: T) => BinaryLabel,
  probOf: (item: T) => number,
  threshold: number,
): EvaluationSummary {
  return summarize(items.map(labelOf), items.map(probOf), threshold);
}

function groupBy<T>(items: readonly T[], key: KeyOf<T>): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = key(item);
    if (group === null || group === undefined) continue;
    const members = groups.get(group);
    if (members) members.push(item);
    else groups.set(group, [item]);
  }
  return groups;
}

/**
 * One summary per distinct key, sorted by group name. Items whose key is
 * null/undefined belong to no group (they still count in the overall summary
 * the caller computes separately).
 */
export function breakdown<T>(
  items: readonly T[],
  key: KeyOf<T>,
  labelOf: (item: T) => BinaryLabel,
  probOf: (item: T) => number,
  threshold: number,
): BreakdownRow[] {
  return [...groupBy(items, key)]
    .map(([group, members]) => ({ group, summary: summarizeItems(members, labelOf, probOf, threshold) }))
    .sort(byGroupName);
}

/**
 * One summary per key among the machine items, each scored against ALL
 * human items. Human text has no generator, so a plain breakdown by
 * generator would give single-class groups with no AUROC; this answers
 * "how well is generator G's text told apart from human text?" instead.
 * Humans' own keys are ignored.
 */
export function breakdownAgainstHumans<T>(
  items: readonly T[],
  key: KeyOf<T>,
  labelOf: (item: T) => BinaryLabel,
  probOf: (item: T) => number,
  threshold: number,
): BreakdownRow[] {
  const humans = items.filter((item) => labelOf(item) === 0);
  const machines = items.filter((item) => labelOf(item) === 1);
  return [...groupBy(machines, key)]
    .map(([group, members]) => ({
      group,
      summary: summarizeItems([...members, ...humans], labelOf, probOf, threshold),
    }))
    .sort(byGroupName);
}

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
