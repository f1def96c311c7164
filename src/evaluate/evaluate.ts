import type { LabeledDocument } from '../corpus/types.js';
import { sourceName } from '../corpus/split.js';
import type { Detector } from '../model/detector.js';
import { breakdown, breakdownAgainstHumans, type BreakdownRow } from '../model/breakdown.js';
import { formatSummaryTable } from './breakdown.js';
import { reliabilityBins, summarize, type BinaryLabel, type EvaluationSummary } from '../model/metrics.js';
import { renderEvaluationSvg } from './plot.js';
import { judge, type Reason, type Verdict } from '../detect/applicability.js';
import { formatVerdictTable, verdictBreakdown, verdictRates, type JudgedItem, type VerdictRates, type VerdictRow } from './applicability.js';

/** What `copydesk eval` reports: overall metrics at the model's threshold and the same per subset. */
export interface EvaluationReport {
  model: { copydesk_version: string; created_at: string; threshold: number };
  overall: EvaluationSummary;
  by_source: BreakdownRow[];
  by_dataset: BreakdownRow[];
  /** Each generator's machine texts against all human texts of the evaluation. */
  by_generator: BreakdownRow[];
  by_domain: BreakdownRow[];
  /**
   * The three verdicts: coverage (share judged), FPR and recall counting only
   * "machine" verdicts, and the share uncertain, overall and per source and
   * domain. The rows above rank every text by its probability, judged or not.
   */
  verdicts: { overall: VerdictRates; by_source: VerdictRow[]; by_domain: VerdictRow[] };
}

export interface ScoredDocument {
  document: LabeledDocument;
  probability: number;
  verdict: Verdict;
  reasons: Reason[];
}

export function scoreDocuments(
  detector: Detector,
  documents: LabeledDocument[],
  onProgress?: (done: number, total: number) => void,
): ScoredDocument[] {
  return documents.map((document, i) => {
    if (i % 500 === 0) onProgress?.(i, documents.length);
    const { machine_probability, verdict, reasons } = judge(detector, document.text);
    return { document, probability: machine_probability, verdict, reasons };
  });
}

export function evaluateScored(detector: Detector, scored: ScoredDocument[]): EvaluationReport {
  const threshold = detector.threshold;
  const labelOf = (s: ScoredDocument) => (s.document.label === 'machine' ? 1 : 0) as BinaryLabel;
  const probOf = (s: ScoredDocument) => s.probability;
  const by = (key: (s: ScoredDocument) => string | null) => breakdown(scored, key, labelOf, probOf, threshold);
  return {
    model: { copydesk_version: detector.metadata.copydesk_version, created_at: detector.metadata.created_at, threshold },
    overall: summarize(scored.map(labelOf), scored.map(probOf), threshold),
    by_source: by((s) => sourceName(s.document)),
    by_dataset: by((s) => s.document.dataset),
    by_generator: breakdownAgainstHumans(scored, (s) => s.document.generator ?? 'unknown', labelOf, probOf, threshold),
    by_domain: by((s) => s.document.domain),
    verdicts: {
      overall: verdictRates(scored.map(judgedOf)),
      by_source: verdictBreakdown(scored, (s) => sourceName(s.document), judgedOf),
      by_domain: verdictBreakdown(scored, (s) => s.document.domain, judgedOf),
    },
  };
}

export function formatEvaluation(report: EvaluationReport): string {
  const o = report.overall;
  const c = o.confusion;
  const lines = [
    `documents: ${o.n} (${o.n_human} human, ${o.n_machine} machine); threshold ${report.overall.threshold.toFixed(4)}`,
    ...oneClassNote(o),
    ...resolutionNote(report),
    '',
    formatSummaryTable([{ group: 'all', summary: o }], 'overall'),
    '',
    `confusion at threshold (rows: truth, columns: verdict)`,
    `            human  machine`,
    `  human   ${String(c.tn).padStart(7)} ${String(c.fp).padStart(8)}`,
    `  machine ${String(c.fn).padStart(7)} ${String(c.tp).padStart(8)}`,
    `accuracy ${fmt(o.accuracy)}  precision ${fmt(o.precision)}  recall ${fmt(o.recall)}  F1 ${fmt(o.f1)}  FPR ${fmt(o.fpr)}  average precision ${fmt(o.average_precision)}  ECE ${fmt(o.ece)}`,
  ];
  for (const [title, rows] of [
    ['by source', report.by_source],
    ['by dataset', report.by_dataset],
    ['by generator (each against all human texts)', report.by_generator],
    ['by domain', report.by_domain],
  ] as const) {
    if (rows.length > 1) lines.push('', formatSummaryTable(rows, title));
  }
  const v = report.verdicts;
  lines.push(
    '',
    `verdicts: ${pctOf(v.overall.coverage)} judged, ${pctOf(v.overall.uncertain)} uncertain; FPR counting only "machine" verdicts ${pctOf(v.overall.fpr)}, recall ${pctOf(v.overall.recall)}`,
    '',
    formatVerdictTable([{ group: 'all', rates: v.overall }, ...v.by_source], 'verdicts by source (uncertain is neither flagged nor cleared)'),
  );
  if (v.by_domain.length > 1) lines.push('', formatVerdictTable(v.by_domain, 'verdicts by domain'));
  return `${lines.join('\n')}\n`;
}

/** With one class only, the rank metrics are undefined: say so rather than leave a row of dashes to be read as missing data. */
function oneClassNote(o: EvaluationReport['overall']): string[] {
  if (o.n_machine === 0) {
    return ['no machine-labelled documents: AUROC, average precision, TPR at a fixed FPR, recall, precision and F1 are undefined (—); the false-positive rate is measured'];
  }
  if (o.n_human === 0) return ['no human-labelled documents: AUROC, average precision, TPR at a fixed FPR and the false-positive rate are undefined (—); recall is measured'];
  return [];
}

/**
 * TPR at 1% (0.1%) FPR allows one false positive per 100 (1,000) human texts:
 * with fewer it is the TPR at no false positive at all, a stricter number
 * that reads as the nominal one. Said once, when the overall row or a group
 * shown has fewer.
 */
function resolutionNote(report: EvaluationReport): string[] {
  const o = report.overall;
  if (o.n_human === 0 || o.n_machine === 0) return [];
  const groups = [report.by_source, report.by_dataset, report.by_generator, report.by_domain].filter((rows) => rows.length > 1).flat();
  const fewest = Math.min(o.n_human, ...groups.filter((row) => row.summary.n_human > 0).map((row) => row.summary.n_human));
  if (fewest >= 1000) return [];
  const overall = (['1%', '0.1%'] as const).filter((_, i) => o.n_human < [100, 1000][i]);
  return [
    overall.length > 0
      ? `TPR at ${overall.join(' and ')} FPR: with ${o.n_human} human texts ${overall.length === 1 ? 'it is' : 'both are'} the TPR at no false positive at all (1% needs ≥ 100 human texts, 0.1% ≥ 1,000); likewise in any smaller group below`
      : 'TPR at 1% and 0.1% FPR: in a group below with fewer than 100 (1,000) human texts it is the TPR at no false positive at all',
  ];
}

function judgedOf(s: ScoredDocument): JudgedItem {
  return { label: s.document.label === 'machine' ? 1 : 0, verdict: s.verdict, reasons: s.reasons };
}

function pctOf(v: number | null): string {
  return v === null ? '—' : `${(v * 100).toFixed(2)}%`;
}

/** ROC (one curve per source when there are several) and calibration, as one SVG. */
export function evaluationPlot(report: EvaluationReport, scored: ScoredDocument[], title: string): string {
  const labels = scored.map((s) => (s.document.label === 'machine' ? 1 : 0) as BinaryLabel);
  const probs = scored.map((s) => s.probability);
  const o = report.overall;
  const curves = report.by_source
    .filter((row) => row.summary.roc && report.by_source.length > 1)
    .map((row) => ({ name: row.group, fpr: row.summary.roc!.fpr, tpr: row.summary.roc!.tpr }));
  return renderEvaluationSvg({
    title,
    roc: o.roc,
    curves,
    reliability: reliabilityBins(labels, probs, 10),
    auroc: o.auroc,
    ece: o.ece,
    operatingPoint: o.fpr !== null && o.recall !== null ? { fpr: o.fpr, tpr: o.recall, threshold: o.threshold } : null,
    fprScale: 'log',
  });
}

function fmt(v: number | null): string {
  return v === null || Number.isNaN(v) ? '—' : v.toFixed(4);
}
