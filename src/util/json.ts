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
