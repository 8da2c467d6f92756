/** Linear assignment against brute force over all permutations, and an optimality check by duality. */
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.ts';
import { linearAssignment } from '../src/identify/assignment.ts';

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((p) =>
    Array.from({ length: n }, (_, k) => [...p.slice(0, k), n - 1, ...p.slice(k)]),
  );
}

const randomCost = (rng: Rng, n: number, integer: boolean) =>
  Float64Array.from({ length: n * n }, () => (integer ? rng.nextInt(10) : rng.nextNormal()));

describe('linearAssignment', () => {
  it('finds the cheapest permutation, as brute force over all of them does, for sizes 1 to 8', () => {
    const rng = new Rng(7, 0);
    for (let n = 1; n <= 8; n++)
      for (let trial = 0; trial < (n <= 6 ? 20 : 3); trial++) {
        const cost = randomCost(rng, n, trial % 2 === 0); // integer costs make ties
        let best = Infinity;
        for (const p of permutations(n)) {
          let s = 0;
          for (let i = 0; i < n; i++) s += cost[i * n + p[i]];
          best = Math.min(best, s);
        }
        const a = linearAssignment(cost, n);
        expect(new Set(a.colOf).size).toBe(n); // a permutation
        let s = 0;
        for (let i = 0; i < n; i++) s += cost[i * n + a.colOf[i]];
        expect(s).toBeCloseTo(best, 9);
        expect(a.cost).toBeCloseTo(best, 9);
      }
  });

  it('returns duals that prove optimality at size 16: feasible everywhere, tight on the assignment', () => {
    const rng = new Rng(11, 0);
    for (let trial = 0; trial < 10; trial++) {
      const n = 16;
      const cost = randomCost(rng, n, trial % 2 === 0);
      const { colOf, u, v, cost: total } = linearAssignment(cost, n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) expect(u[i] + v[j]).toBeLessThanOrEqual(cost[i * n + j] + 1e-9);
      for (let i = 0; i < n; i++) expect(u[i] + v[colOf[i]]).toBeCloseTo(cost[i * n + colOf[i]], 9);
      // weak duality: sum u + sum v bounds every assignment from below, and equals this one
      expect(u.reduce((a, b) => a + b, 0) + v.reduce((a, b) => a + b, 0)).toBeCloseTo(total, 9);
    }
  });
});
