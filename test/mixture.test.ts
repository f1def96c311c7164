import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { existsSync } from 'node:fs';
import { fisherStatistic, higherCriticism, empiricalPValue, nullSample, simesStatistic, thin, countAtLeast } from '../src/detect/mixture.ts';
import { analyzeSentences, SENTENCE_EXTENSION, type SentenceCalibration } from '../src/detect/sentences.ts';
import { detectText } from '../src/detect/detect.ts';
import { scoreRows } from '../src/detect/lines.ts';
import { createSentenceExtension } from '../src/detect/sentence-training.ts';
import { buildMixture, evaluateMixtures, formatMixtureEvaluation, mixturePowerSvg, pairsOf, samplePairs } from '../src/evaluate/mixtures.ts';
import { trainDetector } from '../src/model/train.ts';
import { DEFAULT_FEATURIZER_CONFIG } from '../src/features/featurizer.ts';
import { deserializeDetector, serializeDetector } from '../src/model/model-file.ts';
import { readAllDocuments } from '../src/corpus/index.ts';
import type { LabeledDocument } from '../src/corpus/types.ts';
import { markSentences } from '../src/cli/format.ts';

test('Higher Criticism: large for a few tiny p-values, selects them; near zero for uniform p-values', () => {
  const uniform = Array.from({ length: 40 }, (_, i) => (i + 0.5) / 40);
  const u = higherCriticism(uniform);
  assert.ok(u.statistic < 1, `uniform HC ${u.statistic}`);
  const mixed = [...uniform.slice(0, 32), 1e-4, 2e-4, 3e-4, 5e-4, 1e-3, 2e-3, 3e-3, 4e-3];
  const m = higherCriticism(mixed);
  assert.ok(m.statistic > 5, `mixed HC ${m.statistic}`);
  assert.deepEqual(new Set(m.selected.filter((i) => i >= 32)), new Set([32, 33, 34, 35, 36, 37, 38, 39].filter((i) => m.selected.includes(i))));
  assert.ok(m.selected.length >= 4 && m.selected.every((i) => i >= 32), `selects only small p-values: ${m.selected}`);
  // plain HC (not HC⁺): p-values below 1/n count, so a short strong passage is seen
  const passage = [...uniform.slice(0, 36), 1e-4, 1e-4, 2e-4, 2e-4];
  assert.ok(higherCriticism(passage).statistic > 10, `passage HC ${higherCriticism(passage).statistic}`);
  assert.deepEqual(new Set(higherCriticism(passage).selected), new Set([36, 37, 38, 39]));
  assert.ok(fisherStatistic(mixed) > fisherStatistic(uniform));
  assert.ok(simesStatistic(mixed) > simesStatistic(uniform));
  assert.deepEqual(higherCriticism([]), { statistic: 0, selected: [] });
});

test('empirical p-values: (1 + #≥)/(n + 1), exact in the stored tail after thinning, valid under the null', () => {
  const values = Array.from({ length: 10000 }, (_, i) => i / 10000);
  const sample = { n: values.length, values: thin(values, 400) };
  assert.equal(sample.values.length, 400);
  assert.equal(countAtLeast(sample, 0.9995), 5);
  assert.ok(Math.abs(countAtLeast(sample, 0.5) - 5000) <= 30);
  assert.equal(empiricalPValue(nullSample([1, 2, 3]), 3), 2 / 4);
  assert.equal(empiricalPValue(nullSample([1, 2, 3]), 10), 1 / 4);
  // Under the null, P(p ≤ α) ≤ α.
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const null5000 = nullSample(Array.from({ length: 5000 }, rand));
  let rejections = 0;
  for (let i = 0; i < 2000; i++) if (empiricalPValue(null5000, rand()) <= 0.05) rejections++;
  assert.ok(rejections / 2000 < 0.065, `rejection rate ${rejections / 2000}`);
});

const HUMAN = [
  'The council met on Tuesday night . Residents complained about the noise from the new road . One man said he had not slept for weeks . The mayor promised a review by March . Officials declined to comment further .',
  'Police were called to the scene at 3am . A 24-year-old man was arrested on suspicion of assault . He remains in custody . Witnesses described a scuffle outside the bar . The investigation continues .',
  'Shares in the firm fell 12% after it warned on profits . Analysts had expected a rebound . The chief executive blamed weak demand in Europe . Trading resumes on Monday . Rivals also slipped .',
];
const MACHINE = [
  'In a significant development, the council convened to address growing concerns. Residents expressed their frustration regarding the noise. Furthermore, the mayor emphasized the importance of a thorough review. Overall, the situation highlights the challenges facing the community. It remains to be seen how this will unfold.',
  'In a shocking incident, authorities responded to a disturbance in the early hours. A young man was taken into custody. This incident underscores the importance of public safety. Moreover, witnesses provided valuable insights. Ultimately, the investigation will shed light on what happened.',
  'In a surprising turn of events, the company experienced a notable decline in its share price. Analysts emphasized the importance of market conditions. Furthermore, the chief executive highlighted the challenges ahead. Overall, the outlook remains uncertain. It is crucial to monitor these developments.',
];

function corpus(): LabeledDocument[] {
  const docs: LabeledDocument[] = [];
  for (let i = 0; i < 60; i++) {
    const pair = `story-${i}`;
    const base = { generator: null, domain: 'news', source: 'test', prompt: null, dataset: 'fixture', extra: {}, origin: { file: 'fixture', line: i + 1 } };
    docs.push({ ...base, id: `h${i}`, label: 'human', pair_id: pair, text: `${HUMAN[i % 3]} Story number ${i} ends here .` });
    docs.push({ ...base, id: `m${i}`, label: 'machine', generator: 'fixture-llm', pair_id: pair, text: `${MACHINE[i % 3]} This is story number ${i}.` });
  }
  return docs;
}

const small = () => ({ folds: 2, maxIterations: 30, featurizer: { ...DEFAULT_FEATURIZER_CONFIG, hashBits: 14 }, extensions: [createSentenceExtension()] });

test('the sentence extension reads each training text from the one preparation the trainer makes: the same calibration as preparing every text itself', () => {
  const documents = corpus();
  const observed = trainDetector(documents, small());
  const { observe: _observe, prepare: _prepare, ...blind } = createSentenceExtension();
  const prepared = trainDetector(documents, { ...small(), extensions: [blind] });
  const strip = (c: SentenceCalibration) => ({ ...c, held_out: { ...c.held_out, seconds: 0 } });
  assert.deepEqual(
    strip(observed.metadata.extensions[SENTENCE_EXTENSION] as SentenceCalibration),
    strip(prepared.metadata.extensions[SENTENCE_EXTENSION] as SentenceCalibration),
  );
  assert.deepEqual(observed.metadata.evaluation, prepared.metadata.evaluation, 'and the same held-out evaluation');
});

test('training registers the sentence calibration with its window model, and it survives the model file', () => {
  const detector = trainDetector(corpus(), small());
  const calibration = detector.metadata.extensions[SENTENCE_EXTENSION] as SentenceCalibration;
  assert.ok(calibration, 'extension stored');
  assert.equal(calibration.version, 2);
  assert.equal(calibration.window_model.hash_bits, 18);
  assert.ok(calibration.window_model.trained_on.windows > 0);
  assert.ok(calibration.held_out.human_documents === 60);
  const reloaded = deserializeDetector(serializeDetector(detector));
  const text = `${HUMAN[0]} ${MACHINE[1]}`;
  const a = analyzeSentences(detector, detector.featurizer.prepare(text, { sentences: true }));
  const b = analyzeSentences(reloaded, reloaded.featurizer.prepare(text, { sentences: true }));
  assert.deepEqual(a.sentences.map((s) => s.p_value), b.sentences.map((s) => s.p_value));
  for (const s of a.sentences) {
    assert.equal(text.slice(s.start, s.end), s.text);
    assert.ok(s.p_value > 0 && s.p_value <= 1);
    assert.ok(s.machine_probability >= 0 && s.machine_probability <= 1);
  }
  // the machine half scores higher than the human half
  const human = a.sentences.filter((s) => s.end <= HUMAN[0].length);
  const machine = a.sentences.filter((s) => s.start > HUMAN[0].length);
  const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
  assert.ok(mean(machine.map((s) => s.machine_probability)) > mean(human.map((s) => s.machine_probability)));

  const result = detectText(detector, text, { sentences: true, level: 0.05 });
  assert.equal(typeof result.mixture_p_value, 'number');
  assert.equal(typeof result.machine_passage, 'boolean');
  assert.equal(result.sentences?.length, a.sentences.length);
  assert.equal(result.machine_probability, detectText(detector, text).machine_probability, 'document probability unchanged by --sentences');

  const lines = scoreRows(detector, [[JSON.stringify({ id: 'x', text }), 1]], { file: 'f', dataset: 'd', invalid: 'stop', sentences: true });
  const row = JSON.parse(lines.output);
  assert.equal(row.id, 'x');
  assert.equal(row.mixture_p_value, result.mixture_p_value);
  assert.deepEqual(row.sentences[0], result.sentences![0]);
  const plain = JSON.parse(scoreRows(detector, [[JSON.stringify({ id: 'x', text }), 1]], { file: 'f', dataset: 'd', invalid: 'stop' }).output);
  assert.equal(plain.sentences, undefined);

  const marked = markSentences(text, { ...result, sentences: result.sentences!.map((s, i) => ({ ...s, machine_passage: i === 0 })) }, false);
  assert.ok(marked.startsWith(`[M]${result.sentences![0].text}[/M]`));
});

test('--max-pairs: exactly that many pairs when there are more, a seeded sample kept in order', () => {
  const pairs = pairsOf(corpus());
  assert.equal(pairs.length, 60);
  // 60 pairs, at most 40: taking every ceil(60/40) = 2nd pair gave 30.
  const sample = samplePairs(pairs, 40, 13);
  assert.equal(sample.length, 40);
  assert.equal(new Set(sample).size, 40);
  assert.deepEqual(sample, pairs.filter((p) => sample.includes(p)), 'in the pairs\' order');
  assert.deepEqual(samplePairs(pairs, 40, 13), sample, 'the same seed, the same pairs');
  assert.notDeepEqual(samplePairs(pairs, 40, 14), sample, 'another seed, another sample');
  assert.equal(samplePairs(pairs, 60, 13), pairs);
  assert.equal(samplePairs(pairs, 1, 13).length, 1);
});

test('mixtures replace a contiguous run of human sentences by machine sentences of the same story', () => {
  const docs = corpus();
  const pairs = pairsOf(docs);
  assert.equal(pairs.length, 60);
  const m0 = buildMixture(pairs[0], 0, 1)!;
  assert.equal(m0.text, pairs[0].human.text);
  const m100 = buildMixture(pairs[0], 1, 1)!;
  assert.equal(m100.text, pairs[0].machines[0].text);
  const m = buildMixture(pairs[0], 0.5, 1)!;
  const inserted = m.text.slice(m.machine[0], m.machine[1]);
  assert.ok(pairs[0].machines[0].text.includes(inserted), 'the run is verbatim machine text');
  assert.ok(inserted.length > 0);
  assert.deepEqual(buildMixture(pairs[0], 0.5, 1), m, 'seeded');

  const detector = trainDetector(docs, small());
  const { evaluation } = evaluateMixtures(detector, pairs.slice(0, 20), { fractions: [0, 0.5, 1] });
  assert.equal(evaluation.rows.length, 3);
  assert.ok(evaluation.sentence_auroc !== null && evaluation.sentence_auroc > 0.5);
  assert.ok(mixturePowerSvg(evaluation, 'power').startsWith('<svg'));
});

const DATA = new URL('../../shared/data/cnn_dailymail_chatgpt.jsonl', import.meta.url).pathname;
test('on real pairs (when ../shared/data is present): segmentation covers the article text', { skip: !existsSync(DATA) }, async () => {
  const docs = (await readAllDocuments([DATA], { requireLabels: true })).slice(0, 60);
  const { splitSentences } = await import('../src/text/sentences.ts');
  for (const d of docs) {
    const spans = splitSentences(d.text);
    assert.ok(spans.length >= 3, d.id);
    const covered = spans.reduce((n, s) => n + s.text.replace(/\s/g, '').length, 0);
    assert.equal(covered, d.text.replace(/\s/g, '').length - (d.text.match(/^\s*(?:[-*•]|\d{1,2}[.)]|#{1,6})[ \t]+/gm)?.join('').replace(/\s/g, '').length ?? 0));
  }
});

test('mixture p-value is the largest over the pooled null and each source null (the level holds per source)', async () => {
  const { mixtureTest } = await import('../src/detect/sentences.ts');
  const groups = (values: number[]) => Array.from({ length: 6 }, () => nullSample(values));
  const low = Array.from({ length: 99 }, (_, i) => i / 10); // statistics 0 … 9.8
  const high = Array.from({ length: 99 }, (_, i) => i * 10); // a source whose human texts score higher
  const nulls = (values: number[]) => ({ hc: groups(values), fisher: groups(values), simes: groups(values) });
  const base = { doc_null: nulls(low), doc_null_by_dataset: {}, primary: 'hc' } as unknown as SentenceCalibration;
  const pValues = [1e-4, 2e-4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
  const pooled = mixtureTest(base, pValues).result.p_values.hc;
  const perSource = mixtureTest({ ...base, doc_null_by_dataset: { a: nulls(low), b: nulls(high) } }, pValues).result.p_values.hc;
  assert.ok(perSource > pooled, `${perSource} > ${pooled}`);
  assert.equal(perSource, empiricalPValue(nullSample(high), higherCriticism(pValues).statistic));
});

test('evaluateMixtures: a k with no mixture (one-sentence human texts) has no power, not 0%; progress reaches its total', () => {
  const docs = corpus();
  const detector = trainDetector(docs, small());
  // One sentence each: no mixture can replace part of it, so only k = 0 and k = 100% exist.
  const pairs = pairsOf(docs).slice(0, 6).map((p, i) => ({ ...p, human: { ...p.human, text: `The council met on Tuesday to discuss story ${i} and the budget for the parks.` } }));
  const progress: Array<[number, number]> = [];
  const { evaluation } = evaluateMixtures(detector, pairs, { fractions: [0, 0.5, 1], onProgress: (done, total) => progress.push([done, total]) });
  const half = evaluation.rows.find((r) => r.fraction === 0.5)!;
  assert.equal(half.documents, 0);
  for (const test of ['hc', 'fisher', 'simes', 'document']) assert.equal(half.power[test].at_level, null, `${test} at the level`);
  const line = formatMixtureEvaluation(evaluation).split('\n').find((l) => l.trimStart().startsWith('50%'))!;
  assert.doesNotMatch(line.trimStart().replace(/^50%/, ''), /\d%/, line);
  assert.deepEqual(progress.at(-1), [18, 18]);
});
