/**
 * What every command shares: finding zoos, and the rule for errors (core/errors.ts):
 * bad input is a UserError (one line on stderr, exit code 2); anything else is a bug (stack
 * trace, exit code 70).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, isUserError, OptionNote, UserError } from '../core/errors.ts';
import { MANIFEST_FILE } from '../store/manifest.ts';

export { UserError };

/** How the running command names a library option field: its flag (set by command.ts's runCommand). */
let flagOf = (field: string): string => field;

/** Names option fields by the running command's flags from now on. */
export function nameOptionsBy(name: (field: string) => string): void {
  flagOf = name;
}

/** A user error's message (or a library's note) with its option fields named as the command's flags. */
export const userMessage = (err: unknown): string =>
  err instanceof UserError || err instanceof OptionNote ? err.named(flagOf) : String((err as Error).message);

/** What a failed command prints and its exit code. */
export function errorReport(err: unknown): { code: number; text: string } {
  if (isUserError(err) || String((err as { code?: string })?.code).startsWith('ERR_PARSE_ARGS')) {
    return { code: EXIT.usage, text: `error: ${userMessage(err).replace(/\s*\n\s*/g, ' ')}\n` };
  }
  return {
    code: EXIT.internal,
    text: `internal error (please report it with this trace): ${(err as Error)?.stack ?? err}\n`,
  };
}

/** Runs a command's body; an exit code it returns (e.g. verify's 1 for damage) becomes the process's. */
export async function runCli(main: () => Promise<number | void> | number | void): Promise<void> {
  try {
    const code = await main();
    if (code) process.exitCode = code;
  } catch (err) {
    const { code, text } = errorReport(err);
    process.stderr.write(text);
    process.exit(code);
  }
}

/** A zoo directory itself, or the zoos directly inside a folder. */
export function findZoos(path: string): string[] {
  if (!existsSync(path) || !statSync(path).isDirectory())
    throw new UserError(`--zoo ${path} is not a folder (build a zoo with \`npm run zoo\`)`);
  if (existsSync(join(path, MANIFEST_FILE))) return [path];
  const zoos = readdirSync(path)
    .map((name) => join(path, name))
    .filter((p) => existsSync(join(p, MANIFEST_FILE)))
    .sort();
  if (!zoos.length)
    throw new UserError(
      `no zoo found in ${path} (no ${MANIFEST_FILE}); build one with \`npm run zoo\` or pass --zoo`,
    );
  return zoos;
}

/**
 * Runs `each` on every zoo in turn. Of several zoos, one it refuses with a UserError is named
 * on stderr (`error: ...`) and the others still run; a single zoo's error is the command's
 * (one line, exit 2). What each returned comes back with the refused zoos.
 */
export async function eachZoo<T>(
  dirs: string[],
  each: (dir: string) => Promise<T> | T,
): Promise<{ done: { dir: string; value: T }[]; refused: string[] }> {
  const done: { dir: string; value: T }[] = [];
  const refused: string[] = [];
  for (const dir of dirs) {
    try {
      done.push({ dir, value: await each(dir) });
    } catch (err) {
      if (!isUserError(err) || dirs.length === 1) throw err;
      refused.push(dir);
      process.stderr.write(`error: ${userMessage(err)}\n`);
    }
  }
  return { done, refused };
}

/** The exit code after eachZoo: usage (2) with a summary line when a zoo was refused, else none. */
export function refusedExitCode(refused: string[], total: number): number | undefined {
  if (refused.length === 0) return undefined;
  process.stderr.write(`${refused.length} of ${total} zoos refused: ${refused.join(', ')}\n`);
  return EXIT.usage;
}
