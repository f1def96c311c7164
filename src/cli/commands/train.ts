import { Option, type Command } from 'commander';
import { saveDetector } from '../../model/model-file.js';
import { DEFAULT_TRAIN_OPTIONS, trainDetector } from '../../model/train.js';
import { defaultTrainingExtensions } from '../../detect/sentence-training.js';
import { formatSummaryTable, formatVerdictTable } from '../../evaluate/breakdown.js';
import type { TrainingEvaluation } from '../../model/detector.js';
import { UserError } from '../../util/errors.js';
import { assertOutputDirectoriesExist, assertOutputsNotInputs } from '../../corpus/paths.js';
import { createProgress, type Progress } from '../../util/progress.js';
import { parsePositiveInt, parsePositiveNumber, parseProbability, lengthCalibrationOption, readLabeled, thresholdExcludeOption, warnAboutModel } from '../options.js';

interface TrainFlags {
  data: string[];
  out: string;
  skipInvalid?: boolean;
  folds: number;
  foldBy: 'auto' | 'source' | 'story';
  l2: number;
  iterations: number;
  targetFpr: number;
  thresholdExclude: string[];
  lengthCalibration: boolean;
  seed: number;
  quiet?: boolean;
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a detector from labeled human and machine texts into one model file')
    .requiredOption('--data <paths...>', 'files, directories or globs (seed or labeled schema; JSONL, CSV, Parquet)')
    .requiredOption('--out <model>', 'where to write the model file')
    .option('--skip-invalid', 'skip malformed rows (reported) instead of stopping')
    .option('--folds <k>', 'folds for out-of-fold calibration and threshold', parsePositiveInt('--folds'), DEFAULT_TRAIN_OPTIONS.folds)
    .option('--l2 <lambda>', 'L2 regularisation strength', parsePositiveNumber('--l2'), DEFAULT_TRAIN_OPTIONS.l2)
    .option('--iterations <n>', 'maximum L-BFGS iterations per fit', parsePositiveInt('--iterations'), DEFAULT_TRAIN_OPTIONS.maxIterations)
    .option('--target-fpr <rate>', 'false-positive rate the default threshold must keep on every human dataset', parseProbability('--target-fpr'), DEFAULT_TRAIN_OPTIONS.targetFpr)
    .addOption(thresholdExcludeOption())
    .addOption(lengthCalibrationOption())
    .addOption(new Option('--fold-by <how>', 'held-out scores for calibration').choices(['auto', 'source', 'story']).default(DEFAULT_TRAIN_OPTIONS.foldBy))
    .option('--seed <n>', 'seed for the story folds', parsePositiveInt('--seed'), DEFAULT_TRAIN_OPTIONS.seed)
    .option('--quiet', 'no progress output')
    .action(async (flags: TrainFlags) => {
      await assertOutputsNotInputs([flags.out], flags.data);
      assertOutputDirectoriesExist([flags.out]);
      const documents = await readLabeled(flags);
      process.stderr.write(`read ${documents.length} documents\n`);
      const bars = new Map<string, Progress>();
      const detector = trainDetector(documents, {
        folds: flags.folds,
        foldBy: flags.foldBy,
        l2: flags.l2,
        maxIterations: flags.iterations,
        targetFpr: flags.targetFpr,
        thresholdExclude: flags.thresholdExclude,
        lengthCalibration: flags.lengthCalibration,
        seed: flags.seed,
        extensions: defaultTrainingExtensions(),
        onProgress(stage, done, total) {
          let bar = bars.get(stage);
          if (!bar) {
            bar = createProgress({ label: stage, total, unit: PROGRESS_UNITS[stage] ?? 'steps', silent: flags.quiet });
            bars.set(stage, bar);
          }
          bar.update(done);
          if (done >= total) bar.stop();
        },
      });
      saveDetector(detector, flags.out);
      const warnings = detector.metadata.warnings ?? [];
      process.stdout.write(trainingReport(detector.metadata.evaluation, detector.threshold, detector.metadata.training.seconds, flags.out, warnings));
      warnAboutModel(detector, flags.out);
    });
}

/** What each training stage counts (model/train.ts onProgress). */
const PROGRESS_UNITS: Record<string, string> = { featurize: 'docs', 'fit folds': 'fits', 'held-out checks': 'folds', extensions: 'parts' };

function trainingReport(evaluation: TrainingEvaluation, threshold: number, seconds: number, out: string, warnings: string[]): string {
  return [
    `wrote ${out} (trained in ${seconds.toFixed(1)} s)`,
    `default threshold: ${threshold.toFixed(4)}`,
    '',
    formatSummaryTable([{ group: 'all', summary: evaluation.overall }, ...evaluation.by_dataset], `${evaluation.method} evaluation`),
    ...(evaluation.verdicts
      ? ['', formatVerdictTable(evaluation.verdicts, 'verdicts at the default threshold on the same held-out texts (uncertain: the held-out applicability check declines to judge; FPR and recall count "machine" verdicts only)')]
      : []),
    ...(warnings.length > 0 ? ['', `WARNING: ${warnings.length} problem(s) with this model (printed on stderr, recorded in the model file's metadata.warnings): it may not do what you expect`] : []),
    '',
  ].join('\n');
}
