import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// The library entry: it trains the sentence extension too (before and after the model layer stopped knowing about it).
import { trainDetector } from '../src/index.js';
import { deserializeDetector, loadDetector, saveDetector, serializeDetector } from '../src/model/model-file.js';
import {
  ARCHIVE_NULL_KEY,
  archiveCalibrationOf,
  calibrateToArchive,
  chooseArchiveThreshold,
  readArchive,
  THRESHOLD_FLOOR,
} from '../src/detect/recalibrate.js';
import { sentenceCalibration, SENTENCE_EXTENSION } from '../src/detect/sentences.js';
import { Detector } from '../src/model/detector.js';
import { compareThresholds } from '../src/evaluate/threshold-comparison.js';
import type { ScoredDocument } from '../src/evaluate/evaluate.js';
import { detectText } from '../src/detect/detect.js';
import { binomialCdf, clopperPearsonUpper, maxEventsWithin, trialsNeeded } from '../src/model/binomial.js';
import { UserError } from '../src/util/errors.js';
import { nextUp } from '../src/evaluate/metrics.js';
import type { LabeledDocument } from '../src/corpus/types.js';
import { syntheticCorpus, SMALL_TRAIN_OPTIONS } from './fixtures/core/synthetic.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'copydesk-calibrate-'));
const detector = trainDetector(syntheticCorpus(60, 1), SMALL_TRAIN_OPTIONS);
const modelFile = join(dir, 'small.cdm');
saveDetector(detector, modelFile);

/** Human stories the model never saw, without labels (as a newsroom archive usually is). */
function archiveDocuments(stories: number, seed: number): LabeledDocument[] {
  return syntheticCorpus(stories, seed)
    .filter((d) => d.label === 'human')
    .map((d) => ({ ...d, label: null, dataset: 'desk' }));
}

function jsonl(documents: LabeledDocument[]): string {
  return documents.map((d) => JSON.stringify({ id: d.id, text: d.text })).join('\n') + '\n';
}

function copydesk(args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('Clopper–Pearson bound: closed form at k = 0, the binomial tail at the bound, documents needed', () => {
  assert.ok(Math.abs(clopperPearsonUpper(0, 300) - (1 - 0.05 ** (1 / 300))) < 1e-9);
  assert.ok(Math.abs(binomialCdf(5, 100, clopperPearsonUpper(5, 100)) - 0.05) < 1e-6);
  // Direct sum for a small case.
  let direct = 0;
  for (let i = 0; i <= 2; i++) direct += [1, 20, 190][i] * 0.1 ** i * 0.9 ** (20 - i);
  assert.ok(Math.abs(binomialCdf(2, 20, 0.1) - direct) < 1e-12);
  assert.equal(trialsNeeded(0.01), 299);
  assert.equal(maxEventsWithin(298, 0.01), -1);
  assert.equal(maxEventsWithin(299, 0.01), 0);
  assert.equal(maxEventsWithin(1000, 0.01), 4);
  assert.ok(clopperPearsonUpper(4, 1000) <= 0.01 && clopperPearsonUpper(5, 1000) > 0.01);
  assert.equal(clopperPearsonUpper(3, 3), 1);
});

test('threshold rule: smallest threshold ≥ 0.5 whose upper bound meets the target; too small an archive never loosens', () => {
  // 1,000 probabilities spread over (0, 1): the rule may flag 4 (bound ≤ 1%), not 5.
  const probabilities = Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 1000) / 1000 + 0.0004);
  const { threshold, allowed } = chooseArchiveThreshold(probabilities, 0.97, 0.01);
  assert.equal(allowed, 4);
  const flaggedAt = (t: number) => probabilities.filter((p) => p >= t).length;
  assert.equal(flaggedAt(threshold), 4);
  assert.ok(clopperPearsonUpper(flaggedAt(threshold), 1000) <= 0.01);
  const nextLower = Math.max(...probabilities.filter((p) => p < threshold));
  assert.ok(clopperPearsonUpper(flaggedAt(nextLower), 1000) > 0.01, 'any lower threshold breaks the bound');
  // Human-looking archive: the floor holds.
  assert.equal(chooseArchiveThreshold(probabilities.map((p) => p * 0.4), 0.97, 0.01).threshold, THRESHOLD_FLOOR);
  // 100 documents cannot certify 1%: keep the previous threshold, or go above every archive score.
  assert.deepEqual(chooseArchiveThreshold(probabilities.slice(0, 100).map((p) => p * 0.5), 0.97, 0.01), { threshold: 0.97, allowed: -1 });
  // Only judged documents count: 250 of them cannot certify 1% (299 needed), however many were declined beside them.
  const judged = probabilities.slice(0, 250);
  assert.deepEqual(chooseArchiveThreshold(judged, 0.97, 0.01), { threshold: Math.max(0.97, nextUp(Math.max(...judged))), allowed: -1 });
  const high = chooseArchiveThreshold([0.2, 0.99], 0.9, 0.01);
  assert.ok(high.threshold > 0.99 && high.threshold <= 1);
});

test('calibrate on a human archive: bound met, flags counted by the verdict function, duplicates removed, null added', () => {
  const archive = archiveDocuments(150, 7);
  const duplicate = { ...archive[0], id: 'copy', text: `  ${archive[0].text.toUpperCase()}\n` };
  const { detector: calibrated, calibration } = calibrateToArchive(detector, [...archive, duplicate], { targetFpr: 0.05, files: [] });
  assert.equal(calibration.n_read, archive.length + 1);
  assert.equal(calibration.duplicates_removed, 1);
  assert.equal(calibration.n_documents, archive.length);
  assert.ok(calibration.warnings.some((w) => w.code === 'duplicates'));
  assert.equal(calibration.previous_threshold, detector.threshold);
  assert.equal(calibration.original_threshold, detector.threshold);
  assert.ok(calibration.certified);
  assert.ok(calibration.after.fpr_upper_bound <= 0.05);
  assert.ok(calibrated.threshold >= THRESHOLD_FLOOR && calibrated.threshold === calibration.threshold);
  const flagged = archive.filter((d) => calibrated.predict(d.text).verdict === 'machine').length;
  assert.equal(calibration.after.flagged, flagged);
  assert.match(calibrated.metadata.threshold_rule, /Clopper–Pearson/);
  assert.ok(!Number.isNaN(Date.parse(calibration.calibrated_at)));
  // The input detector is unchanged.
  assert.equal(detector.metadata.extensions.archive_calibration, undefined);
  assert.equal(sentenceCalibration(detector).doc_null_by_dataset[ARCHIVE_NULL_KEY], undefined);

  // Sentence level: the archive is one more null, so p-values only rise, and the level holds on the archive.
  const nulls = sentenceCalibration(calibrated).doc_null_by_dataset[ARCHIVE_NULL_KEY];
  assert.ok(nulls, 'archive null stored');
  assert.equal(calibration.mixture_null?.documents, archive.length);
  let rejected = 0;
  let rejectedBefore = 0;
  for (const d of archive) {
    const before = detectText(detector, d.text, { sentences: true }).mixture_p_value!;
    const after = detectText(calibrated, d.text, { sentences: true }).mixture_p_value!;
    assert.ok(after >= before);
    if (after <= 0.05) rejected++;
    if (before <= 0.05) rejectedBefore++;
  }
  assert.equal(calibration.mixture_null?.flagged_before, rejectedBefore);
  assert.ok(rejected / archive.length <= 0.05, `mixture test flags ${rejected} of ${archive.length} archive documents at level 0.05`);
});

test('an archive too small for the target is recorded as not certified, with a warning', () => {
  const { detector: calibrated, calibration } = calibrateToArchive(detector, archiveDocuments(40, 8), { targetFpr: 0.01, files: [] });
  assert.equal(calibration.certified, false);
  assert.equal(calibration.documents_needed, 299);
  assert.ok(calibration.warnings.some((w) => w.code === 'archive_too_small' && /299/.test(w.message)));
  assert.ok(calibration.warnings.some((w) => w.code === 'small_mixture_null'));
  assert.ok(calibrated.threshold >= detector.threshold, 'never loosened');
  assert.match(calibrated.metadata.threshold_rule, /NOT certified/);
});

test('a model with an older sentence calibration is told apart from one with none', () => {
  const older = new Detector(detector.model, { ...detector.metadata, extensions: { ...detector.metadata.extensions, [SENTENCE_EXTENSION]: { version: 1 } } });
  const none = new Detector(detector.model, { ...detector.metadata, extensions: {} });
  const warning = (d: Detector) => calibrateToArchive(d, archiveDocuments(20, 5), { targetFpr: 0.05, files: [] }).calibration.warnings.find((w) => w.code === 'no_sentence_calibration')?.message;
  assert.match(warning(older) ?? '', /only the threshold was calibrated: this model file has an older sentence calibration/);
  assert.match(warning(none) ?? '', /only the threshold was calibrated: this model file has no sentence calibration/);
  assert.throws(() => sentenceCalibration(older), /older sentence calibration/);
});

test('a machine-looking archive is warned about', () => {
  const machineText = syntheticCorpus(30, 9).filter((d) => d.label === 'machine').map((d) => ({ ...d, label: null }));
  const { calibration } = calibrateToArchive(detector, machineText, { targetFpr: 0.05, files: [] });
  assert.ok(calibration.warnings.some((w) => w.code === 'machine_looking'));
});

test('archive documents the model declines to judge are counted, with their reasons, and never certify a threshold', () => {
  // Too short to judge: never flagged, so counting them would certify 5% (and lower the threshold) without one judged document.
  const short = Array.from({ length: 60 }, (_, i): LabeledDocument => ({ id: `s${i}`, text: `Brief note number ${i} from the desk.`, label: null, dataset: 'desk' }));
  assert.ok(short.every((d) => detectText(detector, d.text).verdict === 'uncertain'));
  const { calibration } = calibrateToArchive(detector, short, { targetFpr: 0.05, files: [] });
  const warning = calibration.warnings.find((w) => w.code === 'declined');
  assert.ok(warning, JSON.stringify(calibration.warnings));
  assert.match(warning.message, /declined to judge 60 of 60 archive documents \(60 too_short/);
  assert.match(warning.message, /certified on the other 0 alone/);
  assert.ok(calibration.threshold >= detector.threshold, `not lowered: ${calibration.threshold} vs ${detector.threshold}`);
  assert.match(calibration.warnings.find((w) => w.code === 'archive_too_small')!.message, /^0 judged documents \(of 60\) cannot certify/);
  // An archive the model judges throughout has no such warning.
  const judged = archiveDocuments(30, 4).filter((d) => { const r = detectText(detector, d.text); return r.reasons === undefined && r.cautions === undefined; });
  assert.ok(!calibrateToArchive(detector, judged, { targetFpr: 0.05, files: [] }).calibration.warnings.some((w) => w.code === 'declined'));
});

test('declined archive documents never make a calibration certified, nor hide a machine-looking judged archive', () => {
  // 60 too-short notes: 0 flagged of 60 would meet 5% over all documents, but none was judged, so nothing is certified.
  const short = Array.from({ length: 60 }, (_, i): LabeledDocument => ({ id: `s${i}`, text: `Brief note number ${i} from the desk.`, label: null, dataset: 'desk' }));
  const { calibration } = calibrateToArchive(detector, short, { targetFpr: 0.05, files: [] });
  assert.ok(calibration.warnings.some((w) => w.code === 'archive_too_small'));
  assert.equal(calibration.certified, false);
  assert.match(calibration.threshold_rule, /NOT certified/);
  // Every judged document looks machine-written; 40 declined notes beside them must not hide that.
  const machineText = syntheticCorpus(30, 9).filter((d) => d.label === 'machine').map((d) => ({ ...d, label: null }));
  const mixed = calibrateToArchive(detector, [...machineText, ...short.slice(0, 40)], { targetFpr: 0.05, files: [] }).calibration;
  assert.equal(mixed.certified, false);
  assert.ok(mixed.warnings.some((w) => w.code === 'machine_looking'), JSON.stringify(mixed.warnings));
});

test('eval\'s before/after table counts a flag only where the verdict is "machine": uncertain text at a high score is not a false positive', () => {
  const at = (threshold: number) => new Detector(detector.model, { ...detector.metadata, threshold });
  const doc = (id: string, label: 'human' | 'machine'): LabeledDocument => ({ id, text: 'x', label, dataset: 'desk', source: null, domain: 'news', generator: null, pair_id: null, prompt: null, extra: {}, origin: { file: 'desk', line: 1 } });
  const scored: ScoredDocument[] = [
    // Too short to judge, scored 0.9: uncertain at either threshold, so never flagged.
    { document: doc('short', 'human'), probability: 0.9, verdict: 'uncertain', reasons: ['too_short'] },
    { document: doc('plain', 'human'), probability: 0.7, verdict: 'machine', reasons: [] },
    { document: doc('caught', 'machine'), probability: 0.95, verdict: 'machine', reasons: [] },
    { document: doc('unsure', 'machine'), probability: 0.97, verdict: 'uncertain', reasons: ['not_english'] },
  ];
  const [all] = compareThresholds(scored, { label: 'original', detector: at(0.5) }, { label: 'calibrated', detector: at(0.8) }).rows;
  assert.deepEqual([all.fp_before, all.fp_after], [1, 0]);
  assert.deepEqual([all.tpr_before, all.tpr_after], [0.5, 0.5]);
});

test('readArchive checksums its files and refuses machine-labelled rows by file and line', async () => {
  const file = join(dir, 'archive.jsonl');
  writeFileSync(file, jsonl(archiveDocuments(10, 3)));
  const archive = await readArchive([file]);
  assert.equal(archive.documents.length, 10);
  assert.equal(archive.files.length, 1);
  assert.equal(archive.files[0].sha256, createHash('sha256').update(readFileSync(file)).digest('hex'));
  assert.equal(archive.files[0].documents, 10);

  const mixed = join(dir, 'mixed.jsonl');
  writeFileSync(mixed, `${JSON.stringify({ id: 'a', text: 'A reporter wrote this.', label: 'human' })}\n${JSON.stringify({ id: 'b', text: 'A model wrote this.', label: 'machine' })}\n`);
  await assert.rejects(readArchive([mixed]), (error: Error) => error instanceof UserError && /mixed\.jsonl:2: .*labelled machine/.test(error.message));
  await assert.rejects(readArchive(['-']), UserError);
});

test('the calibration round-trips through the model file', () => {
  const { detector: calibrated, calibration } = calibrateToArchive(detector, archiveDocuments(80, 5), { targetFpr: 0.05, files: [] });
  const loaded = deserializeDetector(serializeDetector(calibrated));
  assert.equal(loaded.threshold, calibrated.threshold);
  assert.deepEqual(archiveCalibrationOf(loaded), JSON.parse(JSON.stringify(calibration)));
  const stored = sentenceCalibration(calibrated).doc_null_by_dataset[ARCHIVE_NULL_KEY];
  assert.deepEqual(sentenceCalibration(loaded).doc_null_by_dataset[ARCHIVE_NULL_KEY], JSON.parse(JSON.stringify(stored)));
  // Calibrating again replaces the calibration and keeps the original threshold on record.
  const again = calibrateToArchive(loaded, archiveDocuments(80, 6), { targetFpr: 0.05, files: [] });
  assert.equal(again.calibration.original_threshold, detector.threshold);
  assert.equal(again.calibration.previous_threshold, loaded.threshold);
});

test('CLI: calibrate writes a calibrated model, refuses to overwrite an input, and eval shows FPR before and after', () => {
  const archiveFile = join(dir, 'desk.jsonl');
  writeFileSync(archiveFile, jsonl(archiveDocuments(100, 11)));
  const out = join(dir, 'desk.cdm');
  const run = copydesk(['calibrate', '--human', archiveFile, '--model', modelFile, '--out', out, '--target-fpr', '0.05', '--quiet']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /archive: \d+ human documents from 1 file/);
  assert.match(run.stdout, /certified/);
  assert.match(run.stdout, /calibrated threshold/);
  const record = archiveCalibrationOf(loadDetector(out));
  assert.ok(record);
  assert.equal(record.files[0].sha256, createHash('sha256').update(readFileSync(archiveFile)).digest('hex'));
  assert.equal(record.target_fpr, 0.05);

  const before = readFileSync(archiveFile, 'utf8');
  const clobber = copydesk(['calibrate', '--human', archiveFile, '--model', modelFile, '--out', archiveFile, '--quiet']);
  assert.equal(clobber.code, 2);
  assert.match(clobber.stderr, /refusing to write .*desk\.jsonl/);
  assert.equal(readFileSync(archiveFile, 'utf8'), before, 'input intact');
  const sameModel = copydesk(['calibrate', '--human', archiveFile, '--model', modelFile, '--out', modelFile, '--quiet']);
  assert.equal(sameModel.code, 2);
  assert.match(sameModel.stderr, /refusing to write .*small\.cdm/);

  const small = copydesk(['calibrate', '--human', archiveFile, '--model', modelFile, '--out', join(dir, 'strict.cdm'), '--quiet']);
  assert.equal(small.code, 0, small.stderr);
  assert.match(small.stderr, /WARNING \(archive_too_small\)/);
  assert.match(small.stdout, /NOT certified/);

  const labeled = join(dir, 'labeled.jsonl');
  writeFileSync(labeled, syntheticCorpus(20, 12).map((d) => JSON.stringify({ id: d.id, text: d.text, label: d.label })).join('\n') + '\n');
  const evaluated = copydesk(['eval', '--data', labeled, '--model', out, '--quiet']);
  assert.equal(evaluated.code, 0, evaluated.stderr);
  assert.match(evaluated.stdout, /false positives before and after calibrate/);
  assert.match(evaluated.stdout, /FPR original +FPR calibrated/);
  const json = JSON.parse(copydesk(['eval', '--data', labeled, '--model', out, '--json', '--quiet']).stdout);
  assert.equal(json.threshold_comparison.before.threshold, detector.threshold);
  assert.equal(json.threshold_comparison.after.threshold, record.threshold);
  assert.equal(json.threshold_comparison.rows[0].n_human, 20);
  // A model that was never calibrated prints no comparison.
  assert.doesNotMatch(copydesk(['eval', '--data', labeled, '--model', modelFile, '--quiet']).stdout, /before and after calibrate/);
});

test('the record counts its rates over the judged documents, the n that certifies: a declined document changes neither', () => {
  const detector = loadDetector();
  const judgedOnly = archiveDocuments(400, 7).filter((d) => { const r = detectText(detector, d.text); return r.reasons === undefined && r.cautions === undefined; });
  const note = { ...judgedOnly[0], id: 'short-note', text: 'Briefly: the meeting moved to Friday.' };
  const plain = calibrateToArchive(detector, judgedOnly, { targetFpr: 0.05, files: [] }).calibration;
  const withNote = calibrateToArchive(detector, [...judgedOnly, note], { targetFpr: 0.05, files: [] }).calibration;
  assert.equal(withNote.n_documents, plain.n_documents + 1);
  assert.equal(withNote.n_judged, plain.n_judged);
  assert.equal(plain.n_judged, judgedOnly.length);
  assert.deepEqual(withNote.after, plain.after);
  assert.deepEqual(withNote.before, plain.before);
  assert.equal(withNote.certified, plain.certified);
  assert.equal(withNote.after.fpr, withNote.after.flagged / withNote.n_judged);
});
