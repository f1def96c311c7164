// The serve default's work per text (sentences and evidence, detectTexts plus
// JSON), before/after on a shared machine: one process loads both builds and
// alternates them on batches of 50 texts (80 pairs); prints median CPU µs
// per text and the median new/old ratio of the pairs. No HTTP: bench/serve.mjs
// measures the server itself.
//   node bench/serve-paired.mjs --old /path/to/old/dist --new dist --input articles.jsonl
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { median } from './machine.mjs';

const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const builds = [];
for (const dist of [resolve(flag('--old')), resolve(flag('--new', 'dist'))]) {
  const { loadDetector } = await import(`${dist}/model/model-file.js`);
  const { detectTexts } = await import(`${dist}/detect/detect.js`);
  builds.push({ detector: loadDetector(), detectTexts });
}
const texts = readFileSync(resolve(flag('--input')), 'utf8').split('\n').filter(Boolean).slice(0, 1000).map((line) => JSON.parse(line).text);
const options = { sentences: true, evidence: true, maxSentences: 1e9, maxSentencesPerText: 50 };
const batch = (k) => Array.from({ length: 50 }, (_, i) => texts[(k * 50 + i) % texts.length]);
for (const b of builds) for (let k = 0; k < 10; k++) JSON.stringify(b.detectTexts(b.detector, batch(k), options));
const us = [[], []];
const ratios = [];
for (let k = 0; k < 80; k++) {
  const pair = [0, 0];
  for (const i of k % 2 ? [1, 0] : [0, 1]) {
    const started = process.cpuUsage();
    JSON.stringify(builds[i].detectTexts(builds[i].detector, batch(k), options));
    const used = process.cpuUsage(started);
    pair[i] = (used.user + used.system) / 50;
    us[i].push(pair[i]);
  }
  ratios.push(pair[1] / pair[0]);
}
console.log(`old ${median(us[0]).toFixed(0)} µs CPU per text, new ${median(us[1]).toFixed(0)} µs; median new/old ratio of 80 pairs: ${median(ratios).toFixed(3)}`);
