/**
 * Per-group evaluation (per source, generator, domain ...): pure functions the
 * trainer stores in the model file and the evaluation reports print.
 */
import { summarize, type BinaryLabel, type EvaluationSummary } from './metrics.js';

export interface BreakdownRow {
  group: string;
  summary: EvaluationSummary;
}

type KeyOf<T> = (item: T) => string | null | undefined;

function byGroupName(a: { group: string }, b: { group: string }): number {
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

/** What the default threshold does to one group once `uncertain` is taken into account. */
export interface VerdictRow {
  group: string;
  n_human: number;
  n_machine: number;
  /** Shares of the group's human / machine texts judged uncertain (null: none of that label). */
  uncertain_human: number | null;
  uncertain_machine: number | null;
  /** Share of human texts with a "machine" verdict (uncertain ones are not). */
  fpr: number | null;
  /** Share of machine texts with a "machine" verdict (uncertain ones are not caught). */
  recall: number | null;
}

/** Per group: uncertain shares, FPR and recall counting only "machine" verdicts, sorted by group name. */
export function verdictBreakdown<T>(
  items: readonly T[],
  key: (item: T) => string,
  labelOf: (item: T) => BinaryLabel,
  probOf: (item: T) => number,
  judged: (item: T) => boolean,
  threshold: number,
): VerdictRow[] {
  const share = (members: T[], f: (item: T) => boolean) => (members.length === 0 ? null : members.filter(f).length / members.length);
  return [...groupBy(items, key)]
    .map(([group, members]) => {
      const humans = members.filter((item) => labelOf(item) === 0);
      const machines = members.filter((item) => labelOf(item) === 1);
      const flagged = (item: T) => judged(item) && probOf(item) >= threshold;
      return {
        group,
        n_human: humans.length,
        n_machine: machines.length,
        uncertain_human: share(humans, (item) => !judged(item)),
        uncertain_machine: share(machines, (item) => !judged(item)),
        fpr: share(humans, flagged),
        recall: share(machines, flagged),
      };
    })
    .sort(byGroupName);
}
