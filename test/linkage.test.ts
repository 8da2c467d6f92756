/**
 * Single linkage against a brute-force agglomerative reference and ml-hclust, on random
 * data, high-dimensional data and tie-ridden integer data.
 */
import { matrix } from '../src/core/matrix.ts';
import { agnes } from 'ml-hclust';
import { describe, expect, it } from 'vitest';
import { cutTree, joinHeights, leafOrder, singleLinkage, type Linkage } from '../src/cluster/linkage.ts';
import { Rng } from '../src/core/rng.ts';
import { syntheticZoo } from '../bench/syntheticZoo.ts';

/** O(n^3) textbook single linkage: repeatedly merge the two clusters with the closest pair. */
function bruteForce(points: number[][]): { heights: number[]; partitions: number[][] } {
  const n = points.length;
  const dist = points.map((a) => points.map((b) => Math.sqrt(a.reduce((s, v, j) => s + (v - b[j]) ** 2, 0))));
  const label = points.map((_, i) => i);
  const heights: number[] = [];
  const partitions: number[][] = [label.slice()];
  for (let step = 0; step < n - 1; step++) {
    let best = Infinity;
    let pair = [0, 0];
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++)
        if (label[i] !== label[j] && dist[i][j] < best) [best, pair] = [dist[i][j], [label[i], label[j]]];
    for (let i = 0; i < n; i++) if (label[i] === pair[1]) label[i] = pair[0];
    heights.push(best);
    partitions.push(label.slice());
  }
  return { heights, partitions };
}

function randomPoints(n: number, dim: number, seed: number, integer = false): number[][] {
  const rng = new Rng(seed, 3);
  return Array.from({ length: n }, () =>
    Array.from({ length: dim }, () => (integer ? rng.nextInt(3) : rng.nextNormal())),
  );
}

const exact = (pts: number[][]) => matrix(Float64Array.from(pts.flat()), pts.length, pts[0].length);
const heightsOf = (l: Linkage) => Array.from({ length: l.n - 1 }, (_, i) => l.z[i * 4 + 2]);
const samePartition = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  const map = new Map<number, number>();
  const back = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    if ((map.get(a[i]) ?? b[i]) !== b[i] || (back.get(b[i]) ?? a[i]) !== a[i]) return false;
    map.set(a[i], b[i]);
    back.set(b[i], a[i]);
  }
  return true;
};

describe('singleLinkage', () => {
  it.each([
    [40, 3, 1],
    [60, 10, 2],
    [25, 50, 3],
    [30, 500, 6],
  ])('equals brute force on random data (n=%i, dim=%i): heights and every cut', (n, dim, seed) => {
    const pts = randomPoints(n, dim, seed);
    const { linkage } = singleLinkage(exact(pts));
    const ref = bruteForce(pts);
    heightsOf(linkage).forEach((h, i) => expect(h).toBeCloseTo(ref.heights[i], 12));
    for (let c = 1; c <= n; c++)
      expect(samePartition(cutTree(linkage, c), ref.partitions[n - c]), `cut into ${c}`).toBe(true);
  });

  it('equals brute force on trajectories, where the triangle bounds skip most pairs', () => {
    const zoo = syntheticZoo(5, 12, 64, 8);
    const pts = Array.from({ length: zoo.n }, (_, i) =>
      Array.from(zoo.weights.subarray(i * 64, (i + 1) * 64)),
    );
    const { linkage } = singleLinkage(exact(pts));
    const ref = bruteForce(pts);
    heightsOf(linkage).forEach((h, i) => expect(h).toBeCloseTo(ref.heights[i], 12));
    expect(samePartition(cutTree(linkage, 5), ref.partitions[zoo.n - 5])).toBe(true);
    expect(samePartition(cutTree(linkage, 5), zoo.run)).toBe(true);
  });

  it('gives bit-identical trees from float32 rows (full space) and their float64 copies', () => {
    const zoo = syntheticZoo(6, 9, 301, 11); // 301 weights: padding to 8 lanes exercised
    const f32 = singleLinkage(matrix(zoo.weights, zoo.n, 301));
    const f64 = singleLinkage(matrix(Float64Array.from(zoo.weights), zoo.n, 301));
    expect(f32.linkage.z).toEqual(f64.linkage.z);
    const pts = Array.from({ length: zoo.n }, (_, i) =>
      Array.from(zoo.weights.subarray(i * 301, (i + 1) * 301)),
    );
    const ref = bruteForce(pts);
    heightsOf(f32.linkage).forEach((h, i) => expect(h).toBeCloseTo(ref.heights[i], 12));
  });

  it.each([
    [false, 40],
    [true, 40],
    [true, 301], // float32 rows past the packed head: head and tail segments, float32 filter
  ])('gives the same tree bit for bit with one thread or two (float32 rows: %s, dim %i)', (f32, dim) => {
    const zoo = syntheticZoo(30, 49, dim, 12); // 1,500 points: steps split between main and helper thread
    const coords = f32 ? zoo.weights : Float64Array.from(zoo.weights);
    const one = singleLinkage(matrix(coords, zoo.n, dim), { threads: 1 });
    const two = singleLinkage(matrix(coords, zoo.n, dim), { threads: 2 });
    expect(two.linkage.z).toEqual(one.linkage.z);
    // more threads than this machine may have cores: slower when they share one, the same tree
    const three = singleLinkage(matrix(coords, zoo.n, dim), { threads: 3 });
    expect(three.linkage.z).toEqual(one.linkage.z);
    expect(samePartition(cutTree(two.linkage, 30), zoo.run)).toBe(true);
  });

  it('resolves float32 distances that differ by less than float32 rounding exactly (the float32 filter defers to float64)', () => {
    // c at the origin; y and x close to each other, x a hair (1e-8 relative) farther from c.
    // Prim from x adds y, then must see that c is closer to y than to x.
    const dim = 300;
    const y = Float32Array.from(randomPoints(1, dim, 21)[0]);
    const bySize = Array.from(y.keys()).sort((i, j) => y[i] - y[j]);
    const [i, j] = bySize
      .slice(1)
      .map((v, t) => [bySize[t], v])
      .sort(([a, b], [c, d]) => y[b] - y[a] - (y[d] - y[c]))[0];
    const x = Float32Array.from(y);
    [x[i], x[j]] = [y[j], y[i]]; // same norm, a short step away
    x[bySize[dim - 1]] = Math.fround(x[bySize[dim - 1]] * (1 + 2 ** -23)); // one ulp farther out
    const c = new Float32Array(dim);
    const [dxc, dyc] = [Math.hypot(...x), Math.hypot(...y)];
    expect(dxc).toBeGreaterThan(dyc);
    expect((dxc - dyc) / dyc).toBeLessThan(1e-6);
    const coords = new Float32Array(3 * dim);
    [x, y, c].forEach((p, t) => coords.set(p, t * dim));
    const { linkage } = singleLinkage(matrix(coords, 3, dim));
    expect(linkage.z[0] + linkage.z[1]).toBe(1); // x and y merge first
    expect(linkage.z[6]).toBeCloseTo(dyc, 12); // then c, at its distance to y
    expect(Math.abs(linkage.z[6] - dxc)).toBeGreaterThan(1e-9);
  });

  it.each([6, 21])(
    'gives the float64 tree bit for bit on float32 points so close that their squares underflow in float32 (dim %i)',
    (dim) => {
      // differences near 1e-22: squares near 1e-44, below float32's normal range, where its
      // rounding is absolute and only the filter's slack keeps it exact
      const pts = randomPoints(203, dim, 31).map((p) => p.map((v) => Math.fround(v * 1e-22)));
      const f32 = singleLinkage(matrix(Float32Array.from(pts.flat()), pts.length, dim));
      const f64 = singleLinkage(exact(pts));
      expect(f32.linkage.z).toEqual(f64.linkage.z);
      const ref = bruteForce(pts);
      heightsOf(f64.linkage).forEach((h, i) => expect(h / 1e-22).toBeCloseTo(ref.heights[i] / 1e-22, 9));
    },
  );

  it('equals ml-hclust (agnes, single) merge heights', () => {
    const pts = randomPoints(80, 6, 9);
    const { linkage } = singleLinkage(exact(pts));
    const theirs: number[] = [];
    const walk = (node: { height: number; children?: unknown[]; isLeaf: boolean }) => {
      if (node.isLeaf) return;
      theirs.push(node.height);
      (node.children as (typeof node)[]).forEach(walk);
    };
    walk(agnes(pts, { method: 'single' }) as never);
    theirs.sort((a, b) => a - b);
    heightsOf(linkage).forEach((h, i) => expect(h).toBeCloseTo(theirs[i], 10));
  });

  it.each([false, true])(
    'handles ties (integer data, duplicate points; float32: %s): same heights, and every cut is a valid single-linkage cut',
    (f32) => {
      const pts = randomPoints(50, 2, 4, true); // 9 possible points: many duplicates and equal distances
      const { linkage } = singleLinkage(
        f32 ? { ...exact(pts), data: Float32Array.from(pts.flat()) } : exact(pts),
      );
      const ref = bruteForce(pts);
      expect(heightsOf(linkage)).toEqual(
        ref.heights.map((h) => expect.closeTo(h, 12)) as unknown as number[],
      );
      const n = pts.length;
      const d = (i: number, j: number) => Math.hypot(...pts[i].map((v, t) => v - pts[j][t]));
      for (let c = 1; c < n; c++) {
        const labels = cutTree(linkage, c);
        const h = heightsOf(linkage)[n - c - 1]; // height of the last merge kept
        // points closer than h must share a cluster; a cluster never spans a gap wider than h
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) if (d(i, j) < h - 1e-12) expect(labels[i]).toBe(labels[j]);
        for (let cl = 0; cl < c; cl++) {
          const members = Array.from(labels.keys()).filter((i) => labels[i] === cl);
          const sub = bruteForce(members.map((i) => pts[i]));
          expect(Math.max(0, ...sub.heights)).toBeLessThanOrEqual(h + 1e-12);
        }
        expect(new Set(labels).size).toBe(c);
      }
    },
  );

  it('writes SciPy layout: a < b, new ids n+i, sizes add up, heights non-decreasing; join heights', () => {
    const pts = randomPoints(30, 4, 5);
    const { linkage } = singleLinkage(exact(pts));
    const n = 30;
    const size = (id: number): number => (id < n ? 1 : linkage.z[(id - n) * 4 + 3]);
    for (let i = 0; i < n - 1; i++) {
      const [a, b, h, s] = linkage.z.subarray(i * 4, i * 4 + 4);
      expect(a).toBeLessThan(b);
      expect(b).toBeLessThan(n + i);
      expect(s).toBe(size(a) + size(b));
      if (i > 0) expect(h).toBeGreaterThanOrEqual(linkage.z[(i - 1) * 4 + 2]);
    }
    expect(linkage.z[(n - 2) * 4 + 3]).toBe(n);
    const jh = joinHeights(linkage);
    expect(Math.min(...jh)).toBe(linkage.z[2]);
  });
});

describe("singleLinkage, method 'checked' (candidate tree + cycle-property check)", () => {
  const checked = { method: 'checked' } as const;

  it.each([
    [60, 10, 2],
    [40, 500, 6], // a 64-coordinate candidate that is not the tree: replacements found by the check
  ])('equals brute force on random data (n=%i, dim=%i): heights and every cut', (n, dim, seed) => {
    const pts = randomPoints(n, dim, seed);
    const { linkage } = singleLinkage(exact(pts), checked);
    const ref = bruteForce(pts);
    heightsOf(linkage).forEach((h, i) => expect(h).toBeCloseTo(ref.heights[i], 12));
    for (let c = 1; c <= n; c++)
      expect(samePartition(cutTree(linkage, c), ref.partitions[n - c]), `cut into ${c}`).toBe(true);
  });

  it.each([false, true])(
    'equals brute force on trajectories (float32: %s), where block bounds pass over most pairs',
    (f32) => {
      const zoo = syntheticZoo(6, 13, 301, 8); // 78 points: a partial last block of 4
      const coords = f32 ? zoo.weights : Float64Array.from(zoo.weights);
      const { linkage } = singleLinkage(matrix(coords, zoo.n, 301), checked);
      const pts = Array.from({ length: zoo.n }, (_, i) =>
        Array.from(zoo.weights.subarray(i * 301, (i + 1) * 301)),
      );
      const ref = bruteForce(pts);
      heightsOf(linkage).forEach((h, i) => expect(h).toBeCloseTo(ref.heights[i], 12));
      expect(samePartition(cutTree(linkage, 6), zoo.run)).toBe(true);
    },
  );

  it('stays exact on float32 points so close that their squares underflow in float32', () => {
    const zoo = syntheticZoo(6, 13, 301, 9);
    const tiny = zoo.weights.map((v) => v * 1e-22);
    const { linkage } = singleLinkage(matrix(tiny, zoo.n, 301), checked);
    const ref = singleLinkage(matrix(Float64Array.from(tiny), zoo.n, 301), { method: 'prim' });
    heightsOf(linkage).forEach((h, i) =>
      expect(h / 1e-22).toBeCloseTo(heightsOf(ref.linkage)[i] / 1e-22, 12),
    );
    expect(samePartition(cutTree(linkage, 6), zoo.run)).toBe(true);
  });

  it('gives the same heights as Prim, and the same tree bit for bit with one thread or two', () => {
    const zoo = syntheticZoo(30, 70, 301, 12); // 2,100 points: the helper thread takes half the blocks
    const points = matrix(zoo.weights, zoo.n, 301);
    const one = singleLinkage(points, { ...checked, threads: 1 });
    const two = singleLinkage(points, { ...checked, threads: 2 });
    const prim = singleLinkage(points, { method: 'prim', threads: 1 });
    expect(two.linkage.z).toEqual(one.linkage.z);
    heightsOf(one.linkage).forEach((h, i) => expect(h).toBeCloseTo(heightsOf(prim.linkage)[i], 12));
    expect(samePartition(cutTree(one.linkage, 30), zoo.run)).toBe(true);
  });

  it('gives the same checked tree bit for bit with three or four threads (sides of the check)', () => {
    const zoo = syntheticZoo(30, 140, 301, 12); // 4,200 points: four sides of the candidate check
    const points = matrix(zoo.weights, zoo.n, 301);
    const one = singleLinkage(points, { ...checked, threads: 1 });
    for (const threads of [3, 4])
      expect(singleLinkage(points, { ...checked, threads }).linkage.z).toEqual(one.linkage.z);
  });

  it('handles ties: integer data with duplicates gives the brute-force heights', () => {
    const pts = randomPoints(50, 2, 4, true);
    const { linkage } = singleLinkage(exact(pts), checked);
    expect(heightsOf(linkage)).toEqual(
      bruteForce(pts).heights.map((h) => expect.closeTo(h, 12)) as unknown as number[],
    );
  });

  it('settles more candidate pairs than one output buffer holds (duplicate points: every pair is a tie)', () => {
    const dim = 300;
    const [a, b] = randomPoints(2, dim, 33);
    const pts = Array.from({ length: 400 }, (_, i) => (i % 2 ? a : b)); // ~80,000 pairs at the path maximum
    const { linkage } = singleLinkage(matrix(Float32Array.from(pts.flat()), 400, dim), checked);
    const heights = heightsOf(linkage);
    expect(heights.slice(0, 398).every((h) => h === 0)).toBe(true);
    expect(heights[398]).toBeCloseTo(Math.hypot(...a.map((v, t) => Math.fround(v) - Math.fround(b[t]))), 12);
    expect(
      samePartition(
        cutTree(linkage, 2),
        pts.map((_, i) => i % 2),
      ),
    ).toBe(true);
  });

  it('lists the leaves as a dendrogram draws them: each merge its first child, then its second', () => {
    const zoo = syntheticZoo(7, 9, 20, 5);
    const { linkage } = singleLinkage(matrix(zoo.weights, zoo.n, 20));
    // SciPy's leaves_list, recursively: node n + i is merge i, its children z[4i], z[4i + 1]
    const leaves = (node: number): number[] =>
      node < linkage.n
        ? [node]
        : [...leaves(linkage.z[(node - linkage.n) * 4]), ...leaves(linkage.z[(node - linkage.n) * 4 + 1])];
    const order = [...leafOrder(linkage)];
    expect(order).toEqual(leaves(2 * linkage.n - 2));
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: linkage.n }, (_, i) => i));
    expect([...leafOrder({ n: 1, z: new Float64Array(0) })]).toEqual([0]);
  });
});
