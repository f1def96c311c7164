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
