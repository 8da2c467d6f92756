/**
 * The version-control commands at catalogue scale (`npm run bench -- --only=catalog`): a
 * synthetic catalogue of 100 zoos x 100 runs x 100 checkpoints (10^6 checkpoints, 10^4 runs;
 * 64 weights each), the zoos forked from one another in a tree, with run tags and tags. It is
 * written once through the store's commit path (ZooWriter's manifest, commitCheckpoints) into
 * the system's temp folder and reused by later runs.
 *
 * Measured, each beside a plain scan in the same run (every epoch file read, as the catalogue
 * did before its label cache): `log --all`'s first page, a search with three clauses and a
 * per-run aggregate, and `lineage` of all 10^4 runs as JSON; each with a cold label cache
 * (an empty cache folder: the zoos it touches are scanned, and cached) and a warm one; the
 * heap after each, and the CLI's own time to the first line of `log`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineArchitecture } from '../src/core/architectures.ts';
import { Rng } from '../src/core/rng.ts';
import { zooLogEntries } from '../src/pipeline/history.ts';
import { zooLineage } from '../src/pipeline/lineage.ts';
import { searchCatalog } from '../src/pipeline/search.ts';
import { openCatalog } from '../src/store/catalog.ts';
import { checkpointRows, ZOO_METADATA_KEY } from '../src/store/checkpointFile.ts';
import { readManifest } from '../src/store/manifest.ts';
import { addTag } from '../src/store/tags.ts';
import { zooBlocks } from '../src/store/zooBlocks.ts';
import { commitCheckpoints } from '../src/store/zooCommit.ts';
import { ZooWriter } from '../src/store/zooWriter.ts';

const SHAPE = { zoos: 100, runs: 100, epochs: 99, size: 64 };
const LRS = ['0.01', '0.03', '0.1', '0.3'];
const PAGE = 100;
/** Three clauses and a per-run aggregate: a broad one (15 % of the catalogue) and a selective one. */
export const CATALOG_QUERY =
  'epoch >= 50 and tags.lr in ("0.1", "0.3") and metrics.test_accuracy > 0.5 and last(metrics.train_loss) < 0.2';
export const SELECTIVE_QUERY =
  'epoch = 99 and tags.lr = "0.3" and metrics.test_accuracy > 0.9 and last(metrics.train_loss) < 0.15';

const zooName = (z: number) => `cat-${String(z).padStart(3, '0')}`;
/** Zoo z > 0 starts from run z % runs of zoo (z - 1) / 3 at epoch 50: a tree of forks. */
const parentOf = (z: number) => ({ zoo: Math.floor((z - 1) / 3), run: z % SHAPE.runs, epoch: 50 });

async function writeCatalogue(root: string, log: (m: string) => void): Promise<void> {
  const arch = defineArchitecture('synthetic', `${SHAPE.size} weights`, [{ name: 'w', shape: [SHAPE.size] }]);
  const started = performance.now();
  const shaOf = new Map<string, string>(); // `${zoo}:${run}@50` -> sha256, for the forks' parent links
  for (let z = 0; z < SHAPE.zoos; z++) {
    const dir = join(root, zooName(z));
    const rng = new Rng(z, 7);
    const p = z > 0 ? parentOf(z) : null;
    const parentRef = p && `${zooName(p.zoo)}:${p.run}@${p.epoch}`;
    const writer = await ZooWriter.open(dir, arch, {
      runs: SHAPE.runs,
      runInfo: Object.fromEntries(
        Array.from({ length: SHAPE.runs }, (_, r) => [r, { tags: { lr: LRS[(r + z) % LRS.length] } }]),
      ),
      ...(p && { parent: { zoo: zooName(p.zoo), ref: parentRef!, sha256: shaOf.get(parentRef!)! } }),
    });
    await writer.close();
    const manifest = readManifest(dir);
    const w = Float32Array.from({ length: SHAPE.runs * SHAPE.size }, () => rng.nextNormal());
    let parents = new Array<string | null>(SHAPE.runs).fill(null);
    for (let e = 0; e <= SHAPE.epochs; e++) {
      if (e > 0) for (let i = 0; i < w.length; i++) w[i] += 0.01 * rng.nextNormal();
      const loss = Array.from({ length: SHAPE.runs }, (_, r) => 2 / (1 + e * (0.05 + 0.001 * r)));
      const rows = checkpointRows({
        size: SHAPE.size,
        weights: w.slice(),
        run: Array.from({ length: SHAPE.runs }, (_, r) => r),
        seed: Array.from({ length: SHAPE.runs }, (_, r) => r),
        epoch: new Array(SHAPE.runs).fill(e),
        step: new Array(SHAPE.runs).fill(10 * e),
        trainLoss: loss,
        testLoss: loss.map((l) => l * 1.1),
        testAccuracy: loss.map((l) => 1 - l / 2),
        parentSha256: parents,
      });
      const meta = JSON.stringify({ name: manifest.name, architecture: arch, origin: { kind: 'record' } });
      manifest.origin!.epochs = e;
      commitCheckpoints(
        dir,
        manifest,
        e,
        { rows, metadata: { [ZOO_METADATA_KEY]: meta } },
        e === SHAPE.epochs,
      );
      if (e === 50) rows.sha256.forEach((sha, r) => shaOf.set(`${zooName(z)}:${r}@50`, sha));
      parents = rows.sha256;
    }
    addTag(dir, 'best', parents[0]!, { note: 'run 0 at its last epoch' });
    if (z % 10 === 9) log(`catalogue: ${z + 1} of ${SHAPE.zoos} zoos written`);
  }
  writeFileSync(join(root, 'complete'), `${(performance.now() - started) / 1000} s\n`);
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const seconds = (t: number) => Number(((performance.now() - t) / 1000).toFixed(3));

/** Time to the first line of `log` from the CLI (node + tsx start included), and to its end. */
function cliLog(root: string, cache: string): Promise<{ firstLine: number; all: number; lines: number }> {
  return new Promise((done, fail) => {
    const t = performance.now();
    let firstLine = 0;
    let lines = 0;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'log', '--all', '--root', root],
      { env: { ...process.env, WEIGHTSPACE_CACHE: cache }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    child.stdout.on('data', (chunk: Buffer) => {
      if (!firstLine) firstLine = seconds(t);
      for (const b of chunk) if (b === 10) lines++;
    });
    child.on('error', fail);
    child.on('close', (code) =>
      code === 0 ? done({ firstLine, all: seconds(t), lines }) : fail(new Error(`log exited ${code}`)),
    );
  });
}

export async function benchCatalog(log: (m: string) => void) {
  const root = join(tmpdir(), `weightspace-bench-catalog-${SHAPE.zoos}x${SHAPE.runs}x${SHAPE.epochs + 1}`);
  if (!existsSync(join(root, 'complete'))) {
    rmSync(root, { recursive: true, force: true });
    log(`catalogue: writing ${SHAPE.zoos * SHAPE.runs * (SHAPE.epochs + 1)} checkpoints into ${root}`);
    await writeCatalogue(root, log);
  }
  const cache = mkdtempSync(join(tmpdir(), 'weightspace-bench-cache-'));
  const previousCache = process.env.WEIGHTSPACE_CACHE;
  process.env.WEIGHTSPACE_CACHE = cache;
  const heap = () => mb(process.memoryUsage().heapUsed);
  try {
    const firstPage = (label: string) => {
      const t = performance.now();
      const catalog = openCatalog(root);
      const page = [];
      for (const zoo of catalog.zoos) {
        for (const e of zooLogEntries(zoo)) if (page.push(e) === PAGE) break;
        if (page.length === PAGE) break;
      }
      const s = seconds(t);
      log(`log --all, first page of ${PAGE} (${label}): ${s} s`);
      return s;
    };
    const search = (label: string, query = CATALOG_QUERY) => {
      const t = performance.now();
      const found = searchCatalog(openCatalog(root), query);
      const s = seconds(t);
      log(`search, 3 clauses + last() (${label}): ${found.length} checkpoints in ${s} s, heap ${heap()} MB`);
      return { seconds: s, found: found.length, heapMB: heap() };
    };
    const lineage = (label: string) => {
      const t = performance.now();
      const l = zooLineage(openCatalog(root));
      const json = JSON.stringify(l);
      const s = seconds(t);
      log(
        `lineage JSON (${label}): ${l.nodes.length} runs, ${l.edges.length} links, ${mb(json.length)} MB in ${s} s`,
      );
      return {
        seconds: s,
        runs: l.nodes.length,
        links: l.edges.length,
        jsonMB: mb(json.length),
        heapMB: heap(),
      };
    };
    // the plain scan: every epoch file's labels (as before the cache), the same query by hand
    const plainScan = () => {
      const t = performance.now();
      let rows = 0;
      let matched = 0;
      for (const zoo of openCatalog(root).zoos) {
        const labels = zooBlocks(zoo.dir).labels();
        const runs = SHAPE.runs;
        rows += labels.run.length;
        const lastLoss = (r: number) => labels.trainLoss[SHAPE.epochs * runs + r];
        const lr = (r: number) => zoo.manifest.origin!.runInfo![r].tags!.lr;
        for (let i = 0; i < labels.run.length; i++) {
          const r = labels.run[i];
          if (labels.epoch[i] >= 50 && ['0.1', '0.3'].includes(lr(r)) && labels.testAccuracy[i] > 0.5)
            if (lastLoss(r) < 0.2) matched++;
        }
      }
      const s = seconds(t);
      log(`plain scan of every epoch file's labels, the query by hand: ${matched} of ${rows} in ${s} s`);
      return { seconds: s, rows, matched };
    };
    const result = {
      shape: { ...SHAPE, checkpoints: SHAPE.zoos * SHAPE.runs * (SHAPE.epochs + 1), query: CATALOG_QUERY },
      heapMB: heap(),
      plainScan: plainScan(),
      logFirstPage: { cold: firstPage('cold cache'), warm: firstPage('warm cache') },
      search: { cold: search('cold cache'), warm: search('warm cache') },
      selectiveSearch: { query: SELECTIVE_QUERY, warm: search('warm cache, selective', SELECTIVE_QUERY) },
      lineage: { warm: lineage('warm cache') } as Record<string, unknown>,
      cliLog: { cold: {}, warm: {} } as Record<string, unknown>,
    };
    rmSync(cache, { recursive: true, force: true });
    result.lineage.cold = lineage('cold cache');
    if (result.search.warm.found !== result.plainScan.matched)
      throw new Error(`search found ${result.search.warm.found}, the plain scan ${result.plainScan.matched}`);
    rmSync(cache, { recursive: true, force: true });
    result.cliLog.cold = await cliLog(root, cache);
    result.cliLog.warm = await cliLog(root, cache);
    log(`CLI log --all: first line ${JSON.stringify(result.cliLog)}`);
    return result;
  } finally {
    if (previousCache === undefined) delete process.env.WEIGHTSPACE_CACHE;
    else process.env.WEIGHTSPACE_CACHE = previousCache;
    rmSync(cache, { recursive: true, force: true });
  }
}
