/** The --memory option of the commands that stream zoos larger than memory from their files. */
import { totalmem } from 'node:os';
import { zooShape, type ZooManifest } from '../store/manifest.ts';
import { UserError } from './common.ts';
import { text } from './options.ts';

/** The default --memory: 4 GB, or half the machine's memory when that is less. */
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

export const memoryOption = (what: string) =>
  text({
    arg: 'SIZE',
    help: `memory for a zoo's weights (e.g. 4GB, 512MB); a larger zoo is streamed from its files\n(${what})`,
    defaultText: `${formatBytes(defaultMemory())}: 4 GB or half the machine's`,
    check: (name, value) => void parseBytes(name, value),
  });

/** The bound --memory gives, in bytes. */
export const memoryBound = (value: string | undefined): number =>
  value === undefined ? defaultMemory() : parseBytes('memory', value);

/** Bytes of a zoo's weights as float32: what loading it takes. */
export function zooWeightBytes(manifest: ZooManifest): number {
  return zooShape(manifest).runs * (manifest.epochsCompleted + 1) * manifest.architecture.size * 4;
}
