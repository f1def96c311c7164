import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { formatGeneralisationMarkdown, formatGeneralisationText, generalisationReport } from '../../evaluate/generalisation.js';
import { readLabeled } from '../options.js';
import { assertOutputsNotInputs } from '../../util/paths.js';

interface ReportFlags {
  data: string[];
  out?: string;
  json?: string;
  skipInvalid?: boolean;
  folds: string;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('generalisation report: leave-one-source-out and leave-one-generator-out, copydesk vs the TF-IDF baseline')
    .requiredOption('--data <paths...>', 'labeled data with several sources and generators')
    .option('--out <file.md>', 'write the report as Markdown')
    .option('--json <file.json>', 'write the report as JSON')
    .option('--skip-invalid', 'skip malformed rows (reported) instead of stopping')
    .option('--folds <k>', 'folds for calibration inside each leave-out model', '3')
    .action(async (flags: ReportFlags) => {
      await assertOutputsNotInputs([flags.out, flags.json], flags.data);
      const documents = await readLabeled(flags);
      const started = Date.now();
      const report = generalisationReport(documents, {
        train: { folds: Number(flags.folds), extensions: false },
        onProgress: (message) => process.stderr.write(`${message} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`),
      });
      for (const [path, content] of [
        [flags.out, formatGeneralisationMarkdown(report)],
        [flags.json, `${JSON.stringify(report, null, 2)}\n`],
      ] as const) {
        if (!path) continue;
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, content);
        process.stderr.write(`wrote ${path}\n`);
      }
      process.stdout.write(formatGeneralisationText(report));
    });
}
