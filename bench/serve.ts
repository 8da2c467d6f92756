/**
 * `serve` under load (`npm run bench -- --only=serve`): the real server on a zoo trained for
 * the bench, asked 100 concurrent page loads (the page, its script and the zoo list), 20
 * concurrent identify uploads of an exported checkpoint (each answer checked: the right run
 * and epoch), and 1,000 uploads in a row with the process's memory after a full collection
 * every 250 uploads: bounded memory is a flat series, a leak a rising one.
 * Beside them, in the same run, the CLI's identify of the same file (node's start included)
 * and the library's (index loaded).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { presetConfig } from '../src/core/presets.ts';
import { identifyFile } from '../src/pipeline/identifyFile.ts';
import { startServer } from '../src/server/server.ts';
import { exportModel } from '../src/store/formats/exportModel.ts';
import { loadZoo } from '../src/store/loadZoo.ts';
import { trainZoo } from '../src/train/trainZoo.ts';

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return +s[Math.min(s.length - 1, Math.floor(q * s.length))].toFixed(1);
};
const timed = async <T>(f: () => Promise<T>): Promise<[T, number]> => {
  const start = performance.now();
  const value = await f();
  return [value, performance.now() - start];
};

export async function benchServe(log: (m: string) => void) {
  const root = mkdtempSync(join(tmpdir(), 'weightspace-serve-bench-'));
  try {
    const dir = join(root, 'ffnn-default');
    log('serve: training the default FFNN zoo for the bench');
    await trainZoo({ dir, config: presetConfig('default', 'ffnn') });
    const zoo = loadZoo(dir);
    const [run, epoch] = [3, Math.min(5, zoo.epochs)];
    const file = join(root, 'probe.safetensors');
    await exportModel(zoo, run, epoch, 'safetensors', file);
    const bytes = readFileSync(file);

    // the CLI's identify and the library's, of the same file
    const cli = spawnSync(process.execPath, [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'identify',
      file,
      '--zoo',
      dir,
    ]);
    if (cli.status !== 0) throw new Error(`identify failed: ${cli.stderr}`);
    const cliTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'identify', file, '--zoo', dir]);
      cliTimes.push(performance.now() - start);
    }
    const library = identifyFile(file, { zoo: dir });

    const server = await startServer({ root, port: 0 });
    const base = server.url.replace(/\/$/, '');
    try {
      const upload = async () => {
        const res = await fetch(`${base}/api/identify?name=probe.safetensors`, {
          method: 'POST',
          body: bytes,
        });
        const body = (await res.json()) as { run: number; epoch: number };
        if (res.status !== 200 || body.run !== run || Math.abs(body.epoch - epoch) > 1e-9)
          throw new Error(`wrong answer: ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
      };
      await upload(); // builds the index once, as the first identify of a zoo does
      const page = async () => {
        for (const path of ['/', '/assets/app.js', '/api/zoos']) {
          const res = await fetch(base + path);
          if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
          await res.arrayBuffer();
        }
      };
      await page();
      log('serve: 100 concurrent page loads');
      const pages = await Promise.all(Array.from({ length: 100 }, () => timed(page)));
      log('serve: 20 concurrent identify uploads');
      const uploads = await Promise.all(Array.from({ length: 20 }, () => timed(upload)));
      // A full collection before each reading, so garbage not yet collected is not counted.
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      const memory = async (uploads: number) => {
        const res = await fetch(`${base}/api/zoos`);
        await res.arrayBuffer();
        gc();
        const { heapUsed, rss } = process.memoryUsage(); // the server's worker thread is in rss
        return { uploads, heapMB: +(heapUsed / 2 ** 20).toFixed(1), rssMB: +(rss / 2 ** 20).toFixed(1) };
      };
      const samples = [await memory(0)];
      log('serve: 1,000 uploads in a row');
      const start = performance.now();
      for (let i = 1; i <= 1000; i++) {
        await upload();
        if (i % 250 === 0) samples.push(await memory(i));
      }
      const seconds = (performance.now() - start) / 1000;
      const ms = (xs: [unknown, number][]) => xs.map(([, t]) => t);
      const result = {
        zoo: { runs: zoo.runs, epochs: zoo.epochs, weights: zoo.dim },
        pageLoads: { concurrent: 100, medianMs: quantile(ms(pages), 0.5), p99Ms: quantile(ms(pages), 0.99) },
        identifyUploads: {
          concurrent: 20,
          allRight: true,
          medianMs: quantile(ms(uploads), 0.5),
          p99Ms: quantile(ms(uploads), 0.99),
        },
        cliIdentifyMs: quantile(cliTimes, 0.5),
        libraryIdentifyQueryMs: +library.milliseconds.toFixed(2),
        uploadsInARow: {
          count: 1000,
          seconds: +seconds.toFixed(1),
          memory: samples,
        },
      };
      log(`serve: ${JSON.stringify(result)}`);
      return result;
    } finally {
      await server.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
