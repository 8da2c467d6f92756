/**
 * The UMAP embedding (src/reduce/umap.ts, knn.ts) against independent references: exact
 * neighbours against brute force written here, the fuzzy graph against umap-js's own
 * (fed the same neighbours), the curve parameters against UMAP's published values, and the
 * layout's quality against umap-js's on the same trajectories.
 */
import { matrix } from '../src/core/matrix.ts';
import { UMAP } from 'umap-js';
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.ts';
import { nearestNeighbours } from '../src/reduce/knn.ts';
import {
  curveParameters,
  fuzzySimplicialSet,
  optimizeLayout,
  smoothKnnDistances,
  umapEmbedding,
  type UmapGraph,
} from '../src/reduce/umap.ts';
import { connectedPieces, piecewisePcaLayout } from '../src/reduce/umapStart.ts';

/**
 * `runs` trajectories of `steps` points in d dimensions, run-major; row i belongs to run
 * floor(i / steps). Their starting points have standard deviation `spread`.
 */
function trajectories(runs: number, steps: number, d: number, seed: number, spread = 5): Float64Array {
  const rng = new Rng(seed, 3);
  const x = new Float64Array(runs * steps * d);
  for (let r = 0; r < runs; r++) {
    const p = Array.from({ length: d }, () => spread * rng.nextNormal());
    const v = Array.from({ length: d }, () => rng.nextNormal());
    for (let s = 0; s < steps; s++) {
      for (let j = 0; j < d; j++) {
        p[j] += v[j] / (1 + 0.2 * s) + 0.1 * rng.nextNormal();
        x[(r * steps + s) * d + j] = p[j];
      }
    }
  }
  return x;
}

/** Brute force: row q's k nearest, itself first, then by distance and index. */
function bruteNeighbours(x: ArrayLike<number>, n: number, d: number, q: number, k: number): number[] {
  const dist = (i: number) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += (x[i * d + j] - x[q * d + j]) ** 2;
    return Math.sqrt(s);
  };
  const others = Array.from({ length: n }, (_, i) => i)
    .filter((i) => i !== q)
    .sort((a, b) => dist(a) - dist(b) || a - b);
  return [q, ...others.slice(0, k - 1)];
}

describe('exact nearest neighbours', () => {
  it.each([
    [600, 7, 3, 'float64'], // several query blocks, n not a multiple of 4
    [130, 50, 5, 'float32'],
    [9, 3, 9, 'float64'], // k = n
  ] as const)('n %i, d %i, k %i (%s) equal brute force', (n, d, k, type) => {
    const data = trajectories(Math.ceil(n / 30), 30, d, n).subarray(0, n * d);
    const x = type === 'float32' ? Float32Array.from(data) : data;
    const knn = nearestNeighbours(matrix(x, n, d), k);
    expect(knn.k).toBe(k);
    for (let q = 0; q < n; q++) {
      const want = bruteNeighbours(x, n, d, q, k);
      expect(Array.from(knn.indices.subarray(q * k, (q + 1) * k)), `row ${q}`).toEqual(want);
      for (let j = 0; j < k; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += (x[want[j] * d + c] - x[q * d + c]) ** 2;
        expect(knn.distances[q * k + j]).toBeCloseTo(Math.sqrt(s), 10);
      }
    }
  });

  it('duplicated rows are each other’s neighbours at distance 0, ties by index', () => {
    const x = new Float64Array([0, 0, 1, 1, 0, 0, 5, 5, 1, 1]); // rows 0 and 2, 1 and 4 equal
    const knn = nearestNeighbours(matrix(x, 5, 2), 2);
    expect(Array.from(knn.indices)).toEqual([0, 2, 1, 4, 2, 0, 3, 1, 4, 1]);
    expect(knn.distances[1]).toBe(0);
  });
});

describe('the fuzzy graph', () => {
  const n = 240;
  const d = 12;
  const x = trajectories(8, 30, d, 7);
  const knn = nearestNeighbours(matrix(x, n, d), 4);

  it('smooth kNN distances: rho the nearest other point, sum of memberships log2 k', () => {
    const { sigmas, rhos } = smoothKnnDistances(knn.distances, n, knn.k);
    for (let i = 0; i < n; i++) {
      const row = Array.from(knn.distances.subarray(i * 4, i * 4 + 4));
      expect(rhos[i]).toBe(row[1]);
      const sum = row.slice(1).reduce((s, v) => s + Math.exp(-Math.max(0, v - rhos[i]) / sigmas[i]), 0);
      expect(sum).toBeCloseTo(Math.log2(4), 4);
    }
  });

  it("equals umap-js's graph built from the same neighbours", () => {
    const ours = fuzzySimplicialSet(knn, n, Infinity); // Infinity: nothing pruned, as umap-js's graph
    const reference = new UMAP({ nNeighbors: 4 });
    const rows = (i: number) => Array.from(knn.indices.subarray(i * 4, i * 4 + 4));
    reference.setPrecomputedKNN(
      Array.from({ length: n }, (_, i) => rows(i)),
      Array.from({ length: n }, (_, i) => Array.from(knn.distances.subarray(i * 4, i * 4 + 4))),
    );
    reference.initializeFit(Array.from({ length: n }, (_, i) => Array.from(x.subarray(i * d, (i + 1) * d))));
    // umap-js keeps its graph private; its entries are what its optimiser samples
    const graph = (
      reference as unknown as { graph: { getAll(): { row: number; col: number; value: number }[] } }
    ).graph;
    const want = graph
      .getAll()
      .filter((e) => e.value > 0)
      .sort((a, b) => a.row - b.row || a.col - b.col);
    expect(ours.head.length).toBe(want.length);
    want.forEach((e, i) => {
      expect([ours.tail[i], ours.head[i]]).toEqual([e.row, e.col]);
      expect(ours.weight[i]).toBeCloseTo(e.value, 12);
    });
  });

  it('drops edges weaker than max / nEpochs', () => {
    const all = fuzzySimplicialSet(knn, n, Infinity);
    const max = Math.max(...all.weight);
    const pruned = fuzzySimplicialSet(knn, n, 2);
    expect(pruned.head.length).toBe(all.weight.filter((w) => w >= max / 2).length);
    expect(pruned.head.length).toBeLessThan(all.head.length);
  });
});

/** UMAP's SGD as umap-js writes it (optimizeLayoutStep), with Math.pow and the same random draws. */
function referenceLayout(y: Float64Array, graph: UmapGraph, a: number, b: number, nEpochs: number, rng: Rng) {
  const n = y.length / 2;
  const max = Math.max(...graph.weight);
  const perSample = Array.from(graph.weight, (w) => max / w);
  const perNegative = perSample.map((e) => e / 5);
  const nextSample = [...perSample];
  const nextNegative = [...perNegative];
  const clip = (v: number) => Math.max(-4, Math.min(4, v));
  for (let epoch = 0; epoch < nEpochs; epoch++) {
    const alpha = 1 - epoch / nEpochs;
    for (let e = 0; e < graph.head.length; e++) {
      if (nextSample[e] > epoch) continue;
      const [j, k] = [graph.head[e], graph.tail[e]];
      const d2 = (y[2 * j] - y[2 * k]) ** 2 + (y[2 * j + 1] - y[2 * k + 1]) ** 2;
      const coeff = d2 > 0 ? (-2 * a * b * Math.pow(d2, b - 1)) / (a * Math.pow(d2, b) + 1) : 0;
      for (const c of [0, 1]) {
        const g = clip(coeff * (y[2 * j + c] - y[2 * k + c]));
        y[2 * j + c] += g * alpha;
        y[2 * k + c] -= g * alpha;
      }
      nextSample[e] += perSample[e];
      const negatives = Math.floor((epoch - nextNegative[e]) / perNegative[e]);
      for (let s = 0; s < negatives; s++) {
        const o = rng.nextUint32() % n;
        const d2o = (y[2 * j] - y[2 * o]) ** 2 + (y[2 * j + 1] - y[2 * o + 1]) ** 2;
        if (d2o === 0 && o === j) continue;
        const repel = d2o > 0 ? (2 * b) / ((0.001 + d2o) * (a * Math.pow(d2o, b) + 1)) : 0;
        for (const c of [0, 1])
          y[2 * j + c] += (repel > 0 ? clip(repel * (y[2 * j + c] - y[2 * o + c])) : 4) * alpha;
      }
      nextNegative[e] += negatives * perNegative[e];
    }
  }
}

describe('UMAP', () => {
  it("the layout kernel takes the steps of umap-js's optimiser, draw for draw", () => {
    const n = 240;
    const x = trajectories(8, 30, 12, 5);
    const graph = fuzzySimplicialSet(nearestNeighbours(matrix(x, n, 12), 3), n, 8);
    const init = new Rng(9, 1);
    const start = Float64Array.from({ length: 2 * n }, () => init.nextFloat() * 20 - 10);
    const { a, b } = curveParameters(1, 0.3);
    const ours = start.slice();
    const oursRng = new Rng(21, 2);
    optimizeLayout(ours, 2, graph, { a, b }, 8, oursRng);
    const reference = start.slice();
    const referenceRng = new Rng(21, 2);
    referenceLayout(reference, graph, a, b, 8, referenceRng);
    let moved = 0;
    for (let i = 0; i < 2 * n; i++) {
      expect(ours[i]).toBeCloseTo(reference[i], 6);
      moved = Math.max(moved, Math.abs(ours[i] - start[i]));
    }
    expect(moved).toBeGreaterThan(0.1); // the test moved the points
    expect(oursRng.nextUint32()).toBe(referenceRng.nextUint32()); // as many draws, and the generator goes on
  });

  it("curve parameters: UMAP's published a, b for min_dist 0.1, and a least-squares optimum for 0.3", () => {
    const { a, b } = curveParameters(1, 0.1);
    expect(a).toBeCloseTo(1.5769434603113077, 4); // umap-learn's find_ab_params (scipy curve_fit)
    expect(b).toBeCloseTo(0.8950608779109733, 4);
    const fit = curveParameters(1, 0.3);
    const loss = (a: number, b: number) =>
      Array.from({ length: 300 }, (_, i) => (i * 3) / 299).reduce(
        (s, x) => s + (1 / (1 + a * x ** (2 * b)) - (x < 0.3 ? 1 : Math.exp(-(x - 0.3)))) ** 2,
        0,
      );
    for (const [da, db] of [
      [1e-3, 0],
      [-1e-3, 0],
      [0, 1e-3],
      [0, -1e-3],
    ])
      expect(loss(fit.a + da, fit.b + db)).toBeGreaterThan(loss(fit.a, fit.b));
  });

  it('keeps each trajectory together better than umap-js and than random starts; the same seed gives the same bytes', () => {
    // 40 runs whose starts overlap (spread 1): the graph has a piece per run, and where the
    // pieces start decides how tangled they end
    const runs = 40;
    const steps = 40;
    const n = runs * steps;
    const d = 20;
    const x = trajectories(runs, steps, d, 11, 1);
    const sameRunShare = (y: ArrayLike<number>) => {
      let same = 0;
      for (let q = 0; q < n; q++) {
        const nearest: { i: number; dist: number }[] = []; // the 5 nearest others, by brute force
        for (let i = 0; i < n; i++) {
          if (i === q) continue;
          const dist = (y[2 * i] - y[2 * q]) ** 2 + (y[2 * i + 1] - y[2 * q + 1]) ** 2;
          if (nearest.length === 5 && dist >= nearest[4].dist) continue;
          nearest.splice(nearest.length === 5 ? 4 : nearest.length, 1, { i, dist });
          nearest.sort((a, b) => a.dist - b.dist);
        }
        for (const { i } of nearest) if (Math.floor(i / steps) === Math.floor(q / steps)) same++;
      }
      return same / (n * 5);
    };
    const progress: number[] = [];
    const ours = umapEmbedding(matrix(x, n, d), { seed: 3, onProgress: (done) => progress.push(done) });
    const random = umapEmbedding(matrix(x, n, d), { seed: 3, init: 'random' });
    const rng = new Rng(3, 0x75);
    const reference = new UMAP({ nNeighbors: 3, minDist: 0.3, random: () => rng.nextFloat() })
      .fit(Array.from({ length: n }, (_, i) => Array.from(x.subarray(i * d, (i + 1) * d))))
      .flat();
    const [oursShare, randomShare, referenceShare] = [ours, random, reference].map(sameRunShare);
    console.log(
      `5 nearest in 2-D from the same run: ours ${oursShare}, from random points ${randomShare}, umap-js ${referenceShare}`,
    );
    expect(oursShare).toBeGreaterThan(0.85);
    expect(oursShare).toBeGreaterThanOrEqual(referenceShare);
    expect(oursShare).toBeGreaterThan(randomShare + 0.02);
    expect(progress[0]).toBe(0);
    expect(progress.at(-1)).toBe(500); // umap-js's epochs for 1,600 points
    expect(umapEmbedding(matrix(x, n, d), { seed: 3 })).toEqual(ours);
    expect(umapEmbedding(matrix(x, n, d), { seed: 4 })).not.toEqual(ours);
  });
});

/** A graph of chains: consecutive rows linked (both ways) where they share a piece. */
function chainGraph(n: number, piece: (i: number) => number) {
  const links = Array.from({ length: n - 1 }, (_, i) => [i, i + 1]).filter(([a, b]) => piece(a) === piece(b));
  return {
    head: Int32Array.from(links.flatMap(([a, b]) => [a, b])),
    tail: Int32Array.from(links.flatMap(([a, b]) => [b, a])),
  };
}

/** Coordinates of the rows (n x d) on their top two principal axes: power iteration with deflation on the covariance. */
function principalPlane(x: ArrayLike<number>, n: number, d: number): number[][] {
  const mean = Array.from({ length: d }, (_, j) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i * d + j];
    return s / n;
  });
  const cov = Array.from({ length: d }, (_, p) =>
    Array.from({ length: d }, (_, q) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += (x[i * d + p] - mean[p]) * (x[i * d + q] - mean[q]);
      return s;
    }),
  );
  const axes: number[][] = [];
  for (let c = 0; c < 2; c++) {
    let v = Array.from({ length: d }, (_, j) => 1 + j);
    for (let it = 0; it < 3000; it++) {
      let w = cov.map((row) => row.reduce((s, a, q) => s + a * v[q], 0));
      for (const u of axes) {
        const uw = u.reduce((s, a, q) => s + a * w[q], 0);
        w = w.map((a, q) => a - uw * u[q]);
      }
      const norm = Math.hypot(...w);
      v = w.map((a) => a / norm);
    }
    axes.push(v);
  }
  return Array.from({ length: n }, (_, i) =>
    axes.map((u) => u.reduce((s, a, j) => s + a * (x[i * d + j] - mean[j]), 0)),
  );
}

describe("UMAP's start: each piece of the graph laid out apart", () => {
  it('finds the connected pieces as a breadth-first search does', () => {
    const rng = new Rng(9, 9);
    const n = 300;
    const edges = Array.from({ length: 220 }, () => [rng.nextInt(n), rng.nextInt(n)]);
    const graph = {
      head: Int32Array.from(edges.flatMap(([a, b]) => [a, b])),
      tail: Int32Array.from(edges.flatMap(([a, b]) => [b, a])),
    };
    const seen = new Int32Array(n).fill(-1);
    const expected: number[][] = [];
    for (let s = 0; s < n; s++) {
      if (seen[s] >= 0) continue;
      const piece = [s];
      seen[s] = s;
      for (let k = 0; k < piece.length; k++)
        for (const [a, b] of edges)
          for (const [from, to] of [
            [a, b],
            [b, a],
          ])
            if (from === piece[k] && seen[to] < 0) {
              seen[to] = s;
              piece.push(to);
            }
      expected.push(piece.sort((a, b) => a - b));
    }
    expect(connectedPieces(n, graph)).toEqual(expected);
    expect(expected.length).toBeGreaterThan(50); // the graph is in many pieces, some of one point
  });

  it("places pieces by their centroids' principal components and lays each out on the data's, as umap-learn's rules say", () => {
    // 8 trajectories of 25 points (pieces by the chain graph given here) and one pair
    const [d, steps] = [6, 25];
    const traj = trajectories(8, steps, d, 21, 3);
    const pair = Float64Array.from({ length: 2 * d }, (_, j) => 40 + (j % d) + (j < d ? 0 : 0.5));
    const x = Float64Array.from([...traj, ...pair]);
    const n = 8 * steps + 2;
    const piece = (i: number) => Math.min(8, Math.floor(i / steps));
    const graph = chainGraph(n, piece);
    const y = piecewisePcaLayout(matrix(x, n, d), graph, 2, new Rng(4, 0x75));
    expect(Math.max(...y.map(Math.abs))).toBeCloseTo(10, 3);

    // the pieces' means: their centroids' principal coordinates, up to one scale and a sign per axis
    const members = Array.from({ length: 9 }, (_, p) =>
      Array.from({ length: n }, (_, i) => i).filter((i) => piece(i) === p),
    );
    const meanOf = (rows: number[], value: (i: number, c: number) => number) =>
      [0, 1].map((c) => rows.reduce((s, i) => s + value(i, c), 0) / rows.length);
    const centroids = members.flatMap((rows) =>
      Array.from({ length: d }, (_, j) => rows.reduce((s, i) => s + x[i * d + j], 0) / rows.length),
    );
    const places = principalPlane(centroids, 9, d);
    const means = members.map((rows) => meanOf(rows, (i, c) => y[i * 2 + c]));
    const placeScale = [0, 1].map((c) => means[0][c] / places[0][c]);
    expect(Math.abs(placeScale[0])).toBeCloseTo(Math.abs(placeScale[1]), 3);
    for (let p = 0; p < 8; p++)
      for (let c = 0; c < 2; c++) expect(means[p][c]).toBeCloseTo(placeScale[c] * places[p][c], 3);

    // within a piece: the data's principal coordinates about the piece's mean, one scale per piece,
    // the largest offset half the distance to the nearest other piece
    const plane = principalPlane(x, n, d);
    for (let p = 0; p < 8; p++) {
      const rows = members[p];
      const [gm, ym] = [meanOf(rows, (i, c) => plane[i][c]), means[p]];
      const offsets = rows.map((i) => [0, 1].map((c) => y[i * 2 + c] - ym[c]));
      const ratio = offsets[0][0] / (plane[rows[0]][0] - gm[0]);
      rows.forEach((i, r) => {
        for (let c = 0; c < 2; c++)
          expect(Math.abs(offsets[r][c])).toBeCloseTo(Math.abs(ratio * (plane[i][c] - gm[c])), 2);
      });
      const nearest = Math.min(
        ...means.filter((_, q) => q !== p).map((m) => Math.hypot(m[0] - ym[0], m[1] - ym[1])),
      );
      expect(Math.max(...offsets.flat().map(Math.abs))).toBeCloseTo(nearest / 2, 2);
    }
    // the pair is too small to lay out: uniform points within its span of its place, parted
    const place = [0, 1].map((c) => placeScale[c] * places[8][c]);
    const span = Math.min(...means.slice(0, 8).map((m) => Math.hypot(m[0] - place[0], m[1] - place[1]))) / 2;
    for (const i of members[8])
      for (let c = 0; c < 2; c++) expect(Math.abs(y[i * 2 + c] - place[c])).toBeLessThan(span);
    const [a, b] = members[8];
    expect([y[a * 2], y[a * 2 + 1]]).not.toEqual([y[b * 2], y[b * 2 + 1]]);
  });

  it('puts up to 4 pieces on the unit vectors and their negatives, and parts identical rows', () => {
    const [d, n] = [3, 40];
    const x = Float64Array.from({ length: n * d }, (_, t) => (Math.floor(t / d) % 10) * 0.1 + (t % d));
    const graph = chainGraph(n, (i) => Math.floor(i / 10)); // 4 pieces of 10
    const y = piecewisePcaLayout(matrix(x, n, d), graph, 2, new Rng(4, 0x75));
    const means = [0, 1, 2, 3].map((p) =>
      [0, 1].map(
        (c) => Array.from({ length: 10 }, (_, k) => y[(p * 10 + k) * 2 + c]).reduce((s, v) => s + v) / 10,
      ),
    );
    const unit = means[0][0];
    expect(unit).toBeGreaterThan(4); // places 1 apart over half-spans of 0.5 and more, scaled to 10
    const expected = [
      [1, 0],
      [0, 1],
      [-1, 0],
      [0, -1],
    ];
    means.forEach((m, p) => m.forEach((v, c) => expect(v).toBeCloseTo(unit * expected[p][c], 2)));

    const twins = piecewisePcaLayout(
      matrix(new Float64Array(8 * 3).fill(1), 8, 3),
      { head: new Int32Array(), tail: new Int32Array() },
      2,
      new Rng(1, 0x75),
    );
    expect(new Set(twins).size).toBe(16);
    expect(twins.every(Number.isFinite)).toBe(true);
  });
});
