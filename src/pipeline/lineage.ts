/**
 * `lineage`: the family tree across the zoos under a root. Runs are the nodes (each a chain of
 * epochs); edges are the recorded links (a fork's manifest, origin.parent: its runs start from
 * a checkpoint of another zoo) and, kept apart, the links identify --record inferred
 * (store/inferredLinks.ts). As JSON, or as Graphviz DOT (recorded solid, inferred dashed).
 */
import { zooRowIndex } from '../core/zoo.ts';
import type { Catalog, CatalogZoo } from '../store/catalog.ts';
import { readBagLinks, readInferredLinks, type LinkedModel } from '../store/inferredLinks.ts';
import { zooShape } from '../store/manifest.ts';
import { resolveRef } from '../store/refs.ts';
import { metricsOf } from './history.ts';

export interface LineageNode {
  /** `zoo:run` for a run, `file:<path>` for a model file an inferred link names. */
  id: string;
  zoo: string | null;
  run: number | null;
  /** The run's last epoch (null for a file). */
  lastEpoch: number | null;
  /** The SHA-256 of the run's last checkpoint, and its metrics (null and {} for a file). */
  sha256: string | null;
  metrics: Record<string, number>;
  /** The run's tagged checkpoints, as `name@epoch`. */
  tags: string[];
  runTags: Record<string, string>;
}

export interface LineageEdge {
  /** The parent run's node, and the epoch the child starts from (fractional for an inferred fork). */
  from: string;
  at: number;
  to: string;
  kind: 'recorded' | 'inferred';
  /** For inferred links: identify's verdict and p-value, or lineage --infer's ('derived') and the pair's. */
  verdict?: string;
  pValue?: number;
  /** identify's floor for an identify link (absent for older records): a smaller pValue reads "p < floor". */
  pValueFloor?: number;
  /** Which command inferred the link (identify --record places a checkpoint on a run; lineage --infer links two models). */
  method?: 'identify' | 'infer';
  /** lineage --infer's confidence in the edge (the parent's share among the candidates). */
  confidence?: number;
}

export interface Lineage {
  nodes: LineageNode[];
  edges: LineageEdge[];
}

const runId = (zoo: string, run: number) => `${zoo}:${run}`;

/** The family tree of every zoo under the root, or of the family of `ref`'s run. */
export function zooLineage(catalog: Catalog, ref?: string): Lineage {
  const nodes = new Map<string, LineageNode>();
  for (const zoo of catalog.zoos) for (const node of runNodes(zoo)) nodes.set(node.id, node);
  const edges: LineageEdge[] = [];
  for (const zoo of catalog.zoos) {
    const parent = zoo.manifest.origin?.parent;
    if (parent) {
      const m = /^(.*):(\d+)@(\d+)$/.exec(parent.ref);
      const from = m ? runId(m[1], Number(m[2])) : `file:${parent.ref}`;
      if (!nodes.has(from))
        nodes.set(from, {
          id: from,
          zoo: m?.[1] ?? null,
          run: m ? Number(m[2]) : null,
          lastEpoch: null,
          sha256: null,
          metrics: {},
          tags: [],
          runTags: {},
        });
      const { runs } = zooShape(zoo.manifest);
      for (let r = 0; r < runs; r++)
        edges.push({ from, at: m ? Number(m[3]) : 0, to: runId(zoo.name, r), kind: 'recorded' });
    }
    for (const link of readInferredLinks(zoo.dir)) {
      const to = link.child.ref ? childRun(catalog, link.child.ref) : `file:${link.child.file}`;
      if (!nodes.has(to)) nodes.set(to, looseNode(to));
      edges.push({
        from: runId(zoo.name, link.run),
        at: link.epoch,
        to,
        kind: 'inferred',
        verdict: link.verdict,
        pValue: link.pValue,
        pValueFloor: link.pValueFloor,
        method: 'identify',
      });
    }
  }
  for (const link of readBagLinks(catalog.root)) {
    const [from, to] = [linkedNode(catalog, link.parent), linkedNode(catalog, link.child)];
    for (const id of [from.id, to.id]) if (!nodes.has(id)) nodes.set(id, looseNode(id));
    edges.push({
      from: from.id,
      at: from.epoch,
      to: to.id,
      kind: 'inferred',
      verdict: 'derived',
      pValue: link.pValue,
      method: 'infer',
      confidence: link.confidence,
    });
  }
  const all = { nodes: [...nodes.values()], edges };
  return ref === undefined ? all : familyOf(all, startNode(catalog, ref));
}

function runNodes(zoo: CatalogZoo): LineageNode[] {
  const { runs } = zooShape(zoo.manifest);
  const tags = zoo.tags();
  const info = zoo.info();
  const last = zoo.manifest.epochsCompleted;
  const tagged = new Map<number, string[]>();
  for (const [name, tag] of Object.entries(tags)) {
    const row = info.sha256.indexOf(tag.sha256);
    if (row >= 0)
      tagged.set(info.run[row], [...(tagged.get(info.run[row]) ?? []), `${name}@${info.epoch[row]}`]);
  }
  return Array.from({ length: runs }, (_, r) => ({
    id: runId(zoo.name, r),
    zoo: zoo.name,
    run: r,
    lastEpoch: last,
    sha256: info.sha256[zooRowIndex(runs, r, last)],
    metrics: metricsOf(zoo, zooRowIndex(runs, r, last)),
    tags: tagged.get(r) ?? [],
    runTags: zoo.manifest.origin?.runInfo?.[r]?.tags ?? {},
  }));
}

/** A node that is no zoo's run: a model file, or a checkpoint outside the root. */
export const looseNode = (id: string): LineageNode => ({
  id,
  zoo: null,
  run: null,
  lastEpoch: null,
  sha256: null,
  metrics: {},
  tags: [],
  runTags: {},
});

/** A bag link's model as a node: its run (and the epoch) for a checkpoint, else the file. */
function linkedNode(catalog: Catalog, m: LinkedModel): { id: string; epoch: number } {
  if (m.ref) {
    const match = /@(\d+)$/.exec(m.ref);
    return { id: childRun(catalog, m.ref), epoch: match ? Number(match[1]) : 0 };
  }
  return { id: `file:${m.file}`, epoch: 0 };
}

/** An inferred edge's p-value: "p = 0.03", or "p < 0.0001" below identify's floor. */
export function pValueText(e: LineageEdge): string {
  const floor = e.pValueFloor;
  return floor !== undefined && e.pValue! < floor
    ? `p < ${Number(floor.toPrecision(2))}`
    : `p = ${Number(e.pValue!.toPrecision(2))}`;
}

/** One line for an edge: recorded `@epoch`, identify's verdict at an epoch, or lineage --infer's link. */
export function edgeText(e: LineageEdge, lineBreak = ' '): string {
  if (e.kind === 'recorded') return `@${e.at}`;
  const p = pValueText(e);
  return e.method === 'infer'
    ? `inferred by lineage --infer${lineBreak}${p}, confidence ${Number(e.confidence!.toFixed(2))}`
    : `${e.verdict} @${Number(e.at.toFixed(2))}${lineBreak}${p}`;
}

/** The run node of a checkpoint reference (or the reference itself when it names none). */
function childRun(catalog: Catalog, ref: string): string {
  try {
    const r = resolveRef(catalog, ref);
    return r.kind === 'checkpoint' ? runId(r.checkpoint.zoo.name, r.checkpoint.run) : `file:${r.path}`;
  } catch {
    return `file:${ref}`;
  }
}

function startNode(catalog: Catalog, ref: string): string {
  const r = resolveRef(catalog, ref);
  return r.kind === 'checkpoint' ? runId(r.checkpoint.zoo.name, r.checkpoint.run) : `file:${r.path}`;
}

/** The nodes linked to `start` by edges either way, and those edges. */
function familyOf(lineage: Lineage, start: string): Lineage {
  const near = new Map<string, string[]>();
  const link = (a: string, b: string) => near.set(a, [...(near.get(a) ?? []), b]);
  for (const e of lineage.edges) {
    link(e.from, e.to);
    link(e.to, e.from);
  }
  const seen = new Set([start]);
  for (let queue = [start]; queue.length;) {
    const next: string[] = [];
    for (const id of queue) for (const n of near.get(id) ?? []) if (!seen.has(n)) (seen.add(n), next.push(n));
    queue = next;
  }
  return {
    nodes: lineage.nodes.filter((n) => seen.has(n.id)),
    edges: lineage.edges.filter((e) => seen.has(e.from) && seen.has(e.to)),
  };
}

/** A DOT string: backslashes and quotes escaped, each line break written as DOT's backslash-n. */
const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

/** Graphviz DOT: a cluster per zoo, a box per run, recorded links solid, inferred dashed. */
export function lineageDot(lineage: Lineage): string {
  const byZoo = new Map<string, LineageNode[]>();
  const loose: LineageNode[] = [];
  for (const n of lineage.nodes) n.zoo ? byZoo.set(n.zoo, [...(byZoo.get(n.zoo) ?? []), n]) : loose.push(n);
  const label = (n: LineageNode) =>
    n.run === null
      ? n.id.replace(/^file:/, '')
      : [
          `run ${n.run}`,
          ...(n.lastEpoch !== null ? [`epochs 0-${n.lastEpoch}`] : []),
          ...(n.tags.length ? [`tags: ${n.tags.join(', ')}`] : []),
        ].join('\n');
  const lines = ['digraph lineage {', '  rankdir=LR;', '  node [shape=box, fontname="Helvetica"];'];
  [...byZoo].forEach(([zoo, nodes], i) => {
    lines.push(`  subgraph cluster_${i} {`, `    label=${quote(zoo)};`);
    for (const n of nodes) lines.push(`    ${quote(n.id)} [label=${quote(label(n))}];`);
    lines.push('  }');
  });
  for (const n of loose) lines.push(`  ${quote(n.id)} [label=${quote(label(n))}, shape=note];`);
  for (const e of lineage.edges) {
    const text = edgeText(e, '\n');
    lines.push(
      `  ${quote(e.from)} -> ${quote(e.to)} [label=${quote(text)}${e.kind === 'inferred' ? ', style=dashed' : ''}];`,
    );
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}
