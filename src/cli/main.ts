#!/usr/bin/env node
import { Command } from 'commander';
import { UserError } from '../util/errors.js';
import { COPYDESK_VERSION } from '../version.js';
import { registerTrain } from './commands/train.js';
import { registerEval } from './commands/eval.js';
import { registerDetect } from './commands/detect.js';
import { registerReport } from './commands/report.js';
import { registerEvalMixtures } from './commands/eval-mixtures.js';
import { registerServe } from './commands/serve.js';
import { registerBatch } from './commands/batch.js';
import { registerWorker } from './commands/worker.js';
import { registerGenerate } from './commands/generate.js';

/** The `copydesk` command: a thin layer that parses flags and calls the library. */
export function buildProgram(): Command {
  const program = new Command('copydesk')
    .description('Tell human-written news from machine-written news.')
    .version(COPYDESK_VERSION)
    .showHelpAfterError();
  for (const register of [
    registerTrain,
    registerEval,
    registerDetect,
    registerReport,
    registerEvalMixtures,
    registerServe,
    registerBatch,
    registerWorker,
    registerGenerate,
  ]) {
    register(program);
  }
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    process.exitCode = reportError(error);
  }
}

/** User errors print one clear line; anything else is a bug and keeps its stack. */
function reportError(error: unknown): number {
  if (error instanceof UserError) {
    process.stderr.write(`copydesk: ${error.message}\n`);
    return error.exitCode;
  }
  if (isBrokenPipe(error)) return 0;
  process.stderr.write(`copydesk: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return 1;
}

function isBrokenPipe(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === 'EPIPE';
}

await main(process.argv);
