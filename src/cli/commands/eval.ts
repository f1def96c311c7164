import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { evaluateScored, evaluationPlot, formatEvaluation, scoreDocuments } from '../../evaluate/evaluate.js';
import { createProgress } from '../../util/progress.js';
import { assertOutputsNotInputs } from '../../util/paths.js';
import { MODEL_HELP, modelFrom, readLabeled } from '../options.js';

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
      const detector = modelFrom(flags);
      const documents = await readLabeled(flags);
      const progress = createProgress({ label: 'scoring', total: documents.length, unit: 'docs', silent: flags.quiet });
      const scored = scoreDocuments(detector, documents, (done) => progress.update(done));
      progress.update(documents.length);
      progress.stop();
      warnIfTrainedOn(detector.metadata.training.datasets, documents.map((d) => d.dataset));
      const report = evaluateScored(detector, scored);
      if (flags.plot) {
        writeFileSync(flags.plot, evaluationPlot(report, scored, `copydesk evaluation on ${flags.data.join(', ')}`));
        process.stderr.write(`wrote ${flags.plot}\n`);
      }
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatEvaluation(report));
    });
}

/**
 * Numbers on data the model was trained on are not an evaluation; say so
 * rather than let a perfect score pass for one.
 */
function warnIfTrainedOn(trainingDatasets: Record<string, unknown>, evaluated: string[]): void {
  const seen = [...new Set(evaluated)].filter((name) => name in trainingDatasets);
  if (seen.length === 0) return;
  process.stderr.write(
    `copydesk: warning: this model was trained on ${seen.join(', ')}; these numbers are in-sample, not held out (use copydesk report, or train on a split)\n`,
  );
}
