/**
 * One writer at a time per zoo. Every writer (training, import, merge, ZooWriter and the
 * recorder) holds `<parent>/.<zoo>.lock` while it writes: beside the zoo rather than inside it,
 * so that the lock outlives a zoo being replaced (--overwrite) or moved into place (merge),
 * and exists before the zoo's folder does. The lock file names its holder (pid, host, start,
 * command); it is created whole or not at all (a complete temp file hard-linked into place,
 * which fails when a lock is there), so a reader never sees half a lock.
 *
 * A lock whose process no longer runs on this host is stale (a writer killed with SIGKILL, or
 * a machine that rebooted): it is removed and named on stderr, since whoever runs the next
 * writer should know that an earlier one died there. A lock of another host cannot be
 * checked and is refused with the path to delete.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { option, UserError } from '../core/errors.ts';
import { TEMP_SUFFIX } from './atomicWrite.ts';

export class ZooLockError extends UserError {}

/** Who holds a lock: what its file says. */
export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
}

export interface ZooLock {
  path: string;
  holder: LockHolder;
  /** Removes the lock (if it is still this one); safe to call twice. */
  release(): void;
}

/** The lock file of the zoo at `dir`. */
export const lockPath = (dir: string): string => join(dirname(dir), `.${basename(dir)}.lock`);

/**
 * Takes the zoo's lock or throws a ZooLockError naming the writer that holds it. `instead`
 * says what the user can do other than wait (e.g. `use another ${option('dir')}`, the option
 * field marked as core/errors.ts says).
 */
export function lockZoo(dir: string, instead = 'write to another folder'): ZooLock {
  const path = lockPath(dir);
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    command: process.argv.slice(1).join(' ').slice(0, 300),
  };
  // a folder made for the lock alone goes again with it, if nothing else was written there
  let made: string | undefined;
  try {
    made = mkdirSync(dirname(path), { recursive: true });
  } catch (err) {
    throw new ZooLockError(
      `cannot create zoo directory ${dir} (${(err as NodeJS.ErrnoException).code}); choose a writable location with ${option('dir')}`,
    );
  }
  const tmp = `${path}.${process.pid}${TEMP_SUFFIX}`;
  try {
    writeFileSync(tmp, JSON.stringify(holder) + '\n');
  } catch (err) {
    throw new ZooLockError(
      `cannot write the lock of ${dir} in ${dirname(path)} (${(err as NodeJS.ErrnoException).code}); choose a writable location with ${option('dir')}`,
    );
  }
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(tmp, path);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt === 2) throw err;
      }
      const other = readHolder(path);
      if (other && (other.host !== holder.host || isRunning(other.pid))) {
        const started = new Date(other.startedAt);
        const time = Number.isNaN(started.getTime()) ? other.startedAt : started.toTimeString().slice(0, 5);
        const where = other.host === holder.host ? '' : ` on host ${other.host}`;
        const check = other.host === holder.host ? '' : ` (if no such process runs there, delete ${path})`;
        throw new ZooLockError(
          `${dir} is being written by pid ${other.pid}${where} (started ${time}); wait, or ${instead}${check}`,
        );
      }
      if (!existsSync(path)) continue; // its writer released it meanwhile
      process.stderr.write(
        other
          ? `note: removed the stale lock of ${dir}: pid ${other.pid} (started ${other.startedAt}) no longer runs\n`
          : `note: removed the unreadable lock file ${path}\n`,
      );
      rmSync(path, { force: true });
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  const release = () => {
    process.off('exit', release);
    const now = readHolder(path);
    if (now?.pid === holder.pid && now.startedAt === holder.startedAt) rmSync(path, { force: true });
    if (made) removeEmptyFolders(dirname(path), made);
  };
  process.on('exit', release); // process.exit() (Ctrl-C in the CLI) skips finally blocks
  return { path, holder, release };
}

/** Runs `write` holding the zoo's lock. */
export async function withZooLock<T>(dir: string, instead: string, write: () => Promise<T> | T): Promise<T> {
  const lock = lockZoo(dir, instead);
  try {
    return await write();
  } finally {
    lock.release();
  }
}

/** Synchronous `withZooLock`. */
export function withZooLockSync<T>(dir: string, instead: string, write: () => T): T {
  const lock = lockZoo(dir, instead);
  try {
    return write();
  } finally {
    lock.release();
  }
}

/** Removes `dir` and its parents up to `top` while they are empty. */
function removeEmptyFolders(dir: string, top: string): void {
  for (let d = resolve(dir); d.startsWith(resolve(top)); d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (or gone): what is there stays
    }
  }
}

function readHolder(path: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    return Number.isInteger(h.pid) && typeof h.host === 'string' ? h : null;
  } catch {
    return null;
  }
}

/** Whether a process with this pid runs on this host (signal 0 checks without signalling). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
