// Research script: trains like `copydesk train` (leave-one-source-out folds, the shipped threshold
// rule with RAID-ar's news left out, no sentence extension) with some options changed, and prints
// what decides a design change: the threshold, recall and FPR at it per held-out source (uncertain
// texts neither flagged nor caught), and each source's AUROC on its held-out raw scores.
//   npm run build && NODE_OPTIONS=--max-old-space-size=8192 node scripts/train-variant.mjs <name> '<TrainOptions JSON>'
//   e.g. node scripts/train-variant.mjs nostyle '{"featurizer":{"useStyle":false}}'
// Used for the style and regularisation rows of reports/ablation.md.
import { readAllDocuments, DEFAULT_FEATURIZER_CONFIG } from '../dist/index.js';
import { trainDetector } from '../dist/model/train.js';
import { auroc } from '../dist/model/metrics.js';

const [name = 'shipped', json = '{}'] = process.argv.slice(2);
const options = JSON.parse(json);
const t0 = Date.now();
const documents = (await readAllDocuments(['../shared/data'], {})).filter((d) => d.label);
const raw = new Map();
const collect = { name: 'held-out-scores', onFold(scoreText, heldOut) { for (const d of heldOut) raw.set(d, scoreText(d.text)); }, finish: () => null };
const detector = trainDetector(documents, {
  ...options,
  featurizer: { ...DEFAULT_FEATURIZER_CONFIG, ...(options.featurizer ?? {}) },
  extensions: [collect],
  thresholdExclude: ['raidar_multidomain:news'],
});
const { threshold, evaluation } = detector.metadata;
const percent = (x) => (x == null ? '—' : `${(100 * x).toFixed(1)}%`);
console.log(`${name} ${json}: ${((Date.now() - t0) / 1000).toFixed(0)} s, threshold ${threshold.toFixed(4)}`);
console.log('| held-out group | FPR | recall | AUROC (raw held-out scores) |\n|---|---|---|---|');
for (const g of evaluation.verdicts) {
  const docs = [...raw].filter(([d]) => (g.group.includes(':') ? `${d.dataset}:${d.domain}` : d.dataset) === g.group);
  const labels = docs.map(([d]) => (d.label === 'machine' ? 1 : 0));
  const a = labels.includes(0) && labels.includes(1) ? auroc(labels, docs.map(([, s]) => s)).toFixed(3) : '—';
  console.log(`| ${g.group} | ${percent(g.fpr)} | ${percent(g.recall)} | ${a} |`);
}
const news = evaluation.verdicts.filter((g) => g.recall != null && !/raidar|hppt/.test(g.group)).map((g) => g.recall).sort((a, b) => a - b);
console.log(`median recall over held-out news groups: ${percent(news[Math.floor(news.length / 2)])} (lowest ${percent(news[0])})`);
