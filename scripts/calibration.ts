/**
 * identify's p-values on independent strangers, measured: trains a zoo of `indexes x known +
 * strangers` seeds (default preset, fewer epochs and images), builds `indexes` disjoint
 * indexes of `known` runs each, and queries one checkpoint (a random epoch) of every other
 * seed against one of them in turn, a third as trained, a third permuted, a third permuted and
 * rescaled where the network allows. Prints, per kind, for strangers as trained and permuted
 * together, and pooled: the count with p < 0.01 and p < FORK_ALPHA, their Clopper-Pearson
 * upper 95 % bounds, and the Kolmogorov-Smirnov statistics against the uniform (D+: excess
 * of small p-values; D: two-sided); and each index's null, as JSON. test/calibration.test.ts
 * asserts the same on a smaller zoo. Given an existing zoo (--out), it is read as it is (e.g.
 * one recorded with scripts/tfjsZoo.ts).
 *
 *   npx tsx scripts/calibration.ts --arch cnn --out /tmp/cal-cnn --strangers 1000 --epochs 10
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { presetConfig } from '../src/core/presets.ts';
import { Rng } from '../src/core/rng.ts';
import { checkpointWeights } from '../src/core/zoo.ts';
import { FORK_ALPHA, identify } from '../src/identify/identify.ts';
import { disguisedCopy, symmetriesOf } from '../src/identify/symmetry.ts';
import { ZooIndex } from '../src/identify/zooIndex.ts';
import { loadZoo } from '../src/store/loadZoo.ts';
import { trainZoo } from '../src/train/trainZoo.ts';

const { values } = parseArgs({
  options: {
    arch: { type: 'string', default: 'ffnn' },
    out: { type: 'string' },
    known: { type: 'string', default: '40' },
    indexes: { type: 'string', default: '10' },
    strangers: { type: 'string', default: '1000' },
    epochs: { type: 'string', default: '10' },
    'train-size': { type: 'string', default: '2000' },
  },
});
const arch = values.arch as 'ffnn' | 'cnn';
const [known, indexes, strangers, epochs, trainSize] = [
  values.known,
  values.indexes,
  values.strangers,
  values.epochs,
  values['train-size'],
].map(Number);
const indexed = known * indexes;
const dir = values.out ?? `zoo/${arch}-calibration`;
if (!existsSync(dir))
  await trainZoo({
    dir,
    config: presetConfig('default', arch, { seedCount: indexed + strangers, epochs, trainSize }),
  });
const zoo = loadZoo(dir);
if (zoo.runs < indexed + strangers)
  throw new Error(
    `${dir} has ${zoo.runs} runs; ${indexes} x ${known} indexed + ${strangers} strangers need more`,
  );
const sym = symmetriesOf(zoo.manifest.architecture, zoo.manifest.network);
const kinds = ['as trained', 'permuted', sym.scale ? 'permuted + rescaled' : 'permuted again'];
const rng = new Rng(2026, 3);
const p: Record<string, number[]> = Object.fromEntries(kinds.map((k) => [k, []]));
const nulls = [];
for (let b = 0; b < indexes; b++) {
  const index = ZooIndex.build(zoo, { runs: (r) => r >= b * known && r < (b + 1) * known });
  const { memberRatio, nullLogMargin, nullSamples, alignedLogMargin, alignedSamples } = index.calibration;
  nulls.push({
    runs: [b * known, (b + 1) * known - 1],
    memberRatio,
    nullLogMargin,
    nullSamples,
    alignedLogMargin,
    alignedSamples,
  });
  for (let r = indexed + b; r < indexed + strangers; r += indexes) {
    const w = checkpointWeights(zoo, r, rng.nextInt(zoo.epochs + 1));
    const kind = kinds[r % 3];
    const query =
      kind === 'as trained'
        ? w
        : disguisedCopy(sym, w, rng, { permute: true, scale: kind.endsWith('rescaled') });
    p[kind].push(identify(index, query).pValue);
  }
  index.close();
}

function upperBound(k: number, n: number): number {
  const cdf = (q: number) => {
    let [term, sum] = [Math.pow(1 - q, n), 0];
    for (let i = 0; i <= k; i++) [sum, term] = [sum + term, term * ((n - i) / (i + 1)) * (q / (1 - q))];
    return sum;
  };
  let [lo, hi] = [k / n, 1];
  for (let i = 0; i < 60; i++)
    [lo, hi] = cdf((lo + hi) / 2) > 0.05 ? [(lo + hi) / 2, hi] : [lo, (lo + hi) / 2];
  return hi;
}
function summary(values: number[]) {
  const s = [...values].sort((a, b) => a - b);
  const below = s.filter((v) => v < 0.01).length;
  const forks = s.filter((v) => v < FORK_ALPHA).length;
  const dPlus = Math.max(...s.map((v, i) => (i + 1) / s.length - v));
  const dMinus = Math.max(...s.map((v, i) => v - i / s.length));
  return {
    n: s.length,
    pBelow001: below,
    rate: below / s.length,
    upper95: upperBound(below, s.length),
    pBelowForkAlpha: forks,
    forkUpper95: upperBound(forks, s.length),
    ksDPlus: dPlus,
    ksD: Math.max(dPlus, dMinus),
    ksCritical5: { dPlus: 1.224 / Math.sqrt(s.length), d: 1.358 / Math.sqrt(s.length) },
  };
}
process.stdout.write(
  JSON.stringify(
    {
      zoo: dir,
      known,
      indexes,
      strangers,
      forkAlpha: FORK_ALPHA,
      nulls,
      kinds: Object.fromEntries(kinds.map((k) => [k, summary(p[k])])),
      unscaled: summary([...p[kinds[0]], ...p[kinds[1]], ...(sym.scale ? [] : p[kinds[2]])]),
      pooled: summary(Object.values(p).flat()),
    },
    null,
    2,
  ) + '\n',
);
