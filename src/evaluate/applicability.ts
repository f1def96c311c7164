/**
 * Measurements behind `uncertain` (src/detect/applicability.ts): the length
 * curve that sets the minimum length, and the leave-one-domain-out
 * evaluation of the applicability check. Pure functions of documents and a
 * trainer, so `copydesk report` and tests can call them.
 */
import type { LabeledDocument } from '../corpus/types.js';
import { seededUnit, splitByStory } from '../corpus/split.js';
import { Applicability, declines, fitApplicability, REASONS, tokensOf, type ApplicabilityState, type Measures, type Reason, type Verdict } from '../detect/applicability.js';
import type { Detector } from '../model/detector.js';
import { formatTable } from './breakdown.js';
import { summarize, thresholdForFpr, type BinaryLabel } from './metrics.js';

export const LENGTH_BUCKETS = [25, 50, 75, 100, 150, 200, 300];

export interface LengthCurveRow {
  /** Words the texts were cut to; null = whole texts. */
  words: number | null;
  n_human: number;
  n_machine: number;
  auroc: number | null;
  fpr: number | null;
  tpr: number | null;
  /** At the threshold with 1% FPR on the whole held-out human texts: how the promise erodes as texts get shorter. */
  fpr_at_whole_1pct: number | null;
  tpr_at_whole_1pct: number | null;
}

/** The first `n` whitespace-separated words of a text. */
export function truncateWords(text: string, n: number): string {
  const words = text.trim().split(/\s+/);
  return words.slice(0, n).join(' ');
}

function wordCount(text: string): number {
  const trimmed = text.trim();
  return trimmed === '' ? 0 : trimmed.split(/\s+/).length;
}

/**
 * AUROC and rates at the detector's threshold on held-out documents cut to
 * each length (only documents at least that long, so each bucket is the
 * same texts, shorter).
 */
export function lengthCurve(detector: Detector, heldOut: LabeledDocument[], buckets: number[] = LENGTH_BUCKETS): LengthCurveRow[] {
  const labeled = heldOut.filter((d) => d.label !== null).map((d) => ({ text: d.text, label: (d.label === 'machine' ? 1 : 0) as BinaryLabel, words: wordCount(d.text) }));
  const fixed = thresholdForFpr(labeled.filter((d) => d.label === 0).map((d) => detector.predictProba(d.text)), 0.01);
  const row = (words: number | null, texts: Array<{ text: string; label: BinaryLabel }>): LengthCurveRow => {
    const labels = texts.map((t) => t.label);
    const probabilities = texts.map((t) => detector.predictProba(t.text));
    const s = summarize(labels, probabilities, detector.threshold);
    const f = summarize(labels, probabilities, fixed);
    return { words, n_human: s.n_human, n_machine: s.n_machine, auroc: s.auroc, fpr: s.fpr, tpr: s.recall, fpr_at_whole_1pct: f.fpr, tpr_at_whole_1pct: f.recall };
  };
  return [
    ...buckets.map((n) => row(n, labeled.filter((d) => d.words >= n).map((d) => ({ text: truncateWords(d.text, n), label: d.label })))),
    row(null, labeled),
  ];
}

export function formatLengthCurve(rows: LengthCurveRow[]): string {
  return formatTable([
    ['words', 'human', 'machine', 'AUROC', 'FPR@threshold', 'TPR@threshold', 'FPR@whole-1%', 'TPR@whole-1%'],
    ...rows.map((r) => [
      r.words === null ? 'whole' : String(r.words),
      String(r.n_human),
      String(r.n_machine),
      num(r.auroc),
      num(r.fpr),
      num(r.tpr),
      num(r.fpr_at_whole_1pct),
      num(r.tpr_at_whole_1pct),
    ]),
  ]);
}

/** Which checks a variant of the decision applies. */
export const CHECK_VARIANTS = {
  none: { stateless: false, style: false, vocabulary: false, news: false },
  'length+language': { stateless: true, style: false, vocabulary: false, news: false },
  '+style distance': { stateless: true, style: true, vocabulary: false, news: false },
  '+vocabulary coverage': { stateless: true, style: false, vocabulary: true, news: false },
  '+both': { stateless: true, style: true, vocabulary: true, news: false },
  '+news gate': { stateless: true, style: false, vocabulary: false, news: true },
  '+all (shipped)': { stateless: true, style: true, vocabulary: true, news: true },
} as const;
export type CheckVariant = keyof typeof CHECK_VARIANTS;

/** Whether a text measured `m`, scored `probability`, is judged under a variant (not uncertain: `declines`, soft reasons by score). */
export function judgedUnder(variant: CheckVariant, m: Measures, state: ApplicabilityState, probability: number, threshold: number): boolean {
  const v = CHECK_VARIANTS[variant];
  const reasons: Reason[] = [];
  if (v.stateless && Applicability.tooShort(m)) reasons.push('too_short');
  if (v.stateless && Applicability.notEnglish(m)) reasons.push('not_english');
  if (v.news && Applicability.unlike(m, state, 'news')) reasons.push('not_news');
  if ((v.style && Applicability.unlike(m, state, 'style')) || (v.vocabulary && Applicability.unlike(m, state, 'vocabulary'))) reasons.push('unlike_training_data');
  return !declines(probability, threshold, reasons);
}

export interface DomainRow {
  held_out_domain: string;
  /** Held-out domain's human texts. */
  n_human: number;
  /** Per variant: share of held-out human texts called "machine" (uncertain ones are not). */
  called_machine: Record<CheckVariant, number>;
  /** Per variant: share of held-out human texts judged (not uncertain). */
  coverage_held_out: Record<CheckVariant, number>;
  /** In-domain news of held-out stories (both labels): share uncertain per variant. */
  in_domain_news: { n: number; uncertain: Record<CheckVariant, number>; fpr: Record<CheckVariant, number>; recall: Record<CheckVariant, number> };
  threshold: number;
  trained_on: number;
}

export interface DomainEvaluationOptions {
  /** Largest training subset per fold (for time); taken by a seeded hash of the story. */
  maxTraining: number;
  testFraction: number;
  seed: number;
}

/** The domain of a document; seed-schema rows (CNN/DailyMail) carry none and are news. */
export function domainOf(document: LabeledDocument): string {
  return document.domain ?? 'news';
}

/**
 * Leave-one-domain-out: for each domain, train on the others (a story split
 * keeps some in-domain news stories out), fit the applicability state on the
 * same training texts, then count the held-out domain's human texts called
 * "machine" with and without each check, and the share of held-out in-domain
 * news that is uncertain.
 */
export function evaluateApplicability(
  documents: LabeledDocument[],
  train: (documents: LabeledDocument[]) => Detector,
  options: Partial<DomainEvaluationOptions> = {},
  onProgress?: (domain: string) => void,
): DomainRow[] {
  const opts = { maxTraining: 6000, testFraction: 0.2, seed: 13, ...options };
  const domains = [...new Set(documents.map(domainOf))].sort();
  const variants = Object.keys(CHECK_VARIANTS) as CheckVariant[];
  const rows: DomainRow[] = [];
  for (const domain of domains) {
    if (domain === 'news') continue; // held-out news leaves too little to train on; in-domain news is measured in every other fold
    onProgress?.(domain);
    const rest = documents.filter((d) => domainOf(d) !== domain && d.label !== null);
    const split = splitByStory(rest, { testFraction: opts.testFraction, seed: opts.seed });
    const keep = Math.min(1, opts.maxTraining / split.train.length);
    const training = split.train.filter((d) => seededUnit(`${opts.seed}:subsample`, d.pair_id ?? d.id) < keep);
    const detector = train(training);
    const state = fitApplicability(training);
    const probe = new Applicability(state);
    const measure = (d: LabeledDocument) => ({ m: probe.measure(tokensOf(d.text), d.text), p: detector.predictProba(d.text), machine: d.label === 'machine' });
    const held = documents.filter((d) => domainOf(d) === domain && d.label === 'human').map(measure);
    const news = split.test.filter((d) => domainOf(d) === 'news').map(measure);
    const threshold = detector.threshold;
    const per = <T>(f: (v: CheckVariant) => T) => Object.fromEntries(variants.map((v) => [v, f(v)])) as Record<CheckVariant, T>;
    const share = (items: typeof held, f: (x: (typeof held)[number]) => boolean) => (items.length === 0 ? 0 : items.filter(f).length / items.length);
    const newsHumans = news.filter((x) => !x.machine);
    const newsMachines = news.filter((x) => x.machine);
    rows.push({
      held_out_domain: domain,
      n_human: held.length,
      called_machine: per((v) => share(held, (x) => x.p >= threshold && judgedUnder(v, x.m, state, x.p, threshold))),
      coverage_held_out: per((v) => share(held, (x) => judgedUnder(v, x.m, state, x.p, threshold))),
      in_domain_news: {
        n: news.length,
        uncertain: per((v) => share(news, (x) => !judgedUnder(v, x.m, state, x.p, threshold))),
        fpr: per((v) => share(newsHumans, (x) => x.p >= threshold && judgedUnder(v, x.m, state, x.p, threshold))),
        recall: per((v) => share(newsMachines, (x) => x.p >= threshold && judgedUnder(v, x.m, state, x.p, threshold))),
      },
      threshold,
      trained_on: training.length,
    });
  }
  return rows;
}

export function formatDomainEvaluation(rows: DomainRow[]): string {
  const variants = Object.keys(CHECK_VARIANTS) as CheckVariant[];
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  return [
    'Held-out domain: human texts called "machine" (uncertain ones are not)',
    formatTable([['held-out domain', 'humans', ...variants], ...rows.map((r) => [r.held_out_domain, String(r.n_human), ...variants.map((v) => pct(r.called_machine[v]))])]),
    '',
    'Held-out domain: human texts judged (not uncertain)',
    formatTable([['held-out domain', 'humans', ...variants], ...rows.map((r) => [r.held_out_domain, String(r.n_human), ...variants.map((v) => pct(r.coverage_held_out[v]))])]),
    '',
    'In-domain news of held-out stories: share uncertain / FPR / recall (machine verdicts only)',
    formatTable([
      ['fold (held-out domain)', 'news texts', ...variants],
      ...rows.map((r) => [
        r.held_out_domain,
        String(r.in_domain_news.n),
        ...variants.map((v) => `${pct(r.in_domain_news.uncertain[v])} / ${pct(r.in_domain_news.fpr[v])} / ${pct(r.in_domain_news.recall[v])}`),
      ]),
    ]),
  ].join('\n');
}

function num(v: number | null): string {
  return v === null ? '—' : v.toFixed(4);
}

// ------------------------------------------------------------------ eval: coverage and verdict rates

export interface JudgedItem {
  label: BinaryLabel;
  verdict: Verdict;
  reasons: readonly Reason[];
}

/** Rates over the three verdicts: `uncertain` is neither flagged nor cleared. */
export interface VerdictRates {
  n: number;
  n_human: number;
  n_machine: number;
  /** Share judged (verdict human or machine). */
  coverage: number | null;
  /** Share uncertain (1 − coverage). */
  uncertain: number | null;
  /** Human texts called "machine" / all human texts (uncertain ones count as not flagged). */
  fpr: number | null;
  /** Machine texts called "machine" / all machine texts. */
  recall: number | null;
  /** FPR among judged human texts only. */
  fpr_judged: number | null;
  /** Texts uncertain for each reason (a text may have several). */
  reasons: Record<Reason, number>;
}

export function verdictRates(items: readonly JudgedItem[]): VerdictRates {
  const ratio = (a: number, b: number) => (b === 0 ? null : a / b);
  let humans = 0, machines = 0, uncertain = 0, falsePositives = 0, truePositives = 0, judgedHumans = 0;
  const reasons = Object.fromEntries(REASONS.map((r) => [r, 0])) as Record<Reason, number>;
  for (const item of items) {
    if (item.label === 1) machines++;
    else humans++;
    if (item.verdict === 'uncertain') {
      uncertain++;
      for (const r of item.reasons) reasons[r]++;
    } else if (item.label === 0) judgedHumans++;
    if (item.verdict === 'machine') {
      if (item.label === 1) truePositives++;
      else falsePositives++;
    }
  }
  const n = items.length;
  return {
    n,
    n_human: humans,
    n_machine: machines,
    coverage: ratio(n - uncertain, n),
    uncertain: ratio(uncertain, n),
    fpr: ratio(falsePositives, humans),
    recall: ratio(truePositives, machines),
    fpr_judged: ratio(falsePositives, judgedHumans),
    reasons,
  };
}

export interface VerdictRow {
  group: string;
  rates: VerdictRates;
}

/** Verdict rates per group (source, domain …), sorted by group name. */
export function verdictBreakdown<T>(items: readonly T[], key: (item: T) => string | null, judged: (item: T) => JudgedItem): VerdictRow[] {
  const groups = new Map<string, JudgedItem[]>();
  for (const item of items) {
    const group = key(item);
    if (group === null) continue;
    const list = groups.get(group) ?? [];
    list.push(judged(item));
    groups.set(group, list);
  }
  return [...groups]
    .map(([group, members]) => ({ group, rates: verdictRates(members) }))
    .sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}

/** The verdict table `copydesk eval` prints. */
export function formatVerdictTable(rows: readonly VerdictRow[], title: string): string {
  const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(2)}%`);
  return `${title}\n${formatTable([
    ['group', 'n', 'coverage', 'uncertain', 'FPR (machine verdicts)', 'FPR among judged', 'recall (machine verdicts)', ...REASONS],
    ...rows.map(({ group, rates: r }) => [group, String(r.n), pct(r.coverage), pct(r.uncertain), pct(r.fpr), pct(r.fpr_judged), pct(r.recall), ...REASONS.map((x) => String(r.reasons[x]))]),
  ])}`;
}
