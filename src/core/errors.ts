/**
 * The one rule for errors: a UserError is bad input the user can fix (the CLI prints its
 * message as one line and exits 2); anything else is a bug (stack trace, exit 70).
 * Every module's own error class for bad input extends UserError.
 *
 * A library message names the options it is about as the caller's code spells them
 * (`components must be <= ...`), marked with `option('components')`; the CLI, which knows the
 * flag each option field has, prints `named(flagOf)` instead (`--svd must be <= ...`).
 */
export class UserError extends Error {
  /** Survives the trip from a worker thread, where the class itself is lost. */
  readonly userError = true;
  /** The message with its option fields marked (what a worker thread sends back). */
  readonly template: string;
  constructor(message: string) {
    const template = message.replace(/\s*[\r\n]+\s*/g, ' '); // one line, whatever a damaged file put into it
    super(fillOptions(template, (field) => field));
    this.template = template;
    this.name = new.target.name;
  }

  /** The message with each option field named by `name` (e.g. the CLI's flag for it). */
  named(name: (field: string) => string): string {
    return fillOptions(this.template, name);
  }
}

/** A remark about the options (e.g. a default lowered), its option fields marked as in a UserError's message. */
export class OptionNote {
  constructor(readonly template: string) {}
  /** The note with each option field named by `name` (e.g. the CLI's flag for it). */
  named(name: (field: string) => string): string {
    return fillOptions(this.template, name);
  }
  toString(): string {
    return this.named((field) => field);
  }
  toJSON(): string {
    return this.toString();
  }
}

const FIELD = /\{\{(\w+)\}\}/g;

/** Marks an option field in a UserError's message: the library shows `field`, the CLI its flag. */
export const option = (field: string): string => `{{${field}}}`;

const fillOptions = (template: string, name: (field: string) => string): string =>
  template.replace(FIELD, (_, field: string) => name(field));

export function isUserError(err: unknown): boolean {
  return (
    err instanceof UserError ||
    (typeof err === 'object' && err !== null && (err as { userError?: unknown }).userError === true)
  );
}

/** Exit codes of every command (sysexits.h: EX_SOFTWARE for internal errors). */
export const EXIT = { ok: 0, damaged: 1, usage: 2, internal: 70 } as const;
