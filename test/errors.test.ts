/** The rule for errors (core/errors.ts): bad input is one line and exit 2; a bug prints its stack and exits 70. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.ts';

/** Runs `body` (module code) as a command through runCli in a child process. */
function command(body: string) {
  const code = `import { runCli, UserError } from './src/cli/common.ts';\nawait runCli(async () => { ${body} });`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { code: r.status, stderr: r.stderr };
}

describe('runCli', () => {
  it('shows an internal error (a RangeError from a bug) with its stack and exit code 70', () => {
    const r = command(`const a = []; a.length = -1;`);
    expect(r.code).toBe(70);
    expect(r.stderr).toMatch(
      /^internal error \(please report it with this trace\): RangeError: Invalid array length\n\s+at /,
    );
  });

  it('shows a plain Error from a bug the same way', () => {
    const r = command(`throw new TypeError('x is not a function');`);
    expect(r.code).toBe(70);
    expect(r.stderr).toMatch(/TypeError: x is not a function\n\s+at /);
  });

  it.each([
    [`throw new UserError('--zoo is missing')`, 'error: --zoo is missing'],
    [
      `const { ZooError } = await import('./src/store/manifest.ts'); throw new ZooError('no zoo at x')`,
      'error: no zoo at x',
    ],
    [
      `const { CheckpointFileError } = await import('./src/store/checkpointFile.ts'); throw new CheckpointFileError('f.arrow is bad')`,
      'error: f.arrow is bad',
    ],
    [`const { MnistError } = await import('./src/data/mnist.ts'); throw new MnistError('m')`, 'error: m'],
    [
      `const { ZooConfigError } = await import('./src/core/zooConfig.ts'); throw new ZooConfigError('c')`,
      'error: c',
    ],
    [
      `const { presetConfig } = await import('./src/core/presets.ts'); presetConfig('huge', 'ffnn')`,
      /^error: unknown preset 'huge'/,
    ],
  ])('shows bad input (%s) as one line with exit code 2', (body, message) => {
    const r = command(body);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      typeof message === 'string'
        ? new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n$`)
        : message,
    );
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('passes a returned exit code on (verify: 1 for a damaged zoo)', () => {
    expect(command('return 1;').code).toBe(1);
    expect(command('return;').code).toBe(0);
  });
});
