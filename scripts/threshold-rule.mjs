// Research script: what the default-threshold rule does, per human/machine group, on the held-out
// (leave-one-source-out) scores that scripts/oof-dump.mjs writes. For each rule variant: the threshold,
// and per (dataset, domain) the share uncertain, the false-positive rate and the recall at it (uncertain
// texts are neither flagged nor caught; whether a text's reasons decline it is the product's decideVerdict).
// TARGET: the rule's per-group FPR (default: the shipped 0.005). Results: reports/threshold-rule.md.
//   npm run build && OUT=/tmp/oof.jsonl node scripts/oof-dump.mjs && [TARGET=0.01] node scripts/threshold-rule.mjs /tmp/oof.jsonl
import { readFileSync } from 'node:fs';
import { chooseThreshold, DEFAULT_TRAIN_OPTIONS } from '../dist/model/train.js';
import { decideVerdict } from '../dist/model/applicability.js';

const rows = readFileSync(process.argv[2] ?? '/tmp/oof.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const probabilities = rows.map((r) => r.p);
const variants = [
  ['every text judged, every group', () => true, []],
  ['applicability check (with not_news), every group', (i) => rows[i].judged, []],
  ['applicability check (with not_news), raidar news left out', (i) => rows[i].judged, ['raidar_multidomain:news']],
];
const groups = new Map();
rows.forEach((r, i) => { const k = `${r.dataset} / ${r.domain}`; (groups.get(k) ?? groups.set(k, []).get(k)).push(i); });
const pct = (x) => (x === null ? '—' : `${(100 * x).toFixed(1)}%`);
for (const [name, judged, exclude] of variants) {
  const { threshold } = chooseThreshold(rows, probabilities, Number(process.env.TARGET ?? DEFAULT_TRAIN_OPTIONS.targetFpr), judged, exclude);
  // A text the variant judges has no reasons for it; otherwise its held-out reasons decide, by score.
  const verdict = (i) => decideVerdict(probabilities[i], threshold, judged(i) ? [] : rows[i].reasons);
  console.log(`\n#### ${name}: threshold ${threshold.toFixed(3)}\n`);
  console.log('| group | human | uncertain (human) | FPR | machine | uncertain (machine) | recall |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [k, members] of [...groups].sort()) {
    const h = members.filter((i) => rows[i].label === 'human');
    const m = members.filter((i) => rows[i].label === 'machine');
    const share = (list, f) => (list.length === 0 ? null : list.filter(f).length / list.length);
    const is = (v) => (i) => verdict(i) === v;
    console.log(`| ${k} | ${h.length} | ${pct(share(h, is('uncertain')))} | ${pct(share(h, is('machine')))} | ${m.length} | ${pct(share(m, is('uncertain')))} | ${pct(share(m, is('machine')))} |`);
  }
}
