/**
 * Child of bench/identify.ts (and of a same-session comparison against an older checkout): builds
 * identify's index of the synthetic paper-scale zoo from the checkout whose root is argv[2]
 * (default: this one) and prints the build seconds and the process's peak RSS beyond the zoo
 * itself, in MB. Run alone in its process, so the peak is the build's.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const root = process.argv[2] ?? new URL('..', import.meta.url).pathname;
const { syntheticZoo } = await import(pathToFileURL(`${root}/bench/syntheticZoo.ts`).href);
const { ZooIndex } = await import(pathToFileURL(`${root}/src/identify/zooIndex.ts`).href);
const megabytes = (key: string) =>
  Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;

const zoo = syntheticZoo(250, 50, 2160); // the paper zoo's shape, as bench/identify.ts
const before = megabytes('VmRSS');
const t = performance.now();
const index = ZooIndex.build(zoo);
const seconds = (performance.now() - t) / 1000;
index.close();
console.log(
  JSON.stringify({
    zooMegabytes: Math.round((zoo.weights.length * 4) / 2 ** 20),
    buildSeconds: +seconds.toFixed(2),
    peakBeyondZooMegabytes: Math.round(megabytes('VmHWM') - before),
  }),
);
