/**
 * Zoos larger than memory (npm run bench -- --only=stream): a synthetic zoo of >= 2 GB
 * (20 runs x 20 epochs x 1.3 M weights) recorded through ZooWriter, against a plain copy of
 * the same bytes; then the SVD-50 streamed from its files, against one sequential read of
 * them, with its peak memory measured in a child process (/proc/self/status).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { defineArchitecture } from '../src/core/architectures.ts';
import { ZooWriter } from '../src/store/zooWriter.ts';
import { defaultMemory } from '../src/util/memory.ts';

const [RUNS, EPOCHS, DIM] = [20, 19, 1_300_000];

export async function benchStream(log: (msg: string) => void): Promise<Record<string, unknown>> {
  const root = join('/tmp', `wsvc-bench-stream-${process.pid}`);
  rmSync(root, { recursive: true, force: true });
  const dir = join(root, 'zoo');
  try {
    log(
      `stream: recording ${RUNS} runs x ${EPOCHS + 1} checkpoints x ${DIM.toLocaleString('en')} weights through ZooWriter`,
    );
    const arch = defineArchitecture('big', 'synthetic', [{ name: 'w', shape: [DIM] }]);
    const writer = await ZooWriter.open(dir, arch, { runs: RUNS });
    // each run a random walk from its own random start: full rank, like real trajectories
    const walks = Array.from({ length: RUNS }, () => new Float32Array(DIM));
    let state = 0x9e3779b9;
    const uniform = () => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) / 2 ** 31 - 1;
    };
    let writeMs = 0; // the writer's time only, not the walks'
    for (let e = 0; e <= EPOCHS; e++)
      for (let r = 0; r < RUNS; r++) {
        const w = walks[r];
        for (let j = 0; j < DIM; j++) w[j] += (e === 0 ? 1 : 0.05) * uniform();
        const t0 = performance.now();
        await writer.append({ run: r, epoch: e, weights: w });
        writeMs += performance.now() - t0;
      }
    let t = performance.now();
    await writer.close();
    const writeSeconds = (writeMs + performance.now() - t) / 1000;
    const files = readdirSync(join(dir, 'checkpoints')).map((f) => join(dir, 'checkpoints', f));
    const bytes = files.reduce((sum, f) => sum + statSync(f).size, 0);
    log('stream: a plain copy of the same files, and one sequential read');
    mkdirSync(join(root, 'copy'));
    t = performance.now();
    for (const f of files) copyFileSync(f, join(root, 'copy', f.split('/').pop()!));
    const copySeconds = (performance.now() - t) / 1000;
    rmSync(join(root, 'copy'), { recursive: true });
    t = performance.now();
    for (const f of files) readFileSync(f);
    const readSeconds = (performance.now() - t) / 1000;
    log('stream: SVD-50 streamed from the files, in a child process');
    const svd = inChild('streamSvdChild.ts', dir, 'streamed SVD') as {
      seconds: number;
      peakMegabytes: number;
      passes: number;
    };
    log('stream: identify index built from the files, and queries, in a child process');
    const identify = inChild('streamIdentifyChild.ts', dir, 'streamed identify');
    const mb = bytes / 2 ** 20;
    return {
      zoo: { runs: RUNS, checkpoints: RUNS * (EPOCHS + 1), dim: DIM, megabytes: Math.round(mb) },
      recordMegabytesPerSecond: Math.round(mb / writeSeconds),
      plainCopyMegabytesPerSecond: Math.round(mb / copySeconds),
      recordVsCopy: +(copySeconds / writeSeconds).toFixed(2),
      oneReadSeconds: +readSeconds.toFixed(2),
      svd50: {
        seconds: svd.seconds,
        passes: svd.passes,
        timesOneRead: +(svd.seconds / readSeconds).toFixed(1),
        goal: 4,
      },
      peakRssMegabytes: svd.peakMegabytes,
      memoryBoundMegabytes: Math.round(defaultMemory() / 2 ** 20),
      peakRssGoal: 'memory bound + 300 MB',
      identify,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Runs a bench child script (tsx) on the zoo in `dir`; its JSON line. */
function inChild(script: string, dir: string, what: string): Record<string, number> {
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', new URL(`./${script}`, import.meta.url).pathname, dir],
    { encoding: 'utf8' },
  );
  if (child.status !== 0) throw new Error(`${what} failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as Record<string, number>;
}
