// Research script: what the default-threshold rule does, per human/machine group, on the held-out
// (leave-one-source-out) scores that scripts/oof-dump.mjs writes. For each rule variant: the threshold,
// and per (dataset, domain) the share uncertain, the false-positive rate and the recall at it (uncertain
// texts are neither flagged nor caught). Results: reports/threshold-rule.md.
//   npm run build && OUT=/tmp/oof.jsonl node scripts/oof-dump.mjs && node scripts/threshold-rule.mjs /tmp/oof.jsonl
import { readFileSync } from 'node:fs';
import { chooseThreshold } from '../dist/model/train.js';

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
  const { threshold } = chooseThreshold(rows, probabilities, 0.01, judged, exclude);
  console.log(`\n#### ${name}: threshold ${threshold.toFixed(3)}\n`);
  console.log('| group | human | uncertain (human) | FPR | machine | uncertain (machine) | recall |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [k, members] of [...groups].sort()) {
    const h = members.filter((i) => rows[i].label === 'human');
    const m = members.filter((i) => rows[i].label === 'machine');
    const share = (list, f) => (list.length === 0 ? null : list.filter(f).length / list.length);
    console.log(`| ${k} | ${h.length} | ${pct(share(h, (i) => !judged(i)))} | ${pct(share(h, (i) => judged(i) && probabilities[i] >= threshold))} | ${m.length} | ${pct(share(m, (i) => !judged(i)))} | ${pct(share(m, (i) => judged(i) && probabilities[i] >= threshold))} |`);
  }
}
