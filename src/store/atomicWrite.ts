import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

/** Temp files are `<target>.<pid>.tmp`; a process killed mid-write leaves one behind. */
export const TEMP_SUFFIX = '.tmp';

/**
 * Writes `bytes` to `path` so that readers (and a run killed at any moment) see either the
 * old file or the complete new one: write a temp file beside it, fsync, then rename over.
 * `beforeRename` runs between the two (crash tests stop the process there).
 */
export function writeFileAtomic(path: string, bytes: Uint8Array | string, beforeRename?: () => void): void {
  const tmp = `${path}.${process.pid}${TEMP_SUFFIX}`;
  const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  try {
    const fd = openSync(tmp, 'w');
    try {
      let written = 0;
      while (written < data.length) written += writeSync(fd, data, written, data.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    beforeRename?.();
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Temp files left in `dirs` by killed writers (absent folders are skipped). */
export function tempFiles(...dirs: string[]): string[] {
  return dirs.flatMap((dir) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith(TEMP_SUFFIX))
          .map((f) => join(dir, f))
      : [],
  );
}
