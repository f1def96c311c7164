import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { ioReason, UserError } from '../util/errors.js';

/**
 * One run per output: `<output>.lock`, created exclusively (O_EXCL) with the
 * holder's host, pid and start, removed when the run ends however it ends.
 * Without it two runs on one output interleave their rows: an audit measured
 * 46,177 lines for 30,000 rows (16,175 duplicates and a torn line) from a
 * `--restart` beside a running batch, both exiting 0; the same command
 * started twice with Parquet output left a checkpoint no rerun could use.
 *
 * A lock whose process is gone (this host, its pid not running: a run killed
 * with SIGKILL, or a reboot) is taken over with a note. One held by a live
 * process, or on another host (a shared file system, where this host cannot
 * tell), is refused with how to remove it. The lock file is a plain file
 * rather than flock(2): Node has no flock, and the holder's identity is what
 * the person who finds it needs to know.
 */
export interface OutputLock {
  readonly path: string;
  release(): Promise<void>;
}

interface Holder {
  host: string;
  pid: number;
  started: string;
  token: string;
}

export async function lockOutput(output: string, note: (line: string) => void): Promise<OutputLock> {
  const lockPath = `${output}.lock`;
  const mine: Holder = { host: hostname(), pid: process.pid, started: new Date().toISOString(), token: randomUUID() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fs.writeFile(lockPath, `${JSON.stringify(mine)}\n`, { flag: 'wx' });
      return { path: lockPath, release: () => release(lockPath, mine.token) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new UserError(`cannot create ${lockPath}: ${ioReason(error)}`);
    }
    const holder = await readHolder(lockPath);
    if (holder === undefined) continue; // removed meanwhile: try again
    if (holder === null || holder.host !== mine.host || isRunning(holder.pid)) throw busy(output, lockPath, holder, mine.host);
    // Stale: move it aside under a name of our own (only one taker's rename can succeed), check it is the one we read, drop it.
    const aside = `${lockPath}.stale-${mine.token}`;
    try {
      await fs.rename(lockPath, aside);
    } catch {
      continue;
    }
    const moved = await readHolder(aside);
    if (moved?.token !== holder.token) {
      // Another run took the stale lock over between our read and our rename: give its lock back and stop.
      await fs.rename(aside, lockPath).catch(() => {});
      throw busy(output, lockPath, moved ?? null, mine.host);
    }
    await fs.rm(aside, { force: true });
    note(`batch: note: took over ${lockPath}, left by process ${holder.pid} (started ${holder.started}), which is no longer running`);
  }
  throw new UserError(`cannot lock ${output}: ${lockPath} keeps changing; is another batch starting on the same output?`);
}

/** The lock's holder; undefined when there is no lock file, null when it cannot be read as one. */
async function readHolder(lockPath: string): Promise<Holder | null | undefined> {
  let text: string;
  try {
    text = await fs.readFile(lockPath, 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : null;
  }
  try {
    const value = JSON.parse(text) as Partial<Holder>;
    return typeof value.host === 'string' && Number.isInteger(value.pid) && typeof value.token === 'string' ? (value as Holder) : null;
  } catch {
    return null;
  }
}

/** Whether a process with this pid runs on this host (EPERM: it does, as another user). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function busy(output: string, lockPath: string, holder: Holder | null, host: string): UserError {
  const who =
    holder === null
      ? 'another batch run (its lock file cannot be read)'
      : `another batch run (process ${holder.pid}${holder.host === host ? '' : ` on ${holder.host}`}, started ${holder.started})`;
  return new UserError(`${output} is being written by ${who}; wait for it to finish, or if it is no longer running remove ${lockPath} and run again`);
}

/** Removes the lock if it is still ours (never another run's). */
async function release(lockPath: string, token: string): Promise<void> {
  const holder = await readHolder(lockPath);
  if (holder?.token === token) await fs.rm(lockPath, { force: true });
}
