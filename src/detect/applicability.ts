import type { Detector } from '../model/detector.js';
import { Applicability, decideVerdict, MIN_WORDS, tokensOf, type Reason, type Verdict } from '../model/applicability.js';
import type { Tokens } from '../text/tokenize.js';
import { wholeTextCopies } from '../text/repetition.js';
import type { PreparedDocument } from '../features/document.js';

/**
 * Knowing when not to judge. A verdict is only as good as the text is like
 * what the detector was measured on; for text that is too short, not
 * English, or unlike the training data, copydesk says `uncertain` and why,
 * and still reports `machine_probability`.
 */

export * from '../model/applicability.js';

/** Reasons not to judge `text` with `detector`. */
export function assessText(detector: Detector, text: string, tokens: Tokens = tokensOf(text)): Reason[] {
  return detectionReasons(detector, tokens, text);
}

/** Reasons not to judge a prepared document: reads its tokens and its style measurements (measured once, in prepare). */
export function assessDocument(detector: Detector, document: PreparedDocument): Reason[] {
  return detectionReasons(detector, document.tokens, document.text, document.style);
}

/** The model's applicability checks, then the ones made at detection only (training's checks and threshold rule do not see them, so the model is unchanged: they can only decline). */
function detectionReasons(detector: Detector, tokens: Tokens, text: string, style?: Float64Array): Reason[] {
  const reasons = Applicability.of(detector).assess(tokens, text, style);
  if (wholeTextCopies(tokens) > 1) reasons.push('repeated_text');
  return reasons;
}

export interface Judgement {
  machine_probability: number;
  verdict: Verdict;
  reasons: Reason[];
}

/** Probability, reasons and verdict of a text: the detection hot path (tokenises once for both). */
export function judge(detector: Detector, text: string): Judgement {
  const document = detector.featurizer.prepare(text);
  return judgeProbability(detector, detector.probability(document), assessDocument(detector, document));
}

/**
 * What JSON results spread in: `{ reasons }` for an uncertain verdict,
 * `{ cautions }` for a "human" verdict given despite soft reasons
 * (SOFT_REASONS), `{}` otherwise, so judged results keep their old shape.
 */
export function reasonsPart(judgement: Judgement): { reasons?: Reason[]; cautions?: Reason[] } {
  if (judgement.reasons.length === 0) return {};
  return judgement.verdict === 'uncertain' ? { reasons: judgement.reasons } : { cautions: judgement.reasons };
}

/** The verdict for an already computed probability (e.g. from the sentence pass). */
export function judgeProbability(detector: Detector, probability: number, reasons: Reason[]): Judgement {
  return { machine_probability: probability, verdict: decideVerdict(probability, detector.threshold, reasons), reasons };
}

/** The reasons in words, for people (the CLI); with the text, too_short says how many words it has. */
export function describeReasons(reasons: readonly Reason[], text?: string): string[] {
  return reasons.map((reason) => {
    if (reason === 'too_short') {
      const words = text === undefined ? null : new Applicability(null).measure(tokensOf(text), text).words;
      return `text too short to judge (${words === null ? '' : `${words} words; `}needs ≥ ${MIN_WORDS})`;
    }
    if (reason === 'not_english') return 'the text does not look like English, the only language the detector was trained on';
    if (reason === 'not_prose') return 'the text looks like markup, code or a table rather than running prose: score the prose without it';
    if (reason === 'not_news') return 'the text does not read like news (an abstract, a review, fiction …): the detector is built and calibrated for news';
    if (reason === 'repeated_text') return 'the text is one passage repeated (pasted twice?): each copy raises the score, so score a single copy';
    return 'the text is unlike anything the detector was trained on (its style or vocabulary lies outside the training data)';
  });
}

