import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { formatGeneralisationMarkdown, formatGeneralisationText, generalisationReport } from '../../evaluate/generalisation.js';
import { lengthCalibrationOption, parsePositiveInt, readLabeled, thresholdExcludeOption } from '../options.js';
import { ioErrorToUserError, UserError } from '../../util/errors.js';

/**
 * One line per held-out fit: "[3/31] leave-one-source-out: pan24_news — 95 s
 * elapsed, about 890 s left". Fits differ in size, so the estimate is the
 * mean time per finished fit times the fits left, and there is none until
 * one has finished.
 */
export function reportProgressLine(message: string, done: number, total: number, elapsedSeconds: number): string {
  const head = `report: [${Math.min(done + 1, total)}/${total}] ${message} — ${elapsedSeconds.toFixed(0)} s elapsed`;
  if (message === 'done') return `report: ${total} fits in ${elapsedSeconds.toFixed(0)} s`;
  return done === 0 ? head : `${head}, about ${((elapsedSeconds / done) * (total - done)).toFixed(0)} s left`;
}
import { assertOutputsNotInputs, writeOutput } from '../../corpus/paths.js';

const PARTS = ['source', 'domain', 'generator'] as const;
type Part = (typeof PARTS)[number];

/** --parts: checked as the flags are read, before hours of reading and fitting. */
function parseParts(value: string): Part[] {
  const parts = value.split(',').map((p) => p.trim());
  for (const part of parts) {
    if (!(PARTS as readonly string[]).includes(part)) throw new InvalidArgumentError(`--parts: unknown part "${part}" (choose from ${PARTS.join(', ')})`);
  }
  return parts as Part[];
}

interface ReportFlags {
  data: string[];
  out?: string;
  json?: string;
  skipInvalid?: boolean;
  parts: Part[];
  maxPerGroup?: number;
  thresholdExclude: string[];
  lengthCalibration: boolean;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('generalisation report: leave-one-source-out, leave-one-domain-out and leave-one-generator-out, copydesk vs the TF-IDF baseline')
    .requiredOption('--data <paths...>', 'labeled data with several sources and generators')
    .option('--out <file.md>', 'write the report as Markdown')
    .option('--json <file.json>', 'write the report as JSON')
    .option('--skip-invalid', 'skip malformed rows (reported) instead of stopping')
    .option(
      '--max-per-group <n>',
      'at most n documents per (dataset, label) — per (dataset, label, generator) for leave-one-generator-out — sampled by story (the full data takes hours on two cores)',
      parsePositiveInt('--max-per-group'),
    )
    .addOption(new Option('--parts <list>', 'comma-separated: source, domain, generator').argParser(parseParts).default([...PARTS], PARTS.join(',')))
    .addOption(thresholdExcludeOption())
    .addOption(lengthCalibrationOption())
    .action(async (flags: ReportFlags) => {
      await assertOutputsNotInputs([flags.out, flags.json], flags.data);
      const documents = await readLabeled(flags);
      const started = Date.now();
      const report = generalisationReport(documents, {
        train: { thresholdExclude: flags.thresholdExclude, lengthCalibration: flags.lengthCalibration },
        parts: flags.parts,
        maxPerGroup: flags.maxPerGroup,
        onProgress: (message, done, total) => process.stderr.write(`${reportProgressLine(message, done, total, (Date.now() - started) / 1000)}\n`),
      });
      // Hours of fits: print the report, then write each file even when another cannot be written.
      process.stdout.write(formatGeneralisationText(report));
      const failed: string[] = [];
      for (const [path, content] of [
        [flags.out, formatGeneralisationMarkdown(report)],
        [flags.json, `${JSON.stringify(report, null, 2)}\n`],
      ] as const) {
        if (!path) continue;
        try {
          mkdirSync(dirname(path), { recursive: true });
          writeOutput(path, content);
          process.stderr.write(`wrote ${path}\n`);
        } catch (error) {
          const user = error instanceof UserError ? error : ioErrorToUserError(error, path);
          if (!user) throw error;
          failed.push(user.message);
        }
      }
      if (failed.length > 0) throw new UserError(failed.join('; '));
    });
}
