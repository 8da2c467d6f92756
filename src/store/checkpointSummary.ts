/**
 * What verify needs of a checkpoint file, row by row: labels, stored and recomputed hashes,
 * parents, the first weight that is not finite.
 */
import { fileZooMeta, type CheckpointFile } from './checkpointFile.ts';
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

/** Throws a UserError when the file's zoo metadata is not JSON. */
export function summarizeCheckpoints({ rows, metadata }: CheckpointFile, path: string): CheckpointSummary {
  const meta = fileZooMeta(metadata, path);
  const config = meta.config ?? null;
  const d = rows.size;
  const n = rows.run.length;
  const row = (i: number) => rows.weights.subarray(i * d, (i + 1) * d);
  const nonFinite = Array.from({ length: n }, (_, i) => row(i).findIndex((v) => !Number.isFinite(v)));
  return {
    size: d,
    arch: config?.arch ?? meta.architecture?.name ?? null,
    config,
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
