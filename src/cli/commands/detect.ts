import { readFileSync, statSync } from 'node:fs';
import { decodeUtf8 } from '../../util/utf8.js';
import type { Command } from 'commander';
import { datasetName, detectFormat, formatFromExtension } from '../../corpus/inputs.js';
import { assertScorable, detectText } from '../../detect/detect.js';
import { resultJson, type DetectionResult } from '../../detect/result.js';
import { detectJsonlStream, openInput } from '../../detect/jsonl.js';
import { DEFAULT_MODEL_PATH } from '../../model/model-file.js';
import { ioReason, UserError } from '../../util/errors.js';
import { createProgress } from '../../util/progress.js';
import { MODEL_HELP, modelFrom, parseProbability, workersOption } from '../options.js';
import { DEFAULT_LEVEL } from '../../detect/sentences.js';
import { formatDetection } from '../format.js';

interface DetectFlags {
  model?: string;
  json?: boolean;
  jsonl?: string;
  evidence: boolean;
  workers: number;
  skipInvalid?: boolean;
  quiet?: boolean;
  sentences?: boolean;
  level?: number;
}

export function registerDetect(program: Command): void {
  program
    .command('detect')
    .description('score plain-text files or stdin; or, with --jsonl, a JSON-lines stream (fast path)')
    .argument('[files...]', 'plain-text files to score, or - for stdin')
    .option('--model <file>', MODEL_HELP)
    .option('--json', 'machine-readable output')
    .option('--no-evidence', 'leave out the reasons for each verdict')
    .option('--jsonl <file>', 'score JSON lines ({id, text}, labeled or seed schema) from a file or - for stdin; one output line per document, in input order')
    .addOption(workersOption('threads that score --jsonl, the main thread among them', 'the main thread only, as 1'))
    .option('--skip-invalid', 'with --jsonl: write an error line for a bad input line instead of stopping')
    .option('--sentences', 'score every sentence and test whether the document contains machine-written passages (marks them in the terminal; adds mixture_p_value, machine_passage and sentences to JSON and to every --jsonl line)')
    .option('--level <alpha>', 'with --sentences: significance level of the machine-passage decision', parseProbability('--level'), DEFAULT_LEVEL)
    .option('--quiet', 'no progress output')
    .action(async (files: string[], flags: DetectFlags) => {
      if (flags.jsonl !== undefined) {
        if (files.length > 0) throw new UserError('give either --jsonl or plain-text files, not both');
        await detectJsonl(flags.jsonl, flags);
        return;
      }
      await detectFiles(files, flags);
    });
}

async function detectFiles(files: string[], flags: DetectFlags): Promise<void> {
  if (files.length === 0) {
    if (process.stdin.isTTY) throw new UserError('nothing to score: give text files, - for stdin, or --jsonl <file>');
    files = ['-'];
  }
  const detector = modelFrom(flags);
  const results: Array<DetectionResult & { file: string }> = [];
  const texts: string[] = [];
  for (const file of files) {
    const text = readText(file);
    assertScorable(text, file === '-' ? 'stdin' : file);
    texts.push(text);
    results.push({ file, ...detectText(detector, text, { evidence: flags.evidence, sentences: flags.sentences, level: flags.level }) });
  }
  if (flags.json) {
    process.stdout.write(`${resultJson(results.length === 1 ? results[0] : results, 2)}\n`);
  } else {
    process.stdout.write(results.map((r, i) => formatDetection(r, r.file === '-' ? 'stdin' : r.file, { text: texts[i], colour: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR })).join('\n'));
  }
}

function readText(file: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file === '-' ? 0 : file);
  } catch (error) {
    const directory = (error as NodeJS.ErrnoException).code === 'EISDIR'
      ? `; detect reads text files (one document each): score a directory of JSONL/CSV/Parquet files with copydesk batch --input ${file} --output scores.jsonl`
      : '';
    throw new UserError(`cannot read ${file === '-' ? 'stdin' : file}: ${ioReason(error)}${directory}`);
  }
  return decodeUtf8(bytes, file === '-' ? 'stdin' : file);
}

async function detectJsonl(path: string, flags: DetectFlags): Promise<void> {
  if (path !== '-') {
    assertFile(path);
    // Parquet (by name or its PAR1 magic) and .csv files are not JSON lines; anything else is read as
    // JSON lines and a line that is not JSON is reported with its number.
    const format = formatFromExtension(path) === 'csv' ? 'CSV' : (await detectFormat(path)) === 'parquet' ? 'Parquet' : undefined;
    if (format) throw new UserError(`--jsonl reads JSON lines, but ${path} is ${format}: score it with copydesk batch --input ${path} --output scores.jsonl`);
  }
  const progress = createProgress({ label: 'detect', unit: 'lines', silent: flags.quiet });
  // The model is loaded there, after the scoring threads are started, so that both overlap.
  const summary = await detectJsonlStream(openInput(path), process.stdout, null, {
    modelPath: flags.model ?? DEFAULT_MODEL_PATH,
    workers: flags.workers,
    file: path === '-' ? 'stdin' : path,
    dataset: path === '-' ? 'stdin' : datasetName(path),
    skipInvalid: Boolean(flags.skipInvalid),
    ...(flags.sentences ? { sentences: true, level: flags.level } : {}),
    onProgress: (lines) => progress.update(lines),
  });
  progress.stop();
  if (!flags.quiet && process.stderr.isTTY) process.stderr.write(`scored ${summary.documents} documents from ${summary.lines} lines\n`);
}

function assertFile(path: string): void {
  try {
    if (!statSync(path).isFile()) throw new UserError(`not a file: ${path}`);
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`no such file: ${path}`);
  }
}
