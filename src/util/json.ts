import { readFileSync } from 'node:fs';
import { UserError } from '../core/errors.ts';

/** A JSON file this toolkit wrote; `fix` tells the user what to do when it is not JSON. */
export function readJsonFile(path: string, fix: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? err}); ${fix}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(`${path} is not valid JSON (${(err as Error).message}); ${fix}`);
  }
}

/** JSON has no Infinity or NaN: a JSON.stringify replacer writing them as the strings "Infinity", "-Infinity" and "NaN" (docs/identify.md). */
export function jsonNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
}
