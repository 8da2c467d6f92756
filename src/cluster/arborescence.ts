/**
 * Minimum spanning arborescence (Chu & Liu 1965, Edmonds 1967): the directed tree reaching
 * every node from one root whose edges cost least in total. lineage's inferred family trees
 * (pipeline/familyTree.ts) are these, one per family. Dense version, O(n^3) at worst: each
 * round gives every node its cheapest incoming edge; if those edges hold a cycle, the cycle is
 * contracted into one node, whose incoming edges cost what they save over the cycle's own
 * edge into the node they enter, the smaller graph is solved, and the cycle is opened again
 * where the chosen edge enters it.
 */
import { UserError } from '../core/errors.ts';

/** Edge costs, n x n row-major: costs[from * n + to]; Infinity where there is no edge. */
export interface ArborescenceInput {
  n: number;
  costs: Float64Array;
  /**
   * Each node's cost of being the root, when the root is to be chosen: the tree is the
   * cheapest over every choice of root (its rootCost counted once). Without it, node `root`.
   */
  rootCost?: Float64Array;
  /** The fixed root (default 0), when rootCost is not given. */
  root?: number;
}

export interface Arborescence {
  /** parent[v]: the node whose edge enters v; -1 for the root. */
  parent: Int32Array;
  root: number;
  /** Sum of the tree's edge costs, plus the root's rootCost when the root was chosen. */
  cost: number;
}

export class NoArborescenceError extends UserError {}

export function minimumArborescence(input: ArborescenceInput): Arborescence {
  const { n, costs, rootCost } = input;
  if (costs.length !== n * n)
    throw new RangeError(`costs must hold n * n = ${n * n} values, got ${costs.length}`);
  if (n === 0) throw new RangeError('an arborescence needs at least one node');
  if (!rootCost) {
    const root = input.root ?? 0;
    const parent = solve(n, costs, root);
    return { parent, root, cost: treeCost(parent, costs, n) };
  }
  // a super-root s with an edge to every node, each dearer than any tree of the real edges,
  // so the cheapest arborescence from s uses exactly one: the chosen root
  const m = n + 1;
  let finite = 0;
  for (const c of costs) if (Number.isFinite(c)) finite += Math.abs(c);
  for (const c of rootCost) if (Number.isFinite(c)) finite += Math.abs(c);
  const big = 2 * finite + 1;
  const wide = new Float64Array(m * m).fill(Infinity);
  for (let u = 0; u < n; u++) wide.set(costs.subarray(u * n, (u + 1) * n), u * m);
  for (let v = 0; v < n; v++) wide[n * m + v] = rootCost[v] + big;
  const all = solve(m, wide, n);
  const root = all.findIndex((p, v) => v < n && p === n);
  const parent = Int32Array.from(all.subarray(0, n), (p) => (p === n ? -1 : p));
  return { parent, root, cost: treeCost(parent, costs, n) + rootCost[root] };
}

function treeCost(parent: Int32Array, costs: Float64Array, n: number): number {
  let total = 0;
  parent.forEach((p, v) => {
    if (p >= 0) total += costs[p * n + v];
  });
  return total;
}

/** Parents of the cheapest arborescence of the m-node graph `c` rooted at `root`. */
function solve(m: number, c: Float64Array, root: number): Int32Array {
  const pre = new Int32Array(m).fill(-1);
  for (let v = 0; v < m; v++) {
    if (v === root) continue;
    let best = -1;
    for (let u = 0; u < m; u++) if (u !== v && (best < 0 || c[u * m + v] < c[best * m + v])) best = u;
    if (best < 0 || !Number.isFinite(c[best * m + v]))
      throw new NoArborescenceError(`node ${v} cannot be reached: no edge enters it`);
    pre[v] = best;
  }
  // cycles among the chosen edges: walk up from each node until the root, a node already
  // placed, or a node of this walk (a new cycle)
  const id = new Int32Array(m).fill(-1);
  const walk = new Int32Array(m).fill(-1);
  let cycles = 0;
  for (let v = 0; v < m; v++) {
    let u = v;
    while (u !== root && id[u] < 0 && walk[u] !== v) {
      walk[u] = v;
      u = pre[u];
    }
    if (u !== root && id[u] < 0) {
      for (let x = pre[u]; x !== u; x = pre[x]) id[x] = cycles;
      id[u] = cycles++;
    }
  }
  if (cycles === 0) return pre;
  const inCycle = Uint8Array.from(id, (k) => (k >= 0 ? 1 : 0));
  let count = cycles;
  for (let v = 0; v < m; v++) if (id[v] < 0) id[v] = count++;
  const k = count;
  const c2 = new Float64Array(k * k).fill(Infinity);
  const via = new Int32Array(k * k).fill(-1);
  for (let u = 0; u < m; u++)
    for (let v = 0; v < m; v++) {
      const a = id[u];
      const b = id[v];
      const w = c[u * m + v];
      if (a === b || u === v || !Number.isFinite(w)) continue;
      const saved = inCycle[v] ? w - c[pre[v] * m + v] : w;
      if (saved < c2[a * k + b]) {
        c2[a * k + b] = saved;
        via[a * k + b] = u * m + v;
      }
    }
  const p2 = solve(k, c2, id[root]);
  const parent = Int32Array.from(pre);
  parent[root] = -1;
  for (let b = 0; b < k; b++) {
    if (b === id[root]) continue;
    const edge = via[p2[b] * k + b];
    parent[edge % m] = Math.floor(edge / m);
  }
  return parent;
}
