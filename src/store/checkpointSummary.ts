/**
 * What verify needs of a checkpoint file, row by row: labels, stored and recomputed hashes,
 * parents, the first weight that is not finite. A file whose bytes do not match the hash the
 * manifest recorded is summarised in a child process with a time limit, since a damaged
 * Arrow file can make the reader loop forever; so verify still names its damaged rows.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isUserError } from '../core/errors.ts';
import { fileZooMeta, parseCheckpoints } from './checkpointFile.ts';
import { weightsSha256 } from './sha256.ts';

export interface CheckpointSummary {
  size: number;
  /** The architecture and config the file's metadata names; null when it names none. */
  arch: string | null;
  config: Record<string, unknown> | null;
  run: number[];
  epoch: number[];
  seed: number[];
  sha256: string[];
  parentSha256: (string | null)[];
  /** SHA-256 of each row's weights as they are in the file. */
  actualSha256: string[];
  /** Per row, the index of the first weight that is not finite, or -1. */
  nonFinite: number[];
  nonFiniteValue: (number | string)[];
}

/** Throws a UserError when the bytes are not a checkpoint file. */
export function summarizeCheckpoints(bytes: Uint8Array, path: string): CheckpointSummary {
  const { rows, metadata } = parseCheckpoints(bytes, path);
  const d = rows.size;
  const n = rows.run.length;
  const row = (i: number) => rows.weights.subarray(i * d, (i + 1) * d);
  const nonFinite = Array.from({ length: n }, (_, i) => row(i).findIndex((v) => !Number.isFinite(v)));
  return {
    size: d,
    arch: fileZooMeta(metadata, path).config?.arch ?? null,
    config: fileZooMeta(metadata, path).config ?? null,
    run: Array.from(rows.run),
    epoch: Array.from(rows.epoch),
    seed: Array.from(rows.seed),
    sha256: rows.sha256,
    parentSha256: rows.parentSha256,
    actualSha256: Array.from({ length: n }, (_, i) => weightsSha256(row(i))),
    nonFinite,
    nonFiniteValue: nonFinite.map((j, i) => (j < 0 ? 0 : String(row(i)[j]))),
  };
}

/** summarizeCheckpoints in a child process that is stopped after `timeoutMs`; an error message instead when it fails. */
export function summarizeInChild(path: string, timeoutMs = 20_000): CheckpointSummary | { error: string } {
  const entry = fileURLToPath(new URL('./summarizeChild.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [entry, path], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 28 });
  if (r.error || r.signal) return { error: `the Arrow reader did not finish on it within ${timeoutMs / 1000} s (a damaged file can make it loop)` };
  try {
    return JSON.parse(r.stdout) as CheckpointSummary | { error: string };
  } catch {
    return { error: `it could not be read (${r.stderr.trim().split('\n')[0] ?? 'no output'})` };
  }
}

/** The child's side: prints the summary of the file named in argv, or {error}. */
export function summarizeChildMain(path: string, bytes: Uint8Array): string {
  try {
    return JSON.stringify(summarizeCheckpoints(bytes, path));
  } catch (err) {
    if (!isUserError(err)) return JSON.stringify({ error: `the reader failed (${(err as Error).message})` });
    return JSON.stringify({ error: (err as Error).message.startsWith(path) ? (err as Error).message.slice(path.length).replace(/^:?\s*/, '') : (err as Error).message });
  }
}
