import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { readDocuments, resolveInputs, STDIN_PATH, type LabeledDocument, type Origin } from '../corpus/index.js';
import { displayName } from '../corpus/read.js';
import { clopperPearsonUpper, maxEventsWithin, trialsNeeded } from '../model/binomial.js';
import { nextUp } from '../model/metrics.js';
import { Detector } from '../model/detector.js';
import { normalize } from '../text/normalize.js';
import { UserError } from '../util/errors.js';
import { MIXTURE_TESTS, sentenceCountGroup, SENTENCE_COUNT_GROUPS } from './mixture.js';
import { detectText } from './detect.js';
import { DEFAULT_LEVEL, SENTENCE_EXTENSION, sentenceCalibrationProblem, type SentenceCalibration } from './sentences.js';
import { docNull } from './sentence-training.js';

/**
 * Calibrating a trained model to a newsroom's own writers (`copydesk
 * calibrate`): the default threshold and the sentence-level mixture nulls are
 * refitted on an archive of the newsroom's human text, and the new model file
 * records how (metadata.extensions.archive_calibration).
 *
 * Decisions:
 * - The threshold is chosen with an upper confidence bound, not the archive's
 *   own false-positive rate: a threshold set in-sample on n documents is
 *   optimistic. The new threshold is the smallest probability ≥ 0.5 at which
 *   the one-sided 95% Clopper–Pearson bound on the FPR, from the archive
 *   documents it flags, is ≤ the target. With 0 flags that needs
 *   ⌈ln 0.05 / ln(1 − target)⌉ documents: 299 for 1%, 598 for 0.5%; larger
 *   archives may keep a few flags (k ≤ 4 of 1,000 for 1%). Choosing the
 *   threshold on the same documents does not void the bound: the threshold
 *   sits just above the (k+1)-th largest archive probability, and the
 *   probability mass above that order statistic is Beta(k+1, n−k)
 *   distributed whatever the score distribution (Wilks' tolerance bound), so
 *   P(FPR on further text by the same writers > target) = P(Bin(n, target) ≤ k)
 *   ≤ 5% — provided the archive is a fair sample of what will be checked.
 * - An archive too small to certify the target never loosens the model: the
 *   threshold becomes the larger of the previous one and the one that flags
 *   no archive document, and the file records that it is not certified.
 * - The threshold never drops below 0.5: under the model's equal-prior
 *   calibration a probability below 0.5 says "more likely human", and a
 *   calibration must not turn the model into one that calls such text
 *   machine-written. There is no override.
 * - Duplicates (same text after normalisation, case and whitespace) are
 *   counted once: a bound over n documents assumes n independent ones.
 * - Machine-labelled rows are an error (file:line), not skipped: the archive's
 *   identity is what the file records, and a silently shrunken archive would
 *   misstate it. Unlabeled and human-labelled rows are both taken as human.
 * - A document counts as flagged only when the verdict (detectText, the path
 *   every interface takes) is 'machine'. A document the model declines to
 *   judge ('uncertain'), or judges "human" with cautions, is never flagged at
 *   any threshold (model/applicability.ts declines), so it cannot vouch for
 *   one: the threshold is chosen and certified among the judged documents
 *   alone (n = judged), which bounds the FPR among judged text and so among
 *   all of it. Counting declined documents in n let 300 non-English texts
 *   certify 1% and lower the threshold to 0.5 with no judged text at all.
 *   The achieved FPR is then measured through the calibrated detector's
 *   verdicts over every archive document.
 * - Sentence-level nulls: the archive's human documents become one more
 *   per-source null ("calibrate:archive") beside the training nulls, so
 *   mixture_p_value — the largest p over the nulls — keeps its level on the
 *   newsroom's writers. Their statistics come from the stored window model
 *   and p-value tables exactly as `detect --sentences` computes them: the
 *   model never saw the archive, so they are held-out statistics, as the
 *   training code's nulls are. Adding a null can only raise p-values, so the
 *   level elsewhere is unchanged. The per-sentence p-value tables are kept:
 *   refitting them would invalidate every other null.
 * - Calibrating an already calibrated model replaces its calibration (the
 *   threshold is refitted from this archive; the archive null is replaced);
 *   to cover several desks, pass all their archives in one run.
 */
export const ARCHIVE_CALIBRATION = 'archive_calibration';
export const ARCHIVE_NULL_KEY = 'calibrate:archive';
export const CALIBRATION_CONFIDENCE = 0.95;
export const THRESHOLD_FLOOR = 0.5;
/** Below this many archive documents a mixture null is coarse (the training nulls need 150 per source); warned about, still added. */
const SMALL_NULL = 150;

export interface ArchiveFile {
  path: string;
  sha256: string;
  bytes: number;
  documents: number;
}

export interface CalibrationWarning {
  code: 'archive_too_small' | 'not_certified' | 'machine_looking' | 'duplicates' | 'declined' | 'small_mixture_null' | 'no_sentence_calibration';
  message: string;
}

/** What a calibrated model file records under metadata.extensions.archive_calibration. */
export interface ArchiveCalibration {
  version: 1;
  calibrated_at: string;
  files: ArchiveFile[];
  /** Documents read, and those left after removing duplicates. */
  n_read: number;
  n_documents: number;
  /** Documents the model judged (no reason or caution): what the threshold is chosen, and the rates below counted, on. */
  n_judged: number;
  duplicates_removed: number;
  target_fpr: number;
  confidence: number;
  /** Archive size that certifies the target with no flagged document. */
  documents_needed: number;
  /** Threshold of the trained model before any calibration. */
  original_threshold: number;
  /** Threshold of the model this calibration started from. */
  previous_threshold: number;
  threshold: number;
  threshold_rule: string;
  /** True when the bound at the new threshold is ≤ the target. */
  certified: boolean;
  /** On the archive's judged documents (n_judged): those called machine, FPR and its one-sided upper bound, at the previous and the new threshold. */
  before: ArchiveRate;
  after: ArchiveRate;
  /** The mixture null added for the archive, or null when none could be. */
  mixture_null: { key: string; documents: number; level: number; flagged_before: number } | null;
  warnings: CalibrationWarning[];
}

export interface ArchiveRate {
  threshold: number;
  flagged: number;
  fpr: number;
  fpr_upper_bound: number;
}

export interface Archive {
  documents: LabeledDocument[];
  files: ArchiveFile[];
}

export interface ReadArchiveOptions {
  skipInvalid?: boolean;
  onSkip?: (reason: string, origin: Origin) => void;
}

/** Reads an archive of human text with the corpus readers (any format, labels optional) and checksums its files. */
export async function readArchive(inputs: string[], options: ReadArchiveOptions = {}): Promise<Archive> {
  if (inputs.includes(STDIN_PATH)) {
    throw new UserError('calibrate records a checksum of every archive file, so it cannot read stdin; save the archive to a file first');
  }
  const files = await resolveInputs(inputs);
  const documents: LabeledDocument[] = [];
  for await (const document of readDocuments(files, options)) {
    if (document.label === 'machine') {
      throw new UserError(
        `${document.origin.file}:${document.origin.line}: this row is labelled machine; calibrate --human takes human-written text only (remove machine rows, or pass only the human files)`,
      );
    }
    documents.push(document);
  }
  if (documents.length === 0) throw new UserError(`no documents in ${inputs.join(', ')}`);
  const perFile = new Map<string, number>();
  for (const d of documents) perFile.set(d.origin.file, (perFile.get(d.origin.file) ?? 0) + 1);
  const described: ArchiveFile[] = [];
  for (const file of files) {
    const { sha256, bytes } = await checksum(file);
    described.push({ path: path.resolve(file), sha256, bytes, documents: perFile.get(displayName(file)) ?? 0 });
  }
  return { documents, files: described };
}

async function checksum(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

export interface CalibrateOptions {
  targetFpr: number;
  /** Files the documents came from (recorded); see readArchive. */
  files: ArchiveFile[];
  onProgress?: (done: number, total: number) => void;
}

/** Refits the threshold and adds the archive's mixture null; returns a new detector (the input is not changed) and the record it carries. */
export function calibrateToArchive(
  detector: Detector,
  documents: LabeledDocument[],
  options: CalibrateOptions,
): { detector: Detector; calibration: ArchiveCalibration } {
  const { targetFpr } = options;
  if (!(targetFpr > 0 && targetFpr < 1)) throw new UserError(`the target false-positive rate must be between 0 and 1, got ${targetFpr}`);
  if (documents.length === 0) throw new UserError('calibration needs at least one human document');
  const warnings: CalibrationWarning[] = [];
  const unique = dedupe(documents);
  const duplicates = documents.length - unique.length;
  if (duplicates > 0) {
    warnings.push({ code: 'duplicates', message: `${duplicates} duplicate documents (same text after normalisation) were counted once; ${unique.length} remain` });
  }

  const sentences = sentenceCalibrationOf(detector);
  /** Raw probabilities (the result's are rounded to 6 decimals) of the documents the model judges. */
  const probabilities: number[] = [];
  const statsByGroup = SENTENCE_COUNT_GROUPS.map(() => MIXTURE_TESTS.map(() => [] as number[]));
  let nullDocuments = 0;
  let mixtureFlaggedBefore = 0; // archive documents the input model's nulls put at p ≤ DEFAULT_LEVEL
  let flaggedBefore = 0;
  /** Documents never flagged at any threshold (uncertain, or human with cautions), by reason code. */
  let declined = 0;
  const declinedFor = new Map<string, number>();
  unique.forEach((d, i) => {
    if (i % 200 === 0) options.onProgress?.(i, unique.length);
    // detectText is the verdict path of every interface; with sentences it also gives the mixture statistics detect --sentences reports.
    const result = detectText(detector, d.text, { sentences: sentences !== undefined });
    if (result.verdict === 'machine') flaggedBefore++;
    // A document with reasons (uncertain, or human with cautions: model/applicability.ts declines) is never flagged, whatever the threshold.
    const unjudged = result.reasons ?? result.cautions;
    if (unjudged === undefined) probabilities.push(detector.predictProba(d.text));
    else {
      declined++;
      for (const reason of unjudged) declinedFor.set(reason, (declinedFor.get(reason) ?? 0) + 1);
    }
    if (!result.mixture || !result.sentences || result.sentences.length === 0) return;
    const g = sentenceCountGroup(result.sentences.length);
    MIXTURE_TESTS.forEach((test, t) => statsByGroup[g][t].push(result.mixture!.statistics[test]));
    nullDocuments++;
    if (result.mixture.p_value <= DEFAULT_LEVEL) mixtureFlaggedBefore++;
  });
  options.onProgress?.(unique.length, unique.length);

  const previous = detector.threshold;
  const prior = archiveCalibrationOf(detector);
  const original = prior ? prior.original_threshold : previous;
  const n = unique.length;
  const needed = trialsNeeded(targetFpr, CALIBRATION_CONFIDENCE);
  // Certified on the judged documents alone: a declined one is never flagged, so it cannot vouch for a threshold.
  const { threshold, allowed } = chooseArchiveThreshold(probabilities, previous, targetFpr);
  if (allowed < 0) {
    const judged = probabilities.length < n ? `${probabilities.length} judged documents (of ${n})` : `${n} documents`;
    warnings.push({
      code: 'archive_too_small',
      message: `${judged} cannot certify a false-positive rate of ${targetFpr} at ${CALIBRATION_CONFIDENCE * 100}% confidence (that needs at least ${needed} with none flagged); the threshold was not lowered (${formatThreshold(previous)} → ${formatThreshold(threshold)}) and the calibration is not certified`,
    });
  }

  if (declined > 0) {
    // They count in n as not flagged, so they help certify a threshold chosen from the others alone: say how many, and why.
    const why = [...declinedFor].sort((a, b) => b[1] - a[1]).map(([reason, count]) => `${count} ${reason}`).join(', ');
    const moved = threshold < previous ? `; the threshold was lowered (${formatThreshold(previous)} → ${formatThreshold(threshold)})` : '';
    warnings.push({
      code: 'declined',
      message: `the model declined to judge ${declined} of ${n} archive documents (${why}): they are never flagged, but the threshold is chosen and certified on the other ${probabilities.length} alone${moved}`,
    });
  }

  // Most of the judged documents, not of all: declined ones would otherwise dilute it away.
  const machineLooking = probabilities.filter((p) => p >= THRESHOLD_FLOOR).length;
  if (machineLooking * 2 > probabilities.length) {
    warnings.push({
      code: 'machine_looking',
      message: `the model calls ${machineLooking} of ${probabilities.length} archive documents it judged more likely machine than human (probability ≥ 0.5): check that the archive is human-written, and expect little recall from this model on such text`,
    });
  }

  const metadata = { ...detector.metadata, threshold, extensions: { ...detector.metadata.extensions } };
  let mixtureNull: ArchiveCalibration['mixture_null'] = null;
  if (sentences && nullDocuments > 0) {
    const nulls = { ...(sentences.doc_null_by_dataset ?? {}), [ARCHIVE_NULL_KEY]: docNull(statsByGroup) };
    metadata.extensions[SENTENCE_EXTENSION] = { ...sentences, doc_null_by_dataset: nulls };
    mixtureNull = { key: ARCHIVE_NULL_KEY, documents: nullDocuments, level: DEFAULT_LEVEL, flagged_before: mixtureFlaggedBefore };
    if (nullDocuments < SMALL_NULL) {
      warnings.push({
        code: 'small_mixture_null',
        message: `the sentence-level null comes from ${nullDocuments} archive documents (training nulls need ${SMALL_NULL}): mixture_p_value can be no smaller than ${(1 / (nullDocuments + 1)).toPrecision(2)}`,
      });
    }
  } else {
    warnings.push({
      code: 'no_sentence_calibration',
      message: sentences
        ? 'no archive document has a sentence to score; the sentence-level nulls were left as they were'
        : `only the threshold was calibrated: ${sentenceCalibrationProblem(detector)}`,
    });
  }
  const calibrated = new Detector(detector.model, metadata);
  // Flags are counted with each detector's own verdict path (detectText).
  // Rates over the judged documents, as the threshold was chosen (every flagged document is a judged one): declined
  // documents, never flagged, would otherwise certify (and show) a rate over all n that no judged text vouches for.
  const judged = probabilities.length;
  const rate = (judge: Detector, flagged: number): ArchiveRate => ({
    threshold: judge.threshold,
    flagged,
    fpr: judged > 0 ? flagged / judged : 0,
    fpr_upper_bound: clopperPearsonUpper(flagged, judged, CALIBRATION_CONFIDENCE),
  });
  const before = rate(detector, flaggedBefore);
  const after = rate(calibrated, unique.filter((d) => detectText(calibrated, d.text).verdict === 'machine').length);
  const certified = allowed >= 0 && after.fpr_upper_bound <= targetFpr;
  if (!certified && allowed >= 0) {
    warnings.push({
      code: 'not_certified',
      message: `even at threshold ${formatThreshold(threshold)} the ${CALIBRATION_CONFIDENCE * 100}% upper bound on the false-positive rate among the ${judged} judged documents is ${after.fpr_upper_bound.toFixed(4)} > ${targetFpr}`,
    });
  }
  const rule = certified
    ? `calibrated on ${n} human documents: smallest probability ≥ ${THRESHOLD_FLOOR} whose one-sided ${CALIBRATION_CONFIDENCE * 100}% Clopper–Pearson upper bound on the archive's false-positive rate is ≤ ${targetFpr}`
    : `calibrated on ${n} human documents, NOT certified for false-positive rate ≤ ${targetFpr} (see archive_calibration.warnings)`;
  metadata.threshold_rule = rule;
  const calibration: ArchiveCalibration = {
    version: 1,
    calibrated_at: new Date().toISOString(),
    files: options.files,
    n_read: documents.length,
    n_documents: n,
    n_judged: judged,
    duplicates_removed: duplicates,
    target_fpr: targetFpr,
    confidence: CALIBRATION_CONFIDENCE,
    documents_needed: needed,
    original_threshold: original,
    previous_threshold: previous,
    threshold,
    threshold_rule: rule,
    certified,
    before,
    after,
    mixture_null: mixtureNull,
    warnings,
  };
  metadata.extensions[ARCHIVE_CALIBRATION] = calibration;
  return { detector: calibrated, calibration };
}

/**
 * The threshold rule on the judged archive documents' probabilities: the smallest t ≥ 0.5
 * flagging at most `allowed` documents, the most whose 95% upper bound on the
 * FPR stays ≤ the target (t is just above the (allowed+1)-th largest
 * probability). `allowed` is −1 when the archive is too small for any; then
 * t = max(previous, just above the largest probability): nothing certified,
 * nothing loosened. Never above 1.
 */
export function chooseArchiveThreshold(probabilities: readonly number[], previous: number, targetFpr: number): { threshold: number; allowed: number } {
  const sorted = [...probabilities].sort((a, b) => b - a);
  const allowed = maxEventsWithin(sorted.length, targetFpr, CALIBRATION_CONFIDENCE);
  let threshold: number;
  if (allowed < 0) threshold = Math.max(THRESHOLD_FLOOR, previous, sorted.length > 0 ? nextUp(sorted[0]) : 0);
  else threshold = Math.max(THRESHOLD_FLOOR, allowed < sorted.length ? nextUp(sorted[allowed]) : 0);
  return { threshold: Math.min(threshold, 1), allowed };
}

/** The calibration a model file carries, if it was made by calibrate. */
export function archiveCalibrationOf(detector: Detector): ArchiveCalibration | undefined {
  const record = detector.metadata.extensions?.[ARCHIVE_CALIBRATION] as ArchiveCalibration | undefined;
  return record?.version === 1 ? record : undefined;
}

function sentenceCalibrationOf(detector: Detector): SentenceCalibration | undefined {
  const calibration = detector.metadata.extensions?.[SENTENCE_EXTENSION] as SentenceCalibration | undefined;
  return calibration?.version === 2 ? calibration : undefined;
}

/** First occurrence of each text, compared after normalisation, lower case and collapsed whitespace. */
function dedupe(documents: LabeledDocument[]): LabeledDocument[] {
  const seen = new Set<string>();
  return documents.filter((d) => {
    const key = createHash('sha256').update(normalize(d.text).toLowerCase().replace(/\s+/g, ' ').trim()).digest('hex');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The same model at the threshold it had before any calibration (for before/after comparisons). */
export function uncalibratedView(detector: Detector, calibration: ArchiveCalibration): Detector {
  return new Detector(detector.model, { ...detector.metadata, threshold: calibration.original_threshold }, detector.version);
}

/** Thresholds near 1 need more digits to be told apart. */
export function formatThreshold(t: number): string {
  return t < 0.9999 || t === 1 ? t.toFixed(4) : t.toFixed(8);
}
