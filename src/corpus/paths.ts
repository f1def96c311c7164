import { realpathSync, statSync, writeFileSync, type Stats } from 'node:fs';
import path from 'node:path';
import { inputWouldInclude, resolveInputs, STDIN_PATH } from './inputs.js';
import { ioErrorToUserError, UserError } from '../util/errors.js';

/**
 * Refuses to run when a file a command is about to write is also one it
 * reads: the same file after resolving symbolic links (or another hard link
 * to it), a file inside an input directory, or a path an input glob matches
 * (so a rerun would read the output back as data). Call it before anything
 * is opened for writing. `undefined` and `-` (stdout/stdin) entries are
 * ignored, so optional flags can be passed as they are. Two outputs that are
 * the same file are refused too.
 */
export async function assertOutputsNotInputs(outputs: Array<string | undefined>, inputs: Array<string | undefined>): Promise<void> {
  const written = outputs.filter((file): file is string => file !== undefined && file !== '' && file !== STDIN_PATH);
  const read = inputs.filter((file): file is string => file !== undefined && file !== '' && file !== STDIN_PATH);
  const seen = new Map<string, string>();
  for (const output of written) {
    if (isDirectory(output)) throw new UserError(`cannot write ${output}: it is a directory; give a file name`);
    const real = realPathOf(output);
    const earlier = seen.get(real);
    if (earlier !== undefined) throw new UserError(`refusing to write ${output}: it is the same file as the output ${earlier}`);
    seen.set(real, output);
  }
  for (const input of read) {
    const files = await resolveInputs([input]).catch(() => [] as string[]);
    const identities = files.map((file) => identityOf(file)).filter((id): id is string => id !== undefined);
    for (const output of written) {
      const outputIdentity = identityOf(output);
      const sameFile = outputIdentity !== undefined && identities.includes(outputIdentity);
      if (sameFile || inputWouldInclude(input, realPathOf(output))) {
        throw new UserError(
          `refusing to write ${output}: it is also an input (${input}); writing it would destroy or re-read the data — choose an output path outside the inputs`,
        );
      }
    }
  }
}

/**
 * For commands that write their outputs where they are told (no `mkdir -p`):
 * refuses, before any work is done, an output whose directory does not exist
 * or is not a directory, instead of failing after minutes of training.
 */
export function assertOutputDirectoriesExist(outputs: Array<string | undefined>): void {
  for (const output of outputs) {
    if (output === undefined || output === '' || output === STDIN_PATH) continue;
    const directory = path.dirname(path.resolve(output));
    if (!isDirectory(directory)) {
      throw new UserError(`cannot write ${output}: ${existsAsSomething(directory) ? `${directory} is not a directory` : `directory ${directory} does not exist`}`);
    }
  }
}

/** Writes a command's output file (a plot, a report); a failed write is one line naming the file, not "cannot write a file". */
export function writeOutput(file: string, content: string): void {
  try {
    writeFileSync(file, content);
  } catch (error) {
    throw ioErrorToUserError(error, file) ?? error;
  }
}

function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}

function existsAsSomething(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}

/** The absolute path with every symbolic link resolved, for a file that may not exist yet. */
export function realPathOf(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    const parent = path.dirname(path.resolve(file));
    return parent === path.resolve(file) ? parent : path.join(realPathOf(parent), path.basename(file));
  }
}

/** Device and inode: equal for two names of one file (symbolic or hard links). */
function identityOf(file: string): string | undefined {
  let stats: Stats;
  try {
    stats = statSync(file);
  } catch {
    return undefined;
  }
  return stats.isFile() ? `${stats.dev}:${stats.ino}` : undefined;
}
