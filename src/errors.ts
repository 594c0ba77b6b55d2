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
