import { InvalidArgumentError, Option } from 'commander';
import { readAllDocuments, SkipReport } from '../corpus/index.js';
import type { LabeledDocument } from '../corpus/types.js';
import { DEFAULT_MODEL_PATH, loadDetector } from '../model/model-file.js';
import type { Detector } from '../model/detector.js';
import { defaultWorkerCount } from '../util/thread-pool.js';
import { UserError } from '../util/errors.js';

/** Flags several commands share, parsed the same way everywhere. */
export interface DataOptions {
  data: string[];
  skipInvalid?: boolean;
}

export const MODEL_HELP = `model file (default: the shipped model, ${DEFAULT_MODEL_PATH})`;

export function modelFrom(options: { model?: string }): Detector {
  return loadDetector(options.model ?? DEFAULT_MODEL_PATH);
}

/** Reads labeled documents, reporting skipped rows on stderr when --skip-invalid is on. */
export async function readLabeled(options: DataOptions): Promise<LabeledDocument[]> {
  const skips = new SkipReport();
  const documents = await readAllDocuments(options.data, {
    skipInvalid: options.skipInvalid,
    requireLabels: true,
    onSkip: skips.add,
  });
  if (skips.total > 0) process.stderr.write(`${skips.summary()}\n`);
  // An evaluation, training or report of nothing is not a result: say so instead of printing empty tables.
  if (documents.length === 0) {
    throw new UserError(`no documents in ${options.data.join(', ')}${skips.total > 0 ? ` (${skips.summary()})` : ''}`);
  }
  return documents;
}

/** Prints the problems recorded while the model was trained (metadata.warnings), loudly, on stderr. */
export function warnAboutModel(detector: Detector, path: string): void {
  for (const warning of detector.metadata.warnings ?? []) process.stderr.write(`copydesk: WARNING: model ${path}: ${warning}\n`);
}

/**
 * Numbers on data the model was trained on are not an evaluation; say so
 * rather than let a perfect score pass for one. `split` is the story split
 * the evaluated documents come from, if any: a model trained on the training
 * side of that same split (it records it) has not seen them.
 */
export function warnIfTrainedOn(detector: Detector, evaluated: string[], split?: { holdout: number; seed: number }): void {
  const training = detector.metadata.training;
  const seen = [...new Set(evaluated)].filter((name) => name in training.datasets);
  if (seen.length === 0) return;
  const own = training.split;
  if (split && own && own.holdout === split.holdout && own.seed === split.seed) return;
  const why = own
    ? `it was trained on the training stories of a --holdout ${own.holdout} --seed ${own.seed} split, so ${split ? 'this different split' : 'evaluating all pairs'} puts its training pairs in the test set`
    : 'these numbers are in-sample, not held out (use copydesk report, or train on a split)';
  process.stderr.write(`copydesk: WARNING: this model was trained on ${seen.join(', ')}; ${why}\n`);
}

export function parsePositiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got "${value}"`);
    return n;
  };
}

export function parseProbability(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!(n > 0 && n < 1)) throw new InvalidArgumentError(`${name} must be a number between 0 and 1, got "${value}"`);
    return n;
  };
}

export function parsePositiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a positive number, got "${value}"`);
    return n;
  };
}

export function parseNonNegativeNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number ≥ 0, got "${value}"`);
    return n;
  };
}

export function parseWholeNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0, got "${value}"`);
    return n;
  };
}

/**
 * `--workers` for detect, batch, serve and worker: one parser and one default
 * (all cores; `serve`: all but one, see serveWorkerCount). `zero` says what 0
 * means where the command can score without threads; elsewhere 0 is refused.
 */
export function workersOption(what: string, zero?: string, defaults: { count: number; description: string } = { count: defaultWorkerCount(), description: 'all cores' }): Option {
  return new Option('--workers <n>', zero ? `${what} (0: ${zero})` : what)
    .argParser(zero ? parseWholeNumber('--workers') : parsePositiveInt('--workers'))
    .default(defaults.count, `${defaults.description}, ${defaults.count} here`);
}

/**
 * `serve`'s scoring threads by default: every core but one, which the event
 * loop keeps busy (HTTP, JSON, the audit log: about two thirds of a scoring
 * thread's CPU per request), and at least one. Measured on the 2-vCPU dev
 * machine (issue 10, bench/README.md): 1 thread served more requests per
 * second than 2, at lower CPU per request and p99, in 5 of 5 alternating
 * pairs; scoring on the event loop (0) matched its throughput but left new
 * connections waiting seconds to be accepted (libuv accepts one connection
 * per event-loop turn, and a turn lasts as long as the scoring of every
 * request read in it).
 */
export function serveWorkerCount(): number {
  return Math.max(1, defaultWorkerCount() - 1);
}

/** `--threshold-exclude`, shared by `train` and `report` so both apply the same default-threshold rule. */
export function thresholdExcludeOption(): Option {
  return new Option(
    '--threshold-exclude <groups...>',
    'human groups (dataset, or dataset:domain) the default-threshold rule leaves out, e.g. ones whose "human" labels are suspect; they still train the model',
  ).default([]);
}

/** `--no-length-calibration`, shared by `train` and `report`: plain Platt scaling instead of the length-aware calibration. */
export function lengthCalibrationOption(): Option {
  return new Option('--no-length-calibration', "plain Platt scaling: one calibration slope for every length (the default's slope grows with ln(words): model/length-calibration.ts)");
}
