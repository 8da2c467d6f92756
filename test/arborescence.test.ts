/**
 * Chu-Liu-Edmonds against brute force: every parent assignment of graphs up to 6 nodes is
 * enumerated, the valid arborescences (one root, no cycle) kept, and the cheapest cost
 * compared with minimumArborescence's, for a fixed root and for a chosen one.
 */
import { describe, expect, it } from 'vitest';
import { minimumArborescence, NoArborescenceError } from '../src/cluster/arborescence.ts';
import { Rng } from '../src/core/rng.ts';

/** The cheapest valid parent assignment by enumeration: parent -1 marks the root. */
function bruteForce(n: number, costs: Float64Array, rootCost: Float64Array | null, fixedRoot = 0): number {
  let best = Infinity;
  const parent = new Int32Array(n);
  const choices = n; // parent in 0..n-1 (itself meaning: root)
  const total = choices ** n;
  for (let code = 0; code < total; code++) {
    let c = code;
    for (let v = 0; v < n; v++) {
      const p = c % choices;
      c = Math.floor(c / choices);
      parent[v] = p === v ? -1 : p;
    }
    const roots = [...parent.keys()].filter((v) => parent[v] < 0);
    if (roots.length !== 1) continue;
    if (!rootCost && roots[0] !== fixedRoot) continue;
    // acyclic: every node reaches the root within n steps
    let ok = true;
    for (let v = 0; v < n && ok; v++) {
      let u = v;
      for (let s = 0; s <= n && u >= 0; s++) u = parent[u];
      ok = u < 0;
    }
    if (!ok) continue;
    let cost = rootCost ? rootCost[roots[0]] : 0;
    for (let v = 0; v < n; v++) if (parent[v] >= 0) cost += costs[parent[v] * n + v];
    best = Math.min(best, cost);
  }
  return best;
}

function isArborescence(parent: Int32Array, root: number): boolean {
  if (parent[root] !== -1 || parent.filter((p) => p < 0).length !== 1) return false;
  return [...parent.keys()].every((v) => {
    let u = v;
    for (let s = 0; s <= parent.length && u !== root; s++) u = parent[u];
    return u === root;
  });
}

describe('minimumArborescence (Chu-Liu-Edmonds)', () => {
  it('equals brute force on 600 random graphs of 2 to 6 nodes, fixed and chosen roots', () => {
    const rng = new Rng(20261207);
    let cyclic = 0;
    for (let t = 0; t < 600; t++) {
      const n = 2 + (t % 5);
      const costs = new Float64Array(n * n).fill(Infinity);
      for (let u = 0; u < n; u++)
        for (let v = 0; v < n; v++)
          if (u !== v) costs[u * n + v] = t % 3 === 0 ? Math.floor(rng.nextFloat() * 4) : rng.nextFloat();
      const rootCost = Float64Array.from({ length: n }, () => rng.nextFloat() * 2);
      const fixed = minimumArborescence({ n, costs, root: t % n });
      expect(isArborescence(fixed.parent, t % n)).toBe(true);
      expect(fixed.cost).toBeCloseTo(bruteForce(n, costs, null, t % n), 12);
      const chosen = minimumArborescence({ n, costs, rootCost });
      expect(isArborescence(chosen.parent, chosen.root)).toBe(true);
      expect(chosen.cost).toBeCloseTo(bruteForce(n, costs, rootCost), 12);
      // how often the cheapest incoming edges alone held a cycle (the contraction was needed)
      const pre = [...Array(n).keys()].map((v) => {
        let b = -1;
        for (let u = 0; u < n; u++) if (u !== v && (b < 0 || costs[u * n + v] < costs[b * n + v])) b = u;
        return b;
      });
      if (pre.some((p, v) => pre[p] === v)) cyclic++;
    }
    expect(cyclic).toBeGreaterThan(100);
  });

  it('refuses a node no edge enters', () => {
    const costs = Float64Array.from([
      Infinity,
      1,
      Infinity,
      Infinity,
      Infinity,
      Infinity,
      Infinity,
      Infinity,
      Infinity,
    ]);
    expect(() => minimumArborescence({ n: 3, costs, root: 0 })).toThrow(NoArborescenceError);
  });
});
