import type { Detector } from '../model/detector.js';
import { round6 } from '../util/numeric.js';
import type { DetectionResult, ScoreOptions } from './result.js';
import { analyzeSentences } from './sentences.js';

export type { DetectionResult, ScoreOptions, Verdict } from './result.js';

/**
 * Scores one document. The text is prepared once (normalised, tokenised,
 * n-grams hashed: features/document.ts) and that one PreparedDocument gives
 * the document score, the sentence windows and the evidence.
 */
export function detectText(detector: Detector, text: string, options: ScoreOptions = {}, id?: string): DetectionResult {
  const document = detector.featurizer.prepare(text, { sentences: options.sentences });
  const prediction = detector.verdictFor(detector.probabilityFromScore(detector.score(document)));
  const result: DetectionResult = {
    ...(id === undefined ? {} : { id }),
    machine_probability: round6(prediction.machine_probability),
    verdict: prediction.verdict,
    threshold: round6(detector.threshold),
    model_version: detector.version,
  };
  if (options.sentences) {
    const analysis = analyzeSentences(detector, document, options.level);
    result.mixture_p_value = analysis.mixture.p_value;
    result.machine_passage = analysis.mixture.machine_passage;
    result.mixture = analysis.mixture;
    result.sentences = analysis.sentences;
  }
  if (options.evidence) result.evidence = detector.explain(document).map((e) => ({ ...e, weight: round6(e.weight) }));
  return result;
}
