/** Memory sizes: the default bound for zoos streamed from their files, and sizes as people write them. */
import { totalmem } from 'node:os';
import { UserError } from '../core/errors.ts';

/** The default memory bound (--memory): 4 GB, or half the machine's memory when that is less. */
export function defaultMemory(): number {
  return Math.min(4 * 2 ** 30, Math.floor(totalmem() / 2));
}

/** '4GB', '512MB', '2G', '1000000' (bytes) to bytes. */
export function parseBytes(name: string, value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(k|m|g|t)?i?b?\s*$/i.exec(value);
  if (!m || !(Number(m[1]) > 0))
    throw new UserError(`--${name} must be a size such as 4GB or 512MB, got '${value}'`);
  const power = { k: 1, m: 2, g: 3, t: 4 }[(m[2] ?? '').toLowerCase() as 'k'] ?? 0;
  return Math.round(Number(m[1]) * 1024 ** power);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (bytes >= 1024 && i < units.length - 1) [bytes, i] = [bytes / 1024, i + 1];
  return `${Number(bytes.toFixed(1))} ${units[i]}`;
}
