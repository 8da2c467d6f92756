/**
 * The per-zoo cluster report, <results>/cluster-<zoo>.json, and the check that saved cluster
 * exports still describe a zoo's current content (its digest), which plots rely on.
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { UserError } from '../core/errors.ts';
import { writeFileAtomic } from '../store/atomicWrite.ts';
import { readNpy } from '../store/formats/npy.ts';
import { readManifest, softwareVersions } from '../store/manifest.ts';
import { spaceName } from '../core/zoo.ts';
import { clusterReportPath, linkagePaths } from '../store/paths.ts';
import { readJsonFile } from '../util/json.ts';
import { cutTree } from '../cluster/linkage.ts';
import type { LinkageExport, SpaceSummary } from './spaceJob.ts';
import { memoryFitOf, spaceFits } from '../reduce/zooMatrix.ts';
import type { ZooSource } from '../store/openZoo.ts';
import type { ZooInfo } from '../store/loadZoo.ts';
import { maxComponents } from '../reduce/svd.ts';
import { clusterSweep } from './sweep.ts';

/** What cluster-<zoo>.json holds: every number of one zoo's sweep and how it was made. */
export interface ClusterReport {
  zoo: {
    dir: string;
    name: string;
    arch: string;
    runs: number;
    checkpoints: number;
    config: unknown;
    /** The engine that trained the zoo (its manifest's), whose arithmetic the numbers rest on. */
    engine: { name: string; precision: string };
    /** Zoos not trained here: where they came from, each run's label, tags and note. */
    origin?: { kind: string; source: string; runLabels: string[]; runInfo: Record<string, unknown> };
    digest: string;
  };
  /** The options of the latest run. */
  options: Record<string, unknown>;
  /** Every run whose rows the report holds, oldest first. */
  history?: { createdAt: string; options: Record<string, unknown> }[];
  software: ReturnType<typeof softwareVersions>;
  createdAt: string;
  rows: SpaceSummary[];
}

/** What writeClusterReport did: where, which spaces it kept from the earlier report, whether that described other content. */
export interface WrittenReport {
  path: string;
  kept: string[];
  replacedStale: boolean;
}

/**
 * Writes <outDir>/cluster-<zoo>.json for one zoo's rows. An earlier report of the same zoo
 * content (its digest) keeps its other spaces: the rows are merged by space, the new one
 * replacing a space analysed again, and each run's options are kept in `history`.
 */
export function writeClusterReport(
  outDir: string,
  zooDir: string,
  rows: SpaceSummary[],
  options: Record<string, unknown>,
): WrittenReport {
  const manifest = readManifest(zooDir);
  const createdAt = new Date().toISOString();
  const path = clusterReportPath(outDir, zooDir);
  let earlier: ClusterReport | null = null;
  try {
    earlier = readClusterReport(outDir, zooDir);
  } catch {
    earlier = null; // not a report (damaged): replaced, as its message says to do
  }
  const sameContent = earlier !== null && earlier.zoo.digest === rows[0].zooDigest;
  const spaces = new Set(rows.map((r) => r.space));
  const kept = sameContent ? earlier!.rows.filter((r) => !spaces.has(r.space)) : [];
  const history = sameContent
    ? (earlier!.history ?? [{ createdAt: earlier!.createdAt, options: earlier!.options }])
    : [];
  const report: ClusterReport = {
    zoo: {
      dir: zooDir,
      name: basename(zooDir),
      arch: manifest.architecture.name,
      runs: rows[0].runs,
      checkpoints: rows[0].checkpoints,
      config: manifest.config,
      engine: manifest.engine,
      ...(manifest.origin && {
        origin: {
          kind: manifest.origin.kind,
          source: manifest.origin.source,
          runLabels: manifest.origin.runLabels,
          runInfo: manifest.origin.runInfo ?? {},
        },
      }),
      digest: rows[0].zooDigest,
    },
    options,
    history: [...history, { createdAt, options }],
    software: softwareVersions(),
    createdAt,
    rows: [...kept, ...rows].sort((a, b) => spaceOrder(a) - spaceOrder(b)),
  };
  writeFileAtomic(path, JSON.stringify(report, null, 2) + '\n');
  return { path, kept: kept.map((r) => r.space), replacedStale: earlier !== null && !sameContent };
}

/** Rows in table order: the full space first, then SVD dimensions from the largest. */
const spaceOrder = (row: SpaceSummary): number => (row.space === spaceName(0) ? -Infinity : -row.dim);

/** The report of an earlier sweep of this zoo, or null when there is none. */
export function readClusterReport(outDir: string, zooDir: string): ClusterReport | null {
  const path = clusterReportPath(outDir, zooDir);
  if (!existsSync(path)) return null;
  const report = readJsonFile(path, RERUN) as ClusterReport;
  if (typeof report?.zoo !== 'object' || !Array.isArray(report.rows))
    throw new UserError(`${path} is not a cluster report; ${RERUN}`);
  return report;
}

/** What to do about a damaged cluster export. */
export const RERUN = 'delete it or run `npm run cluster` again';

/** The paper's sweep (Tables 2-3): the full space and these SVD dimensions. */
export const PAPER_SPACES: readonly number[] = [0, 500, 100, 50, 25, 10, 5];

/** A zoo's saved cluster exports: the sweep's rows and one space's linkage with its cut at the number of runs. */
export interface ClusterExports {
  rows: SpaceSummary[];
  linkage: LinkageExport;
  /** Cluster of each leaf when the tree is cut into as many clusters as the zoo has runs. */
  cut: Int32Array;
}

/**
 * The sweep rows and the SVD-k linkage (the full space when k is the zoo's rank), from earlier
 * cluster exports of this very zoo content (their zoo digest); null when they are missing or
 * stale. Reads only: the server shows them where they exist.
 */
export function savedClusterExports(
  zoo: Pick<ZooInfo, 'n' | 'dim' | 'runs' | 'digest'>,
  zooDir: string,
  outDir: string,
  k: number,
): ClusterExports | null {
  // at the zoo's rank, SVD-k is the full space: the sweep names it either way
  const largest = maxComponents(zoo.n, zoo.dim);
  const names = k >= largest ? [spaceName(0), spaceName(largest)] : [spaceName(k)];
  const report = readClusterReport(outDir, zooDir);
  if (!report || report.zoo.digest !== zoo.digest) return null;
  const paths = names
    .map((name) => linkagePaths(outDir, zooDir, name))
    .find(
      (p) =>
        existsSync(p.npy) &&
        existsSync(p.json) &&
        (readJsonFile(p.json, RERUN) as LinkageExport).zooDigest === zoo.digest,
    );
  if (!paths) return null;
  const labels = readJsonFile(paths.json, RERUN) as LinkageExport;
  const { data, shape } = readNpy(paths.npy);
  if (shape.length !== 2 || shape[0] !== zoo.n - 1 || shape[1] !== 4) {
    throw new UserError(
      `${paths.npy} holds a (${shape.join(', ')}) matrix, a linkage of this zoo is (${zoo.n - 1}, 4); ${RERUN}`,
    );
  }
  const linkage = Array.from({ length: zoo.n - 1 }, (_, i) => Array.from(data.subarray(4 * i, 4 * i + 4)));
  const cut = cutTree({ n: zoo.n, z: data }, zoo.runs);
  return { rows: report.rows, linkage: { ...labels, linkage }, cut };
}

/**
 * The saved cluster exports of this zoo content, or the paper's sweep run now (and saved)
 * when they are missing or stale.
 */
export async function currentClusterExports(
  source: ZooSource,
  outDir: string,
  k: number,
  progress: (step: string, done: number, total: number) => void,
): Promise<ClusterExports> {
  const { dir: zooDir, zoo } = source;
  const saved = savedClusterExports(zoo, zooDir, outDir, k);
  if (saved && saved.rows.length >= 2) return saved; // the sweep page draws lines between spaces
  const spaces = [...new Set([...PAPER_SPACES, k])].filter(
    (s) => s < maxComponents(zoo.n, zoo.dim) && spaceFits(memoryFitOf(source), s),
  );
  progress('cluster sweep', 0, spaces.length);
  const [rows] = await clusterSweep({
    zoos: [{ dir: zooDir, spaces }],
    outDir,
    verify: false,
    memory: source.memory,
    onDone: (_, done, total) => progress('cluster sweep', done, total),
  });
  writeClusterReport(outDir, zooDir, rows, {
    spaces,
    orderBy: 'last',
    center: false,
    saveBasis: false,
    by: 'npm run plot',
  });
  return savedClusterExports(zoo, zooDir, outDir, k)!;
}
