/**
 * fork: a zoo whose epoch 0 is the parent checkpoint and whose manifest records it; identify
 * of the fork's last checkpoint names the parent's run; log and show follow the link; bad
 * input writes nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkpointWeights, zooRowIndex } from '../src/core/zoo.ts';
import { identify } from '../src/identify/identify.ts';
import { ZooIndex } from '../src/identify/zooIndex.ts';
import { forkCheckpoint } from '../src/pipeline/fork.ts';
import { logGraph, showCheckpoint, zooLog } from '../src/pipeline/history.ts';
import { openCatalog } from '../src/store/catalog.ts';
import { loadZoo, type Zoo } from '../src/store/loadZoo.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { runCliSync, tempDir, tinyConfig, treeFingerprint } from './helpers.ts';

let root: string;
let parent: Zoo;

beforeAll(async () => {
  root = tempDir('wsvc-fork-');
  await trainZoo({
    dir: join(root, 'ffnn-p'),
    config: tinyConfig('ffnn', { seedCount: 8, epochs: 6, trainSize: 1000 }),
  });
  parent = loadZoo(join(root, 'ffnn-p'));
}, 120_000);

describe('fork', () => {
  it("starts from the checkpoint itself, records its parent, and identify names the parent's run", async () => {
    const result = await forkCheckpoint(openCatalog(root), 'ffnn-p:5@3', {
      name: 'fork-a',
      epochs: 3,
      learningRate: 0.05,
    });
    expect(result).toMatchObject({
      epochs: 3,
      last: 'fork-a:0@3',
      parent: { zoo: 'ffnn-p', ref: 'ffnn-p:5@3' },
    });
    const fork = loadZoo(join(root, 'fork-a'));
    expect([fork.runs, fork.epochs]).toEqual([1, 3]);
    expect(Array.from(checkpointWeights(fork, 0, 0))).toEqual(Array.from(checkpointWeights(parent, 5, 3)));
    expect(fork.sha256[0]).toBe(parent.sha256[zooRowIndex(8, 5, 3)]);
    expect(fork.parentSha256[1]).toBe(fork.sha256[0]);
    const manifest = JSON.parse(readFileSync(join(root, 'fork-a', 'manifest.json'), 'utf8'));
    expect(manifest.origin.parent).toEqual({ zoo: 'ffnn-p', ref: 'ffnn-p:5@3', sha256: fork.sha256[0] });
    expect(manifest.origin.runInfo['0'].tags).toMatchObject({ forked_from: 'ffnn-p:5@3', lr: '0.05' });
    // the weights moved, and identify traces the last one back to run 5 of the parent zoo
    expect(fork.sha256[3]).not.toBe(fork.sha256[0]);
    const found = identify(ZooIndex.build(parent), checkpointWeights(fork, 0, 3));
    expect(found.run).toBe(5);
    expect(['fork', 'descendant', 'member']).toContain(found.verdict);
    // log and show follow the recorded link
    const catalog = openCatalog(root);
    const log = zooLog(catalog.zoos.find((z) => z.name === 'fork-a')!);
    expect(log.at(-1)).toMatchObject({ ref: 'fork-a:0@0', parent: null, forkedFrom: 'ffnn-p:5@3' });
    const s = showCheckpoint(catalog, 'ffnn-p:5@3', { descendants: true });
    expect(s.children).toEqual(['ffnn-p:5@4', 'fork-a:0@1']);
    expect(s.descendants).toEqual([
      'ffnn-p:5@4',
      'fork-a:0@1',
      'ffnn-p:5@5',
      'fork-a:0@2',
      'ffnn-p:5@6',
      'fork-a:0@3',
    ]);
    expect(runCliSync('verify', ['--zoo', join(root, 'fork-a')]).code).toBe(0);
    // log --graph draws the fork in a lane of its own, joined at the checkpoint it starts from
    const graph = logGraph(catalog, (e) => e.ref);
    const at = graph.indexOf('* ffnn-p:5@6');
    expect(graph.slice(at, at + 9)).toEqual([
      '* ffnn-p:5@6',
      '* ffnn-p:5@5',
      '* ffnn-p:5@4',
      '| * fork-a:0@3',
      '| * fork-a:0@2',
      '| * fork-a:0@1',
      '|/',
      '* ffnn-p:5@3',
      '* ffnn-p:5@2',
    ]);
    expect(graph.filter((l) => l.includes('fork-a'))).toHaveLength(3); // not drawn again on its own
    const cli = runCliSync('log', ['--graph', '--root', root]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/^\|\/$/m);
  });

  it('trains on a changed task through the CLI, and refuses bad input writing nothing', () => {
    const r = runCliSync('fork', [
      'ffnn-p:2',
      '--name',
      'rot',
      '--epochs',
      '2',
      '--task',
      'rotated',
      '--json',
      '--root',
      root,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ last: 'rot:0@2', parent: { ref: 'ffnn-p:2@6' } });
    const before = treeFingerprint(root);
    const cases: [string[], string][] = [
      [
        ['ffnn-p:2', '--name', 'rot'],
        `error: ${join(root, 'rot')} exists; choose another --name for the fork\n`,
      ],
      [['ffnn-p:2'], 'error: give the fork a name with --name NAME (its zoo folder under --root)\n'],
      [['ffnn-p:9', '--name', 'x'], 'error: ffnn-p has no run 9 (runs 0-7)\n'],
      [
        ['ffnn-p:2', '--name', 'x', '--task', 'upside-down'],
        "error: --task must be one of permuted-labels, rotated, got 'upside-down'\n",
      ],
      [
        ['ffnn-p:2', '--name', '../out'],
        "error: --name '../out' is not a folder name (letters, digits, . _ -)\n",
      ],
    ];
    for (const [args, message] of cases) {
      const bad = runCliSync('fork', [...args, '--root', root]);
      expect([bad.code, bad.stderr], args.join(' ')).toEqual([2, message]);
    }
    expect(treeFingerprint(root)).toEqual(before);
    expect(existsSync(join(root, 'x'))).toBe(false);
  });
});
