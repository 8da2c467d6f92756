/**
 * Provenance figures (`npm run bench -- --only=provenance`; report in
 * results/provenance-eval.json, tables in the README via `npx tsx scripts/provenanceTables.ts`):
 *
 * - Pairs, Model DNA's setting: is B derived from A, for sources fine-tuned 1, 3, 10 and 30
 *   epochs on other tasks (and copies of them permuted, rescaled, pruned or in float16),
 *   against models trained independently (from scratch on those tasks, other runs of the
 *   zoo). Accuracy as Model DNA computes it, (right derived + right independent) / 2N, ROC
 *   AUC, the rate of p < 0.01 among independent pairs with its binomial upper bound, the
 *   Kolmogorov-Smirnov test of their p-values against the uniform; beside plain L2 distance
 *   and aligned L2, each with the threshold that is best on half the pairs, scored on the
 *   other half.
 * - Trees, MoTHer's setting: 5 trees x 21 models per network, then the same with a third of
 *   the nodes permuted: family clustering and directed-edge accuracy, ours beside MoTHer
 *   (bench/peer/mother.ts) and a plain L2 minimum spanning tree.
 * - Speed: provenance A B, lineage --infer on 105 and 1,050 models (library and CLI).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/core/rng.ts';
import { inSharedView, provenance, sharedView, type ModelWeights } from '../src/identify/provenance.ts';
import { noisyCopy, prunedCopy } from '../src/identify/evaluationSets.ts';
import { alignTo, disguisedCopy, symmetriesOf } from '../src/identify/symmetry.ts';
import { inferFromModels, type NamedModel } from '../src/pipeline/provenance.ts';
import { writeSafetensors } from '../src/store/formats/safetensors.ts';
import { weightsSha256 } from '../src/store/sha256.ts';
import { toFloat16 } from '../src/util/float16.ts';
import { coreCount } from '../src/util/threads.ts';
import { motherTrees } from './peer/mother.ts';
import { benchArm, LENGTHS, type Arm, type BenchModel, type TreeNode } from './provenanceSets.ts';

const ALPHA = 0.01;
const round = (x: number, d = 3) => (Number.isFinite(x) ? +x.toFixed(d) : x);
const modelOf = (b: BenchModel): ModelWeights => ({
  architecture: b.architecture,
  weights: b.weights,
  network: b.network,
});

type Disguise =
  'permuted (+ rescaled)' | 'permuted, pruned 10 %' | 'permuted, float16' | 'permuted + 1 % noise';
const DISGUISES: Disguise[] = [
  'permuted (+ rescaled)',
  'permuted, pruned 10 %',
  'permuted, float16',
  'permuted + 1 % noise',
];

function disguise(b: BenchModel, kind: Disguise, rng: Rng): BenchModel {
  const sym = symmetriesOf(b.architecture, b.network);
  const moved = disguisedCopy(sym, b.weights, rng, { permute: true, scale: sym.scale });
  const weights =
    kind === 'permuted, pruned 10 %'
      ? prunedCopy(moved, 0.1)
      : kind === 'permuted, float16'
        ? moved.map(toFloat16)
        : kind === 'permuted + 1 % noise'
          ? noisyCopy(moved, 0.01, rng)
          : moved;
  return { ...b, weights };
}

interface Pair {
  a: BenchModel;
  b: BenchModel;
  derived: boolean;
  what: string;
}

/** Plain L2 over the tensors A and B share (same position, same shape). */
function plainL2(a: BenchModel, b: BenchModel): number {
  let s = 0;
  a.architecture.params.forEach((p, i) => {
    const q = b.architecture.params[i];
    if (!q || q.shape.join() !== p.shape.join()) return;
    for (let k = 0; k < p.size; k++) s += (a.weights[p.offset + k] - b.weights[q.offset + k]) ** 2;
  });
  return Math.sqrt(s);
}

/** L2 after B's hidden units are aligned to A's (at canonical scale where the network allows). */
function alignedL2(a: BenchModel, b: BenchModel): number {
  const view = sharedView(modelOf(a), b.architecture);
  if ('unrelated' in view) return Infinity;
  const [x, y] = [inSharedView(view, a.weights, 'a'), inSharedView(view, b.weights, 'b')];
  const moved = alignTo({ ...view.symmetries, scale: false }, y, x).weights;
  let s = 0;
  for (let k = 0; k < x.length; k++) s += (x[k] - moved[k]) ** 2;
  return Math.sqrt(s);
}

/** P(score of a derived pair > score of an independent one), ties half. */
function auc(derived: number[], independent: number[]): number {
  let wins = 0;
  for (const d of derived) for (const i of independent) wins += d > i ? 1 : d === i ? 0.5 : 0;
  return wins / (derived.length * independent.length);
}

/** The threshold on a distance that is best on the even-indexed pairs, its accuracy on the odd ones. */
function fittedThreshold(distances: number[], derived: boolean[]): { threshold: number; accuracy: number } {
  const fit = distances.map((d, i) => ({ d, y: derived[i] })).filter((_, i) => i % 2 === 0);
  const test = distances.map((d, i) => ({ d, y: derived[i] })).filter((_, i) => i % 2 === 1);
  const balanced = (set: { d: number; y: boolean }[], t: number) => {
    const pos = set.filter((x) => x.y);
    const neg = set.filter((x) => !x.y);
    return (
      (pos.filter((x) => x.d <= t).length / pos.length + neg.filter((x) => x.d > t).length / neg.length) / 2
    );
  };
  let best = { threshold: 0, accuracy: -1 };
  for (const t of [...fit.map((x) => x.d), -Infinity].sort((x, y) => x - y)) {
    const acc = balanced(fit, t);
    if (acc > best.accuracy) best = { threshold: t, accuracy: acc };
  }
  return { threshold: best.threshold, accuracy: balanced(test, best.threshold) };
}

/** Clopper-Pearson upper bound (95 %, one-sided) of a binomial rate: k of n. */
function binomialUpper(k: number, n: number, level = 0.95): number {
  if (k >= n) return 1;
  let [lo, hi] = [k / n, 1];
  for (let it = 0; it < 100; it++) {
    const mid = (lo + hi) / 2;
    // P(X <= k | mid)
    let term = (1 - mid) ** n;
    let cdf = term;
    for (let i = 1; i <= k; i++) {
      term *= ((n - i + 1) / i) * (mid / (1 - mid));
      cdf += term;
    }
    if (cdf > 1 - level) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** Two-sided one-sample Kolmogorov-Smirnov test of p-values against the uniform: D and its asymptotic p. */
function ksUniform(ps: number[]): { d: number; p: number } {
  const s = [...ps].sort((x, y) => x - y);
  const n = s.length;
  let d = 0;
  s.forEach((x, i) => (d = Math.max(d, (i + 1) / n - x, x - i / n)));
  const lambda = (Math.sqrt(n) + 0.12 + 0.11 / Math.sqrt(n)) * d;
  let p = 0;
  for (let k = 1; k < 100; k++) p += 2 * (-1) ** (k - 1) * Math.exp(-2 * k * k * lambda * lambda);
  return { d: round(d, 4), p: round(Math.min(1, Math.max(0, p)), 4) };
}

function pairRows(arm: Arm, log: (m: string) => void) {
  const rng = new Rng(20261207, 9);
  // every source against every independent model: trained from scratch on the tasks, other runs of the zoo
  const others = [
    ...arm.taskTrained.map((b) => ({ b, what: 'trained from scratch on a task' })),
    ...arm.zooRuns.map((b) => ({ b, what: 'another run of the zoo' })),
  ];
  const independent: Pair[] = arm.sources.flatMap((a, j) =>
    others.map((o, k) => ({
      a,
      b: (j + k) % 2 ? disguise(o.b, DISGUISES[(j + k) % 4], rng) : o.b,
      derived: false,
      what: o.what,
    })),
  );
  const rows: Record<string, unknown>[] = [];
  const allIndependentP: number[] = [];
  const score = (pairs: Pair[]) => {
    const t = performance.now();
    const p = pairs.map(
      (x) => provenance(modelOf(x.a), modelOf(x.b), { references: arm.references, alpha: ALPHA }).p,
    );
    return { p, ms: (performance.now() - t) / pairs.length };
  };
  const indep = score(independent);
  allIndependentP.push(...indep.p);
  const groups: { length: string; pairs: Pair[] }[] = [
    {
      length: 'copies (0 epochs)',
      pairs: arm.sources.flatMap((s, i) =>
        [DISGUISES[i % 4], DISGUISES[(i + 2) % 4]].map((k) => ({
          a: s,
          b: disguise(s, k, rng),
          derived: true,
          what: k,
        })),
      ),
    },
    ...LENGTHS.map((epochs, e) => ({
      length: `${epochs} epoch${epochs > 1 ? 's' : ''}`,
      pairs: arm.sources.flatMap((s, i) => [
        { a: s, b: arm.derived[i][e], derived: true, what: arm.settings[i] },
        {
          a: s,
          b: disguise(arm.derived[i][e], DISGUISES[i % 3], rng),
          derived: true,
          what: `${arm.settings[i]}, ${DISGUISES[i % 3]}`,
        },
      ]),
    })),
  ];
  for (const g of groups) {
    const der = score(g.pairs);
    const pairs = [...g.pairs, ...independent];
    const p = [...der.p, ...indep.p];
    const y = pairs.map((x) => x.derived);
    const rightDerived = der.p.filter((q) => q < ALPHA).length;
    const rightIndependent = indep.p.filter((q) => q >= ALPHA).length;
    const l2 = pairs.map((x) => plainL2(x.a, x.b));
    const al2 = pairs.map((x) => alignedL2(x.a, x.b));
    const missed = g.pairs.flatMap((x, i) =>
      der.p[i] >= ALPHA ? [`${x.what} (p ${der.p[i].toPrecision(2)})`] : [],
    );
    rows.push({
      length: g.length,
      derived: g.pairs.length,
      independent: independent.length,
      // Model DNA's (right derived + right independent) / 2N, for classes of unequal size: the mean of the two rates
      accuracy: round((rightDerived / g.pairs.length + rightIndependent / independent.length) / 2),
      derivedFound: round(rightDerived / g.pairs.length),
      auc: round(
        auc(
          der.p.map((q) => -Math.log(q)),
          indep.p.map((q) => -Math.log(q)),
        ),
      ),
      medianDerivedP: der.p.slice().sort((a, b) => a - b)[der.p.length >> 1],
      l2: {
        ...roundAll(fittedThreshold(l2, y)),
        auc: round(
          auc(
            l2.slice(0, g.pairs.length).map((d) => -d),
            l2.slice(g.pairs.length).map((d) => -d),
          ),
        ),
      },
      alignedL2: {
        ...roundAll(fittedThreshold(al2, y)),
        auc: round(
          auc(
            al2.slice(0, g.pairs.length).map((d) => -d),
            al2.slice(g.pairs.length).map((d) => -d),
          ),
        ),
      },
      msPerTest: round(der.ms, 1),
      missed: missed.slice(0, 10),
    });
    log(`${arm.name} pairs ${g.length}: accuracy ${rows.at(-1)!.accuracy}, auc ${rows.at(-1)!.auc}`);
    void p;
  }
  const below = allIndependentP.filter((q) => q < ALPHA).length;
  // pairs sharing no model but A (each source with one model trained on a task, one zoo run):
  // the others share models and references, so their p-values are not independent draws
  const S = arm.sources.length;
  const disjoint = arm.sources.flatMap((_, j) => [indep.p[j * 2 * S + j], indep.p[j * 2 * S + S + j]]);
  return {
    rows,
    independent: {
      pairs: allIndependentP.length,
      below001: below,
      rate: round(below / allIndependentP.length, 4),
      rateUpper95: round(binomialUpper(below, allIndependentP.length), 4),
      ks: ksUniform(allIndependentP),
      disjoint: { pairs: disjoint.length, ks: ksUniform(disjoint) },
      p: allIndependentP.map((q) => round(q, 4)),
    },
  };
}

function roundAll<T extends Record<string, number>>(o: T): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v, 4)])) as T;
}

// ---- trees --------------------------------------------------------------------------

function named(models: BenchModel[], prefix: string): NamedModel[] {
  return models.map((m, i) => ({
    label: `${prefix}${i}`,
    model: modelOf(m),
    sha256: weightsSha256(m.weights),
    checkpoint: null,
    file: null,
  }));
}

/** lineage --infer's library path on a bag of tree nodes, timed (every core). */
async function inferBag(nodes: TreeNode[], references: Float32Array[]) {
  const t = performance.now();
  const lineage = await inferFromModels(
    named(
      nodes.map((x) => x.model),
      'm',
    ),
    async () => ({ weights: references, sha256: [], from: 'zoo runs' }),
    { workers: coreCount() },
  );
  return { trees: lineage.groups[0].trees, seconds: (performance.now() - t) / 1000 };
}

function treeScores(nodes: TreeNode[], parent: Int32Array, family: Int32Array) {
  const n = nodes.length;
  let pairsRight = 0;
  let pairs = 0;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      pairs++;
      if ((nodes[i].tree === nodes[j].tree) === (family[i] === family[j])) pairsRight++;
    }
  const edges = nodes.filter((x) => x.parent >= 0).length;
  let directed = 0;
  let undirected = 0;
  nodes.forEach((x, i) => {
    if (x.parent < 0) return;
    if (parent[i] === x.parent) directed++;
    if (parent[i] === x.parent || parent[x.parent] === i) undirected++;
  });
  const trees = new Set(nodes.map((x) => x.tree)).size;
  const families = new Set(family).size;
  return {
    clustering: round(pairsRight / pairs, 4),
    familiesFound: families,
    familiesTrue: trees,
    directedEdges: round(directed / edges),
    undirectedEdges: round(undirected / edges),
  };
}

/** A plain L2 minimum spanning tree, cut at its (trees - 1) longest edges, each tree rooted at its largest model. */
function l2Mst(models: Float32Array[], trees: number): { parent: Int32Array; family: Int32Array } {
  const n = models.length;
  const d = (i: number, j: number) => {
    let s = 0;
    for (let k = 0; k < models[i].length; k++) s += (models[i][k] - models[j][k]) ** 2;
    return Math.sqrt(s);
  };
  const inTree = new Uint8Array(n);
  const best = new Float64Array(n).fill(Infinity);
  const from = new Int32Array(n).fill(-1);
  best[0] = 0;
  const edges: [number, number, number][] = [];
  for (let it = 0; it < n; it++) {
    let u = -1;
    for (let v = 0; v < n; v++) if (!inTree[v] && (u < 0 || best[v] < best[u])) u = v;
    inTree[u] = 1;
    if (from[u] >= 0) edges.push([from[u], u, best[u]]);
    for (let v = 0; v < n; v++)
      if (!inTree[v]) {
        const dv = d(u, v);
        if (dv < best[v]) [best[v], from[v]] = [dv, u];
      }
  }
  edges.sort((x, y) => y[2] - x[2]);
  const kept = edges.slice(trees - 1);
  const adj: number[][] = Array.from({ length: n }, () => []);
  for (const [a, b] of kept) {
    adj[a].push(b);
    adj[b].push(a);
  }
  const family = new Int32Array(n).fill(-1);
  const parent = new Int32Array(n).fill(-1);
  const norm = models.map((w) => Math.sqrt(w.reduce((s, x) => s + x * x, 0)));
  let f = 0;
  for (let s = 0; s < n; s++) {
    if (family[s] >= 0) continue;
    const members: number[] = [];
    const stack = [s];
    family[s] = f;
    while (stack.length) {
      const u = stack.pop()!;
      members.push(u);
      for (const v of adj[u]) if (family[v] < 0) ((family[v] = f), stack.push(v));
    }
    const root = members.reduce((r, i) => (norm[i] > norm[r] ? i : r), members[0]);
    const seen = new Set([root]);
    const queue = [root];
    while (queue.length) {
      const u = queue.shift()!;
      for (const v of adj[u]) if (!seen.has(v)) (seen.add(v), (parent[v] = u), queue.push(v));
    }
    f++;
  }
  return { parent, family };
}

/** The share of true edges whose child has the smaller norm at canonical scale (the direction term's premise). */
function childSmaller(arm: Arm, nodes: TreeNode[]): number {
  const view = sharedView(modelOf(arm.sources[0]), arm.architecture);
  if ('unrelated' in view) return NaN;
  const norm = nodes.map((x) =>
    Math.sqrt(inSharedView(view, x.model.weights, 'a').reduce((s, v) => s + v * v, 0)),
  );
  const edges = nodes.map((x, i) => [x.parent, i]).filter(([p]) => p >= 0);
  return edges.filter(([p, i]) => norm[i] < norm[p]).length / edges.length;
}

async function treeRows(arm: Arm, log: (m: string) => void) {
  const out: Record<string, unknown> = {};
  for (const permuted of [false, true]) {
    const rng = new Rng(20261207, 11);
    const nodes: TreeNode[] = arm.trees.map((x, i) =>
      permuted && i % 3 === 1 ? { ...x, model: disguise(x.model, 'permuted (+ rescaled)', rng) } : x,
    );
    const { trees, seconds } = await inferBag(nodes, arm.treeReferences);
    const ours = treeScores(nodes, trees.parent, trees.family);
    const mother = motherTrees(
      arm.architecture,
      nodes.map((x) => x.model.weights),
      5,
    );
    const mst = l2Mst(
      nodes.map((x) => x.model.weights),
      5,
    );
    const key = permuted ? 'aThirdPermuted' : 'plain';
    out[key] = {
      models: nodes.length,
      childSmaller: round(childSmaller(arm, nodes), 3),
      ours: { ...ours, seconds: round(seconds, 2) },
      mother: treeScores(nodes, mother.parent, mother.family),
      l2Mst: treeScores(nodes, mst.parent, mst.family),
    };
    log(`${arm.name} trees ${key}: ours ${JSON.stringify(ours)} in ${seconds.toFixed(1)} s`);
  }
  return out;
}

// ---- speed --------------------------------------------------------------------------

function timeProvenance(arm: Arm, references: number) {
  const refs = arm.references.slice(0, references);
  const ms: number[] = [];
  for (let i = 0; i < 25; i++) {
    const a = modelOf(arm.sources[i % arm.sources.length]);
    const b = modelOf(arm.derived[(i + 1) % arm.sources.length][1]);
    const t = performance.now();
    provenance(a, b, { references: refs });
    if (i >= 5) ms.push(performance.now() - t); // the first few warm the JIT up
  }
  ms.sort((x, y) => x - y);
  return { references, medianMs: round(ms[ms.length >> 1], 1), maxMs: round(ms.at(-1)!, 1) };
}

/** The CLI end to end (node and tsx start-up included): seconds, and its exit status. */
function timeCli(args: string[]): { seconds: number; status: number | null; tail: string } {
  const t = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  return {
    seconds: round((performance.now() - t) / 1000, 2),
    status: r.status,
    tail: (r.stderr || '').trim().split('\n').slice(-2).join(' | '),
  };
}

function writeBag(dir: string, models: BenchModel[]): void {
  mkdirSync(dir, { recursive: true });
  models.forEach((m, i) =>
    writeSafetensors(join(dir, `model-${String(i).padStart(4, '0')}.safetensors`), m.architecture, m.weights),
  );
}

async function speed(ffnn: Arm, cnn: Arm, log: (m: string) => void, quick: boolean) {
  const out: Record<string, unknown> = {
    provenanceLibrary: { ffnn: timeProvenance(ffnn, 49), cnn: timeProvenance(cnn, 49) },
  };
  const tmp = mkdtempSync(join(tmpdir(), 'provenance-bench-'));
  try {
    const zoo = ffnn.zooDir!;
    const root = join(zoo, '..');
    const name = zoo.split('/').pop()!;
    out.provenanceCli = timeCli(['provenance', `${name}:0`, `${name}:35`, '--root', root]);
    writeBag(
      join(tmp, 'refs'),
      ffnn.treeReferences.slice(0, 49).map((w) => ({ ...ffnn.sources[0], weights: w })),
    );
    writeBag(
      join(tmp, 'bag105'),
      ffnn.trees.map((x) => x.model),
    );
    const inferCli = (bag: string) =>
      timeCli([
        'lineage',
        '--infer',
        join(tmp, bag),
        '--reference',
        join(tmp, 'refs'),
        '--json',
        '--root',
        tmp,
      ]);
    out.lineage105Cli = inferCli('bag105');
    log(
      `speed: provenance CLI ${JSON.stringify(out.provenanceCli)}, lineage 105 CLI ${JSON.stringify(out.lineage105Cli)}`,
    );
    if (!quick && ffnn.bigTrees) {
      const big = ffnn.bigTrees;
      const { trees, seconds } = await inferBag(big, ffnn.treeReferences.slice(0, 49));
      out.lineage1050Library = { seconds: round(seconds, 1), ...treeScores(big, trees.parent, trees.family) };
      writeBag(
        join(tmp, 'bag1050'),
        big.map((x) => x.model),
      );
      out.lineage1050Cli = inferCli('bag1050');
      log(
        `speed: lineage 1050 ${JSON.stringify(out.lineage1050Library)} CLI ${JSON.stringify(out.lineage1050Cli)}`,
      );
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

export async function benchProvenance(log: (m: string) => void, options: { quick?: boolean } = {}) {
  const started = new Date().toISOString();
  const arms: Arm[] = [];
  for (const name of ['ffnn', 'cnn', 'tfjs-mlp'] as const)
    arms.push(await benchArm(name, log, { bigTrees: name === 'ffnn' && !options.quick }));
  const report: Record<string, unknown> = { started, cores: coreCount(), alpha: ALPHA, networks: {} };
  for (const arm of arms) {
    (report.networks as Record<string, unknown>)[arm.name] = {
      trainedBy: arm.trainedBy,
      architecture: arm.architecture.summary,
      references: arm.references.length,
      pairs: pairRows(arm, log),
      trees: await treeRows(arm, log),
    };
  }
  report.speed = await speed(arms[0], arms[1], log, options.quick ?? false);
  mkdirSync('results', { recursive: true });
  writeFileSync('results/provenance-eval.json', JSON.stringify(report, null, 2) + '\n');
  log('wrote results/provenance-eval.json');
  return report;
}
