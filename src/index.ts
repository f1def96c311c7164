/**
 * copydesk as a library. The `pipeline()` facade covers the common case;
 * the building blocks (corpus readers, normalisation, featurizer, model,
 * calibration, evaluation) are exported for everything else.
 *
 *   import { pipeline } from 'copydesk';
 *   const detect = pipeline();            // the shipped default model
 *   detect('Some article text…');         // { machine_probability, verdict, … }
 */
import { detectText, type DetectionResult, type ScoreOptions } from './detect/detect.js';
import { defaultTrainingExtensions } from './detect/sentence-training.js';
import { DEFAULT_MODEL_PATH, loadDetector } from './model/model-file.js';
import type { Detector } from './model/detector.js';
import type { LabeledDocument } from './corpus/types.js';
import { trainDetector as trainCore, type TrainOptions } from './model/train.js';

export interface Pipeline {
  (text: string, options?: ScoreOptions): DetectionResult;
  readonly detector: Detector;
}

/** Loads a model once (default: the shipped one) and returns a function that scores texts. */
export function pipeline(modelPath: string = DEFAULT_MODEL_PATH): Pipeline {
  // A number would be read as a file descriptor (0: stdin, waiting forever).
  if (typeof modelPath !== 'string') throw new TypeError(`pipeline(modelPath): the model path must be a string, got ${modelPath === null ? 'null' : typeof modelPath}`);
  const detector = loadDetector(modelPath);
  const run = (text: string, options: ScoreOptions = {}) => detectText(detector, text, options);
  return Object.assign(run, { detector });
}

export * from './corpus/index.js';
export { normalize } from './text/normalize.js';
export { tokenize } from './text/tokenize.js';
export { Featurizer, DEFAULT_FEATURIZER_CONFIG, type FeaturizerConfig, type SparseVector } from './features/featurizer.js';
export { Detector, type DetectorMetadata, type Evidence, type Prediction } from './model/detector.js';
/**
 * Trains a detector that can also score sentences and say `uncertain`: the core
 * trainer with the sentence and applicability extensions passed in (pass `extensions: []` for a document-only model).
 */
export function trainDetector(documents: LabeledDocument[], options: Partial<TrainOptions> = {}): Detector {
  return trainCore(documents, { extensions: defaultTrainingExtensions(), ...options });
}

export { fitScorer, DEFAULT_TRAIN_OPTIONS, type TrainOptions, type TrainingExtension } from './model/train.js';
export { createSentenceExtension, defaultTrainingExtensions, type SentenceExtensionOptions } from './detect/sentence-training.js';
export { fitBaseline } from './model/baseline.js';
export { loadDetector, saveDetector, serializeDetector, deserializeDetector, DEFAULT_MODEL_PATH, MODEL_FORMAT_VERSION } from './model/model-file.js';
export { detectText } from './detect/detect.js';
export { resultJson, rowJson, type DetectionResult, type ScoreOptions } from './detect/result.js';
export { InlineScorer, ScoringPool, type Scorer } from './detect/pool.js';
export { detectJsonlStream } from './detect/jsonl.js';
export { calibrateToArchive, readArchive, archiveCalibrationOf, type ArchiveCalibration } from './detect/recalibrate.js';
export { judge, assessText, decideVerdict, fitApplicability, REASONS, MIN_WORDS, type Verdict, type Reason, type Judgement, type ApplicabilityState } from './detect/applicability.js';
export { evaluateApplicability, lengthCurve, verdictRates, type DomainRow, type LengthCurveRow, type VerdictRates } from './evaluate/applicability.js';
export { evaluateScored, scoreDocuments, formatEvaluation, type EvaluationReport } from './evaluate/evaluate.js';
export { generalisationReport, type GeneralisationReport } from './evaluate/generalisation.js';
export * from './model/metrics.js';
export { UserError } from './util/errors.js';
export { COPYDESK_VERSION } from './version.js';
