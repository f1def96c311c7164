// One fold's document-model fit on ../shared/data, two builds alternately
// (A B A B …, in one process, so both see the same load): CPU seconds per
// fit, medians, and whether the two builds' weights are identical bit for bit.
//
//   node --max-old-space-size=8192 bench/train-fit.mjs --old /path/to/old/dist --new dist
//        [--data ../shared/data] [--held-out sheepdog_news] [--iterations 60] [--rounds 3]
//
// The fold: every text but those of the held-out dataset (as leave-one-source-out
// training fits it), 2^19 + 17 features, the training options' l2 and tolerance.
// A build without packed fits (before issue 10's training pass) is timed on
// fitLogistic, which packs the rows itself; packing once per training is
// reported separately for the new build.
import { resolve } from 'node:path';
import { median } from './machine.mjs';

const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const builds = { old: resolve(flag('--old')), new: resolve(flag('--new', 'dist')) };
const data = resolve(flag('--data', '../shared/data'));
const heldOutDataset = flag('--held-out', 'sheepdog_news');
const iterations = Number(flag('--iterations', 60));
const rounds = Number(flag('--rounds', 3));

const { readAllDocuments } = await import(`${builds.new}/corpus/documents.js`);
const { Featurizer } = await import(`${builds.new}/features/featurizer.js`);
const { balancedWeights, DEFAULT_TRAIN_OPTIONS } = await import(`${builds.new}/model/train.js`);
const { DEFAULT_LOGISTIC_OPTIONS } = await import(`${builds.new}/model/logistic.js`);
const documents = await readAllDocuments([data], { requireLabels: true });
const { featurizer, vectors } = Featurizer.fitTransform(documents.map((d) => d.text));
const labels = documents.map((d) => (d.label === 'machine' ? 1 : 0));
const weights = balancedWeights(documents);
const rows = documents.map((_, i) => i).filter((i) => documents[i].dataset !== heldOutDataset);
const options = { l2: DEFAULT_TRAIN_OPTIONS.l2, maxIterations: iterations, tolerance: DEFAULT_LOGISTIC_OPTIONS.tolerance };
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
let nonZeros = 0;
for (const i of rows) nonZeros += vectors[i].indices.length;
console.log(`${documents.length} texts, fold without ${heldOutDataset}: ${rows.length} rows, ${nonZeros} non-zeros, ${iterations} iterations`);

const fits = {};
for (const [name, dist] of Object.entries(builds)) {
  const logistic = await import(`${dist}/model/logistic.js`);
  if (logistic.fitPackedRows) {
    const started = cpu();
    const packed = logistic.packRows(vectors, featurizer.dimension);
    console.log(`${name}: packing all rows once per training: ${(cpu() - started).toFixed(2)} s CPU`);
    fits[name] = () => logistic.fitPackedRows(packed, rows, labels, weights, options);
  } else {
    fits[name] = () => logistic.fitLogistic(rows.map((i) => vectors[i]), rows.map((i) => labels[i]), rows.map((i) => weights[i]), featurizer.dimension, options);
  }
}
const seconds = { old: [], new: [] };
const models = {};
for (let round = 0; round < rounds; round++) {
  for (const name of round % 2 === 0 ? ['old', 'new'] : ['new', 'old']) {
    const started = cpu();
    models[name] = fits[name]();
    seconds[name].push(cpu() - started);
    console.log(`round ${round + 1} ${name}: ${seconds[name].at(-1).toFixed(2)} s CPU`);
  }
}
const a = new Uint32Array(models.old.weights.buffer);
const b = new Uint32Array(models.new.weights.buffer);
let differing = 0;
for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differing++;
console.log(`median CPU per fit: old ${median(seconds.old).toFixed(2)} s, new ${median(seconds.new).toFixed(2)} s (×${(median(seconds.old) / median(seconds.new)).toFixed(2)})`);
console.log(`weights differing: ${differing} of ${a.length}; bias ${models.old.bias === models.new.bias ? 'identical' : `${models.old.bias} vs ${models.new.bias}`}`);
