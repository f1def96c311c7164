import type { Command } from 'commander';
import { SkipReport } from '../../corpus/index.js';
import { calibrateToArchive, readArchive, type ArchiveCalibration } from '../../detect/recalibrate.js';
import { saveDetector } from '../../model/model-file.js';
import { formatThreshold } from '../../detect/recalibrate.js';
import { createProgress } from '../../util/progress.js';
import { assertOutputDirectoriesExist, assertOutputsNotInputs } from '../../corpus/paths.js';
import { MODEL_HELP, modelFrom, parseProbability } from '../options.js';

interface CalibrateFlags {
  human: string[];
  model?: string;
  out: string;
  targetFpr: number;
  json?: boolean;
  skipInvalid?: boolean;
  quiet?: boolean;
}

export const DEFAULT_CALIBRATION_TARGET_FPR = 0.01;

export function registerCalibrate(program: Command): void {
  program
    .command('calibrate')
    .description("refit a model's threshold and sentence-level nulls on your own archive of human-written text; writes a new model file")
    .requiredOption('--human <paths...>', 'files, directories or globs of human-written text (any corpus format; labels optional, machine rows refused)')
    .requiredOption('--out <model>', 'where to write the calibrated model file (never one of the inputs)')
    .option('--model <file>', MODEL_HELP)
    .option(
      '--target-fpr <rate>',
      'false-positive rate the 95% upper confidence bound must stay within on the archive',
      parseProbability('--target-fpr'),
      DEFAULT_CALIBRATION_TARGET_FPR,
    )
    .option('--json', 'print the calibration record as JSON')
    .option('--skip-invalid', 'skip malformed rows (reported) instead of stopping')
    .option('--quiet', 'no progress output')
    .action(async (flags: CalibrateFlags) => {
      await assertOutputsNotInputs([flags.out], [...flags.human, flags.model]);
      assertOutputDirectoriesExist([flags.out]);
      const detector = modelFrom(flags);
      const skips = new SkipReport();
      const archive = await readArchive(flags.human, { skipInvalid: flags.skipInvalid, onSkip: skips.add });
      if (skips.total > 0) process.stderr.write(`${skips.summary()}\n`);
      const progress = createProgress({ label: 'scoring archive', total: archive.documents.length, unit: 'docs', silent: flags.quiet });
      const { detector: calibrated, calibration } = calibrateToArchive(detector, archive.documents, {
        targetFpr: flags.targetFpr,
        files: archive.files,
        onProgress: (done) => progress.update(done),
      });
      progress.stop();
      saveDetector(calibrated, flags.out);
      // Warnings are loud on stderr and kept in the model file.
      for (const warning of calibration.warnings) process.stderr.write(`copydesk: WARNING (${warning.code}): ${warning.message}\n`);
      process.stdout.write(flags.json ? `${JSON.stringify(calibration, null, 2)}\n` : calibrationReport(calibration, flags.out));
    });
}

function calibrationReport(c: ArchiveCalibration, out: string): string {
  const percent = (v: number) => `${(v * 100).toFixed(2)}%`;
  const line = (name: string, r: ArchiveCalibration['before']) =>
    `  ${name} threshold ${formatThreshold(r.threshold)}: ${r.flagged} of ${c.n_judged} judged documents flagged (FPR ${percent(r.fpr)}, ${c.confidence * 100}% upper bound ${percent(r.fpr_upper_bound)})`;
  return [
    `wrote ${out}`,
    `archive: ${c.n_documents} human documents from ${c.files.length} file${c.files.length === 1 ? '' : 's'}${c.duplicates_removed > 0 ? ` (${c.duplicates_removed} duplicates removed)` : ''}; ${c.n_judged} judged (the others have a reason or caution and are never flagged)`,
    `target: false-positive rate ≤ ${c.target_fpr} at ${c.confidence * 100}% confidence (needs ≥ ${c.documents_needed} documents with none flagged) — ${c.certified ? 'certified' : 'NOT certified'}`,
    `on the archive:`,
    line('previous', c.before),
    line('calibrated', c.after),
    c.mixture_null
      ? `sentence-level null: added from ${c.mixture_null.documents} archive documents (the previous nulls put ${c.mixture_null.flagged_before} of them, ${percent(c.mixture_null.flagged_before / c.mixture_null.documents)}, at mixture p ≤ ${c.mixture_null.level})`
      : 'sentence-level nulls: unchanged',
    '',
  ].join('\n');
}
