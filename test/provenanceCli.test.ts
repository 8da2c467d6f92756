/**
 * The provenance commands end to end, in child processes: `provenance A B` on a zoo
 * checkpoint and model files (a fine-tune, its permuted copy, an unrelated CNN), `--among`,
 * `diff`'s provenance line, `lineage --infer` recording links that plain `lineage` then shows,
 * and bad input: one line, exit 2, nothing written.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { architecture } from '../src/core/architectures.ts';
import { Rng } from '../src/core/rng.ts';
import { checkpointWeights } from '../src/core/zoo.ts';
import { disguisedCopy, symmetriesOf } from '../src/identify/symmetry.ts';
import { writeSafetensors } from '../src/store/formats/safetensors.ts';
import { loadZoo } from '../src/store/loadZoo.ts';
import { trainFurther } from '../src/train/trainFurther.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { runCliSync, tempDir, tinyConfig, treeFingerprint } from './helpers.ts';

let root: string;
let bag: string;
let refs: string;
const ffnn = architecture('ffnn');

beforeAll(async () => {
  root = tempDir('wsvc-prov-cli-');
  await trainZoo({
    dir: join(root, 'ffnn-p'),
    config: tinyConfig('ffnn', { seedCount: 14, epochs: 3, trainSize: 1000 }),
  });
  await trainZoo({ dir: join(root, 'ffnn-few'), config: tinyConfig('ffnn', { seedCount: 4, epochs: 1 }) });
  const zoo = loadZoo(join(root, 'ffnn-p'));
  const [, [tuned]] = trainFurther(zoo, { runs: [0], epochs: 2, task: 'rotated' });
  const [, [tuned2]] = trainFurther(zoo, {
    runs: [0],
    epochs: 2,
    task: { labelShift: 4 },
    dataSeed: () => 77,
  });
  const grand = trainFurther(zoo, {
    runs: [0],
    epochs: 2,
    task: 'permuted-labels',
    startWeights: [tuned],
  })[1][0];
  bag = join(root, 'bag');
  mkdirSync(bag);
  const sym = symmetriesOf(ffnn);
  writeSafetensors(join(bag, 'a-root.safetensors'), ffnn, checkpointWeights(zoo, 0, 3));
  writeSafetensors(join(bag, 'b-tuned.safetensors'), ffnn, tuned);
  writeSafetensors(
    join(bag, 'c-tuned-permuted.safetensors'),
    ffnn,
    disguisedCopy(sym, tuned2, new Rng(1), { permute: true, scale: false }),
  );
  writeSafetensors(join(bag, 'd-grandchild.safetensors'), ffnn, grand);
  writeSafetensors(join(bag, 'e-other.safetensors'), ffnn, checkpointWeights(zoo, 13, 3));
  refs = join(root, 'refs');
  mkdirSync(refs);
  for (let r = 1; r <= 12; r++)
    writeSafetensors(join(refs, `run-${r}.safetensors`), ffnn, checkpointWeights(zoo, r, 3));
  await trainZoo({ dir: join(root, 'cnn-p'), config: tinyConfig('cnn', { seedCount: 1, epochs: 1 }) });
}, 300_000);

describe('provenance A B', () => {
  it('names a fine-tune (and its permuted copy) derived, another run independent, a CNN unrelated', () => {
    const derived = runCliSync('provenance', [
      'ffnn-p:0',
      join(bag, 'c-tuned-permuted.safetensors'),
      '--root',
      root,
    ]);
    expect(derived.code, derived.stderr).toBe(0);
    expect(derived.stdout).toMatch(
      /^B \(.*c-tuned-permuted\.safetensors\) is derived from A \(ffnn-p:0@3\): p = /,
    );
    expect(derived.stdout).toMatch(/null: 13 references, the other runs of ffnn-p at epoch 3, A's zoo/);
    const other = runCliSync('provenance', ['ffnn-p:0', 'ffnn-p:1', '--root', root, '--json']);
    expect(other.code, other.stderr).toBe(0);
    const r = JSON.parse(other.stdout);
    expect(r.result.verdict).toBe('independent');
    expect(r.result.references).toBe(12); // the zoo's 14 runs less A and B
    const cnn = runCliSync('provenance', ['ffnn-p:0', 'cnn-p:0', '--root', root]);
    expect(cnn.code, cnn.stderr).toBe(0);
    expect(cnn.stdout).toMatch(
      /^unrelated architectures: hidden layer fc1\.weight \[10, 196\] of A is conv1\.weight/,
    );
  });

  it('ranks a folder --among with Holm-adjusted p-values, the family first', () => {
    const r = runCliSync('provenance', ['ffnn-p:0', '--among', bag, '--root', root, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { candidates } = JSON.parse(r.stdout);
    // a-root is A itself (same weights): left out
    expect(candidates.map((c: { label: string }) => c.label.split('/').pop())).toHaveLength(4);
    const verdict = Object.fromEntries(
      candidates.map((c: { label: string; verdict: string }) => [c.label.split('/').pop(), c.verdict]),
    );
    expect(verdict).toEqual({
      'b-tuned.safetensors': 'derived',
      'c-tuned-permuted.safetensors': 'derived',
      'd-grandchild.safetensors': 'derived',
      'e-other.safetensors': 'independent',
    });
    const p = candidates.map((c: { pHolm: number }) => c.pHolm);
    expect([...p].sort((a, b) => a - b)).toEqual(p);
  });

  it('shows its verdict in diff', () => {
    const r = runCliSync('diff', [
      'ffnn-p:0',
      join(bag, 'b-tuned.safetensors'),
      '--root',
      root,
      '--json',
      '--no-relation',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.provenance.verdict).toBe('derived');
    expect(d.summary).toMatch(/provenance: B is derived from A \(p = /);
  });

  it('refuses bad input in one line, exit 2, and writes nothing', () => {
    const before = treeFingerprint(root);
    const cases: [string[], RegExp][] = [
      [['ffnn-p:0', join(bag, 'missing.safetensors')], /names no file, tag or hash/],
      [['ffnn-p:0'], /give two models, A and B \(got 1\)/],
      [
        ['ffnn-few:0', 'ffnn-few:1'],
        /2 reference model\(s\) from the other runs of ffnn-few .* at least 9 models trained as A was.*--reference/,
      ],
      [['ffnn-p:0', 'ffnn-p:1', '--alpha', '2'], /--alpha must lie between 0 and 1, got 2/],
    ];
    for (const [args, message] of cases) {
      const r = runCliSync('provenance', [...args, '--root', root]);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^error: /);
      expect(r.stderr).toMatch(message);
    }
    expect(treeFingerprint(root)).toEqual(before);
    // two files and no zoo of their tensors: nothing to hold A against
    const empty = tempDir('wsvc-prov-empty-');
    const alone = runCliSync('provenance', [
      join(bag, 'a-root.safetensors'),
      join(bag, 'b-tuned.safetensors'),
      '--root',
      empty,
    ]);
    expect(alone.code, alone.stdout + alone.stderr).toBe(2);
    expect(alone.stderr).toMatch(
      /^error: 0 reference model\(s\) from no zoo under .* with A's tensors; .* give --reference ZOO or FOLDER\n$/,
    );
    // the same files with references given: the derivation is found
    const given = runCliSync('provenance', [
      join(bag, 'a-root.safetensors'),
      join(bag, 'b-tuned.safetensors'),
      '--root',
      empty,
      '--reference',
      refs,
    ]);
    expect(given.code, given.stderr).toBe(0);
    expect(given.stdout).toMatch(/is derived from A/);
  });
});

describe('lineage --infer', () => {
  it('records the inferred tree, which plain lineage then shows apart from recorded links', () => {
    const r = runCliSync('lineage', ['--infer', bag, '--root', root, '--reference', 'ffnn-p', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/recorded \d+ inferred link\(s\) in .*lineage-inferred\.json/);
    const result = JSON.parse(r.stdout);
    const g = result.groups[0];
    const name = (i: number) => g.models[i].label.split('/').pop();
    const family = (f: string) =>
      g.trees.family[g.models.findIndex((m: { label: string }) => m.label.endsWith(f))];
    // the root, its two fine-tunes and the grandchild are one family; the other run is alone
    expect(
      new Set(
        ['a-root', 'b-tuned', 'c-tuned-permuted', 'd-grandchild'].map((f) => family(`${f}.safetensors`)),
      ).size,
    ).toBe(1);
    expect(family('e-other.safetensors')).not.toBe(family('a-root.safetensors'));
    const parentOf = (f: string) => {
      const i = g.models.findIndex((m: { label: string }) => m.label.endsWith(f));
      return g.trees.parent[i] < 0 ? null : name(g.trees.parent[i]);
    };
    expect(parentOf('b-tuned.safetensors')).toBe('a-root.safetensors');
    expect(parentOf('d-grandchild.safetensors')).toBe('b-tuned.safetensors');
    const store = JSON.parse(readFileSync(join(root, 'lineage-inferred.json'), 'utf8'));
    expect(store.format).toBe('weightspace-lineage-inferred/1');
    const plain = runCliSync('lineage', ['--root', root]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(
      /file:.*a-root\.safetensors -> file:.*b-tuned\.safetensors {2}\(inferred by lineage --infer p = /,
    );
    const dot = runCliSync('lineage', [
      '--infer',
      bag,
      '--root',
      root,
      '--reference',
      'ffnn-p',
      '--dot',
      '--no-record',
    ]);
    expect(dot.code, dot.stderr).toBe(0);
    expect(dot.stdout).toMatch(/^digraph lineage \{/);
    expect(dot.stdout).toMatch(/style=dashed/);
  });

  it("keeps a run's epochs in their order: a later checkpoint is never an earlier one's parent", () => {
    const r = runCliSync('lineage', [
      '--infer',
      'ffnn-p:2@3',
      'ffnn-p:2@1',
      'ffnn-p:2@2',
      'ffnn-p:5',
      '--root',
      root,
      '--reference',
      refs,
      '--no-record',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const g = JSON.parse(r.stdout).groups[0];
    const at = (ref: string) => g.models.findIndex((m: { label: string }) => m.label === ref);
    const parent = (ref: string) => g.trees.parent[at(ref)];
    expect(parent('ffnn-p:2@1')).toBe(-1);
    expect(parent('ffnn-p:2@2')).toBe(at('ffnn-p:2@1'));
    expect(parent('ffnn-p:2@3')).toBe(at('ffnn-p:2@2'));
    expect(g.trees.family[at('ffnn-p:5@3')]).not.toBe(g.trees.family[at('ffnn-p:2@1')]);
  });

  it('with --no-record or bad input writes nothing', () => {
    const fresh = tempDir('wsvc-prov-none-');
    const r = runCliSync('lineage', ['--infer', bag, '--root', fresh, '--reference', refs, '--no-record']);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(fresh)).toEqual([]);
    for (const args of [
      ['--infer'],
      ['--infer', join(root, 'nothing-here')],
      ['--infer', bag, '--reference', join(root, 'cnn-p')],
    ]) {
      const bad = runCliSync('lineage', [...args, '--root', fresh]);
      expect(bad.code, bad.stdout + bad.stderr).toBe(2);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(existsSync(join(fresh, 'lineage-inferred.json'))).toBe(false);
    expect(readdirSync(fresh)).toEqual([]);
  });
});
