#!/usr/bin/env node
import { Command } from 'commander';
import { ioErrorToUserError, UserError } from '../util/errors.js';
import { COPYDESK_VERSION } from '../version.js';
type Register = (program: Command) => void;

/**
 * Each command's module, loaded on demand: a run imports only the command it
 * executes (Fastify, BullMQ or Parquet cost tens of milliseconds each to
 * load), and help imports them all.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  train: async () => (await import('./commands/train.js')).registerTrain,
  eval: async () => (await import('./commands/eval.js')).registerEval,
  calibrate: async () => (await import('./commands/calibrate.js')).registerCalibrate,
  detect: async () => (await import('./commands/detect.js')).registerDetect,
  report: async () => (await import('./commands/report.js')).registerReport,
  'eval-mixtures': async () => (await import('./commands/eval-mixtures.js')).registerEvalMixtures,
  serve: async () => (await import('./commands/serve.js')).registerServe,
  batch: async () => (await import('./commands/batch.js')).registerBatch,
  worker: async () => (await import('./commands/worker.js')).registerWorker,
  generate: async () => (await import('./commands/generate.js')).registerGenerate,
};

/** The `copydesk` command: a thin layer that parses flags and calls the library. */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command('copydesk')
    .description('Tell human-written news from machine-written news.')
    .version(COPYDESK_VERSION)
    .showHelpAfterError();
  const names = only !== undefined && only in COMMANDS ? [only] : Object.keys(COMMANDS);
  for (const register of await Promise.all(names.map((name) => COMMANDS[name]()))) register(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  quietOnBrokenPipe();
  try {
    await (await buildProgram(argv[2])).parseAsync(argv);
  } catch (error) {
    process.exitCode = reportError(error);
  }
}

/** User errors print one clear line; anything else is a bug and keeps its stack. */
function reportError(error: unknown): number {
  if (isBrokenPipe(error)) return 0;
  const user = error instanceof UserError ? error : ioErrorToUserError(error);
  if (user) {
    process.stderr.write(`copydesk: ${user.message}\n`);
    return user.exitCode;
  }
  process.stderr.write(`copydesk: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return 1;
}

/**
 * `copydesk detect big.txt | head -c 100`: the reader has gone, so there is
 * nobody left to tell; stop quietly (exit 0) like other Unix tools. Writes
 * to a pipe fail asynchronously, as an 'error' event on stdout, which would
 * otherwise crash the process with a stack trace. Any other stdout failure
 * (a full disk behind `> file`) is one line on stderr.
 */
function quietOnBrokenPipe(): void {
  process.stdout.on('error', (error) => {
    if (isBrokenPipe(error)) process.exit(0);
    process.stderr.write(`copydesk: ${(ioErrorToUserError(error, 'standard output') ?? error).message}\n`);
    process.exit(1);
  });
}

function isBrokenPipe(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === 'EPIPE';
}

await main(process.argv);
