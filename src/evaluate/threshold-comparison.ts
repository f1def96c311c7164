import type { Detector } from '../model/detector.js';
import { formatThreshold } from '../detect/recalibrate.js';
import { clopperPearsonUpper } from '../model/binomial.js';
import { decideVerdict } from '../model/applicability.js';
import { formatTable } from './breakdown.js';
import type { ScoredDocument } from './evaluate.js';

/**
 * The same scored documents judged by two detectors that differ only in
 * threshold (a calibrated model and the model it was calibrated from): false
 * positives and recall side by side, overall and per dataset. A document
 * counts as flagged only when a detector's own verdict function says
 * 'machine'.
 */
export interface ThresholdComparison {
  before: { label: string; threshold: number };
  after: { label: string; threshold: number };
  confidence: number;
  rows: ThresholdComparisonRow[];
}

export interface ThresholdComparisonRow {
  group: string;
  n_human: number;
  fp_before: number;
  fp_after: number;
  fpr_before: number | null;
  fpr_after: number | null;
  /** One-sided Clopper–Pearson upper bound on the FPR at the after threshold. */
  fpr_after_upper_bound: number | null;
  n_machine: number;
  tpr_before: number | null;
  tpr_after: number | null;
}

export function compareThresholds(
  scored: readonly ScoredDocument[],
  before: { label: string; detector: Detector },
  after: { label: string; detector: Detector },
  confidence = 0.95,
): ThresholdComparison {
  const groups = new Map<string, ScoredDocument[]>([['all', [...scored]]]);
  for (const s of [...scored].sort((a, b) => (a.document.dataset < b.document.dataset ? -1 : a.document.dataset > b.document.dataset ? 1 : 0))) {
    const members = groups.get(s.document.dataset) ?? [];
    members.push(s);
    groups.set(s.document.dataset, members);
  }
  // A single dataset repeats the overall row.
  if (groups.size === 2) groups.delete([...groups.keys()][1]);
  const rows = [...groups].map(([group, members]) => {
    const humans = members.filter((s) => s.document.label !== 'machine');
    const machines = members.filter((s) => s.document.label === 'machine');
    // The verdict every interface gives at the judge's threshold: a text with reasons (uncertain) is never flagged.
    const flagged = (list: ScoredDocument[], judge: Detector) => list.filter((s) => decideVerdict(s.probability, judge.threshold, s.reasons) === 'machine').length;
    const fpBefore = flagged(humans, before.detector);
    const fpAfter = flagged(humans, after.detector);
    const rate = (k: number, n: number) => (n === 0 ? null : k / n);
    return {
      group,
      n_human: humans.length,
      fp_before: fpBefore,
      fp_after: fpAfter,
      fpr_before: rate(fpBefore, humans.length),
      fpr_after: rate(fpAfter, humans.length),
      fpr_after_upper_bound: humans.length === 0 ? null : clopperPearsonUpper(fpAfter, humans.length, confidence),
      n_machine: machines.length,
      tpr_before: rate(flagged(machines, before.detector), machines.length),
      tpr_after: rate(flagged(machines, after.detector), machines.length),
    };
  });
  return {
    before: { label: before.label, threshold: before.detector.threshold },
    after: { label: after.label, threshold: after.detector.threshold },
    confidence,
    rows,
  };
}

export function formatThresholdComparison(comparison: ThresholdComparison, title: string): string {
  const { before, after } = comparison;
  const bound = `${Math.round(comparison.confidence * 100)}% bound`;
  const header = ['group', 'human', `FPR ${before.label}`, `FPR ${after.label}`, bound, 'machine', `TPR ${before.label}`, `TPR ${after.label}`];
  const body = comparison.rows.map((r) => [
    r.group,
    String(r.n_human),
    fmt(r.fpr_before),
    fmt(r.fpr_after),
    fmt(r.fpr_after_upper_bound),
    String(r.n_machine),
    fmt(r.tpr_before),
    fmt(r.tpr_after),
  ]);
  return [
    title,
    `thresholds: ${before.label} ${formatThreshold(before.threshold)}, ${after.label} ${formatThreshold(after.threshold)}`,
    formatTable([header, ...body]),
  ].join('\n');
}

/** Four decimals, or enough to tell a threshold just under 1 from 1. */

function fmt(v: number | null): string {
  return v === null ? '—' : v.toFixed(4);
}
