// Ablation: why does the scikit-learn TF-IDF baseline generalise better than copydesk on some held-out
// sets? Each configuration is fitted without a held-out source or domain and scored on it (AUROC, TPR at
// 1% FPR). Groups are capped per (dataset, label, domain) (CAP) so a run fits a session on two cores.
//   npm run build && CAP=350 ITERS=40 SETS=domain:abstracts,domain:reviews,cnn,pan24,llmfake \
//     CONFIGS=copydesk,baseline,cd_char node scripts/ablation.mjs
// Results and what they mean: reports/ablation.md. (A research script, not part of the product.)
import { readAllDocuments, Featurizer, DEFAULT_FEATURIZER_CONFIG, normalize } from '../dist/index.js';
import { fitLogistic, decisionFunction } from '../dist/model/logistic.js';
import { groupBySourceComponents } from '../dist/corpus/split.js';
import { balancedWeights } from '../dist/model/train.js';
import { auroc, tprAtFpr } from '../dist/model/metrics.js';
import { hashString, avalanche } from '../dist/util/hash.js';

const t0 = Date.now();
const log = (...a) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0)}s]`, ...a);
let docs = await readAllDocuments(['../shared/data'], {});
docs = docs.filter((d) => d.label);
const CAP = Number(process.env.CAP ?? 600);
const seen = new Map();
docs = docs.filter((d) => { const key = d.dataset + d.label + (d.domain ?? ''); const n = (seen.get(key) ?? 0) + 1; seen.set(key, n); return n <= CAP; });
log('docs', docs.length);

const CHAR_BITS = 20, CHAR_MASK = (1 << CHAR_BITS) - 1;
function charWb(text, lo = 3, hi = 5) {
  const out = [];
  const words = text.toLowerCase().split(/\s+/);
  for (const w of words) {
    if (!w) continue;
    const p = ' ' + w + ' ';
    for (let i = 0; i < p.length; i++) {
      let h = 0x811c9dc5;
      for (let j = 0; j < hi && i + j < p.length; j++) {
        h ^= p.charCodeAt(i + j); h = Math.imul(h, 0x01000193);
        if (j + 1 >= lo) out.push(avalanche((h ^ (j + 1)) >>> 0) & CHAR_MASK);
      }
    }
  }
  return out;
}
const WORD = /[a-z0-9']+|[^\sa-z0-9']/g;
function words12(text) {
  const hs = (text.toLowerCase().match(WORD) ?? []).map((w) => hashString(w));
  const u = [], b = [];
  for (let i = 0; i < hs.length; i++) { u.push(hs[i] & CHAR_MASK); if (i + 1 < hs.length) b.push(avalanche((Math.imul(hs[i], 0x9e3779b1) ^ hs[i + 1]) >>> 0) & CHAR_MASK); }
  return [u.concat(b)];
}
// family vectors: list of Map bucket->count
function counts(arr) { const m = new Map(); for (const b of arr) m.set(b, (m.get(b) ?? 0) + 1); return m; }
function tfidfFamily(countMaps, trainIdx, useIdf) {
  const df = new Float64Array(1 << CHAR_BITS);
  if (useIdf) for (const i of trainIdx) for (const b of countMaps[i].keys()) df[b]++;
  const n = trainIdx.length;
  return (m) => {
    const idx = Int32Array.from(m.keys());
    const val = Float32Array.from(idx, (b) => (1 + Math.log(m.get(b))) * (useIdf ? Math.log((1 + n) / (1 + df[b])) + 1 : 1));
    let s = 0; for (const v of val) s += v * v; s = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let i = 0; i < val.length; i++) val[i] *= s;
    return { indices: idx, values: val };
  };
}
function concat(parts, offsets) {
  let n = 0; for (const p of parts) n += p.indices.length;
  const indices = new Int32Array(n), values = new Float32Array(n); let k = 0;
  parts.forEach((p, j) => { for (let i = 0; i < p.indices.length; i++) { indices[k] = p.indices[i] + offsets[j]; values[k++] = p.values[i]; } });
  return { indices, values };
}

const cache = {};
function fam(name) {
  if (cache[name]) return cache[name];
  log('featurize', name);
  let r;
  if (name === 'char_raw') r = docs.map((d) => counts(charWb(d.text)));
  else if (name === 'char_norm') r = docs.map((d) => counts(charWb(normalize(d.text))));
  else if (name === 'word_raw') r = docs.map((d) => counts(words12(d.text)[0]));
  else if (name === 'word_norm') r = docs.map((d) => counts(words12(normalize(d.text))[0]));
  cache[name] = r;
  return r;
}
const featurizer = Featurizer.fit(docs.map((d) => d.text), DEFAULT_FEATURIZER_CONFIG);
let cdVecs = null;
function copydeskVecs() { if (!cdVecs) { log('featurize copydesk'); cdVecs = docs.map((d) => featurizer.transform(d.text)); } return cdVecs; }

// A config: list of components; each is 'copydesk' or [family, idf]
function build(config, trainIdx) {
  const comps = []; let dim = 0; const offsets = [];
  for (const c of config.parts) {
    offsets.push(dim);
    if (c === 'copydesk') { const v = copydeskVecs(); comps.push((i) => v[i]); dim += featurizer.dimension; }
    else { const maps = fam(c[0]); const f = tfidfFamily(maps, trainIdx, c[1]); comps.push((i) => f(maps[i])); dim += 1 << CHAR_BITS; }
  }
  return { vec: (i) => concat(comps.map((g) => g(i)), offsets), dim };
}
function classWeights(idx) { const m = idx.filter((i) => docs[i].label === 'machine').length; const n = idx.length; return idx.map((i) => (docs[i].label === 'machine' ? n / (2 * m) : n / (2 * (n - m)))); }

function evaluate(config, heldOutSets) {
  const res = [];
  for (const [name, test] of heldOutSets) {
    const testSet = new Set(test);
    const trainIdx = docs.map((_, i) => i).filter((i) => !testSet.has(i));
    const { vec, dim } = build(config, trainIdx);
    const bw = balancedWeights(trainIdx.map((i) => docs[i]));
    const weights = config.weights === 'balanced' ? Array.from(bw) : classWeights(trainIdx);
    const t = Date.now();
    const model = fitLogistic(trainIdx.map(vec), trainIdx.map((i) => (docs[i].label === 'machine' ? 1 : 0)), weights, dim, { l2: config.l2 ?? 1e-5, maxIterations: Number(process.env.ITERS ?? config.iters ?? 60), tolerance: 5e-5 });
    const labels = test.map((i) => (docs[i].label === 'machine' ? 1 : 0));
    const scores = test.map((i) => decisionFunction(model, vec(i)));
    const r = labels.includes(1) && labels.includes(0) ? { auroc: auroc(labels, scores), tpr1: tprAtFpr(labels, scores, 0.01).tpr } : { auroc: null };
    res.push({ name, ...r, fit_s: (Date.now() - t) / 1000 });
    log(config.name, name, JSON.stringify(r));
  }
  return res;
}

const groups = [...groupBySourceComponents(docs)].map(([n, ds]) => { const s = new Set(ds); return [n, docs.map((d, i) => i).filter((i) => s.has(docs[i]))]; });
const domains = ['abstracts', 'reviews', 'creative'].map((dom) => [`domain:${dom}`, docs.map((d, i) => i).filter((i) => (docs[i].domain ?? 'news') === dom)]);
log('groups', groups.map(([n, t]) => `${n}:${t.length}`).join(' '));
const which = (process.env.SETS ?? 'domain:abstracts,domain:reviews').split(',');
const sets = [...domains, ...groups].filter(([n]) => which.some((w) => n.includes(w)));
const CONFIGS = {
  copydesk: { parts: ['copydesk'], weights: 'balanced' },
  baseline: { parts: [['word_raw', true], ['char_raw', true]], weights: 'class', l2: 1e-4, iters: 100 },
  baseline_norm: { parts: [['word_norm', true], ['char_norm', true]], weights: 'class', l2: 1e-4, iters: 100 },
  baseline_word: { parts: [['word_raw', true]], weights: 'class', l2: 1e-4, iters: 100 },
  baseline_char: { parts: [['char_raw', true]], weights: 'class', l2: 1e-4, iters: 100 },
  cd_char: { parts: ['copydesk', ['char_norm', true]], weights: 'balanced' },
  cd_classw: { parts: ['copydesk'], weights: 'class' },
  cd_l2: { parts: ['copydesk'], weights: 'balanced', l2: 1e-4 },
  word_norm_bal: { parts: [['word_norm', true], ['char_norm', true]], weights: 'balanced', l2: 1e-4, iters: 100 },
};
const out = {};
for (const c of (process.env.CONFIGS ?? 'copydesk,baseline').split(',')) out[c] = evaluate({ name: c, ...CONFIGS[c] }, sets);
console.log(JSON.stringify(out));
