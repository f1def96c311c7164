/**
 * An error meant for the person running copydesk: the CLI prints its message
 * (and nothing else) and exits non-zero. Anything else is a bug and keeps its
 * stack trace.
 */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'UserError';
  }
}

/** What a failed read or write of a file means for the person running copydesk. */
const IO_HINTS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'input/output error on the device',
  EFBIG: 'the file is too large for the file system',
  EISDIR: 'it is a directory',
  EINVAL: 'the operation is not supported there; it must be a regular file',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is not a directory',
};

/**
 * Why a read or write failed, in words with the code after them
 * ("it is a directory (EISDIR)"); the code alone for causes without a hint.
 */
export function ioReason(error: unknown): string {
  const e = error as Partial<NodeJS.ErrnoException> | undefined;
  const code = typeof e === 'object' && e !== null && typeof e.code === 'string' ? e.code : undefined;
  if (code === undefined) return error instanceof Error ? error.message : String(error);
  const hint = IO_HINTS[code];
  return hint === undefined ? code : `${hint} (${code})`;
}

/**
 * A failed system call on a file (disk full, read-only, /dev/full, …) is the
 * environment's fault, not a bug: one line naming the file and the cause.
 * Returns undefined for anything that is not such an error.
 */
export function ioErrorToUserError(error: unknown, file?: string): UserError | undefined {
  const e = error as Partial<NodeJS.ErrnoException> | undefined;
  if (typeof e !== 'object' || e === null || typeof e.code !== 'string' || typeof e.syscall !== 'string') return undefined;
  const hint = IO_HINTS[e.code];
  if (hint === undefined) return undefined;
  const target = e.path ?? file;
  return new UserError(`cannot ${e.syscall === 'open' || e.syscall === 'read' ? 'use' : 'write'} ${target ?? 'a file'}: ${hint} (${e.code}, ${e.syscall})`);
}
