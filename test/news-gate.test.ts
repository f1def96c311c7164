/**
 * The news-domain gate (`not_news`) and the per-domain, exclusion-aware
 * default-threshold rule that it serves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Applicability, describeReasons, fitApplicability, readText, tokensOf, REASONS } from '../src/detect/applicability.js';
import { fitApplicabilityMany } from '../src/model/applicability.js';
import { fitNewsGate, NewsGate, newsVector, newsVectorOfWords, wordHashes, type GateExample } from '../src/model/news-gate.js';
import { isWordKind } from '../src/text/tokenize.js';
import { chooseThreshold, trainDetector } from '../src/model/train.js';
import { verdictBreakdown } from '../src/model/breakdown.js';
import { decodeInt16, quantiseInt16 } from '../src/util/int16.js';
import { UserError } from '../src/util/errors.js';
import { syntheticCorpus, SMALL_TRAIN_OPTIONS } from './fixtures/core/synthetic.js';
import type { LabeledDocument } from '../src/corpus/types.js';

/** First-person product reviews with some variety (written for this test), as labeled documents of domain `reviews`. */
function reviewCorpus(n: number, seed: number): LabeledDocument[] {
  const items = ['blender', 'kettle', 'toaster', 'vacuum', 'lamp', 'router', 'backpack', 'mattress'];
  const openers = ['I bought this', 'We ordered the', 'My sister got me this', 'Picked up this'];
  const praise = ['Honestly I love it', 'Works great and looks cute', 'Super quiet, totally worth it', 'Five stars, would buy again'];
  const gripes = ['the box was dented', 'shipping took forever', 'the manual is useless', 'it is a bit loud'];
  let state = seed;
  const pick = <T>(list: T[]) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return list[state % list.length];
  };
  return Array.from({ length: n }, (_, i) => {
    const item = pick(items);
    const text = [
      `${pick(openers)} ${item} last month and I have to say ${pick(praise).toLowerCase()}!`,
      `My old ${item} broke after a week, so I was nervous, but this one is so much better.`,
      `Only complaint: ${pick(gripes)}, but whatever, my kids love it and so do I.`,
      `${pick(praise)}. I'd recommend it to anyone who needs a ${item}, you won't regret it.`,
      `Update: still using my ${item} every day and I'm really happy with it, ${pick(praise).toLowerCase()}.`,
    ].join(' ');
    return {
      id: `review-${seed}-${i}`,
      label: i % 2 === 0 ? 'human' : 'machine',
      text,
      generator: i % 2 === 0 ? 'human' : 'model-a',
      domain: 'reviews',
      source: 'shop',
      pair_id: `review-${seed}-${Math.floor(i / 2)}`,
      prompt: null,
      dataset: 'shop_reviews',
      extra: {},
      origin: { file: 'synthetic', line: i + 1 },
    } satisfies LabeledDocument;
  });
}

const example = (d: LabeledDocument): GateExample => ({ vector: newsVector(tokensOf(d.text), 16), domain: d.domain, group: `${d.dataset}:${d.domain}` });

test('news gate: fitted on news and reviews, tells held-out news from held-out reviews; cutoff never above P(news) = ½', () => {
  const train = [...syntheticCorpus(60, 5), ...reviewCorpus(80, 7)].map(example);
  const heldOut = [...syntheticCorpus(20, 11), ...reviewCorpus(20, 13)].map(example);
  const state = fitNewsGate(train, heldOut);
  assert.ok(state, 'two domains: a gate is fitted');
  assert.ok(state.cutoff <= 0, `cutoff ${state.cutoff}`);
  assert.deepEqual(state.fitted_on, { news: 120, other: { reviews: 80 } });
  const gate = new NewsGate(state);
  for (const d of syntheticCorpus(10, 21)) assert.ok(gate.isNews(gate.logit(tokensOf(d.text))), `news judged news: ${d.text.slice(0, 60)}`);
  for (const d of reviewCorpus(10, 23)) assert.ok(!gate.isNews(gate.logit(tokensOf(d.text))), `review judged not news: ${d.text.slice(0, 60)}`);
});

test('news gate: none without a second domain, and none without enough of it', () => {
  assert.equal(fitNewsGate(syntheticCorpus(60, 5).map(example), []), null);
  assert.equal(fitNewsGate([...syntheticCorpus(60, 5), ...reviewCorpus(6, 7)].map(example), []), null);
  const unknown = reviewCorpus(40, 7).map((d) => ({ ...d, domain: null }));
  assert.equal(fitNewsGate([...syntheticCorpus(60, 5), ...unknown].map(example), []), null, 'texts of unknown domain are not "other"');
});

test('applicability: the gate travels in the state and makes reviews uncertain with reason not_news', () => {
  const state = fitApplicability([...syntheticCorpus(80, 5), ...reviewCorpus(100, 7)], { quantile: 0.01 });
  assert.ok(state.news, 'gate fitted');
  const fitted = new Applicability(JSON.parse(JSON.stringify(state)));
  const review = reviewCorpus(3, 31)[0].text;
  assert.ok(fitted.assess(tokensOf(review), review).includes('not_news'));
  const news = syntheticCorpus(3, 41)[0].text;
  assert.ok(!fitted.assess(tokensOf(news), news).includes('not_news'));
  assert.equal(fitted.measure(tokensOf(news), news).news_logit !== null, true);
  assert.equal(new Applicability(null).measure(tokensOf(news), news).news_logit, null, 'no state, no gate');
  const noGate = fitApplicability([...syntheticCorpus(80, 5), ...reviewCorpus(100, 7)], { newsGate: false });
  assert.equal(noGate.news, undefined);
  assert.ok(REASONS.includes('not_news'));
  assert.match(describeReasons(['not_news'])[0], /does not read like news/);
});

test('applicability for several folds at once (shared gate rows): each state equals fitApplicability on its own set, bit for bit', () => {
  const all = [...syntheticCorpus(80, 5), ...reviewCorpus(100, 7)];
  const rank = new Map(all.map((d, i) => [d, i]));
  // Folds as training makes them: every set keeps the documents' order.
  const sets = [0, 1, 2].map((k) => all.filter((_, i) => i % 3 !== k));
  const many = fitApplicabilityMany(sets, { quantile: 0.01 }, (d) => rank.get(d)!);
  assert.equal(many.length, 3);
  sets.forEach((set, k) => {
    assert.ok(many[k].news, `fold ${k}: gate fitted`);
    assert.deepEqual(many[k], fitApplicability(set, { quantile: 0.01 }), `fold ${k}`);
  });
  assert.notDeepEqual(many[0].news, many[1].news, 'the folds fit different gates');
  assert.deepEqual(fitApplicabilityMany(sets, { quantile: 0.01 }), many, 'without ranks (each set packed on its own): the same states');
});

test('news gate: corrupt weights are a clear error, not garbage scores', () => {
  const state = fitNewsGate([...syntheticCorpus(30, 5), ...reviewCorpus(40, 7)].map(example), []);
  assert.ok(state);
  assert.throws(() => new NewsGate({ ...state, weights: state.weights.slice(0, 100) }), (e: unknown) => e instanceof UserError && /news gate is corrupt/.test(e.message));
});

test('int16 weights: round trip within half a step, wrong length refused', () => {
  const weights = Float32Array.from([0.5, -1.25, 0, 3e-5, -0.75]);
  const { scale, weights: encoded } = quantiseInt16(weights);
  const decoded = decodeInt16(encoded, weights.length);
  assert.ok(decoded);
  weights.forEach((w, i) => assert.ok(Math.abs(decoded[i] * scale - w) <= scale / 2 + 1e-12, `weight ${i}`));
  assert.equal(decodeInt16(encoded, weights.length + 1), null);
});

/** Human documents of one group with the given held-out probabilities. */
function humans(dataset: string, domain: string, probabilities: number[]): Array<{ d: LabeledDocument; p: number }> {
  return probabilities.map((p, i) => ({
    d: { id: `${dataset}-${domain}-${i}`, label: 'human', text: 'x', generator: 'human', domain, source: dataset, pair_id: null, prompt: null, dataset, extra: {}, origin: { file: 't', line: i + 1 } },
    p,
  }));
}

test('threshold rule: per domain within a multi-domain dataset, and named groups left out', () => {
  const spread = (lo: number, hi: number) => Array.from({ length: 100 }, (_, i) => lo + ((hi - lo) * i) / 99);
  const rows = [...humans('wire', 'news', spread(0.0, 0.6)), ...humans('mixed', 'news', spread(0.0, 0.7)), ...humans('mixed', 'reviews', spread(0.0, 0.97))];
  const docs = rows.map((r) => r.d);
  const probabilities = rows.map((r) => r.p);
  const all = chooseThreshold(docs, probabilities, 0.01);
  assert.ok(all.threshold > 0.95, `reviews of the mixed dataset set the threshold: ${all.threshold}`);
  const left = chooseThreshold(docs, probabilities, 0.01, () => true, ['mixed:reviews']);
  assert.ok(left.threshold > 0.69 && left.threshold < 0.72, `mixed:news now sets it: ${left.threshold}`);
  assert.match(left.rule, /left out: mixed:reviews/);
  const wholeDataset = chooseThreshold(docs, probabilities, 0.01, () => true, ['mixed']);
  assert.ok(wholeDataset.threshold > 0.59 && wholeDataset.threshold < 0.62, `only wire is left: ${wholeDataset.threshold}`);
  const judgedOnly = chooseThreshold(docs, probabilities, 0.01, (i) => !(docs[i].domain === 'reviews' && probabilities[i] > 0.5));
  assert.ok(judgedOnly.threshold < 0.72, `uncertain reviews do not count: ${judgedOnly.threshold}`);
});

test('verdict breakdown: uncertain texts are neither false positives nor catches', () => {
  const items = [
    { g: 'a', y: 0, p: 0.9, judged: true },
    { g: 'a', y: 0, p: 0.95, judged: false },
    { g: 'a', y: 0, p: 0.1, judged: true },
    { g: 'a', y: 0, p: 0.2, judged: true },
    { g: 'a', y: 1, p: 0.99, judged: false },
    { g: 'a', y: 1, p: 0.97, judged: true },
    { g: 'b', y: 1, p: 0.3, judged: true },
  ] as const;
  const rows = verdictBreakdown(items, (x) => x.g, (x) => x.y, (x) => x.p, (x) => x.judged, 0.5);
  assert.deepEqual(rows, [
    { group: 'a', n_human: 4, n_machine: 2, uncertain_human: 0.25, uncertain_machine: 0.5, fpr: 0.25, recall: 0.5 },
    { group: 'b', n_human: 0, n_machine: 1, uncertain_human: null, uncertain_machine: 0, fpr: null, recall: 0 },
  ]);
});

test('training records verdicts per threshold group in the model metadata', () => {
  const docs = [...syntheticCorpus(40, 5), ...reviewCorpus(60, 7)];
  const detector = trainDetector(docs, { ...SMALL_TRAIN_OPTIONS, extensions: [] });
  const groups = detector.metadata.evaluation.verdicts?.map((r) => r.group);
  assert.deepEqual(groups, ['outlet_x', 'outlet_y', 'shop_reviews']);
  const reviews = detector.metadata.evaluation.verdicts!.find((r) => r.group === 'shop_reviews')!;
  assert.ok(reviews.uncertain_human !== null && reviews.uncertain_human > 0.5, `held-out reviews mostly not_news: ${reviews.uncertain_human}`);
});

test('news gate fast path equals its plain definition (features built, then the dot product)', () => {
  const state = fitNewsGate([...syntheticCorpus(30, 5), ...reviewCorpus(40, 7)].map(example), []);
  assert.ok(state);
  const gate = new NewsGate(state);
  const texts = [...syntheticCorpus(5, 51), ...reviewCorpus(5, 53)].map((d) => d.text);
  texts.push('', '...', 'The the the THE the.', texts[0]);
  for (const text of texts) {
    const tokens = tokensOf(text);
    const plain = gate.logitOf(newsVector(tokens, state.bits));
    assert.ok(Math.abs(gate.logit(tokens) - plain) < 1e-6, `${text.slice(0, 30)}: ${gate.logit(tokens)} vs ${plain}`);
  }
});

test('training reads each text once: measures, reasons, news vector and logit from a reading equal those from the tokens', () => {
  const state = fitApplicability([...syntheticCorpus(80, 5), ...reviewCorpus(100, 7)], { quantile: 0.01 });
  assert.ok(state.news, 'gate fitted');
  assert.equal(state.vocabulary.words, 'lower');
  // The vocabulary of every word, as older model files count it.
  const everyWord = new Applicability(fitApplicability([...syntheticCorpus(80, 5), ...reviewCorpus(100, 7)], { quantile: 0.01, vocabularyWords: 'all' }));
  const fitted = new Applicability(state);
  const gate = new NewsGate(state.news);
  const texts = [...syntheticCorpus(5, 51), ...reviewCorpus(5, 53)].map((d) => d.text);
  texts.push('', '...', 'The the the THE the.', 'Le chat est sur la table { x = 1 } 2024', 'NASA and the BBC said Paris', texts[0]);
  for (const text of texts) {
    const tokens = tokensOf(text);
    const reading = readText(tokens, text);
    assert.deepEqual(fitted.measureReading(reading), fitted.measure(tokens, text), text.slice(0, 30));
    assert.deepEqual(fitted.assessReading(reading), fitted.assess(tokens, text));
    assert.deepEqual(everyWord.measureReading(reading), everyWord.measure(tokens, text), `every word: ${text.slice(0, 30)}`);
    assert.equal(gate.logitOfHashes(reading.wordHashes, reading.wordHashes.length, null), gate.logit(tokens));
    // newsVector by its plain definition: the distinct word buckets, ascending, each 1/√(how many).
    const mask = 2 ** 16 - 1;
    const buckets = new Set<number>();
    for (let i = 0; i < tokens.count; i++) if (isWordKind(tokens.kinds[i])) buckets.add(tokens.hashes[i] & mask);
    const indices = [...buckets].sort((a, b) => a - b);
    const vector = newsVectorOfWords(wordHashes(tokens), 16);
    assert.deepEqual(Array.from(vector.indices), indices);
    assert.deepEqual(Array.from(vector.values), indices.map(() => Math.fround(1 / Math.sqrt(indices.length))));
    assert.deepEqual(newsVector(tokens, 16), vector);
  }
});
