/**
 * The first hour of a new user (issue 24), as CLI runs on a fresh temporary root: defaults
 * that adapt to a small imported zoo beside trained ones, reports that keep earlier spaces,
 * one writer at a time (two real processes), incomplete and damaged zoos, identify's zoo
 * search and its p-value worded as a test, and the small things (option parsing, plots).
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainZoo } from '../src/train/trainZoo.ts';
import { checkpointPath, readManifest } from '../src/store/manifest.ts';
import { lockPath } from '../src/store/zooLock.ts';
import { loadZoo } from '../src/store/loadZoo.ts';
import { trainingCurvesFigure } from '../src/plot/zooStatistics.ts';
import { ROOT, crashZoo, runCliSync, startCli, tempDir, tinyConfig, treeFingerprint } from './helpers.ts';
import { safetensorsBytes } from './support/safetensorsSpec.ts';

/** A small MLP (20 -> 50 -> 5, biases) of `runs` x `epochs` checkpoints as safetensors files, written from the format's specification. */
function writeMlpRuns(source: string, runs: number, epochs: number): number {
  let state = 7;
  const random = () => ((state = (state * 16807) % 2147483647) / 2147483647 - 0.5) / 5;
  const tensors: [string, number[]][] = [
    ['fc1.weight', [50, 20]],
    ['fc1.bias', [50]],
    ['fc2.weight', [5, 50]],
    ['fc2.bias', [5]],
  ];
  for (let run = 0; run < runs; run++) {
    mkdirSync(join(source, `run-${run}`), { recursive: true });
    const start = tensors.map(([, shape]) => Array.from({ length: shape.reduce((a, b) => a * b) }, random));
    for (let epoch = 0; epoch < epochs; epoch++) {
      const file = tensors.map(([name, shape], t) => ({
        name,
        shape,
        dtype: 'F32',
        values: start[t].map((v) => v * (1 - 0.1 * epoch) + 0.01 * epoch * random()),
      }));
      writeFileSync(join(source, `run-${run}`, `epoch-${epoch}.safetensors`), safetensorsBytes(file));
    }
  }
  return 20 * 50 + 50 + 50 * 5 + 5;
}

let root: string;
let zoos: string;
const small = ['--train-size', '300', '--test-size', '100'];

beforeAll(async () => {
  root = tempDir('wsvc-first-hour-');
  zoos = join(root, 'zoo');
  await trainZoo({ dir: join(zoos, 'ffnn-t'), config: tinyConfig('ffnn', { seedCount: 10, epochs: 5 }) });
  writeMlpRuns(join(root, 'runs'), 4, 4);
  const imported = runCliSync('import', ['runs', '--name', 'my-mlp'], { cwd: root });
  expect(imported.code, imported.stderr).toBe(0);
}, 120_000);

describe('defaults that work on every zoo', () => {
  it('bare cluster lowers --svd 50 for a zoo of 16 checkpoints, with a note, and analyses every zoo', () => {
    const r = runCliSync('cluster', [], { cwd: root });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'note: zoo/my-mlp: --svd 50 (the default) lowered to 16: the zoo has 16 checkpoints x 1305 weights',
    );
    expect(r.stderr).not.toMatch(/ffnn-t: --svd/);
    const mine = JSON.parse(readFileSync(join(root, 'results', 'cluster-my-mlp.json'), 'utf8'));
    expect(mine.rows.map((row: { space: string }) => row.space)).toEqual(['svd-16']);
    const trained = JSON.parse(readFileSync(join(root, 'results', 'cluster-ffnn-t.json'), 'utf8'));
    expect(trained.rows.map((row: { space: string }) => row.space)).toEqual(['svd-50']);
  });

  it('refuses a typed --svd for the zoo it does not fit, by name, analyses the others and exits 2', () => {
    const before = treeFingerprint(join(root, 'results', 'my-mlp'));
    const mineBefore = readFileSync(join(root, 'results', 'cluster-my-mlp.json'));
    const r = runCliSync('cluster', ['--svd', '40'], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'error: --svd 40 is too large for zoo/my-mlp: 16 checkpoints x 1305 weights (k must be <= 16)',
    );
    expect(r.stderr).toContain('1 of 2 zoos refused: zoo/my-mlp');
    expect(r.stdout).toMatch(/zoo\/ffnn-t \(ffnn\)[\s\S]*svd-40/);
    expect(treeFingerprint(join(root, 'results', 'my-mlp'))).toEqual(before);
    expect(readFileSync(join(root, 'results', 'cluster-my-mlp.json'))).toEqual(mineBefore);
  });

  it('keeps the spaces of earlier runs in the report: a new run adds its own', () => {
    const r = runCliSync('cluster', ['--zoo', 'zoo/ffnn-t', '--full', '--order-by', 'merge'], { cwd: root });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('kept from earlier runs: svd-40');
    const report = JSON.parse(readFileSync(join(root, 'results', 'cluster-ffnn-t.json'), 'utf8'));
    // svd-50 of the first run, svd-40 of the second, full and svd-50 (again) of this one
    expect(report.rows.map((row: { space: string }) => row.space)).toEqual(['full', 'svd-50', 'svd-40']);
    expect(report.history.map((h: { options: { orderBy: string } }) => h.options.orderBy)).toEqual([
      'last',
      'last',
      'merge',
    ]);
  });

  it('plot lowers its --svd for the small zoo with a note, and leaves out the training curves it has no metrics for', () => {
    const r = runCliSync('plot', ['--zoo', 'zoo/my-mlp', '--umap-epochs', '50'], { cwd: root });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('note: zoo/my-mlp: --svd 50 (the default) lowered to 16');
    const dir = join(root, 'results', 'my-mlp');
    expect(existsSync(join(dir, 'trajectories-umap-svd-16.html'))).toBe(true);
    expect(existsSync(join(dir, 'training-curves.html'))).toBe(false);
    expect(readFileSync(join(dir, 'index.html'), 'utf8')).toContain(
      'No training metrics (loss, accuracy) are recorded in this zoo, so there is no training-curves page.',
    );
    const umap = readFileSync(join(dir, 'trajectories-umap-svd-16.html'), 'utf8');
    expect(umap).toContain('A long straight line is two consecutive checkpoints that UMAP placed far apart');
  });

  it('draws the loss on a log axis with test loss first and dashed, train loss on top', () => {
    const figure = trainingCurvesFigure(loadZoo(join(zoos, 'ffnn-t')))!;
    const medians = (figure.data as { name: string; line: { dash?: string } }[]).filter((d) =>
      d.name.endsWith('(median)'),
    );
    expect(medians.map((d) => [d.name, d.line.dash])).toEqual([
      ['test loss (median)', 'dash'],
      ['train loss (median)', 'solid'],
      ['test accuracy (median)', 'solid'],
    ]);
    expect((figure.layout as { yaxis: { type: string } }).yaxis.type).toBe('log');
    expect(trainingCurvesFigure(loadZoo(join(zoos, 'my-mlp')))).toBeNull();
  });
});

describe('one writer at a time', () => {
  it('refuses a second zoo process on the same --out, naming the first, and leaves the first zoo alone', async () => {
    const out = tempDir();
    const dir = join(out, 'cnn-default');
    const args = [
      '--arch',
      'cnn',
      '--seeds',
      '8',
      '--epochs',
      '30',
      '--train-size',
      '3000',
      '--test-size',
      '100',
    ];
    const first = startCli('zoo', [...args, '--out', out]);
    const exited = new Promise<number | null>((resolve) => first.on('exit', (code) => resolve(code)));
    let stderr = '';
    first.stderr.on('data', (d) => (stderr += d));
    while (!existsSync(checkpointPath(dir, 1))) {
      if (first.exitCode !== null) throw new Error(`the first zoo finished too soon: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const lock = JSON.parse(readFileSync(lockPath(dir), 'utf8'));
    expect(lock).toMatchObject({ pid: first.pid, host: hostname() });
    const second = runCliSync('zoo', [...args, '--lr', '0.01', '--overwrite', '--out', out]);
    expect(second.code).toBe(2);
    expect(second.stderr.trim()).toMatch(
      new RegExp(
        `^error: ${dir} is being written by pid ${first.pid} \\(started \\d\\d:\\d\\d\\); wait, or use another --out$`,
      ),
    );
    expect(readManifest(dir).config!.learningRate).toBe(0.03); // the first's zoo, not replaced
    first.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(existsSync(lockPath(dir))).toBe(false); // Ctrl-C releases it
  }, 120_000);

  it('takes over the lock of a writer that no longer runs, naming it; refuses one of another host', () => {
    const out = tempDir();
    const dir = join(out, 'ffnn-default');
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(
      lockPath(dir),
      JSON.stringify({ pid: gone, host: hostname(), startedAt: '2026-12-01T12:01:00.000Z', command: 'zoo' }),
    );
    const args = ['--arch', 'ffnn', '--seeds', '3', '--epochs', '1', ...small, '--out', out];
    const r = runCliSync('zoo', args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `note: removed the stale lock of ${dir}: pid ${gone} (started 2026-12-01T12:01:00.000Z) no longer runs`,
    );
    writeFileSync(
      lockPath(dir),
      JSON.stringify({ pid: 1, host: 'node-17', startedAt: '2026-12-01T12:01:00.000Z', command: 'zoo' }),
    );
    const before = treeFingerprint(dir);
    const refused = runCliSync('zoo', [...args, '--epochs', '2']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `is being written by pid 1 on host node-17 (started ${new Date('2026-12-01T12:01:00.000Z').toTimeString().slice(0, 5)}); wait, or use another --out (if no such process runs there, delete ${lockPath(dir)})`,
    );
    expect(treeFingerprint(dir)).toEqual(before);
  });

  it('holds the lock for import too', () => {
    const dir = join(zoos, 'my-mlp-2');
    writeFileSync(
      lockPath(dir),
      JSON.stringify({
        pid: process.pid,
        host: hostname(),
        startedAt: new Date().toISOString(),
        command: 'x',
      }),
    );
    const r = runCliSync('import', ['runs', '--name', 'my-mlp-2'], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /zoo\/my-mlp-2 is being written by pid \d+ .*; wait, or import under another --name/,
    );
    expect(existsSync(dir)).toBe(false);
  });

  it('holds the lock for zoo merge too', async () => {
    const shards = tempDir();
    const config = tinyConfig('ffnn', { seedCount: 4, epochs: 1 });
    const dirs = [0, 1].map((index) => join(shards, `ffnn-t-shard-${index}-of-2`));
    for (const [index, dir] of dirs.entries()) await trainZoo({ dir, config, shard: { index, count: 2 } });
    const out = join(tempDir(), 'ffnn-merged');
    writeFileSync(
      lockPath(out),
      JSON.stringify({
        pid: process.pid,
        host: hostname(),
        startedAt: new Date().toISOString(),
        command: 'x',
      }),
    );
    const r = runCliSync('zoo', ['merge', ...dirs, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ffnn-merged is being written by pid \d+ .*; wait, or merge into another --out/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('zoos that are not whole', () => {
  it('an interrupted zoo is sound and incomplete, and cluster and identify say so', () => {
    const dir = join(tempDir(), 'ffnn-cut');
    const config = tinyConfig('ffnn', { seedCount: 4, epochs: 5 });
    const crash = crashZoo({ dir, config, at: [2, 'manifest', 'done'] });
    expect(crash.signal, crash.stderr).toBe('SIGKILL');
    const note = 'incomplete: 2 of 5 epochs committed; run the same zoo command to resume';
    const verify = runCliSync('verify', ['--zoo', dir]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/: sound: 12 checkpoints \(4 runs x 3 epochs\)/);
    expect(verify.stdout).toContain(`  ${note}`);
    expect(JSON.parse(runCliSync('verify', ['--zoo', dir, '--json']).stdout).incomplete).toBe(note);
    const cluster = runCliSync('cluster', ['--zoo', dir, '--svd', '5', '--out', tempDir()]);
    expect(cluster.code, cluster.stderr).toBe(0);
    expect(cluster.stderr).toContain(`note: ${dir}: ${note}`);
    const identify = runCliSync('identify', [checkpointPath(dir, 1), '--run', '2', '--zoo', dir]);
    expect(identify.code, identify.stderr).toBe(0);
    expect(identify.stderr).toContain(`note: ${dir}: ${note}`);
  });

  it('zoo names a damaged zoo and how to repair it; --repair rebuilds the file bit for bit', () => {
    const out = tempDir();
    const dir = join(out, 'ffnn-default');
    const args = ['--arch', 'ffnn', '--seeds', '4', '--epochs', '3', ...small, '--out', out];
    expect(runCliSync('zoo', args).code).toBe(0);
    const path = checkpointPath(dir, 2);
    const original = readFileSync(path);
    truncateSync(path, 1000);
    const before = treeFingerprint(dir);
    const refused = runCliSync('zoo', args);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(
      `error: ${dir} is damaged: ${path} (bytes differ from the recorded SHA-256); repair it by running the same zoo command with --repair (it retrains epochs 0-2 and rewrites those files when they equal their recorded SHA-256), or see npm run verify -- --zoo ${dir}`,
    );
    expect(treeFingerprint(dir)).toEqual(before);
    const repaired = runCliSync('zoo', [...args, '--repair']);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(repaired.stderr).toContain('repaired epoch(s) 2: their files equal the recorded SHA-256 again');
    expect(readFileSync(path)).toEqual(original);
    expect(runCliSync('verify', ['--zoo', dir]).code).toBe(0);
  });

  it('refuses a repair whose rebuilt file would not have the recorded hash, writing nothing', () => {
    const out = tempDir();
    const dir = join(out, 'ffnn-default');
    const args = ['--arch', 'ffnn', '--seeds', '3', '--epochs', '2', ...small, '--out', out];
    expect(runCliSync('zoo', args).code).toBe(0);
    // the manifest records another hash for epoch 1 than training gives
    const manifestPath = join(dir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    manifest.files['checkpoints/epoch-0001.arrow'] = 'f'.repeat(64);
    writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
    const before = treeFingerprint(dir);
    const r = runCliSync('zoo', [...args, '--repair']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /cannot repair .*epoch-0001\.arrow: retrained, it has SHA-256 [0-9a-f]{12}…, the manifest records ffffffffffff…; nothing was written/,
    );
    expect(treeFingerprint(dir)).toEqual(before);
  });
});

describe('identify', () => {
  it('words the p-value of a member as a test with a floor, and keeps an infinite margin in JSON', () => {
    const text = runCliSync('identify', [checkpointPath(join(zoos, 'ffnn-t'), 3), '--run', '4'], {
      cwd: root,
    });
    expect(text.code, text.stderr).toBe(0);
    const json = JSON.parse(
      runCliSync('identify', [checkpointPath(join(zoos, 'ffnn-t'), 3), '--run', '4', '--json'], { cwd: root })
        .stdout,
    );
    expect([json.zoo, json.verdict, json.run, json.margin]).toEqual(['zoo/ffnn-t', 'member', 4, 'Infinity']);
    const n = json.calibration.nullSamples;
    expect(n).toBeGreaterThan(0);
    expect(json.pValueFloor).toBeCloseTo(1 / (n + 1), 12);
    expect(json.pValue).toBeLessThan(json.pValueFloor);
    expect(json.test).toEqual({
      null: 'not from run 4',
      statistic: 'margin (distance to the next run / to this one)',
      alpha: 0.001,
      significant: true,
      pValueBelowFloor: true,
    });
    expect(text.stdout).toContain(
      'null        H0: the checkpoint is not from run 4 (it is from another run, in the zoo or not)',
    );
    expect(text.stdout).toMatch(
      new RegExp(
        `p-value     p < [0-9.e-]+ \\(1/${n + 1}: the calibration's samples resolve no smaller p\\); significant at 0\\.001( \\(by the fitted tail\\))?: the null is rejected`,
      ),
    );
    expect(text.stdout).toContain(
      'margin      inf (distance to the next run / to this one; the distance to this run is 0)',
    );
  });

  it('says "not significant" for a checkpoint of a seed the zoo does not have', async () => {
    const stranger = join(tempDir(), 'ffnn-stranger');
    await trainZoo({
      dir: stranger,
      config: tinyConfig('ffnn', { seedCount: 1, seedStart: 500, epochs: 5 }),
    });
    const r = runCliSync('identify', [checkpointPath(stranger, 3), '--zoo', 'zoo/ffnn-t', '--json'], {
      cwd: root,
    });
    const json = JSON.parse(r.stdout);
    expect(json.verdict).toBe('unknown');
    expect(json.test.significant).toBe(false);
    const text = runCliSync('identify', [checkpointPath(stranger, 3), '--zoo', 'zoo/ffnn-t'], { cwd: root });
    expect(text.stdout).toMatch(
      /p-value     p = [0-9.]+; not significant at 0\.001: the null is not rejected \(which does not show that it is true\)/,
    );
  });

  it('leads with --run for a file of many checkpoints', () => {
    const r = runCliSync('identify', [checkpointPath(join(zoos, 'ffnn-t'), 3)], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: this file holds 10 checkpoints; pick one with --run R \(runs 0-9\): /);
  });

  it('finds the zoo a checkpoint fits under zoo/, names it when --zoo is another, and refuses pickles', () => {
    const file = join('runs', 'run-2', 'epoch-1.safetensors');
    const found = runCliSync('identify', [file, '--json'], { cwd: root });
    expect(found.code, found.stderr).toBe(0);
    expect(JSON.parse(found.stdout)).toMatchObject({ zoo: 'zoo/my-mlp', verdict: 'member', run: 2 });
    const wrong = runCliSync('identify', [file, '--zoo', 'zoo/ffnn-t'], { cwd: root });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/it is a my-mlp checkpoint: try --zoo zoo\/my-mlp\n$/);
    writeFileSync(join(root, 'model.pt'), 'not read');
    const pickle = runCliSync('identify', ['model.pt'], { cwd: root });
    expect(pickle.code).toBe(2);
    expect(pickle.stderr).toMatch(
      /^error: model\.pt is a PyTorch pickle\. PyTorch pickles can run code when loaded/,
    );
  });
});

describe('option parsing', () => {
  it.each([
    [['zoo', '--seeds', '-1'], "error: --seeds must be a whole number from 1 to 100000, got '-1'"],
    [['cluster', '--svd', '2.5'], "error: --svd must be a whole number of 0 or more, got '2.5'"],
    [
      ['zoo', '--seed', '3'],
      "error: unknown option '--seed'; did you mean --seeds? (--help lists the options)",
    ],
    [
      ['cluster', '--zooo', 'x'],
      "error: unknown option '--zooo'; did you mean --zoo? (--help lists the options)",
    ],
  ])('%j: %s', (argv, message) => {
    const [command, ...args] = argv;
    const r = runCliSync(command, args, { cwd: root });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(message);
  });

  it('says where the -- goes when npm kept an option for itself', () => {
    // what `npm run cluster --zoo x` hands the command: npm_config_zoo set, only `x` as argument
    const r = runCliSync('cluster', ['x'], {
      cwd: root,
      env: { npm_lifecycle_event: 'cluster', npm_config_zoo: 'true' },
    });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      "error: npm kept --zoo for itself: put -- before the command's options, as in npm run cluster -- --zoo ...",
    );
  });

  it('prints the version, and zoo --help shows the preset defaults', () => {
    const version = runCliSync('--version', []);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(
      new RegExp(`^weightspace ${pkg.version} \\(engine lockstep/\\d+, node v[\\d.]+, apache-arrow `),
    );
    const help = runCliSync('zoo', ['--help']).stdout;
    expect(help).toMatch(
      /--seeds N +number of runs; run i uses seed seed-start \+ i \(default: by --preset: 50 \(default\); 250 \(paper, paper-tuned\)\)/,
    );
    expect(help).toMatch(
      /--lr X +learning rate \(default: by --preset: 0\.03 \(default, paper-tuned\); ffnn 0\.03, cnn 0\.0003 \(paper\)\)/,
    );
    expect(help).toMatch(/--batch-size N +mini-batch size \(default: by --preset: ffnn 4, cnn 12/);
    expect(help).toMatch(/--epochs N +epochs to train \(default: by --preset: 20 \(default\)/);
  });

  it('manifests record the apache-arrow version installed', () => {
    const installed = JSON.parse(readFileSync(join(ROOT, 'node_modules/apache-arrow/package.json'), 'utf8'));
    expect(readManifest(join(zoos, 'ffnn-t')).software.packages['apache-arrow']).toBe(installed.version);
  });
});

describe("the README's commands in a clone", () => {
  it('leave git status clean: every output goes where git ignores it', () => {
    const clone = join(tempDir(), 'clone');
    const git = (args: string[], cwd = clone) => spawnSync('git', args, { cwd, encoding: 'utf8' });
    expect(git(['clone', '--quiet', ROOT, clone], ROOT).status).toBe(0);
    symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
    writeMlpRuns(join(clone, 'runs'), 3, 3);
    const commands: string[][] = [
      ['zoo', '--seeds', '6', '--epochs', '3', ...small],
      ['cluster', '--svd', '10,5'],
      ['cluster', '--zoo', 'zoo/cnn-default', '--full', '--order-by', 'merge'],
      ['plot', '--zoo', 'zoo/ffnn-default', '--umap-epochs', '50'],
      ['verify'],
      ['export', '--zoo', 'zoo/cnn-default', '--run', '3', '--epoch', '2', '--format', 'safetensors'],
      ['identify', 'exports/cnn-default-run3-epoch2.safetensors', '--json'],
      ['import', 'runs/', '--name', 'my-mlp'],
      ['identify', '--evaluate', '--zoo', 'zoo/ffnn-default', '--fork-runs', '1'],
    ];
    for (const [command, ...args] of commands) {
      const r = runCliSync(command, args, { cwd: clone });
      expect(r.code, `${command} ${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    rmSync(join(clone, 'runs'), { recursive: true }); // the user's own files, not an output
    expect(git(['status', '--porcelain', '--untracked-files=all']).stdout).toBe('');
    expect(existsSync(join(clone, 'results', 'identify-eval.json'))).toBe(true);
    expect(git(['diff', '--stat', 'HEAD', '--', 'results/reference']).stdout).toBe('');
  }, 300_000);
});
