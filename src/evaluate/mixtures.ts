import type { LabeledDocument } from '../corpus/types.js';
import { seededUnit } from '../corpus/split.js';
import type { Detector } from '../model/detector.js';
import { analyzeSentences, DEFAULT_LEVEL } from '../detect/sentences.js';
import { MIXTURE_TESTS, type MixtureTest } from '../detect/mixture.js';
import { splitSentences } from '../text/sentences.js';
import { auroc, tprAtFpr, type BinaryLabel } from '../model/metrics.js';
import { formatTable } from './breakdown.js';
import { escapeXml } from './plot.js';

/**
 * Mixed-authorship evaluation: a human article with a fraction k of its
 * sentences replaced by a contiguous run of sentences from a machine article
 * written from the same story (same pair_id), as an editor pasting a
 * generated passage would. k = 0 is the human article untouched (the false
 * positives), k = 100% the machine article itself.
 */
export const DEFAULT_FRACTIONS = [0, 0.1, 0.2, 0.3, 0.5, 1];

export interface Mixture {
  pair_id: string;
  fraction: number;
  text: string;
  /** Character range of the machine run in `text` (empty for k = 0). */
  machine: [number, number];
  generator: string | null;
  dataset: string;
}

export interface Pair {
  human: LabeledDocument;
  machines: LabeledDocument[];
}

/** Human documents with at least one machine document of the same pair_id. */
export function pairsOf(documents: LabeledDocument[]): Pair[] {
  const byPair = new Map<string, Pair>();
  for (const d of documents) {
    if (d.pair_id === null || d.label !== 'human') continue;
    if (!byPair.has(d.pair_id)) byPair.set(d.pair_id, { human: d, machines: [] });
  }
  for (const d of documents) {
    if (d.pair_id === null || d.label !== 'machine') continue;
    byPair.get(d.pair_id)?.machines.push(d);
  }
  return [...byPair.values()].filter((p) => p.machines.length > 0).sort((a, b) => (a.human.id < b.human.id ? -1 : a.human.id > b.human.id ? 1 : 0));
}

/**
 * At most `max` pairs, a seeded sample (the pairs whose key hashes lowest under the seed), kept in
 * their order; exactly `max` when there are more.
 */
export function samplePairs(pairs: Pair[], max: number, seed: number | string): Pair[] {
  if (pairs.length <= max) return pairs;
  const rank = (p: Pair) => seededUnit(`${seed}:pairs`, p.human.pair_id ?? p.human.id);
  const kept = new Set([...pairs].sort((a, b) => rank(a) - rank(b)).slice(0, max));
  return pairs.filter((p) => kept.has(p));
}

export function buildMixture(pair: Pair, fraction: number, seed: number | string): Mixture | null {
  const key = pair.human.pair_id ?? pair.human.id;
  const machine = pair.machines[Math.floor(seededUnit(seed, `${key}:generator`) * pair.machines.length)];
  const base = { pair_id: key, fraction, generator: machine.generator, dataset: pair.human.dataset };
  if (fraction <= 0) return { ...base, text: pair.human.text, machine: [0, 0], generator: null };
  if (fraction >= 1) return { ...base, text: machine.text, machine: [0, machine.text.length] };
  const hs = splitSentences(pair.human.text);
  const ms = splitSentences(machine.text);
  if (hs.length < 2 || ms.length === 0) return null;
  const wanted = Math.max(1, Math.round(fraction * hs.length));
  const run = Math.min(wanted, ms.length, hs.length);
  const s = Math.floor(seededUnit(seed, `${key}:${fraction}:start`) * (hs.length - run + 1));
  const t = Math.min(Math.max(0, Math.round((s * ms.length) / hs.length)), ms.length - run);
  const inserted = machine.text.slice(ms[t].start, ms[t + run - 1].end);
  const before = pair.human.text.slice(0, hs[s].start);
  const after = pair.human.text.slice(hs[s + run - 1].end);
  const text = `${before}${inserted}${after}`;
  return { ...base, text, machine: [before.length, before.length + inserted.length] };
}

export interface SentenceOutcome {
  machine: boolean;
  probability: number;
  p_value: number;
  flagged: boolean;
}

export interface ScoredMixture {
  mixture: Mixture;
  sentences: SentenceOutcome[];
  p_values: Record<MixtureTest, number>;
  document_probability: number;
}

export function scoreMixture(detector: Detector, mixture: Mixture, level: number): ScoredMixture {
  const document = detector.featurizer.prepare(mixture.text, { sentences: true });
  const documentScore = detector.score(document);
  const analysis = analyzeSentences(detector, document, level);
  const [a, b] = mixture.machine;
  const sentences = analysis.sentences.map((s) => {
    const overlap = Math.max(0, Math.min(s.end, b) - Math.max(s.start, a));
    return { machine: overlap * 2 > s.end - s.start, probability: s.machine_probability, p_value: s.p_value, flagged: s.machine_passage };
  });
  return {
    mixture,
    sentences,
    p_values: analysis.mixture.p_values,
    document_probability: detector.probabilityFromScore(documentScore, document.words),
  };
}

export interface FractionRow {
  fraction: number;
  documents: number;
  /** Mean share of sentences that are machine-written. */
  actual_fraction: number;
  sentence_auroc: number | null;
  /** Per test: power at 5% / 1% FPR measured on k = 0, and the rejection rate at the nominal level. */
  power: Record<string, { at_5pct_fpr: number | null; at_1pct_fpr: number | null; at_level: number | null }>;
  precision: number | null;
  recall: number | null;
}

export interface MixtureEvaluation {
  level: number;
  pairs: number;
  by_dataset: Record<string, number>;
  sentence_auroc: number | null;
  sentence_auroc_mixed_only: number | null;
  fpr_at_level: Record<string, number>;
  fpr_at_level_by_dataset: Record<string, Record<string, number>>;
  rows: FractionRow[];
}

const TESTS = [...MIXTURE_TESTS, 'document'] as const;

export function evaluateMixtures(
  detector: Detector,
  pairs: Pair[],
  options: { fractions?: number[]; level?: number; seed?: number | string; onProgress?: (done: number, total: number) => void } = {},
): { evaluation: MixtureEvaluation; scored: ScoredMixture[] } {
  const fractions = options.fractions ?? DEFAULT_FRACTIONS;
  const level = options.level ?? DEFAULT_LEVEL;
  const seed = options.seed ?? 13;
  const scored: ScoredMixture[] = [];
  const total = pairs.length * fractions.length;
  let done = 0; // mixtures built or found impossible (too few sentences): the progress reaches its total either way
  for (const pair of pairs) {
    for (const fraction of fractions) {
      const mixture = buildMixture(pair, fraction, seed);
      if (mixture) scored.push(scoreMixture(detector, mixture, level));
      options.onProgress?.(++done, total);
    }
  }
  const pOf = (m: ScoredMixture, test: (typeof TESTS)[number]) => (test === 'document' ? 1 - m.document_probability : m.p_values[test]);
  const nulls = scored.filter((m) => m.mixture.fraction === 0);
  const rows: FractionRow[] = fractions.map((fraction) => {
    const here = scored.filter((m) => m.mixture.fraction === fraction);
    const sentences = here.flatMap((m) => m.sentences);
    const machineCount = sentences.filter((s) => s.machine).length;
    const power: FractionRow['power'] = {};
    for (const test of TESTS) {
      const labels: BinaryLabel[] = [...nulls.map(() => 0 as const), ...here.map(() => 1 as const)];
      const scores = [...nulls, ...here].map((m) => -pOf(m, test));
      const at = (fpr: number) => (fraction === 0 ? null : nanToNull(tprAtFpr(labels.slice(0), scores, fpr).tpr));
      power[test] = {
        at_5pct_fpr: at(0.05),
        at_1pct_fpr: at(0.01),
        at_level: here.length === 0 ? null : here.filter((m) => pOf(m, test) <= level).length / here.length,
      };
    }
    const flagged = sentences.filter((s) => s.flagged);
    const hits = flagged.filter((s) => s.machine).length;
    return {
      fraction,
      documents: here.length,
      actual_fraction: mean(here.map((m) => m.sentences.filter((s) => s.machine).length / Math.max(1, m.sentences.length))),
      sentence_auroc: sentenceAuroc(sentences),
      power,
      precision: fraction === 0 ? null : flagged.length ? hits / flagged.length : null,
      recall: fraction === 0 ? null : machineCount ? hits / machineCount : null,
    };
  });
  const fpr_at_level: Record<string, number> = {};
  for (const test of TESTS) fpr_at_level[test] = nulls.filter((m) => pOf(m, test) <= level).length / Math.max(1, nulls.length);
  const fpr_at_level_by_dataset: Record<string, Record<string, number>> = {};
  const by_dataset: Record<string, number> = {};
  for (const m of nulls) by_dataset[m.mixture.dataset] = (by_dataset[m.mixture.dataset] ?? 0) + 1;
  for (const dataset of Object.keys(by_dataset).sort()) {
    const list = nulls.filter((m) => m.mixture.dataset === dataset);
    fpr_at_level_by_dataset[dataset] = Object.fromEntries(MIXTURE_TESTS.map((t) => [t, list.filter((m) => m.p_values[t] <= level).length / list.length]));
  }
  const mixed = scored.filter((m) => m.mixture.fraction > 0 && m.mixture.fraction < 1).flatMap((m) => m.sentences);
  return {
    evaluation: {
      level,
      pairs: pairs.length,
      by_dataset,
      sentence_auroc: sentenceAuroc(scored.flatMap((m) => m.sentences)),
      sentence_auroc_mixed_only: sentenceAuroc(mixed),
      fpr_at_level,
      fpr_at_level_by_dataset,
      rows,
    },
    scored,
  };
}

function sentenceAuroc(sentences: SentenceOutcome[]): number | null {
  return nanToNull(auroc(sentences.map((s) => (s.machine ? 1 : 0)), sentences.map((s) => s.probability)));
}

function nanToNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function mean(values: number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
}

const pct = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(1)}%`);
const num = (x: number | null) => (x === null ? '–' : x.toFixed(4));

export function formatMixtureEvaluation(e: MixtureEvaluation): string {
  const lines = [
    `mixtures from ${e.pairs} held-out pairs (${Object.entries(e.by_dataset).map(([d, n]) => `${d}: ${n}`).join(', ')})`,
    `sentence AUROC: ${num(e.sentence_auroc)} (all k), ${num(e.sentence_auroc_mixed_only)} (mixed documents only)`,
    `false-positive rate at k = 0, level ${e.level}: ${MIXTURE_TESTS.map((t) => `${t} ${pct(e.fpr_at_level[t])}`).join(', ')}`,
    ...Object.entries(e.fpr_at_level_by_dataset).map(([d, r]) => `  ${d}: ${MIXTURE_TESTS.map((t) => `${t} ${pct(r[t])}`).join(', ')}`),
    '',
  ];
  const header = ['k', 'docs', 'machine share', 'sent. AUROC', 'HC @5% FPR', 'HC @1% FPR', `HC p≤${e.level}`, 'Fisher @5%', 'Simes @5%', 'doc score @5%', 'precision', 'recall'];
  const rows = e.rows.map((r) => [
    `${Math.round(r.fraction * 100)}%`,
    String(r.documents),
    pct(r.actual_fraction),
    num(r.sentence_auroc),
    pct(r.power.hc.at_5pct_fpr),
    pct(r.power.hc.at_1pct_fpr),
    pct(r.power.hc.at_level),
    pct(r.power.fisher.at_5pct_fpr),
    pct(r.power.simes.at_5pct_fpr),
    pct(r.power.document.at_5pct_fpr),
    pct(r.precision),
    pct(r.recall),
  ]);
  lines.push(formatTable([header, ...rows]));
  lines.push('power "@5% FPR": share of k-mixtures flagged at the threshold that flags 5% of the k = 0 (human) documents; "p≤level": at the nominal level.');
  return `${lines.join('\n')}\n`;
}

const COLOURS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#000000'];

/** Power against k, one line per test (at 5% FPR), plus HC at 1% FPR. */
export function mixturePowerSvg(e: MixtureEvaluation, title: string): string {
  const W = 640, H = 400, L = 60, R = 190, T = 50, B = 50;
  const x = (k: number) => L + k * (W - L - R);
  const y = (p: number) => H - B - p * (H - T - B);
  const series: Array<{ name: string; values: Array<[number, number | null]> }> = [
    { name: 'HC, 5% FPR', values: e.rows.map((r) => [r.fraction, r.fraction === 0 ? 0.05 : r.power.hc.at_5pct_fpr]) },
    { name: 'HC, 1% FPR', values: e.rows.map((r) => [r.fraction, r.fraction === 0 ? 0.01 : r.power.hc.at_1pct_fpr]) },
    { name: 'Fisher, 5% FPR', values: e.rows.map((r) => [r.fraction, r.fraction === 0 ? 0.05 : r.power.fisher.at_5pct_fpr]) },
    { name: 'Simes, 5% FPR', values: e.rows.map((r) => [r.fraction, r.fraction === 0 ? 0.05 : r.power.simes.at_5pct_fpr]) },
    { name: 'document score, 5% FPR', values: e.rows.map((r) => [r.fraction, r.fraction === 0 ? 0.05 : r.power.document.at_5pct_fpr]) },
  ];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  for (const t of [0, 0.2, 0.4, 0.6, 0.8, 1]) {
    parts.push(`<line x1="${L}" y1="${y(t)}" x2="${W - R}" y2="${y(t)}" stroke="#ddd"/>`);
    parts.push(`<text x="${L - 6}" y="${y(t) + 4}" text-anchor="end" font-size="11">${t.toFixed(1)}</text>`);
  }
  for (const r of e.rows) parts.push(`<text x="${x(r.fraction)}" y="${H - B + 16}" text-anchor="middle" font-size="11">${Math.round(r.fraction * 100)}%</text>`);
  parts.push(`<line x1="${L}" y1="${y(0)}" x2="${W - R}" y2="${y(0)}" stroke="#000"/><line x1="${L}" y1="${y(0)}" x2="${L}" y2="${y(1)}" stroke="#000"/>`);
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle" font-size="12">share of sentences replaced by machine text (k)</text>`);
  parts.push(`<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle" font-size="12">detection power</text>`);
  parts.push(`<line x1="${L}" y1="${y(0.8)}" x2="${W - R}" y2="${y(0.8)}" stroke="#D55E00" stroke-dasharray="4 4"/>`);
  series.forEach((s, i) => {
    const pts = s.values.filter(([, v]) => v !== null).map(([k, v]) => `${x(k).toFixed(1)},${y(v as number).toFixed(1)}`);
    parts.push(`<polyline fill="none" stroke="${COLOURS[i]}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const p of pts) {
      const [cx, cy] = p.split(',');
      parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${COLOURS[i]}"/>`);
    }
    parts.push(`<line x1="${W - R + 14}" y1="${T + 10 + i * 18}" x2="${W - R + 38}" y2="${T + 10 + i * 18}" stroke="${COLOURS[i]}" stroke-width="2"/>`);
    parts.push(`<text x="${W - R + 44}" y="${T + 14 + i * 18}" font-size="11">${escapeXml(s.name)}</text>`);
  });
  parts.push(`<text x="${W - R + 14}" y="${T + 14 + series.length * 18}" font-size="11" fill="#D55E00">- - target 0.8</text>`);
  parts.push('</svg>', '');
  return parts.join('\n');
}
