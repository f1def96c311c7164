// Research script: the soft reasons (not_news, unlike_training_data) on the leave-one-source-out
// scores that scripts/oof-dump.mjs writes (each text's held-out reasons and its check measures
// relative to its fold's cutoffs). Two tables (reports/threshold-rule.md):
//  1. floors: per (dataset, domain, label), shares uncertain / human / machine when soft reasons
//     decline always ("any") or only from a probability floor up (FLOORS, default 0.2,0.25,0.3,0.5);
//  2. strictness: stricter cutoffs (style ratio, vocabulary margin, gate margin), the threshold rule
//     refitted on the texts without reasons, news recall and the worst human-news uncertain and FPR.
//   npm run build && OUT=/tmp/oof.jsonl node scripts/oof-dump.mjs && node scripts/soft-reasons.mjs /tmp/oof.jsonl
import { readFileSync } from 'node:fs';
import { chooseThreshold, DEFAULT_TRAIN_OPTIONS } from '../dist/model/train.js';
import { SOFT_REASONS } from '../dist/model/applicability.js';

const rows = readFileSync(process.argv[2] ?? '/tmp/oof.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const p = rows.map((r) => r.p);
const soft = new Set(SOFT_REASONS);
const EXCLUDE = ['raidar_multidomain:news'];
const groups = new Map();
rows.forEach((r, i) => { const k = `${r.dataset}|${r.domain}|${r.label}`; (groups.get(k) ?? groups.set(k, []).get(k)).push(i); });
const pct = (x) => (100 * x).toFixed(1);

/** Verdict with soft reasons declining from `floor` up (null: always), at `threshold`. */
const verdictOf = (i, reasons, threshold, floor) => {
  if (reasons.some((x) => !soft.has(x))) return 'uncertain';
  if (reasons.length > 0 && (floor === null || p[i] >= Math.min(floor, threshold))) return 'uncertain';
  return p[i] >= threshold ? 'machine' : 'human';
};

const floors = [null, ...(process.env.FLOORS ?? '0.2,0.25,0.3,0.5').split(',').map(Number)];
const { threshold } = chooseThreshold(rows, p, DEFAULT_TRAIN_OPTIONS.targetFpr, (i) => rows[i].reasons.length === 0, EXCLUDE);
console.log(`## Floors (threshold ${threshold.toFixed(3)})\n`);
console.log(`${'group'.padEnd(45)} ${'n'.padStart(5)}  U ${floors.map((f) => f ?? 'any').join('/')} | H … | M`);
for (const [k, idx] of [...groups].sort()) {
  const share = (f, v) => idx.filter((i) => verdictOf(i, rows[i].reasons, threshold, f) === v).length / idx.length;
  console.log(`${k.padEnd(45)} ${String(idx.length).padStart(5)}  U ${floors.map((f) => pct(share(f, 'uncertain'))).join(' ')} | H ${floors.map((f) => pct(share(f, 'human'))).join(' ')} | M ${pct(share(null, 'machine'))}`);
}

const NEWS_MACHINE = /\|news\|machine$/;
const NEWS_HUMAN_BUDGET = /\|news\|human$/;
console.log('\n## Stricter cutoffs (soft floor 0.3)\n');
console.log('| style ratio > | vocabulary margin < | gate margin < | threshold | news recall median (min) | human news uncertain, max | FPR max |');
console.log('|---|---|---|---|---|---|---|');
for (const [s, v, n] of [[1, 0, 0], [0.9, 0, 0], [0.8, 0, 0], [1, 0.01, 0], [1, 0.02, 0], [1, 0, 0.5], [1, 0, 1], [0.9, 0.01, 0.5], [0.8, 0.02, 1], [0.7, 0.03, 1.5]]) {
  const reasons = rows.map((r) => {
    const out = r.reasons.filter((x) => !soft.has(x));
    if (r.news !== null && r.news < n) out.push('not_news');
    if (r.style > s || r.vocabulary < v) out.push('unlike_training_data');
    return out;
  });
  const t = chooseThreshold(rows, p, DEFAULT_TRAIN_OPTIONS.targetFpr, (i) => reasons[i].length === 0, EXCLUDE).threshold;
  const share = (idx, v) => idx.filter((i) => verdictOf(i, reasons[i], t, 0.3) === v).length / idx.length;
  const recall = [], uncertain = [], fpr = [];
  // News sources other than RAID-ar (suspect labels) and, for the uncertain budget, ImBD (LLM-polished mixed prose).
  for (const [k, idx] of groups) {
    if (NEWS_MACHINE.test(k) && !k.startsWith('raidar')) recall.push(share(idx, 'machine'));
    if (NEWS_HUMAN_BUDGET.test(k) && !k.startsWith('raidar') && !k.startsWith('imbd')) uncertain.push(share(idx, 'uncertain'));
    if (k.endsWith('|human') && !k.startsWith('raidar_multidomain|news')) fpr.push(share(idx, 'machine'));
  }
  recall.sort((a, b) => a - b);
  const median = recall.length % 2 ? recall[(recall.length - 1) / 2] : (recall[recall.length / 2 - 1] + recall[recall.length / 2]) / 2;
  console.log(`| ${s} | ${v} | ${n} | ${t.toFixed(3)} | ${pct(median)}% (${pct(recall[0])}%) | ${pct(Math.max(...uncertain))}% | ${pct(Math.max(...fpr))}% |`);
}
