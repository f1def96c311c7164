import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { evaluateScored, evaluationPlot, formatEvaluation, scoreDocuments } from '../../evaluate/evaluate.js';
import { createProgress } from '../../util/progress.js';
import { DEFAULT_MODEL_PATH } from '../../model/model-file.js';
import { assertOutputsNotInputs } from '../../util/paths.js';
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
      const detector = modelFrom(flags);
      const documents = await readLabeled(flags);
      const progress = createProgress({ label: 'scoring', total: documents.length, unit: 'docs', silent: flags.quiet });
      const scored = scoreDocuments(detector, documents, (done) => progress.update(done));
      progress.update(documents.length);
      progress.stop();
      warnAboutModel(detector, flags.model ?? DEFAULT_MODEL_PATH);
      warnIfTrainedOn(detector, documents.map((d) => d.dataset));
      const report = evaluateScored(detector, scored);
      if (flags.plot) {
        writeFileSync(flags.plot, evaluationPlot(report, scored, `copydesk evaluation on ${flags.data.join(', ')}`));
        process.stderr.write(`wrote ${flags.plot}\n`);
      }
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatEvaluation(report));
    });
}
