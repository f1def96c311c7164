import { Featurizer, type FeaturizerState, type SparseVector } from '../features/featurizer.js';
import { STYLE_DESCRIPTIONS, type StyleFeature } from '../features/stylometry.js';
import type { Label } from '../corpus/types.js';
import type { BreakdownRow } from '../evaluate/breakdown.js';
import type { EvaluationSummary } from '../evaluate/metrics.js';
import { calibrate, type PlattCalibration } from './calibration.js';
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

  /** Uncalibrated log-odds score of a text. */
  score(text: string): number {
    return this.model.bias + this.featurizer.dot(text, this.model.weights);
  }

  /** Calibrated P(machine) from an uncalibrated score. */
  probabilityFromScore(score: number): number {
    return calibrate(this.metadata.calibration, score);
  }

  /** Calibrated probability that the text was machine-written (equal priors). */
  predictProba(text: string): number {
    return this.probabilityFromScore(this.score(text));
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
  explain(text: string, supporting = 4, opposing = 2): Evidence[] {
    const vector = this.featurizer.transform(text);
    const slope = this.metadata.calibration.a;
    const contributions = Array.from(vector.indices, (index, i) => ({ index, value: vector.values[i], weight: this.model.weights[index] * vector.values[i] * slope }))
      .filter((c) => Math.abs(c.weight) > 1e-6)
      .sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight));
    const towardsMachine = this.verdictFor(this.probabilityFromScore(this.scoreVector(vector))).verdict === 'machine';
    const agrees = (weight: number) => weight > 0 === towardsMachine;
    // Name a generous shortlist only: shape-only patterns are dropped after naming.
    const shortlist = [
      ...contributions.filter((c) => agrees(c.weight)).slice(0, supporting * 5),
      ...contributions.filter((c) => !agrees(c.weight)).slice(0, opposing * 5),
    ];
    const names = this.featurizer.nameFeatures(text, new Set(shortlist.map((c) => c.index)));
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
