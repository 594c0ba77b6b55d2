// The error type every layer throws for problems a user caused or can fix: a stable,
// machine-readable code and a sentence fit to show as is. The CLI (src/cli/errors.ts) adds
// exit codes and terminal formatting; the server sends the code and message on the wire.

/** An error whose message is fit to show a user as is. `code` is stable and machine-readable. */
export class UserError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/**
 * What a user is told about a failure that is not theirs (a bug, a broken engine): what failed
 * and an incident id to find the detail in the server's log. An internal message can name
 * files, fields or library internals, so it goes to the log only.
 */
export function internalFailure(what: string): { incident: string; message: string } {
  const incident = Math.floor(Math.random() * 2 ** 32)
    .toString(16)
    .padStart(8, '0');
  return { incident, message: `${what} (internal error, incident ${incident}; the server log has the detail)` };
}
