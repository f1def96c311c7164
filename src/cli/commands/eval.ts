import type { Command } from 'commander';
import { evaluateScored, evaluationPlot, formatEvaluation, scoreDocuments } from '../../evaluate/evaluate.js';
import { datasetName } from '../../corpus/inputs.js';
import { archiveCalibrationOf, uncalibratedView } from '../../detect/recalibrate.js';
import { compareThresholds, formatThresholdComparison } from '../../evaluate/threshold-comparison.js';
import type { Detector } from '../../model/detector.js';
import type { ScoredDocument } from '../../evaluate/evaluate.js';
import { createProgress } from '../../util/progress.js';
import { DEFAULT_MODEL_PATH } from '../../model/model-file.js';
import { assertOutputDirectoriesExist, assertOutputsNotInputs, writeOutput } from '../../corpus/paths.js';
import { MODEL_HELP, modelFrom, readLabeled, warnAboutModel, warnIfTrainedOn } from '../options.js';

interface EvalFlags {
  data: string[];
  model?: string;
  json?: boolean;
  plot?: string;
  skipInvalid?: boolean;
  quiet?: boolean;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('evaluate a detector on labeled data: AUROC, TPR at low FPR, calibration, per-source breakdown')
    .requiredOption('--data <paths...>', 'files, directories or globs with labeled data')
    .option('--model <file>', MODEL_HELP)
    .option('--json', 'print the full report as JSON')
    .option('--plot <file.svg>', 'write a ROC + calibration plot (SVG)')
    .option('--skip-invalid', 'skip malformed rows (reported) instead of stopping')
    .option('--quiet', 'no progress output')
    .action(async (flags: EvalFlags) => {
      await assertOutputsNotInputs([flags.plot], [...flags.data, flags.model]);
      assertOutputDirectoriesExist([flags.plot]);
      const detector = modelFrom(flags);
      const documents = await readLabeled(flags);
      const progress = createProgress({ label: 'scoring', total: documents.length, unit: 'docs', silent: flags.quiet });
      const scored = scoreDocuments(detector, documents, (done) => progress.update(done));
      progress.update(documents.length);
      progress.stop();
      warnAboutModel(detector, flags.model ?? DEFAULT_MODEL_PATH);
      warnIfTrainedOn(detector, documents.map((d) => d.dataset));
      const report = evaluateScored(detector, scored);
      const comparison = calibrationComparison(detector, scored);
      // The report first: a plot that cannot be written must not lose it.
      if (flags.json) process.stdout.write(`${JSON.stringify(comparison ? { ...report, threshold_comparison: comparison } : report, null, 2)}\n`);
      else process.stdout.write(formatEvaluation(report) + (comparison ? `\n${formatThresholdComparison(comparison, 'false positives before and after calibrate')}\n` : ''));
      if (flags.plot) {
        writeOutput(flags.plot, evaluationPlot(report, scored, `copydesk evaluation on ${flags.data.join(', ')}`));
        process.stderr.write(`wrote ${flags.plot}\n`);
      }
    });
}

/** A model made by `copydesk calibrate`: the same documents judged at its original and its calibrated threshold. */
function calibrationComparison(detector: Detector, scored: ScoredDocument[]) {
  const calibration = archiveCalibrationOf(detector);
  if (!calibration) return undefined;
  const archive = new Set(calibration.files.map((f) => datasetName(f.path)));
  const inSample = [...new Set(scored.map((s) => s.document.dataset))].filter((name) => archive.has(name));
  if (inSample.length > 0) {
    process.stderr.write(`copydesk: warning: this model was calibrated on ${inSample.join(', ')}; its false-positive rate there is in-sample (the calibration's own upper bound is the honest figure)\n`);
  }
  return compareThresholds(scored, { label: 'original', detector: uncalibratedView(detector, calibration) }, { label: 'calibrated', detector });
}
