import type { PreparedDocument } from '../features/document.js';
import { Featurizer, type FeaturizerState, type SparseVector } from '../features/featurizer.js';
import { STYLE_DESCRIPTIONS, type StyleFeature } from '../features/stylometry.js';
import type { Label } from '../corpus/types.js';
import type { BreakdownRow, VerdictRow } from './breakdown.js';
import type { EvaluationSummary } from './metrics.js';
import { calibrate, calibrationSlope, type PlattCalibration } from './calibration.js';
import { decisionFunction, type LogisticModel } from './logistic.js';

/** Everything about a trained detector except its weights; stored in the model file's header. */
export interface DetectorMetadata {
  format_version: number;
  copydesk_version: string;
  created_at: string;
  featurizer: FeaturizerState;
  calibration: PlattCalibration;
  /** Default decision threshold on P(machine): flag when probability ≥ threshold. */
  threshold: number;
  /** How the threshold was chosen. */
  threshold_rule: string;
  training: TrainingSummary;
  /** Out-of-fold evaluation made while training (documents never seen by the model that scored them). */
  evaluation: TrainingEvaluation;
  /** Further calibrated components (sentence-level tables, …) keyed by name. */
  extensions: Record<string, unknown>;
  /**
   * Problems found while training (a degenerate calibration, a threshold that
   * misses the target false-positive rate), shown by `train`, `eval` and
   * `GET /v1/models`. Absent in model files written before it existed.
   */
  warnings?: string[];
}

export interface TrainingEvaluation {
  method: string;
  overall: EvaluationSummary;
  by_dataset: BreakdownRow[];
  /**
   * At the default threshold with the held-out applicability check applied,
   * per threshold group (dataset, or dataset:domain): what users see.
   * Absent in model files written before it existed.
   */
  verdicts?: VerdictRow[];
}

export interface TrainingSummary {
  n_documents: number;
  n_human: number;
  n_machine: number;
  datasets: Record<string, { human: number; machine: number }>;
  generators: Record<string, number>;
  options: Record<string, unknown>;
  seconds: number;
  /** Set when the model was trained on the training side of a story split (`eval-mixtures --save-model`). */
  split?: { by: 'story'; holdout: number; seed: number };
}

export interface Prediction {
  machine_probability: number;
  verdict: Label;
}

/** One reason for a verdict, in words a reader understands. */
export interface Evidence {
  /** Positive pushes towards "machine", negative towards "human" (log-odds contribution). */
  weight: number;
  kind: 'phrase' | 'pattern' | 'style';
  feature: string;
  description: string;
}

/**
 * A trained detector: featurizer → linear model → calibration → threshold.
 * Each step is its own small object; this class only composes them.
 */
export class Detector {
  readonly featurizer: Featurizer;

  /**
   * @param version identifies the exact weights: copydesk version plus the
   *   model file's checksum prefix when loaded from a file.
   */
  constructor(
    readonly model: LogisticModel,
    readonly metadata: DetectorMetadata,
    readonly version = `${metadata.copydesk_version}/unsaved`,
  ) {
    this.featurizer = new Featurizer(metadata.featurizer);
  }

  get threshold(): number {
    return this.metadata.threshold;
  }

  /** Uncalibrated log-odds score of a feature vector. */
  scoreVector(x: SparseVector): number {
    return decisionFunction(this.model, x);
  }

  /** Uncalibrated log-odds score of a text (or of a document prepared by this detector's featurizer). */
  score(input: string | PreparedDocument): number {
    return this.model.bias + this.featurizer.dot(input, this.model.weights);
  }

  /**
   * Calibrated P(machine) from an uncalibrated score and the text's length in
   * words (PreparedDocument.words; the calibration may depend on it).
   */
  probabilityFromScore(score: number, words: number): number {
    return calibrate(this.metadata.calibration, score, words);
  }

  /** Calibrated probability that the document was machine-written (equal priors). */
  probability(document: PreparedDocument): number {
    return this.probabilityFromScore(this.score(document), document.words);
  }

  /** Calibrated probability that the text was machine-written (equal priors). */
  predictProba(text: string): number {
    return this.probability(this.featurizer.prepare(text));
  }

  predict(text: string): Prediction {
    return this.verdictFor(this.predictProba(text));
  }

  verdictFor(probability: number): Prediction {
    return { machine_probability: probability, verdict: probability >= this.threshold ? 'machine' : 'human' };
  }

  /**
   * The features that moved this text's score most: first those that point
   * the way of the verdict, strongest first, then the strongest against it.
   */
  explain(input: string | PreparedDocument, supporting = 4, opposing = 2): Evidence[] {
    const document = typeof input === 'string' ? this.featurizer.prepare(input) : input;
    const vector = this.featurizer.transform(document);
    const slope = calibrationSlope(this.metadata.calibration, document.words);
    const towardsMachine = this.verdictFor(this.probabilityFromScore(this.scoreVector(vector), document.words)).verdict === 'machine';
    const agrees = (weight: number) => weight > 0 === towardsMachine;
    // Name a generous shortlist only: shape-only patterns are dropped after naming. The shortlist is
    // the strongest contributions each way, strongest first (ties in vector order), picked in one pass
    // rather than by sorting every feature (measured: the sort was a third of a request with evidence).
    const forVerdict = new Strongest(supporting * 5);
    const against = new Strongest(opposing * 5);
    for (let i = 0; i < vector.indices.length; i++) {
      const index = vector.indices[i];
      const value = vector.values[i];
      const weight = this.model.weights[index] * value * slope;
      if (!(Math.abs(weight) > 1e-6)) continue;
      (agrees(weight) ? forVerdict : against).offer({ index, value, weight });
    }
    const shortlist = [...forVerdict.items, ...against.items];
    const names = this.featurizer.nameFeatures(document, new Set(shortlist.map((c) => c.index)));
    const readable = shortlist.filter((c) => names.has(c.index) && !isShapeOnly(names.get(c.index)!.name));
    return [
      ...readable.filter((c) => agrees(c.weight)).slice(0, supporting),
      ...readable.filter((c) => !agrees(c.weight)).slice(0, opposing),
    ].map((c) => {
      const { family, name } = names.get(c.index)!;
      return describe(family, name, c.value, c.weight);
    });
  }
}

interface Contribution {
  index: number;
  value: number;
  weight: number;
}

/** The `size` contributions of largest |weight| offered, in that order; on a tie the one offered first comes first. */
class Strongest {
  readonly items: Contribution[] = [];
  constructor(private readonly size: number) {}

  offer(c: Contribution): void {
    const items = this.items;
    const strength = Math.abs(c.weight);
    if (this.size === 0 || (items.length === this.size && !(strength > Math.abs(items[items.length - 1].weight)))) return;
    let at = items.length;
    while (at > 0 && strength > Math.abs(items[at - 1].weight)) at--;
    items.splice(at, 0, c);
    if (items.length > this.size) items.pop();
  }
}

/** A pattern of word shapes alone ("·w ·w ·w") is real signal but says nothing a reader can check. */
function isShapeOnly(name: string): boolean {
  return /^(?:·[wCN](?: |$))+$/.test(name);
}

function describe(family: string, name: string, value: number, weight: number): Evidence {
  const towards = weight > 0 ? 'machine' : 'human';
  if (family === 'style') {
    const what = STYLE_DESCRIPTIONS[name as StyleFeature] ?? name;
    const level = value > 0 ? 'higher' : 'lower';
    return {
      weight,
      kind: 'style',
      feature: name,
      description: `${what} is ${level} than typical (${Math.abs(value).toFixed(1)} standard deviations), which points to ${towards}`,
    };
  }
  const kind = family.startsWith('pattern') ? 'pattern' : 'phrase';
  const shown = kind === 'pattern' ? name.replace(/·w/g, 'word').replace(/·C/g, 'Name').replace(/·N/g, '123') : name;
  return {
    weight,
    kind,
    feature: name,
    description:
      kind === 'phrase' && PUNCTUATION_NAMES[shown]
        ? `${PUNCTUATION_NAMES[shown]} are more typical of ${towards} writing`
        : kind === 'phrase'
          ? `the wording "${shown}" is more typical of ${towards} writing`
          : `the sentence pattern "${shown}" is more typical of ${towards} writing`,
  };
}

/** A lone punctuation mark reads better by name than in quotes. */
const PUNCTUATION_NAMES: Record<string, string> = {
  '"': 'quotation marks',
  "'": 'apostrophes and single quotes',
  ',': 'commas',
  '-': 'dashes',
  ':': 'colons',
  ';': 'semicolons',
  '(': 'parentheses',
  ')': 'parentheses',
  '?': 'question marks',
  '!': 'exclamation marks',
  '.': 'full stops',
};
