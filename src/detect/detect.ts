import type { Evidence, Detector } from '../model/detector.js';
import type { Label } from '../corpus/types.js';

/** What copydesk says about one document, in every interface (CLI JSON, JSONL, HTTP). */
export interface DetectionResult {
  id?: string;
  machine_probability: number;
  verdict: Label;
  threshold: number;
  model_version: string;
  evidence?: Evidence[];
}

export interface DetectOptions {
  /** Include the strongest reasons (slower: names every feature). */
  evidence?: boolean;
}

export function detectText(detector: Detector, text: string, options: DetectOptions = {}, id?: string): DetectionResult {
  const prediction = detector.predict(text);
  const result: DetectionResult = {
    ...(id === undefined ? {} : { id }),
    machine_probability: round(prediction.machine_probability),
    verdict: prediction.verdict,
    threshold: round(detector.threshold),
    model_version: detector.version,
  };
  if (options.evidence) result.evidence = detector.explain(text).map((e) => ({ ...e, weight: round(e.weight) }));
  return result;
}

/** Six decimals: more than any calibration supports, fewer bytes per line. */
export function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
