/**
 * Measures what `uncertain` rests on (src/detect/applicability.ts) and writes
 * reports/length-curve.md and reports/applicability.md:
 *
 *   node --import tsx scripts/measure-applicability.ts [../shared/data] [--max-training 6000]
 *
 * Detectors here are trained document-only ({extensions:[], foldBy:'story',
 * folds:2}) on at most --max-training texts per fold, for time.
 */
import { writeFileSync } from 'node:fs';
import { readAllDocuments, resolveInputs, seededUnit, splitByStory } from '../src/corpus/index.js';
import { Applicability, MAX_NON_LATIN_SHARE, MAX_SYMBOL_SHARE, MIN_FUNCTION_WORD_RATE, MIN_WORDS, tokensOf } from '../src/detect/applicability.js';
import { evaluateApplicability, formatDomainEvaluation, formatLengthCurve, lengthCurve } from '../src/evaluate/applicability.js';
import { trainDetector } from '../src/model/train.js';
import type { LabeledDocument } from '../src/corpus/types.js';

const args = process.argv.slice(2);
const dataDir = args.find((a) => !a.startsWith('--')) ?? '../shared/data';
const maxIndex = args.indexOf('--max-training');
const maxTraining = maxIndex >= 0 ? Number(args[maxIndex + 1]) : 6000;
const parts = ['length', 'language', 'domains'].filter((part) => args.includes(`--${part}`));
const wanted = (part: string) => parts.length === 0 || parts.includes(part);
const seed = 13;
const log = (message: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);

const documents = (await readAllDocuments(await resolveInputs([`${dataDir}/*.jsonl`]))).filter((d) => d.label !== null);
log(`${documents.length} labeled documents`);
const train = (docs: LabeledDocument[]) => {
  log(`training on ${docs.length}`);
  return trainDetector(docs, { extensions: [], foldBy: 'story', folds: 2, seed });
};
const subsample = (docs: LabeledDocument[], n: number) => docs.filter((d) => seededUnit(`${seed}:subsample`, d.pair_id ?? d.id) < Math.min(1, n / docs.length));

if (wanted('length')) {
  const split = splitByStory(documents, { testFraction: 0.2, seed });
  const training = subsample(split.train, maxTraining);
  const detector = train(training);
  const heldOut = subsample(split.test, 3000);
  log(`length curve on ${heldOut.length} held-out texts`);
  const rows = lengthCurve(detector, heldOut);
  writeFileSync(
    'reports/length-curve.md',
    `# Length curve\n\n` +
      `Produced by \`node --import tsx scripts/measure-applicability.ts ${dataDir} --length --max-training ${maxTraining}\` (seed ${seed}).\n\n` +
      `Detector trained document-only on ${training.length} texts of 80% of the stories of ${dataDir} ` +
      `(threshold ${detector.threshold.toFixed(4)}); scored on ${heldOut.length} texts of the held-out 20% of stories, each cut to its first N words ` +
      `(only texts at least N words long, so every row is the same kind of text, shorter). ` +
      `FPR/TPR@threshold: at the detector's own threshold; @whole-1%: at the threshold that flags 1% of the whole held-out human texts.\n\n` +
      '```\n' + formatLengthCurve(rows) + '\n```\n',
  );
  log('wrote reports/length-curve.md');
}

if (wanted('language')) {
  // The language check's margins on the (English) texts of every source, and its cost.
  const probe = new Applicability(null);
  const measures = documents.map((d) => probe.measure(tokensOf(d.text), d.text)).filter((m) => m.words >= MIN_WORDS);
  const quantile = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.floor(q * (values.length - 1))];
  const rates = measures.map((m) => m.function_word_rate);
  const nonLatin = measures.map((m) => m.non_latin_share);
  const symbols = measures.map((m) => m.symbol_share);
  const flagged = measures.filter((m) => Applicability.notEnglish(m)).length;
  const started = process.hrtime.bigint();
  for (const d of documents) probe.measure(tokensOf(d.text), d.text);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  writeFileSync(
    'reports/language-check.md',
    `# Language check on the English texts of ${dataDir}\n\n` +
      `Produced by \`node --import tsx scripts/measure-applicability.ts ${dataDir} --language\`; ${measures.length} texts of ≥ ${MIN_WORDS} words.\n\n` +
      `- English function-word rate: min ${quantile(rates, 0).toFixed(3)}, 0.1% quantile ${quantile(rates, 0.001).toFixed(3)}, 1% ${quantile(rates, 0.01).toFixed(3)}, median ${quantile(rates, 0.5).toFixed(3)} (cutoff: below ${MIN_FUNCTION_WORD_RATE}).\n` +
      `- Non-Latin letter share: 99.9% quantile ${quantile(nonLatin, 0.999).toFixed(3)}, max ${quantile(nonLatin, 1).toFixed(3)} (cutoff: above ${MAX_NON_LATIN_SHARE}).\n` +
      `- Code/table symbol share of tokens: 99.9% quantile ${quantile(symbols, 0.999).toFixed(3)}, max ${quantile(symbols, 1).toFixed(3)} (cutoff: above ${MAX_SYMBOL_SHARE}).\n` +
      `- Called not_english: ${flagged} of ${measures.length} (${((100 * flagged) / measures.length).toFixed(2)}%).\n` +
      `- Cost of all stateless measurements, tokenising included: ${((seconds / documents.length) * 1e6).toFixed(1)} µs per text over ${documents.length} texts (shared, loaded 2-core machine).\n`,
  );
  log('wrote reports/language-check.md');
}

if (wanted('domains')) {
  const rows = evaluateApplicability(documents, train, { maxTraining, seed }, (domain) => log(`held-out domain ${domain}`));
  writeFileSync('reports/applicability.json', `${JSON.stringify(rows, null, 2)}\n`);
  writeFileSync(
    'reports/applicability.md',
    `# Applicability check, leave-one-domain-out\n\n` +
      `Produced by \`node --import tsx scripts/measure-applicability.ts ${dataDir} --max-training ${maxTraining}\` (seed ${seed}). ` +
      `For each non-news domain: a detector trained document-only on at most ${maxTraining} texts of 80% of the stories of the other domains, ` +
      `the applicability state fitted on the same texts; then the held-out domain's human texts, and the other 20% of stories' news.\n\n` +
      '```\n' + formatDomainEvaluation(rows) + '\n```\n',
  );
  log('wrote reports/applicability.md');
}
