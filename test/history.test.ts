/**
 * log, show and tag on a trained zoo and a recorded one (ZooWriter, with metrics, run tags and
 * a bias tensor): hashes against the Arrow files read by polars, the profile against moments
 * written again here, every reference form and its refusals, and tags through the CLI
 * (refusals write nothing; verify checks what tags name).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pl from 'nodejs-polars';
import { beforeAll, describe, expect, it } from 'vitest';
import { defineArchitecture } from '../src/core/architectures.ts';
import { zooRowIndex } from '../src/core/zoo.ts';
import { showCheckpoint, zooLog } from '../src/pipeline/history.ts';
import { openCatalog } from '../src/store/catalog.ts';
import { loadZoo } from '../src/store/loadZoo.ts';
import { checkpointPath } from '../src/store/manifest.ts';
import { resolveRef } from '../src/store/refs.ts';
import { ZooWriter } from '../src/store/zooWriter.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { readTags } from '../src/store/tags.ts';
import { ROOT, runCliSync, tempDir, tinyConfig, treeFingerprint } from './helpers.ts';

let root: string;
const trained = () => join(root, 'ffnn-t');
const recorded = () => join(root, 'mlp-rec');
const ARCH = defineArchitecture('mlp', 'a 6-4-3 MLP', [
  { name: 'fc1.weight', shape: [4, 6] },
  { name: 'fc1.bias', shape: [4] },
  { name: 'fc2.weight', shape: [3, 4] },
  { name: 'fc2.bias', shape: [3] },
]);
/** Deterministic, skewed weights with some zeros: the profile's moments are far from a normal's. */
const recordedWeights = (run: number, epoch: number) =>
  Float32Array.from({ length: ARCH.size }, (_, i) =>
    i % 5 === 0 ? 0 : Math.sin(1 + i * 0.7 + run) ** 3 + 0.05 * epoch,
  );

beforeAll(async () => {
  root = tempDir('wsvc-history-');
  await trainZoo({ dir: trained(), config: tinyConfig('ffnn', { seedCount: 3, epochs: 3 }) });
  const writer = await ZooWriter.open(recorded(), ARCH, {
    runs: 2,
    runInfo: { 0: { tags: { lr: '0.1' }, note: 'first try' } },
  });
  for (let epoch = 0; epoch <= 2; epoch++)
    for (let run = 0; run < 2; run++)
      await writer.append({
        run,
        epoch,
        step: 10 * epoch,
        weights: recordedWeights(run, epoch),
        metrics: { loss: 1 / (epoch + 1), val_acc: 0.5 + 0.125 * epoch, lr: 0.1 },
      });
  await writer.close();
}, 120_000);

const cli = (command: string, args: string[]) => runCliSync(command, [...args, '--root', root]);

describe('log', () => {
  it("lists every checkpoint newest first per run, with the hashes and parents of the Arrow files' columns (read by polars)", () => {
    const catalog = openCatalog(root);
    const zoo = catalog.zoos.find((z) => z.name === 'ffnn-t')!;
    const entries = zooLog(zoo);
    expect(entries.map((e) => e.ref)).toEqual(
      [0, 1, 2].flatMap((run) => [3, 2, 1, 0].map((epoch) => `ffnn-t:${run}@${epoch}`)),
    );
    for (let epoch = 0; epoch <= 3; epoch++) {
      const df = pl.readIPC(readFileSync(checkpointPath(trained(), epoch)));
      const sha = df.getColumn('sha256').toArray() as string[];
      const parent = df.getColumn('parent_sha256').toArray() as (string | null)[];
      const step = df.getColumn('step').toArray() as number[];
      for (let run = 0; run < 3; run++) {
        const e = entries.find((x) => x.run === run && x.epoch === epoch)!;
        expect([e.sha256, e.parent, e.step]).toEqual([sha[run], parent[run], step[run]]);
      }
    }
    expect(entries.find((e) => e.epoch === 0)!.parent).toBeNull();
    expect(zooLog(zoo, { run: 2, limit: 2 }).map((e) => e.ref)).toEqual(['ffnn-t:2@3', 'ffnn-t:2@2']);
  });

  it('gives a recorded zoo its metrics, run tags and note; the CLI prints one line per checkpoint', () => {
    const r = cli('log', ['mlp-rec', '--run', '0', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const entries = JSON.parse(r.stdout);
    expect(entries).toHaveLength(3);
    expect(entries[0]).toMatchObject({
      ref: 'mlp-rec:0@2',
      step: 20,
      runTags: { lr: '0.1' },
      note: 'first try',
      metrics: { train_loss: 1 / 3, test_accuracy: 0.75, lr: 0.1 },
    });
    const text = cli('log', ['mlp-rec']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout.trim().split('\n')).toHaveLength(6);
    expect(text.stdout).toMatch(
      /^[0-9a-f]{12} {2}mlp-rec:0@2 {2}step 20 {2}train_loss 0\.3333 {2}test_accuracy 0\.7500/m,
    );
  });

  it('refuses an unknown zoo and a run the zoo lacks, naming what there is, exit 2', () => {
    const unknown = cli('log', ['nope']);
    expect([unknown.code, unknown.stderr]).toEqual([
      2,
      `error: no zoo 'nope' under ${root} (zoos: ffnn-t, mlp-rec)\n`,
    ]);
    const run = cli('log', ['ffnn-t', '--run', '7']);
    expect([run.code, run.stderr]).toEqual([2, 'error: ffnn-t has no run 7 (runs 0-2)\n']);
    const empty = runCliSync('log', ['--root', tempDir()]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/^error: no zoo under .*; train one with `npm run zoo`\)\n$/);
  });
});

/** Population moments, written again: two passes over float64 copies. */
function expectedMoments(values: number[]) {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / n);
  const z = values.map((v) => (v - mean) / sd);
  return {
    count: n,
    mean,
    std: sd,
    skew: z.reduce((a, v) => a + v ** 3, 0) / n,
    kurtosis: z.reduce((a, v) => a + v ** 4, 0) / n - 3,
    l2: Math.hypot(...values),
    nearZero: values.filter((v) => Math.abs(v) < 1e-3).length / n,
  };
}

describe('show', () => {
  it("profiles each tensor, then all weights and all biases, as the moments' formulas give", () => {
    const s = showCheckpoint(openCatalog(root), 'mlp-rec:1@2');
    const w = Array.from(recordedWeights(1, 2)).map(Math.fround);
    expect(s.profile.map((p) => [p.name, p.kind])).toEqual([
      ['fc1.weight', 'weight'],
      ['fc1.bias', 'bias'],
      ['fc2.weight', 'weight'],
      ['fc2.bias', 'bias'],
    ]);
    const check = (got: Record<string, number>, values: number[]) => {
      const want = expectedMoments(values);
      for (const key of Object.keys(want) as (keyof typeof want)[])
        expect(got[key], key).toBeCloseTo(want[key], 10);
    };
    for (const p of ARCH.params)
      check(s.profile.find((x) => x.name === p.name)! as never, w.slice(p.offset, p.offset + p.size));
    const part = (kind: string) =>
      ARCH.params.filter((p) => p.name.endsWith(kind)).flatMap((p) => w.slice(p.offset, p.offset + p.size));
    check(s.weights as never, part('.weight'));
    check(s.biases! as never, part('.bias'));
  });

  it('follows parents and children: ancestors to the root, descendants to the last epoch', () => {
    const s = showCheckpoint(openCatalog(root), 'ffnn-t:1@1', { ancestors: true, descendants: true });
    const zoo = loadZoo(trained());
    expect(s.sha256).toBe(zoo.sha256[zooRowIndex(3, 1, 1)]);
    expect([s.parentRef, s.ancestors, s.children, s.descendants]).toEqual([
      'ffnn-t:1@0',
      ['ffnn-t:1@0'],
      ['ffnn-t:1@2'],
      ['ffnn-t:1@2', 'ffnn-t:1@3'],
    ]);
    const r = cli('show', ['ffnn-t:1@1', '--ancestors']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ancestors {3}ffnn-t:1@0$/m);
    expect(r.stdout).toMatch(/^fc1\.weight +1960 +mean /m);
  });
});

describe('references', () => {
  it('resolves every form to the same checkpoint, and an existing path to a file', () => {
    const catalog = openCatalog(root);
    const zoo = loadZoo(trained());
    const sha = zoo.sha256[zooRowIndex(3, 2, 3)];
    const names = (ref: string) => {
      const r = resolveRef(catalog, ref);
      return r.kind === 'checkpoint'
        ? `${r.checkpoint.zoo.name}:${r.checkpoint.run}@${r.checkpoint.epoch}`
        : r.path;
    };
    expect(
      ['ffnn-t:2@3', 'ffnn-t:2', sha.slice(0, 8), sha.toUpperCase().slice(0, 10), sha].map(names),
    ).toEqual(Array(5).fill('ffnn-t:2@3'));
    const file = checkpointPath(trained(), 1);
    expect(names(file)).toBe(file);
  });

  it('refuses what names nothing, or too little, listing the candidates', () => {
    const catalog = openCatalog(root);
    const fails = (ref: string) => () => resolveRef(catalog, ref);
    expect(fails('nope:1')).toThrow(/^no zoo 'nope' under .* \(zoos: ffnn-t, mlp-rec\)$/);
    expect(fails('ffnn-t:5')).toThrow('ffnn-t has no run 5 (runs 0-2)');
    expect(fails('ffnn-t:1@9')).toThrow('ffnn-t:1 has no epoch 9 (epochs 0-3)');
    expect(fails('ffnn-t:release')).toThrow(/ffnn-t has no run or tag 'release' \(runs 0-2/);
    expect(fails('abc12')).toThrow("'abc12' is too short for a hash prefix: give at least 6 hex digits");
    expect(fails('ffffffffffff')).toThrow(/no checkpoint under .* has a SHA-256 starting ffffffffffff/);
    expect(fails('just-words')).toThrow(
      /'just-words' names no file, tag or hash under .*\(zoos: ffnn-t, mlp-rec\)/,
    );
  });
});

describe('tag', () => {
  it('names a checkpoint by its hash; the tag is a reference, listed, checked by verify, and deleted', () => {
    const tagged = cli('tag', ['ffnn-t:0@2', 'baseline', '-m', 'before the lr sweep', '--json']);
    expect(tagged.code, tagged.stderr).toBe(0);
    const sha = loadZoo(trained()).sha256[zooRowIndex(3, 0, 2)];
    expect(JSON.parse(tagged.stdout)).toMatchObject({
      ref: 'ffnn-t:0@2',
      tag: { sha256: sha, note: 'before the lr sweep' },
    });
    const tags = JSON.parse(readFileSync(join(trained(), 'tags.json'), 'utf8'));
    expect(tags).toMatchObject({ format: 'weightspace-tags/1', tags: { baseline: { sha256: sha } } });
    expect(cli('show', ['baseline', '--json']).stdout).toContain(`"ref": "ffnn-t:0@2"`);
    expect(cli('log', ['ffnn-t', '--run', '0']).stdout).toMatch(/ffnn-t:0@2 .*\(tag: baseline\)/);
    expect(cli('tag', ['--list']).stdout).toMatch(
      /^baseline +ffnn-t:0@2 +[0-9a-f]{12} {2}before the lr sweep$/m,
    );
    expect(runCliSync('verify', ['--zoo', trained()]).code).toBe(0);
    const gone = cli('tag', ['-d', 'baseline']);
    expect(gone.code, gone.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(trained(), 'tags.json'), 'utf8')).tags).toEqual({});
  });

  it('refuses a used name (unless --force), a bad name and an unknown tag, writing nothing', () => {
    expect(cli('tag', ['ffnn-t:1', 'release']).code).toBe(0);
    const before = treeFingerprint(trained());
    const cases: [string[], RegExp][] = [
      [
        ['ffnn-t:2', 'release'],
        /tag 'release' already names [0-9a-f]{12} in .*; delete it first, or pass --force to move it/,
      ],
      [['ffnn-t:2', 'a:b'], /a tag name starts with a letter/],
      [['ffnn-t:2', 'cafe12'], /'cafe12' reads as a SHA-256 prefix/],
      [['ffnn-t:9', 'other'], /ffnn-t has no run 9/],
      [['-d', 'missing'], /no zoo under .* has a tag 'missing'/],
    ];
    for (const [args, message] of cases) {
      const r = cli('tag', args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^error: ${message.source}`));
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(treeFingerprint(trained())).toEqual(before);
    }
    expect(cli('tag', ['ffnn-t:2', 'release', '--force']).code).toBe(0);
    expect(cli('show', ['release', '--json']).stdout).toContain(`"ref": "ffnn-t:2@3"`);
  });

  it('keeps tags whole across a kill at every write: before the rename the old tags, after it the new', () => {
    const dir = recorded();
    const sha = loadZoo(dir).sha256[zooRowIndex(2, 1, 2)];
    const crash = (action: string, name: string, stage: string) =>
      spawnSync(
        process.execPath,
        [
          '--import',
          join(ROOT, 'node_modules/tsx/dist/loader.mjs'),
          join(ROOT, 'test/fixtures/crashTag.ts'),
          dir,
          action,
          name,
          sha,
          stage,
        ],
        { encoding: 'utf8' },
      );
    const tagsNow = () => (existsSync(join(dir, 'tags.json')) ? readTags(dir) : {});
    for (const [action, name] of [
      ['add', 'v1'],
      ['delete', 'v1'],
    ] as const) {
      const before = tagsNow();
      const cut = crash(action, name, 'tmp-written');
      expect(cut.signal, cut.stderr).toBe('SIGKILL');
      expect(tagsNow()).toEqual(before); // killed before the rename: the old file, whole
      const done = crash(action, name, 'done');
      expect(done.signal, done.stderr).toBe('SIGKILL');
      expect(Object.keys(tagsNow())).toEqual(action === 'add' ? ['v1'] : []); // after it: the new one, whole
      expect(runCliSync('verify', ['--zoo', dir]).code).toBe(0);
    }
  });

  it('verify names a tag whose checkpoint the zoo does not hold, and a damaged tags file', () => {
    const path = join(recorded(), 'tags.json');
    writeFileSync(
      path,
      JSON.stringify({
        format: 'weightspace-tags/1',
        tags: { lost: { sha256: 'a'.repeat(64), note: '', createdAt: '' } },
      }),
    );
    const lost = runCliSync('verify', ['--zoo', recorded()]);
    expect(lost.code).toBe(1);
    expect(lost.stdout).toMatch(/tag 'lost' names aaaaaaaaaaaa, which is not a checkpoint of this zoo/);
    writeFileSync(path, '{"format": "weightspace-tags/1", "tags": ');
    const damaged = runCliSync('verify', ['--zoo', recorded()]);
    expect(damaged.code).toBe(1);
    expect(damaged.stdout).toMatch(/tags\.json.*is not JSON/);
    writeFileSync(path, JSON.stringify({ format: 'weightspace-tags/1', tags: {} }));
    expect(existsSync(path)).toBe(true);
  });
});
