/**
 * What every CLI shares: argument parsing helpers and the rule for errors. Bad input is a
 * UserError (one line on stderr, exit code 2); anything else is a bug (stack trace, exit 1).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MnistError } from '../data/mnist.ts';
import { CheckpointFileError } from '../store/checkpointFile.ts';
import { MANIFEST_FILE, ZooError } from '../store/manifest.ts';
import { ZooConfigError } from '../nn/zooConfig.ts';

export class UserError extends Error {}

const USER_ERRORS = [UserError, ZooError, ZooConfigError, MnistError, CheckpointFileError, RangeError];

export async function runCli(main: () => Promise<void> | void): Promise<void> {
  try {
    await main();
  } catch (err) {
    // errors from worker threads arrive as plain Errors carrying the original class name
    const userError = USER_ERRORS.some((E) => err instanceof E || (err as Error).name === E.name);
    if (userError || String((err as { code?: string }).code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`error: ${(err as Error).message}\n`);
      process.exit(2);
    }
    process.stderr.write(`internal error (please report): ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  }
}

/** Parses an integer option; `undefined` stays undefined. */
export function intOption(name: string, value: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || n < min || n > max) {
    throw new UserError(`--${name} must be an integer from ${min} to ${max}, got '${value}'`);
  }
  return n;
}

/** Parses a non-negative real option; `undefined` stays undefined. */
export function numberOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new UserError(`--${name} must be a non-negative number, got '${value}'`);
  return n;
}

export function choiceOption<T extends string>(name: string, value: string | undefined, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!choices.includes(value as T)) throw new UserError(`--${name} must be one of ${choices.join(', ')}, got '${value}'`);
  return value as T;
}

/** A zoo directory itself, or the zoos directly inside a folder. */
export function findZoos(path: string): string[] {
  if (!existsSync(path) || !statSync(path).isDirectory()) throw new UserError(`--zoo ${path} is not a folder (build a zoo with \`npm run zoo\`)`);
  if (existsSync(join(path, MANIFEST_FILE))) return [path];
  const zoos = readdirSync(path)
    .map((name) => join(path, name))
    .filter((p) => existsSync(join(p, MANIFEST_FILE)))
    .sort();
  if (!zoos.length) throw new UserError(`no zoo found in ${path} (no ${MANIFEST_FILE}); build one with \`npm run zoo\` or pass --zoo`);
  return zoos;
}
