/**
 * `uncertain`: each reason (too_short, not_english, unlike_training_data),
 * the one decision function, the state in the model file (and older files
 * without it), and the verdict in detect JSON, JSONL lines and eval rates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Applicability,
  assessText,
  decideVerdict,
  describeReasons,
  fitApplicability,
  MIN_WORDS,
  nonLatinShare,
  nonLatinShareByLoop,
  tokensOf,
  declines,
  SOFT_REASON_FLOOR,
  SOFT_REASONS,
  type ApplicabilityState,
  type Reason,
} from '../src/detect/applicability.js';
import { APPLICABILITY_STYLE_FEATURES } from '../src/model/applicability.js';
import { STYLE_FEATURES } from '../src/features/stylometry.js';
import { detectText } from '../src/detect/detect.js';
import { scoreRows } from '../src/detect/lines.js';
import { formatDetection } from '../src/cli/format.js';
import { loadDetector } from '../src/model/model-file.js';
import { trainDetector } from '../src/model/train.js';
import { defaultTrainingExtensions } from '../src/detect/sentence-training.js';
import { deserializeDetector, serializeDetector } from '../src/model/model-file.js';
import { Detector } from '../src/model/detector.js';
import { truncateWords, verdictRates, lengthCurve } from '../src/evaluate/applicability.js';
import { syntheticCorpus, SMALL_TRAIN_OPTIONS } from './fixtures/core/synthetic.js';
import type { LabeledDocument } from '../src/corpus/types.js';

import { CHINESE, CODE, FRENCH, GERMAN, LONG_ENGLISH, REVIEW, SHORT_ENGLISH, SPANISH, TABLE } from './fixtures/core/texts.js';

const stateless = new Applicability(null);
const reasonsOf = (text: string, applicability = stateless) => applicability.assess(tokensOf(text), text);

test('decideVerdict: a hard reason makes the verdict uncertain, else the threshold decides', () => {
  assert.equal(decideVerdict(0.9, 0.5, []), 'machine');
  assert.equal(decideVerdict(0.5, 0.5, []), 'machine');
  assert.equal(decideVerdict(0.49, 0.5, []), 'human');
  assert.equal(decideVerdict(0.9, 0.5, ['too_short']), 'uncertain');
  assert.equal(decideVerdict(0.01, 0.5, ['not_prose']), 'uncertain');
  assert.equal(decideVerdict(0.1, 0.5, ['not_english', 'unlike_training_data']), 'uncertain');
});

test('decideVerdict: soft reasons decline from the floor (or a lower threshold) up, and never allow a machine verdict', () => {
  assert.deepEqual([...SOFT_REASONS].sort(), ['not_news', 'repeated_text', 'unlike_training_data']);
  assert.equal(decideVerdict(SOFT_REASON_FLOOR - 0.01, 0.9, ['not_news']), 'human');
  assert.equal(decideVerdict(SOFT_REASON_FLOOR, 0.9, ['not_news']), 'uncertain');
  assert.equal(decideVerdict(0.95, 0.9, ['unlike_training_data']), 'uncertain');
  assert.equal(decideVerdict(0.2, 0.15, ['not_news']), 'uncertain', 'a threshold below the floor: declined from the threshold up');
  // The promise behind it: over every probability and threshold, a text with reasons is never "machine",
  // and without soft reasons the verdict is what it was before (any reason declines).
  for (let t = 0.05; t < 1; t += 0.05) {
    for (let p = 0; p <= 1; p += 0.01) {
      for (const reasons of [['not_news'], ['unlike_training_data'], ['not_news', 'unlike_training_data'], ['too_short', 'not_news']] as Reason[][]) {
        const verdict = decideVerdict(p, t, reasons);
        assert.notEqual(verdict, 'machine', `p ${p} threshold ${t} ${reasons}`);
        assert.equal(verdict === 'uncertain', declines(p, t, reasons));
        assert.equal(verdict, p >= Math.min(SOFT_REASON_FLOOR, t) || reasons.includes('too_short') ? 'uncertain' : 'human');
      }
    }
  }
});

test('a low-scoring review: verdict human with cautions (not reasons) in JSON, JSONL and CLI text; no machine passage', async () => {
  const detector = loadDetector();
  const result = detectText(detector, REVIEW, { sentences: true, level: 1 });
  assert.ok(result.machine_probability < SOFT_REASON_FLOOR, `precondition: the review scores low (${result.machine_probability})`);
  assert.equal(result.verdict, 'human');
  assert.deepEqual(result.cautions, ['not_news']);
  assert.equal('reasons' in result, false, 'reasons stay the reasons for uncertain');
  assert.equal(result.machine_passage, false, 'machine passages stay withheld on any reason');
  assert.match(formatDetection(result, 'r.txt'), /^r\.txt: HUMAN-WRITTEN \(.*\n  caution: the text does not read like news .*weaker evidence/);
  // Withheld is not "none found" (the page says the same): the test was not allowed to decide.
  assert.match(formatDetection(result, 'r.txt'), /\n  machine passages: not marked in a text with cautions \(/);
  const [line] = scoreRows(detector, [[JSON.stringify({ id: 'r', text: REVIEW }), 1]], { file: 'x.jsonl', dataset: 'x', invalid: 'stop' }).output.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(Object.keys(line), ['id', 'machine_probability', 'verdict', 'cautions']);
  assert.deepEqual(line.cautions, ['not_news']);
});

test('too_short: below MIN_WORDS words, not at or above it', () => {
  assert.deepEqual(reasonsOf(SHORT_ENGLISH), ['too_short']);
  assert.deepEqual(reasonsOf(LONG_ENGLISH), []);
  const words = LONG_ENGLISH.split(/\s+/);
  assert.ok(words.length > MIN_WORDS, 'fixture is long enough');
  assert.ok(reasonsOf(words.slice(0, MIN_WORDS - 5).join(' ')).includes('too_short'));
  assert.ok(!reasonsOf(words.slice(0, MIN_WORDS + 5).join(' ')).includes('too_short'));
  assert.match(describeReasons(['too_short'], SHORT_ENGLISH)[0], new RegExp(`^text too short to judge \\(11 words; needs ≥ ${MIN_WORDS}\\)$`));
});

test('not_english: French, German, Spanish, Chinese; not_prose: code and tables; English prose passes both', () => {
  for (const [name, text] of Object.entries({ FRENCH, GERMAN, SPANISH, CHINESE })) {
    assert.ok(reasonsOf(text).includes('not_english'), `${name} should be not_english (reasons ${reasonsOf(text).join(',')})`);
    assert.ok(!reasonsOf(text).includes('not_prose'), `${name} is prose, in another language`);
  }
  for (const [name, text] of Object.entries({ CODE, TABLE })) {
    assert.ok(reasonsOf(text).includes('not_prose'), `${name} should be not_prose (reasons ${reasonsOf(text).join(',')})`);
  }
  // An English news page with its markup left in: the words are English, the text is not prose.
  const page = `<div class="story"><p>${LONG_ENGLISH.split('. ').join('.</p> <p>')}</p></div>`;
  const pageReasons = reasonsOf(page);
  assert.ok(pageReasons.includes('not_prose'), `markup should be not_prose (reasons ${pageReasons.join(',')})`);
  assert.ok(!pageReasons.includes('not_english'), 'English with markup is not "not English"');
  for (const text of [LONG_ENGLISH, SHORT_ENGLISH]) {
    assert.ok(!reasonsOf(text).includes('not_english'));
    assert.ok(!reasonsOf(text).includes('not_prose'));
  }
  assert.match(describeReasons(['not_prose'])[0], /markup, code or a table/);
  assert.deepEqual(reasonsOf('Short note. Two sentences.'), ['too_short'], 'too few words to read a language from');
  assert.equal(nonLatinShare('abc'), 0);
  assert.equal(nonLatinShare('中文'), 1);
  assert.equal(nonLatinShare('Café “quoted” — 12%'), 0, 'accents, curly quotes and dashes are not foreign letters');
});

test('nonLatinShare (regex guard, then the loop) equals its plain definition for every UTF-16 code unit', () => {
  // The guard returns 0 only when no character is one the loop counts as another script's letter.
  for (let c = 0; c <= 0xffff; c++) {
    const ch = String.fromCharCode(c);
    for (const text of [ch, `${ch}a`, `ab${ch}${ch}cd`]) assert.equal(nonLatinShare(text), nonLatinShareByLoop(text), `U+${c.toString(16)} in ${JSON.stringify(text)}`);
  }
  const mixed = 'Москва and Κρήτη, 東京 and 서울 — «Café»';
  assert.equal(nonLatinShare(mixed), nonLatinShareByLoop(mixed));
  assert.ok(nonLatinShare(mixed) > 0.5);
});

test('not_english: English spelled with Cyrillic/Greek look-alike letters is English, as the detector reads it; Cyrillic and Greek words are not', () => {
  // Homoglyph substitution: normalize() maps these letters back, so the detector scores the clean text.
  const LOOK_ALIKES: Record<string, string> = { a: '\u0430', e: '\u0435', o: '\u043e', c: '\u0441', p: '\u0440', x: '\u0445', y: '\u0443', T: '\u0422', M: '\u041c', H: '\u041d' };
  const disguised = [...LONG_ENGLISH].map((ch) => LOOK_ALIKES[ch] ?? ch).join('');
  assert.notEqual(disguised, LONG_ENGLISH);
  assert.ok(nonLatinShare(disguised) <= 0.01, `look-alikes inside Latin words read as Latin (share ${nonLatinShare(disguised)})`);
  assert.deepEqual(reasonsOf(disguised), reasonsOf(LONG_ENGLISH));
  const detector = loadDetector();
  const clean = detectText(detector, LONG_ENGLISH);
  const attacked = detectText(detector, disguised);
  assert.equal(attacked.machine_probability, clean.machine_probability, 'precondition: normalisation undoes the substitution');
  assert.deepEqual([attacked.verdict, attacked.reasons, attacked.cautions], [clean.verdict, clean.reasons, clean.cautions]);
  // Words of another script still count, look-alikes among their letters included (written for this test).
  const russian = 'Городской совет во вторник отложил решение о плане застройки улицы у порта, после того как более сорока жителей выступили на заседании, которое продолжалось до полуночи. План вернётся в совет в марте.';
  assert.ok(nonLatinShare(russian) > 0.9, `Russian ${nonLatinShare(russian)}`);
  assert.ok(reasonsOf(russian).includes('not_english'));
  assert.equal(nonLatinShare('Москва'), 1, 'a Cyrillic word made only of look-alikes is still Cyrillic');
  assert.ok(reasonsOf(`${LONG_ENGLISH} ${russian} ${russian} ${russian}`).includes('not_english'), 'English with long Russian passages');
});

/** A second, clearly different kind of English text: first-person product reviews (written for this test). */
function reviews(n: number): string[] {
  const items = ['blender', 'kettle', 'toaster', 'vacuum', 'lamp', 'router'];
  return Array.from({ length: n }, (_, i) => {
    const item = items[i % items.length];
    return `I bought this ${item} for my kitchen!!! Honestly I love it :) My old ${item} broke after a week, so I was super nervous lol. This one? Works great, super quiet, looks cute on my counter. Five stars, would buy again!!! My kids love it too and my husband says it's the best ${item} we've ever had. Shipping was fast, box was a bit dented but whatever. Totally worth it, you won't regret it!!! Get one now, seriously, I'm so happy with my ${item} ${i}.`;
  });
}

test('unlike_training_data: fitted on news, flags text far from it and keeps held-out news judged', () => {
  const news = syntheticCorpus(120, 5);
  const state = fitApplicability(news, { quantile: 0.01 });
  const fitted = new Applicability(state);
  assert.equal(state.fitted_on.documents + state.fitted_on.held_out, news.length);
  const heldOutNews = syntheticCorpus(40, 99).filter((d) => d.text.split(/\s+/).length >= MIN_WORDS);
  const uncertainNews = heldOutNews.filter((d) => reasonsOf(d.text, fitted).includes('unlike_training_data')).length;
  assert.ok(uncertainNews <= heldOutNews.length * 0.1, `${uncertainNews} of ${heldOutNews.length} in-domain texts uncertain`);
  for (const text of reviews(6)) assert.ok(reasonsOf(text, fitted).includes('unlike_training_data'), 'a review is unlike synthetic news');
  for (const text of reviews(6)) assert.ok(!reasonsOf(text).includes('unlike_training_data'), 'no state, no applicability check');
});

test('vocabulary coverage counts lower-case words: unseen names keep a text familiar, unseen common words do not; older states count every word', () => {
  const news = syntheticCorpus(120, 5);
  const state = fitApplicability(news, { quantile: 0.01 });
  assert.equal(state.vocabulary.words, 'lower');
  const fitted = new Applicability(state);
  const base = syntheticCorpus(40, 99).reduce((a, b) => (b.text.length > a.text.length ? b : a)).text;
  assert.ok(base.split(/\s+/).length >= MIN_WORDS);
  const coverageOf = (text: string, check = fitted) => check.measure(tokensOf(text), text).vocabulary_coverage!;
  // Every third word replaced: by invented capitalised names, or by invented lower-case words.
  const replaceEveryThird = (make: (i: number) => string) => base.split(' ').map((w, i) => (i % 3 === 1 && /^[a-z]+$/.test(w) ? make(i) : w)).join(' ');
  const names = replaceEveryThird((i) => `Zqx${'bcdfghjk'[i % 8]}ovar${i}`);
  const jargon = replaceEveryThird((i) => `zqx${'bcdfghjk'[i % 8]}ovar${i}`);
  assert.ok(coverageOf(names) >= coverageOf(base) - 1e-9, `names leave lower-case coverage as it was (${coverageOf(names)} vs ${coverageOf(base)})`);
  assert.ok(coverageOf(jargon) < coverageOf(base) - 0.15, `unseen common words lower it (${coverageOf(jargon)} vs ${coverageOf(base)})`);
  const unfamiliar = (text: string) => Applicability.unlike(fitted.measure(tokensOf(text), text), state, 'vocabulary');
  assert.equal(unfamiliar(jargon), true);
  assert.equal(unfamiliar(names), false);
  // A state written before `words` existed counts every word token, names included.
  const { words: _absent, ...olderVocabulary } = state.vocabulary;
  const older = new Applicability({ ...state, vocabulary: olderVocabulary });
  const everyWordState = fitApplicability(news, { quantile: 0.01, vocabularyWords: 'all' });
  assert.equal(everyWordState.vocabulary.words, 'all');
  assert.equal(coverageOf(names, new Applicability(everyWordState)), coverageOf(names, new Applicability({ ...everyWordState, vocabulary: { ...everyWordState.vocabulary, words: undefined } })));
});

test('style distance reads genre features only: house style (parentheses, dashes) leaves it unchanged; an older state reads all features', () => {
  const news = syntheticCorpus(120, 5);
  const state = fitApplicability(news, { quantile: 0.01 });
  assert.deepEqual(state.style.features, [...APPLICABILITY_STYLE_FEATURES]);
  assert.ok(!APPLICABILITY_STYLE_FEATURES.includes('parenthesis_rate') && APPLICABILITY_STYLE_FEATURES.includes('first_person_rate'));
  const fitted = new Applicability(state);
  const base = syntheticCorpus(40, 99).reduce((a, b) => (b.text.length > a.text.length ? b : a)).text;
  // Parentheses around single words change no word, sentence or person count.
  const bracketed = base.split(' ').map((w, i) => (i % 4 === 2 && /^[a-z]+$/.test(w) ? `(${w})` : w)).join(' ');
  const distance = (text: string, check = fitted) => check.measure(tokensOf(text), text).style_distance!;
  assert.ok(Math.abs(distance(bracketed) - distance(base)) < 1e-9, `${distance(bracketed)} vs ${distance(base)}`);
  const firstPerson = base.replace(/\bthe\b/g, 'I');
  assert.ok(distance(firstPerson) > distance(base) + 1, 'first person moves it');
  // All features, stored as an older file stores them (no `features`), give the same distance as naming them all.
  const every = fitApplicability(news, { quantile: 0.01, styleFeatures: STYLE_FEATURES });
  const { features: _absent, ...olderStyle } = every.style;
  const older = new Applicability({ ...every, style: olderStyle });
  assert.equal(distance(bracketed, older), distance(bracketed, new Applicability(every)));
  assert.ok(Math.abs(distance(bracketed, older) - distance(base, older)) > 1e-6, 'every feature: parentheses count');
  assert.throws(() => new Applicability({ ...state, style: { ...state.style, features: ['no_such_feature' as never] } }), /unknown style feature "no_such_feature"/);
});

test('the state travels in the model file; an older file without it gets only the stateless checks', () => {
  const detector = trainDetector(syntheticCorpus(16, 3), { ...SMALL_TRAIN_OPTIONS, extensions: defaultTrainingExtensions() });
  const state = detector.metadata.extensions.applicability as ApplicabilityState;
  assert.equal(state.version, 1);
  const loaded = deserializeDetector(serializeDetector(detector));
  assert.deepEqual(loaded.metadata.extensions.applicability, state);
  assert.deepEqual(assessText(loaded, reviews(1)[0]), assessText(detector, reviews(1)[0]));
  const { applicability: _dropped, ...olderExtensions } = detector.metadata.extensions;
  const older = deserializeDetector(serializeDetector(new Detector(detector.model, { ...detector.metadata, extensions: olderExtensions })));
  assert.deepEqual(assessText(older, reviews(1)[0]), []);
  assert.deepEqual(assessText(older, SHORT_ENGLISH), ['too_short']);
});

test('detect JSON and JSONL: reasons only when uncertain, probability always', () => {
  const detector = trainDetector(syntheticCorpus(40, 3), { ...SMALL_TRAIN_OPTIONS, extensions: [] });
  const short = detectText(detector, SHORT_ENGLISH);
  assert.equal(short.verdict, 'uncertain');
  assert.deepEqual(short.reasons, ['too_short']);
  assert.ok(short.machine_probability >= 0 && short.machine_probability <= 1);
  assert.match(formatDetection(short, 'a.txt', { text: SHORT_ENGLISH }), /^a\.txt: UNCERTAIN — text too short to judge \(11 words; needs ≥ \d+\) \(not judged; machine probability/);
  const shortSentences = detectText(loadDetector(), SHORT_ENGLISH, { sentences: true });
  assert.equal(shortSentences.verdict, 'uncertain');
  assert.match(formatDetection(shortSentences, 'a.txt'), /\n  machine passages: not marked in a text the detector cannot judge \(/);
  const long = detectText(detector, LONG_ENGLISH);
  assert.ok(long.verdict === 'human' || long.verdict === 'machine');
  assert.equal('reasons' in long, false);
  assert.match(formatDetection(long, 'b.txt'), /^b\.txt: (HUMAN|MACHINE)-WRITTEN/);

  const lines = [JSON.stringify({ id: 'a', text: SHORT_ENGLISH }), JSON.stringify({ id: 'b', text: LONG_ENGLISH }), JSON.stringify({ id: 'c', text: FRENCH })];
  const rows = lines.map((l, i): [string, number] => [l, i + 1]);
  const out = scoreRows(detector, rows, { file: 'x.jsonl', dataset: 'x', invalid: 'stop' }).output.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(Object.keys(out[1]), ['id', 'machine_probability', 'verdict'], 'judged lines keep their old shape');
  assert.equal(out[1].machine_probability, long.machine_probability);
  assert.deepEqual(out[0], { id: 'a', machine_probability: short.machine_probability, verdict: 'uncertain', reasons: ['too_short'] });
  assert.equal(out[2].verdict, 'uncertain');
  assert.ok(out[2].reasons.includes('not_english'));
});

test('eval rates: coverage, FPR counting only machine verdicts, reasons', () => {
  const r = verdictRates([
    { label: 0, verdict: 'human', reasons: [] },
    { label: 0, verdict: 'machine', reasons: [] },
    { label: 0, verdict: 'uncertain', reasons: ['too_short'] },
    { label: 0, verdict: 'uncertain', reasons: ['too_short', 'not_english'] },
    { label: 1, verdict: 'machine', reasons: [] },
    { label: 1, verdict: 'uncertain', reasons: ['unlike_training_data'] },
    { label: 1, verdict: 'uncertain', reasons: ['not_news'] },
  ]);
  assert.equal(r.n, 7);
  assert.equal(r.coverage, 3 / 7);
  assert.equal(r.uncertain, 4 / 7);
  assert.equal(r.fpr, 1 / 4);
  assert.equal(r.fpr_judged, 1 / 2);
  assert.equal(r.recall, 1 / 3);
  assert.deepEqual(r.reasons, { too_short: 2, not_english: 1, not_prose: 0, not_news: 1, unlike_training_data: 1, repeated_text: 0 });
  // Cautions on a "human" verdict are not reasons for uncertain.
  const cautioned = verdictRates([{ label: 0, verdict: 'human', reasons: ['not_news'] }]);
  assert.equal(cautioned.coverage, 1);
  assert.equal(cautioned.reasons.not_news, 0);
});

test('length curve: every bucket holds the same texts cut short', () => {
  assert.equal(truncateWords('  one two\nthree four ', 3), 'one two three');
  const docs: LabeledDocument[] = syntheticCorpus(20, 8);
  const detector = trainDetector(syntheticCorpus(40, 3), { ...SMALL_TRAIN_OPTIONS, extensions: [] });
  const rows = lengthCurve(detector, docs, [10, 40, 1000]);
  assert.deepEqual(rows.map((r) => r.words), [10, 40, 1000, null]);
  assert.equal(rows[0].n_human + rows[0].n_machine, docs.length);
  assert.equal(rows[2].n_human + rows[2].n_machine, 0, 'no text is 1000 words long');
  assert.equal(rows[3].n_human, 20);
  assert.ok(rows[3].auroc! >= rows[0].auroc!, 'whole texts rank at least as well as 10-word ones');
});

test('sentences: a document copydesk declines to judge gets p-values but never a machine passage', async () => {
  const { loadDetector } = await import('../src/model/model-file.js');
  const { analyzeSentences } = await import('../src/detect/sentences.js');
  const { assessDocument } = await import('../src/detect/applicability.js');
  const detector = loadDetector();
  const prepare = (text: string) => detector.featurizer.prepare(text, { sentences: true });
  const judged = prepare(LONG_ENGLISH);
  assert.deepEqual(assessDocument(detector, judged), [], 'precondition: the long fixture is judged');
  // At level 1 every p-value is ≤ the level, so a judged document always has a machine passage.
  assert.equal(analyzeSentences(detector, judged, 1).mixture.machine_passage, true);
  const short = prepare(SHORT_ENGLISH);
  const analysis = analyzeSentences(detector, short, 1);
  assert.equal(analysis.mixture.machine_passage, false);
  assert.ok(analysis.sentences.every((s) => !s.machine_passage));
  assert.ok(analysis.mixture.p_value >= 0 && analysis.mixture.p_value <= 1, 'the p-value is still reported');
  assert.equal(analyzeSentences(detector, judged, 1, ['not_news']).mixture.machine_passage, false, 'reasons given by the caller are used');
  const viaDetect = detectText(detector, SHORT_ENGLISH, { sentences: true, level: 1 });
  assert.equal(viaDetect.verdict, 'uncertain');
  assert.equal(viaDetect.machine_passage, false);
});

test('repeated_text: a text pasted two to six times over is counted, token for token; a copy cut short or edited, or a short refrain, is not', async () => {
  const { wholeTextCopies } = await import('../src/text/repetition.js');
  const { tokenize } = await import('../src/text/tokenize.js');
  const copies = (text: string) => wholeTextCopies(tokenize(text));
  const a = 'The council met on Tuesday. It voted 7-2 to delay the plan, officials said.';
  assert.equal(copies(a), 1);
  assert.equal(copies(`${a}\n\n${a}`), 2);
  assert.equal(copies([a, a, a].join(' ')), 3);
  assert.equal(copies(Array(6).fill(a).join('\n')), 6);
  assert.equal(copies(Array(7).fill(a).join('\n')), 1, 'more than six copies is beyond the rule (and unheard of)');
  assert.equal(copies(`${a} ${a.slice(0, 40)}`), 1, 'a copy cut short');
  assert.equal(copies(`${a} ${a.replace('7-2', '6-3')}`), 1, 'a copy edited');
  assert.equal(copies(`${a} ${a.replace('Tuesday.', 'Tuesday!')}`), 1, 'punctuation differs');
  assert.equal(copies('Yes! Yes!'), 1, 'blocks under five tokens are not a pasted text');
});

test('repeated_text: a human text pasted twice is declined when its score leans machine, cautioned when low, and the single copy is judged as before', () => {
  const detector = loadDetector();
  const once = detectText(detector, LONG_ENGLISH);
  assert.equal(once.reasons, undefined);
  assert.equal(once.cautions, undefined);
  const twice = detectText(detector, `${LONG_ENGLISH}\n\n${LONG_ENGLISH}`);
  const expected = twice.machine_probability >= Math.min(SOFT_REASON_FLOOR, detector.threshold) ? { reasons: ['repeated_text'] } : { cautions: ['repeated_text'] };
  assert.deepEqual(twice.reasons ?? twice.cautions, ['repeated_text']);
  assert.deepEqual('reasons' in twice ? { reasons: twice.reasons } : { cautions: twice.cautions }, expected);
  assert.notEqual(twice.verdict, 'machine');
  assert.match(formatDetection(twice, 't.txt'), /one passage repeated \(pasted twice\?\)/);
  // The library's assessText says what detection says.
  assert.deepEqual(assessText(detector, `${LONG_ENGLISH}\n\n${LONG_ENGLISH}`), ['repeated_text']);
  assert.deepEqual(assessText(detector, LONG_ENGLISH), []);
});
