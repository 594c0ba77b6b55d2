// How errors reach a person at a terminal: a code and a sentence, never a stack trace
// (set EMOSTREAM_DEBUG=1 to see one), and the process exit code.
import { UserError } from '../errors.js';

export { UserError };

/** A UserError that also picks the process exit code. */
export class CliError extends UserError {
  constructor(
    code: string,
    message: string,
    readonly exitCode = 1,
  ) {
    super(code, message);
  }
}

export function formatError(err: unknown): string {
  if (process.env.EMOSTREAM_DEBUG && err instanceof Error && err.stack) return err.stack;
  if (err instanceof UserError) return `emostream: error [${err.code}]: ${err.message}`;
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && e.code && e.message) return `emostream: error [${e.code}]: ${e.message}`;
  return `emostream: internal error: ${e instanceof Error ? e.message : String(err)} (set EMOSTREAM_DEBUG=1 for details)`;
}
