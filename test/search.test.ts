/**
 * The search grammar: a table of expressions against rows chosen by filters written again
 * here over the zoos' labels, the CLI's sort, limit and CSV, and 200 malformed expressions
 * each refused with a column inside the expression.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { zooRowIndex } from '../src/core/zoo.ts';
import { compileQuery, QueryError } from '../src/pipeline/query.ts';
import { searchCatalog } from '../src/pipeline/search.ts';
import { Rng } from '../src/core/rng.ts';
import { openCatalog } from '../src/store/catalog.ts';
import { loadZoo, type Zoo } from '../src/store/loadZoo.ts';
import { addTag } from '../src/store/tags.ts';
import { ZooWriter } from '../src/store/zooWriter.ts';
import { defineArchitecture } from '../src/core/architectures.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { runCliSync, tempDir, tinyConfig } from './helpers.ts';

let root: string;
let ffnn: Zoo;
let rec: Zoo;

beforeAll(async () => {
  root = tempDir('wsvc-search-');
  await trainZoo({ dir: join(root, 'ffnn-s'), config: tinyConfig('ffnn', { seedCount: 4, epochs: 3 }) });
  const arch = defineArchitecture('tiny', 'four weights', [{ name: 'w', shape: [4] }]);
  const writer = await ZooWriter.open(join(root, 'rec'), arch, {
    runs: 3,
    runInfo: { 0: { tags: { lr: '0.1' } }, 1: { tags: { lr: '0.03' } }, 2: { tags: { lr: '0.3' } } },
  });
  for (let epoch = 0; epoch <= 4; epoch++)
    for (let run = 0; run < 3; run++)
      await writer.append({
        run,
        epoch,
        step: 7 * epoch,
        weights: Float32Array.from([run, epoch, run * epoch, 1]),
        metrics: { loss: (run + 1) / (epoch + 1), val_acc: epoch / 4 },
      });
  await writer.close();
  ffnn = loadZoo(join(root, 'ffnn-s'));
  rec = loadZoo(join(root, 'rec'));
  addTag(join(root, 'rec'), 'best', rec.sha256[zooRowIndex(3, 2, 4)]);
}, 120_000);

/** Every checkpoint as [zoo, run, epoch, its row in its zoo], run by run. */
function everyRow(): [string, number, number, Zoo, number][] {
  const out: [string, number, number, Zoo, number][] = [];
  for (const [name, zoo] of [
    ['ffnn-s', ffnn],
    ['rec', rec],
  ] as const)
    for (let run = 0; run < zoo.runs; run++)
      for (let epoch = 0; epoch <= zoo.epochs; epoch++)
        out.push([name, run, epoch, zoo, zooRowIndex(zoo.runs, run, epoch)]);
  return out;
}
const lr = (zoo: string, run: number) => (zoo === 'rec' ? ['0.1', '0.03', '0.3'][run] : undefined);
const lastLoss = (zoo: Zoo, run: number) => zoo.trainLoss[zooRowIndex(zoo.runs, run, zoo.epochs)];

describe('search', () => {
  const cases: [string, (z: string, run: number, epoch: number, zoo: Zoo, row: number) => boolean][] = [
    ['epoch >= 3', (_z, _r, e) => e >= 3],
    ['epoch = 2 and not run = 1', (_z, r, e) => e === 2 && r !== 1],
    ['not (run = 1 or run = 2)', (_z, r) => r !== 1 && r !== 2],
    ['run in (0, 3) and epoch < 1', (_z, r, e) => (r === 0 || r === 3) && e < 1],
    ['zoo like "ffnn-*"', (z) => z === 'ffnn-s'],
    ['zoo like "r?c" and step >= 14', (z, _r, e) => z === 'rec' && 7 * e >= 14],
    ['arch = "tiny" or arch = "nothing"', (z) => z === 'rec'],
    ['metrics.test_accuracy > 0.5', (_z, _r, _e, zoo, i) => zoo.testAccuracy[i] > 0.5],
    [
      'metrics.train_loss <= 0.5 and zoo = "rec"',
      (z, _r, _e, zoo, i) => z === 'rec' && zoo.trainLoss[i] <= 0.5,
    ],
    ['tags.lr = "0.03" or tags.lr in ("0.1", "0.3")', (z) => z === 'rec'],
    ['tags.lr in ("0.1", "0.3") and epoch = 4', (z, r, e) => z === 'rec' && r !== 1 && e === 4],
    ['not tags.lr = "0.1"', (z, r) => lr(z, r) !== '0.1'],
    ['last(metrics.train_loss) < 0.7', (_z, r, _e, zoo) => lastLoss(zoo, r) < 0.7],
    [
      'min(metrics.train_loss) > 0.4 and max(metrics.test_accuracy) >= 1',
      (z, r) => z === 'rec' && (r + 1) / 5 > 0.4,
    ],
    ['tag = "best"', (z, r, e) => z === 'rec' && r === 2 && e === 4],
    ['tag != "best" and zoo = "rec" and run = 2', (z, r, e) => z === 'rec' && r === 2 && e !== 4],
    ['parent = "x"', () => false],
    ['metrics.nothing > 0 or not metrics.nothing > 0', () => true],
    ['epoch > -1 and run <> 2', (_z, r) => r !== 2],
  ];
  it.each(cases)('%s selects the rows a filter written here selects', (expr, filter) => {
    const got = searchCatalog(openCatalog(root), expr).map((e) => `${e.zoo}:${e.run}@${e.epoch}`);
    const want = everyRow()
      .filter(([z, r, e, zoo, i]) => filter(z, r, e, zoo, i))
      .map(([z, r, e]) => `${z}:${r}@${e}`);
    expect(got).toEqual(want);
  });

  it('sorts by a key (desc, missing values last), limits, and writes CSV through the CLI', () => {
    const sorted = searchCatalog(openCatalog(root), 'epoch = 4', { sort: 'metrics.train_loss', desc: true });
    expect(sorted.slice(0, 3).map((e) => e.ref)).toEqual(['rec:2@4', 'rec:1@4', 'rec:0@4']);
    const r = runCliSync('search', [
      'zoo = "rec" and epoch = 4',
      '--sort',
      'run desc',
      '--csv',
      '--root',
      root,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('zoo,run,epoch,step,sha256,parent,tags,train_loss,test_accuracy');
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 3).join(','))).toEqual([
      'rec,2,4',
      'rec,1,4',
      'rec,0,4',
    ]);
    expect(lines[1].split(',')[6]).toBe('best');
    const limited = runCliSync('search', ['epoch = 0', '--limit', '2', '--json', '--root', root]);
    expect(JSON.parse(limited.stdout).map((e: { ref: string }) => e.ref)).toEqual([
      'ffnn-s:0@0',
      'ffnn-s:1@0',
    ]);
  });

  it('points at the bad token: column of a syntax error, an unknown field, a wrong operator', () => {
    const column = (expr: string) => {
      try {
        compileQuery(expr);
      } catch (err) {
        return (err as QueryError).column;
      }
      return 0;
    };
    expect(column('epoch >')).toBe(8);
    expect(column('epoch > 2 and foo = 1')).toBe(15);
    expect(column('epoch + 1 > 2')).toBe(7);
    expect(column('zoo like 5')).toBe(10);
    expect(column('median(metrics.loss) < 1')).toBe(1);
    const cli = runCliSync('search', ['epoch >= 1 and wat = 2', '--root', root]);
    expect([cli.code, cli.stderr]).toEqual([
      2,
      "error: search expression, column 16: unknown field 'wat'; the fields are zoo, arch, run, epoch, step, sha, parent, tag, metrics.<name>, tags.<key> and last / min / max(metrics.<name>) (in: epoch >= 1 and wat = 2)\n",
    ]);
  });

  it('refuses 200 malformed expressions, each with a column inside it (or just past its end)', () => {
    const valid = cases.map(([e]) => e);
    const junk = [
      '+',
      '*',
      '&&',
      '||',
      '?',
      ':',
      '=>',
      '[',
      ']',
      '{',
      '}',
      '(',
      ')',
      ',',
      '==',
      '!',
      'foo',
      'metrics',
      '"x"',
      '@',
      '#',
    ];
    const rng = new Rng(26, 27);
    const malformed = new Set<string>([
      '',
      '   ',
      'epoch',
      'metrics.x',
      'run in',
      'not',
      'and',
      'epoch = ',
      '(epoch = 1',
      'epoch = 1)',
    ]);
    while (malformed.size < 200) {
      const base = valid[rng.nextInt(valid.length)];
      const at = rng.nextInt(base.length + 1);
      const kind = rng.nextInt(3);
      const candidate =
        kind === 0
          ? base.slice(0, at) // cut off
          : kind === 1
            ? `${base.slice(0, at)} ${junk[rng.nextInt(junk.length)]} ${base.slice(at)}` // a stray token
            : `${base} ${['and', 'or', 'in', 'like', '=', 'not'][rng.nextInt(6)]}`; // a dangling operator
      let compiles = true;
      try {
        compileQuery(candidate);
      } catch {
        compiles = false;
      }
      if (!compiles) malformed.add(candidate);
    }
    expect(malformed.size).toBe(200);
    for (const expr of malformed) {
      let error: unknown = null;
      try {
        compileQuery(expr);
      } catch (err) {
        error = err;
      }
      expect(error, expr).toBeInstanceOf(QueryError);
      const { column, message } = error as QueryError;
      expect(column, expr).toBeGreaterThanOrEqual(1);
      expect(column, expr).toBeLessThanOrEqual(expr.length + 1);
      expect(message).toMatch(/^search expression, column \d+: /);
    }
  });
});
