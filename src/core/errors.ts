/**
 * The one rule for errors: a UserError is bad input the user can fix (the CLI prints its
 * message as one line and exits 2); anything else is a bug (stack trace, exit 70).
 * Every module's own error class for bad input extends UserError.
 */
export class UserError extends Error {
  /** Survives the trip from a worker thread, where the class itself is lost. */
  readonly userError = true;
  constructor(message: string) {
    super(message.replace(/\s*[\r\n]+\s*/g, ' ')); // one line, whatever a damaged file put into it
    this.name = new.target.name;
  }
}

export function isUserError(err: unknown): boolean {
  return (
    err instanceof UserError ||
    (typeof err === 'object' && err !== null && (err as { userError?: unknown }).userError === true)
  );
}

/** Exit codes of every command (sysexits.h: EX_SOFTWARE for internal errors). */
export const EXIT = { ok: 0, damaged: 1, usage: 2, internal: 70 } as const;
