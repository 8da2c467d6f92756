/**
 * Linear assignment: the permutation p minimising sum_i cost[i][p[i]] for a square cost
 * matrix, by shortest augmenting paths with dual potentials (the Hungarian method in the
 * form of Jonker & Volgenant 1987, O(n^3)). Weight matching aligns a checkpoint's hidden units
 * to a run's with one such assignment per layer (Git Re-Basin); the duals u, v are returned
 * so a caller (and the tests) can check optimality: u[i] + v[j] <= cost[i][j] everywhere, with
 * equality on the assignment.
 */
export interface Assignment {
  /** Column assigned to each row. */
  colOf: Int32Array;
  /** Total cost of the assignment. */
  cost: number;
  /** Dual potentials of rows and columns. */
  u: Float64Array;
  v: Float64Array;
}

/** Solves the n x n assignment problem for `cost` (row-major, n * n finite values). */
export function linearAssignment(cost: Float64Array, n: number): Assignment {
  if (cost.length !== n * n) throw new RangeError(`linearAssignment: ${cost.length} costs for ${n} x ${n}`);
  // 1-based arrays with a virtual column 0, as in the classic formulation
  const u = new Float64Array(n + 1);
  const v = new Float64Array(n + 1);
  const rowOf = new Int32Array(n + 1); // rowOf[j]: row assigned to column j (0: none)
  const way = new Int32Array(n + 1);
  const minv = new Float64Array(n + 1);
  const used = new Uint8Array(n + 1);
  for (let i = 1; i <= n; i++) {
    rowOf[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = rowOf[j0];
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const reduced = cost[(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
        if (reduced < minv[j]) [minv[j], way[j]] = [reduced, j0];
        if (minv[j] < delta) [delta, j1] = [minv[j], j];
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[rowOf[j]] += delta;
          v[j] -= delta;
        } else minv[j] -= delta;
      }
      j0 = j1;
    } while (rowOf[j0] !== 0);
    do {
      const j1 = way[j0];
      rowOf[j0] = rowOf[j1];
      j0 = j1;
    } while (j0 !== 0);
  }
  const colOf = new Int32Array(n);
  for (let j = 1; j <= n; j++) if (rowOf[j] > 0) colOf[rowOf[j] - 1] = j - 1;
  let total = 0;
  for (let i = 0; i < n; i++) total += cost[i * n + colOf[i]];
  return { colOf, cost: total, u: u.slice(1), v: v.slice(1) };
}
