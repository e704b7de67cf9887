/**
 * An error meant for the person at the terminal: one line, no stack, and the exit code the
 * CLI returns. Anything else that reaches the top is a bug and is reported as such.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'UserError';
  }
}
