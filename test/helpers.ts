import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ArchName } from '../src/core/architectures.ts';
import { presetConfig } from '../src/core/presets.ts';
import type { ZooConfig } from '../src/core/zooConfig.ts';

export const ROOT = new URL('..', import.meta.url).pathname;

export function tempDir(prefix = 'wsvc-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A zoo that trains in well under a second. */
export function tinyConfig(arch: ArchName, overrides: Partial<ZooConfig> = {}): ZooConfig {
  return presetConfig('default', arch, {
    seedCount: 3,
    epochs: 2,
    trainSize: 300,
    testSize: 100,
    ...overrides,
  });
}

// tsx by its path, so that commands also run with a working folder outside the repository
export const NODE_ARGS = ['--import', pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href];

export const MAIN = join(ROOT, 'src/cli/main.ts');

/** Runs a CLI command (e.g. 'zoo', as `weightspace zoo ...`) to completion in a child process. */
export function runCliSync(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
) {
  const r = spawnSync(process.execPath, [...NODE_ARGS, MAIN, command, ...args], {
    cwd: options.cwd ?? ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `npm run export` of one checkpoint of a zoo to `out`, checked to succeed. */
export function exportCheckpoint(o: {
  zoo: string;
  run: number;
  epoch: number;
  format: string;
  out: string;
}): void {
  const args = ['--zoo', o.zoo, '--run', String(o.run), '--epoch', String(o.epoch), '--format', o.format];
  const r = runCliSync('export', [...args, '--out', o.out]);
  if (r.code !== 0) throw new Error(`export failed: ${r.stderr}`);
}

/** Starts a CLI command without waiting (for kill tests). */
export function startCli(command: string, args: string[], env: Record<string, string> = {}) {
  return spawn(process.execPath, [...NODE_ARGS, MAIN, command, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
}

/** SHA-256 of every file under `dir`, by relative path (the manifest's timestamps left out). */
export function treeFingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        let bytes: Buffer | string = readFileSync(path);
        if (name === 'manifest.json')
          bytes = bytes.toString('utf8').replace(/"(createdAt|updatedAt)": "[^"]*"/g, '"$1": ""');
        out[relative(dir, path)] = createHash('sha256').update(bytes).digest('hex');
      }
    }
  };
  walk(dir);
  return out;
}

/**
 * Trains a zoo in a child process that kills itself with SIGKILL at one write of the commit
 * protocol (test/fixtures/crashZoo.ts), like a power cut; returns the child's result.
 */
export function crashZoo(options: {
  dir: string;
  config: ZooConfig;
  /** The write to die at: epoch (-1: the initial manifest), file and stage (store/zooCommit.ts). */
  at: [epoch: number, file: string, stage: string];
  workers?: number;
  shard?: string;
  env?: Record<string, string>;
}) {
  const [epoch, file, stage] = options.at;
  const args = [
    options.dir,
    String(options.workers ?? 1),
    JSON.stringify(options.config),
    String(epoch),
    file,
    stage,
  ];
  return spawnSync(
    process.execPath,
    [
      ...NODE_ARGS,
      join(ROOT, 'test/fixtures/crashZoo.ts'),
      ...args,
      ...(options.shard ? [options.shard] : []),
    ],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...options.env } },
  );
}

/** The saved index of a zoo (null when there is none or it is not current), and saving one, as the library API does. */
export { loadZooIndex as loadSavedIndex, saveZooIndex as saveIndex } from '../src/index.ts';
