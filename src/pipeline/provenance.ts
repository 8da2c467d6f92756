/**
 * `provenance A B`, `provenance A --among DIR` and `lineage --infer`: the models that
 * references and files name, the reference models the tests hold them against, the tests
 * themselves (identify/provenance.ts, identify/familyTree.ts, the similarities on every core),
 * and the links an inference records (store/inferredLinks.ts). docs/provenance.md.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { option, UserError } from '../core/errors.ts';
import { networkOf } from '../core/network.ts';
import { familyTrees, type FamilyTreeOptions, type FamilyTrees } from './familyTree.ts';
import {
  inSharedView,
  provenance,
  PROVENANCE_DEFAULTS,
  sharedView,
  type ModelWeights,
  type Provenance,
  type SharedView,
} from '../identify/provenance.ts';
import { openCatalog, zooDirsUnder, type Catalog, type CatalogZoo } from '../store/catalog.ts';
import { readCheckpointFile } from '../store/checkpointFile.ts';
import { readModelFile } from '../store/formats/readModel.ts';
import { recordBagLinks, type BagLink, type LinkedModel } from '../store/inferredLinks.ts';
import { ZooIntegrityError } from '../store/loadZoo.ts';
import { checkpointPath, zooShape } from '../store/manifest.ts';
import { describeRef, resolveRef, runCheckpoint, type CheckpointRef } from '../store/refs.ts';
import { weightsSha256 } from '../store/sha256.ts';
import { defaultWorkers } from '../util/threads.ts';
import { runJobs } from '../util/workerPool.ts';
import { checkpointWeights } from './history.ts';
import { looseNode, type Lineage, type LineageEdge, type LineageNode } from './lineage.ts';
import type { SimilarityJob } from './similarityWorker.ts';

/** A model as the output names it, with its weights and what it is. */
export interface NamedModel {
  /** A checkpoint's `zoo:run@epoch`, or the file's path. */
  label: string;
  model: ModelWeights;
  sha256: string;
  checkpoint: CheckpointRef | null;
  file: string | null;
}

/** The zoos under `root`, or none (a bag of model files needs no zoo). */
export function catalogOf(root: string): Catalog {
  return zooDirsUnder(root).length ? openCatalog(root) : { root, zoos: [], files: true };
}

/** The checkpoint or model file `text` names (references.ts's grammar). */
export async function loadNamedModel(catalog: Catalog, text: string): Promise<NamedModel> {
  const r = resolveRef(catalog, text);
  if (r.kind === 'checkpoint') return checkpointModel(r.checkpoint);
  const file = await readModelFile(r.path);
  return {
    label: r.path,
    model: { architecture: file.architecture, weights: file.weights, network: file.network },
    sha256: file.sha256,
    checkpoint: null,
    file: r.path,
  };
}

function checkpointModel(c: CheckpointRef): NamedModel {
  const arch = c.zoo.manifest.architecture;
  return {
    label: describeRef(c),
    model: {
      architecture: arch,
      weights: checkpointWeights(c),
      network: networkOf(arch, c.zoo.manifest.network),
    },
    sha256: c.sha256,
    checkpoint: c,
    file: null,
  };
}

/**
 * The models in `path`: a zoo (a folder with a manifest, or a zoo's name under the root),
 * each run's last checkpoint; a folder, its model files and tfjs model folders, by name; a
 * model file, itself; or any other reference, the checkpoint it names (refs.ts).
 */
export async function modelsIn(catalog: Catalog, path: string): Promise<NamedModel[]> {
  const zoo = catalog.zoos.find((z) => z.name === path || resolve(z.dir) === resolve(path));
  if (zoo) return zooRuns(zoo).map(checkpointModel);
  if (!existsSync(path)) return [await loadNamedModel(catalog, path)];
  if (zooDirsUnder(path)[0] === path)
    throw new UserError(`${path} is a zoo outside ${catalog.root}; give --root ${resolve(path, '..')}`);
  if (!statSync(path).isDirectory() || existsSync(join(path, 'model.json')))
    return [await loadNamedModel(catalog, path)];
  const names = readdirSync(path)
    .filter((name) => {
      const p = join(path, name);
      return statSync(p).isDirectory()
        ? existsSync(join(p, 'model.json'))
        : /\.(safetensors|arrow)$/.test(name);
    })
    .sort();
  if (!names.length)
    throw new UserError(
      `${path} holds no model files (.safetensors, .arrow checkpoints, tfjs model folders)`,
    );
  const models: NamedModel[] = [];
  for (const name of names) models.push(await loadNamedModel(catalog, join(path, name)));
  return models;
}

/** Every run's last checkpoint of a zoo. */
function zooRuns(zoo: CatalogZoo): CheckpointRef[] {
  return Array.from({ length: zooShape(zoo.manifest).runs }, (_, r) => runCheckpoint(zoo, r));
}

/** The weights of every run of `zoo` at `epoch`, each checked against its SHA-256. */
function epochWeights(zoo: CatalogZoo, epoch: number): { weights: Float32Array; sha256: string }[] {
  const path = checkpointPath(zoo.dir, epoch);
  const { rows } = readCheckpointFile(path);
  return Array.from({ length: zooShape(zoo.manifest).runs }, (_, r) => {
    const c = runCheckpoint(zoo, r, String(epoch));
    const weights = rows.weights.slice(r * rows.size, (r + 1) * rows.size);
    if (weightsSha256(weights) !== c.sha256)
      throw new ZooIntegrityError(
        `${path}: run ${r}'s weights do not match their SHA-256; run \`npm run verify -- --zoo ${zoo.dir}\``,
      );
    return { weights, sha256: c.sha256 };
  });
}

export interface References {
  weights: Float32Array[];
  sha256: string[];
  /** Where they came from, for the output. */
  from: string;
}

/** Same tensors, same shapes, same order. */
const sameLayout = (a: ModelWeights, b: ModelWeights['architecture']) =>
  a.architecture.params.length === b.params.length &&
  a.architecture.params.every((p, i) => p.shape.join() === b.params[i].shape.join());

/**
 * The references A is tested with: models trained as A was, from other seeds. In order: the
 * zoo or folder `reference` names; A's own zoo's other runs at A's epoch (A a checkpoint, or
 * a file whose weights are one); the runs of every zoo under the root with A's tensors. Models
 * whose weights are among `exclude` (B, the candidates) are left out.
 */
export async function findReferences(
  catalog: Catalog,
  a: NamedModel,
  options: { reference?: string; exclude?: Set<string> } = {},
): Promise<References> {
  const exclude = new Set([a.sha256, ...(options.exclude ?? [])]);
  const keep = (models: { weights: Float32Array; sha256: string }[], from: string): References => {
    const kept = models.filter((m) => !exclude.has(m.sha256));
    return { weights: kept.map((m) => m.weights), sha256: kept.map((m) => m.sha256), from };
  };
  let found: References;
  if (options.reference !== undefined) {
    const models = (await modelsIn(catalog, options.reference)).map((m) => m.model);
    const bad = models.find((m) => !sameLayout(m, a.model.architecture));
    if (bad)
      throw new UserError(
        `${option('reference')} ${options.reference} holds models of another architecture (${bad.architecture.summary}) than A (${a.model.architecture.summary})`,
      );
    found = keep(
      models.map((m) => ({ weights: m.weights, sha256: weightsSha256(m.weights) })),
      `${options.reference} (given)`,
    );
  } else {
    const own = a.checkpoint ?? zooCheckpointOf(catalog, a.sha256);
    if (own) found = zooReferences(own, exclude);
    else {
      const zoos = catalog.zoos.filter((z) => sameLayout(a.model, z.manifest.architecture));
      found = keep(
        zoos.flatMap((z) => epochWeights(z, z.manifest.epochsCompleted)),
        zoos.length
          ? `the runs of ${zoos.map((z) => z.name).join(', ')} (A's tensors; exact when trained as A was)`
          : `no zoo under ${catalog.root} with A's tensors`,
      );
    }
  }
  if (found.weights.length < PROVENANCE_DEFAULTS.minReferences)
    throw new UserError(
      `${found.weights.length} reference model(s) from ${found.from}; the test needs at least ${PROVENANCE_DEFAULTS.minReferences} models trained as A was, from other seeds: give ${option('reference')} ZOO or FOLDER`,
    );
  return found;
}

/** The other runs of a checkpoint's zoo at its epoch (those whose weights are in `exclude` left out). */
export function zooReferences(c: CheckpointRef, exclude: Set<string>): References {
  const kept = epochWeights(c.zoo, c.epoch).filter((m) => m.sha256 !== c.sha256 && !exclude.has(m.sha256));
  return {
    weights: kept.map((m) => m.weights),
    sha256: kept.map((m) => m.sha256),
    from: `the other runs of ${c.zoo.name} at epoch ${c.epoch}, A's zoo`,
  };
}

/** The zoo checkpoint whose weights hash is `sha256`, if one under the root is. */
function zooCheckpointOf(catalog: Catalog, sha256: string): CheckpointRef | null {
  for (const zoo of catalog.zoos) {
    const row = zoo.info().sha256.indexOf(sha256);
    if (row >= 0) {
      const info = zoo.info();
      return { zoo, run: info.run[row], epoch: info.epoch[row], row: row as CheckpointRef['row'], sha256 };
    }
  }
  return null;
}

export interface ProvenanceOptions {
  /** A zoo or folder of models trained as A was (default: see findReferences). */
  reference?: string;
  alpha?: number;
}

export interface PairResult {
  a: string;
  b: string;
  referencesFrom: string;
  result: Provenance;
}

/** Is B derived from A? */
export async function provenanceOf(
  catalog: Catalog,
  aRef: string,
  bRef: string,
  options: ProvenanceOptions = {},
): Promise<PairResult> {
  const [a, b] = [await loadNamedModel(catalog, aRef), await loadNamedModel(catalog, bRef)];
  const view = sharedView(a.model, b.model.architecture);
  const refs =
    'unrelated' in view
      ? { weights: [], sha256: [], from: 'none (unrelated architectures)' }
      : await findReferences(catalog, a, { reference: options.reference, exclude: new Set([b.sha256]) });
  const result =
    'unrelated' in view
      ? provenance(a.model, b.model, { references: [], alpha: options.alpha })
      : provenance(a.model, b.model, { references: refs.weights, alpha: options.alpha });
  return { a: a.label, b: b.label, referencesFrom: refs.from, result };
}

export interface Candidate {
  label: string;
  sha256: string;
  verdict: Provenance['verdict'];
  p: number;
  /** Holm's step-down adjustment over the candidates compared (unrelated architectures left out). */
  pHolm: number;
  /** The tensor that carried most evidence. */
  strongest: string | null;
}

/** Every model in `among` tested against A, ranked by p-value, Holm-corrected. */
export async function provenanceAmong(
  catalog: Catalog,
  aRef: string,
  among: string,
  options: ProvenanceOptions = {},
): Promise<{ a: string; referencesFrom: string; candidates: Candidate[] }> {
  const a = await loadNamedModel(catalog, aRef);
  const candidates = (await modelsIn(catalog, among)).filter((m) => m.sha256 !== a.sha256);
  if (!candidates.length) throw new UserError(`${among} holds no model other than A`);
  const refs = await findReferences(catalog, a, {
    reference: options.reference,
    exclude: new Set(candidates.map((c) => c.sha256)),
  });
  const results = candidates.map((b) => ({
    b,
    r: provenance(a.model, b.model, { references: refs.weights, alpha: options.alpha }),
  }));
  const tested = results.filter((x) => x.r.verdict !== 'unrelated architectures');
  const holm = holmAdjusted(tested.map((x) => x.r.p));
  const adjusted = new Map(tested.map((x, i) => [x, holm[i]]));
  const alpha = options.alpha ?? PROVENANCE_DEFAULTS.alpha;
  return {
    a: a.label,
    referencesFrom: refs.from,
    candidates: results
      .map((x) => {
        const pHolm = adjusted.get(x) ?? 1;
        return {
          label: x.b.label,
          sha256: x.b.sha256,
          verdict:
            x.r.verdict === 'unrelated architectures'
              ? x.r.verdict
              : pHolm < alpha
                ? ('derived' as const)
                : ('independent' as const),
          p: x.r.p,
          pHolm,
          strongest: x.r.tensors[0]?.name ?? null,
        };
      })
      .sort((x, y) => x.p - y.p),
  };
}

/** Holm's step-down adjusted p-values, in the order given. */
export function holmAdjusted(p: number[]): number[] {
  const m = p.length;
  const order = p.map((_, i) => i).sort((i, j) => p[i] - p[j]);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach((i, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p[i]));
    out[i] = running;
  });
  return out;
}

export interface InferOptions extends FamilyTreeOptions {
  /** A zoo or folder of independent models of the bag's architecture (default: zoos under the root with it). */
  reference?: string;
  /** Worker threads for the similarities (default: every core). */
  workers?: number;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface InferredGroup {
  /** The architecture's summary, and its models. */
  architecture: string;
  models: { label: string; sha256: string; ref: string | null; file: string | null }[];
  trees: FamilyTrees;
  referencesFrom: string;
}

export interface InferredLineage {
  groups: InferredGroup[];
  /** Models alone with their architecture in the bag (nothing to compare them with). */
  apart: { label: string; architecture: string }[];
}

/** The family trees of the models `inputs` name (folders, zoos, files); models are grouped by architecture. */
export async function inferLineage(
  catalog: Catalog,
  inputs: string[],
  options: InferOptions = {},
): Promise<InferredLineage> {
  if (!inputs.length) throw new UserError('give the models: folders, zoos or model files');
  const models: NamedModel[] = [];
  for (const input of inputs) models.push(...(await modelsIn(catalog, input)));
  return inferFromModels(
    models,
    (first, members) =>
      findReferences(catalog, first, {
        reference: options.reference,
        exclude: new Set(members.map((m) => m.sha256)),
      }),
    options,
  );
}

/**
 * The family trees of models in hand: grouped by architecture (tensor shapes), each group
 * tested against the references `referencesFor` finds for it (a group without any is tested
 * against itself, unless `reference` was given: then the error stands).
 */
export async function inferFromModels(
  models: NamedModel[],
  referencesFor: (first: NamedModel, members: NamedModel[]) => Promise<References>,
  options: InferOptions = {},
): Promise<InferredLineage> {
  const seen = new Set<string>();
  const unique = models.filter((m) => !seen.has(m.sha256) && seen.add(m.sha256));
  const groups = new Map<string, NamedModel[]>();
  for (const m of unique) {
    const key = m.model.architecture.params.map((p) => p.shape.join('x')).join(',');
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  const result: InferredLineage = { groups: [], apart: [] };
  for (const members of groups.values()) {
    if (members.length < 2) {
      result.apart.push({ label: members[0].label, architecture: members[0].model.architecture.summary });
      continue;
    }
    const first = members.find((m) => m.model.network) ?? members[0];
    const view = sharedView(first.model, first.model.architecture);
    if ('unrelated' in view) {
      result.apart.push(
        ...members.map((m) => ({
          label: m.label,
          architecture: `${m.model.architecture.summary}: ${view.unrelated}`,
        })),
      );
      continue;
    }
    let refs: References | null = null;
    try {
      refs = await referencesFor(first, members);
    } catch (err) {
      if (options.reference !== undefined) throw err;
    }
    const trees = await groupTrees(view, members, refs, options);
    result.groups.push({
      architecture: first.model.architecture.summary,
      models: members.map((m) => ({
        label: m.label,
        sha256: m.sha256,
        ref: m.checkpoint ? describeRef(m.checkpoint) : null,
        file: m.file,
      })),
      trees,
      referencesFrom: refs ? refs.from : 'the bag itself (no reference models: the null is approximate)',
    });
  }
  return result;
}

/** Similarities on every core, then familyTree.ts. */
async function groupTrees(
  view: SharedView,
  members: NamedModel[],
  refs: References | null,
  options: InferOptions,
): Promise<FamilyTrees> {
  const n = members.length;
  const size = view.architecture.size;
  const L = view.architecture.params.length;
  const shared = (list: Float32Array[]) => {
    const out = new Float32Array(new SharedArrayBuffer(4 * list.length * size));
    list.forEach((w, i) => out.set(inSharedView(view, w, 'a'), i * size));
    return out;
  };
  const models = shared(members.map((m) => m.model.weights));
  const references = refs ? shared(refs.weights) : null;
  const K = refs ? refs.weights.length : 0;
  const workers = Math.max(1, options.workers ?? defaultWorkers());
  // rows of decreasing length: many small jobs keep every worker busy to the end
  const blocks = (count: number, per: number) =>
    Array.from(
      { length: Math.ceil(count / per) },
      (_, b) => [b * per, Math.min(count, (b + 1) * per)] as const,
    );
  const pairJobs: SimilarityJob[] = blocks(n, Math.max(1, Math.ceil(n / (8 * workers)))).map(
    ([from, to]) => ({
      view,
      models,
      n,
      references: null,
      from,
      to,
    }),
  );
  const refJobs: SimilarityJob[] = references
    ? blocks(n, Math.max(1, Math.ceil(n / (4 * workers)))).map(([from, to]) => ({
        view,
        models,
        n,
        references,
        from,
        to,
      }))
    : [];
  const jobs = [...pairJobs, ...refJobs];
  let done = 0;
  const results = await runJobs<SimilarityJob, Float64Array>(
    new URL('./similarityWorker.ts', import.meta.url),
    jobs,
    workers,
    () => options.onProgress?.('comparing', ++done, jobs.length),
  );
  const pairZ = new Float64Array(n * n * L);
  pairJobs.forEach((job, b) => {
    const rows = results[b];
    for (let i = job.from; i < job.to; i++)
      for (let j = i + 1; j < n; j++) {
        const z = rows.subarray(((i - job.from) * n + j) * L, ((i - job.from) * n + j + 1) * L);
        pairZ.set(z, (i * n + j) * L);
        pairZ.set(z, (j * n + i) * L);
      }
  });
  const refZ = references ? new Float64Array(n * K * L) : null;
  refJobs.forEach((job, b) => refZ!.set(results[pairJobs.length + b], job.from * K * L));
  const knownOrder = runOrder(members);
  return familyTrees(
    { n, tensors: L, pairZ, refZ, references: K, models, view },
    { ...options, knownOrder: [...(options.knownOrder ?? []), ...knownOrder] },
  );
}

/** Checkpoints of one run: [earlier, later] for every pair (a run's trajectory fixes the direction). */
function runOrder(members: NamedModel[]): [number, number][] {
  const pairs: [number, number][] = [];
  members.forEach((a, i) =>
    members.forEach((b, j) => {
      const [ca, cb] = [a.checkpoint, b.checkpoint];
      if (ca && cb && ca.zoo === cb.zoo && ca.run === cb.run && ca.epoch < cb.epoch) pairs.push([i, j]);
    }),
  );
  return pairs;
}

/** The inferred edges as links for the root's store, and the hashes of the roots (whose old links go). */
export function bagLinks(lineage: InferredLineage, now = new Date()): { links: BagLink[]; roots: string[] } {
  const links: BagLink[] = [];
  const roots: string[] = [];
  for (const g of lineage.groups) {
    const linked = (i: number): LinkedModel => ({
      ref: g.models[i].ref,
      file: g.models[i].file,
      sha256: g.models[i].sha256,
    });
    g.trees.parent.forEach((p, i) => {
      if (p < 0) roots.push(g.models[i].sha256);
      else
        links.push({
          parent: linked(p),
          child: linked(i),
          family: g.trees.family[i],
          confidence: g.trees.confidence[i],
          pValue: g.trees.pValue[i],
          recordedAt: now.toISOString(),
        });
    });
  }
  return { links, roots };
}

/** Records the inferred edges at the catalog's root (lineage shows them apart from recorded links). */
export function recordLineage(catalog: Catalog, lineage: InferredLineage): number {
  const { links, roots } = bagLinks(lineage);
  recordBagLinks(catalog.root, links, roots);
  return links.length;
}

/** An inference as a Lineage (lineage.ts): the models as nodes, the inferred edges dashed, for --dot and --html. */
export function inferredAsLineage(result: InferredLineage): Lineage {
  const nodes: LineageNode[] = [];
  const edges: LineageEdge[] = [];
  for (const g of result.groups) {
    const id = (i: number) =>
      g.models[i].ref ? `ref:${g.models[i].ref}` : `file:${g.models[i].file ?? g.models[i].label}`;
    g.models.forEach((m, i) =>
      nodes.push({ ...looseNode(id(i)), sha256: m.sha256, tags: [`family ${g.trees.family[i] + 1}`] }),
    );
    g.trees.parent.forEach((p, i) => {
      if (p >= 0)
        edges.push({
          from: id(p),
          at: 0,
          to: id(i),
          kind: 'inferred',
          verdict: 'derived',
          pValue: g.trees.pValue[i],
          method: 'infer',
          confidence: g.trees.confidence[i],
        });
    });
  }
  for (const m of result.apart)
    nodes.push({
      id: `file:${m.label}`,
      zoo: null,
      run: null,
      lastEpoch: null,
      sha256: null,
      metrics: {},
      tags: ['apart'],
      runTags: {},
    });
  return { nodes, edges };
}
