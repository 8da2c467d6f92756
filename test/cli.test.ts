/** The one CLI: `weightspace <command>` through package.json's bin, the same commands as `npm run <command>`. */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE_ARGS, MAIN, ROOT, runCliSync } from './helpers.ts';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const COMMANDS = [
  'zoo',
  'cluster',
  'identify',
  'eval',
  'plot',
  'verify',
  'log',
  'show',
  'diff',
  'provenance',
  'fork',
  'lineage',
  'search',
  'tag',
  'import',
  'export',
  'serve',
];

/** Runs the executable package.json names, as npx would (plain node, no loader flags). */
const bin = (args: string[]) =>
  spawnSync(process.execPath, [join(ROOT, pkg.bin.weightspace), ...args], { cwd: ROOT, encoding: 'utf8' });

/**
 * `node ARGS` without blocking the test worker: the help loop spawns two processes per
 * command, and a worker blocked that long misses vitest's RPC deadline.
 */
const nodeAsync = (args: string[]) =>
  new Promise<{ status: number; stdout: string; stderr: string }>((done) =>
    execFile(process.execPath, args, { cwd: ROOT, encoding: 'utf8' }, (err, stdout, stderr) =>
      done({ status: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    ),
  );

describe('weightspace CLI', () => {
  it('has a bin entry, and each npm script runs its command through the same entry point', () => {
    expect(Object.keys(pkg.bin)).toEqual(['weightspace']);
    for (const c of COMMANDS) expect(pkg.scripts[c]).toBe(`tsx src/cli/main.ts ${c}`);
  });

  it("lists every command, and prints each command's help, the same as npm run <command> -- --help", async () => {
    const top = bin(['--help']);
    expect(top.status).toBe(0);
    for (const c of COMMANDS) expect(top.stdout).toMatch(new RegExp(`^  ${c} +\\S`, 'm'));
    for (const c of COMMANDS) {
      const [viaBin, viaNpm] = await Promise.all([
        nodeAsync([join(ROOT, pkg.bin.weightspace), c, '--help']),
        nodeAsync([...NODE_ARGS, MAIN, c, '--help']),
      ]);
      expect(viaBin.status, viaBin.stderr).toBe(0);
      expect(viaBin.stdout).toMatch(new RegExp(`^Usage: npm run ${c} `));
      expect(viaBin.stdout).toMatch(new RegExp(`^   or: npx weightspace ${c} `, 'm'));
      expect(viaBin.stdout).toMatch(/^  -h, --help +show this help$/m);
      expect(viaBin.stdout).toBe(viaNpm.stdout);
    }
  }, 180_000);

  it('runs as `npx weightspace` inside the project', () => {
    const r = spawnSync('npx', ['--no-install', 'weightspace', 'verify', '--help'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: npm run verify /);
  });

  it('refuses an unknown command and a bad option value with one line and exit code 2', () => {
    const r = bin(['clusterr']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `error: unknown command 'clusterr' (did you mean cluster?); the commands are ${COMMANDS.join(', ')} (weightspace --help)\n`,
    );
    const bad = bin(['plot', '--runs', '0']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe("error: --runs must be a whole number of 1 or more, got '0'\n");
  });

  it('shows each option once in help, with its default where it has one', () => {
    const help = runCliSync('zoo', ['--help']).stdout;
    const flags = [...help.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1]);
    expect(new Set(flags).size).toBe(flags.length);
    expect(help).toMatch(/^ {2}--out DIR +folder that holds the zoos \(default: zoo\)$/m);
    expect(help).toMatch(/^ {2}--preset NAME +preset to start from \(default: default\)$/m);
  });
});
