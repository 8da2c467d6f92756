/**
 * Child of bench/stream.ts: identify's index of the zoo in argv[2] built from its files within
 * the default memory bound, then queries near checkpoints of it; prints the build seconds,
 * the median query time and peak RSS.
 */
import { readFileSync } from 'node:fs';
import { identify } from '../src/identify/identify.ts';
import { ZooIndex } from '../src/identify/zooIndex.ts';
import { streamZoo } from '../src/store/openZoo.ts';
import { zooRowIndex } from '../src/core/zoo.ts';

const streamed = streamZoo(process.argv[2]);
const { zoo, rows } = streamed;
const index = ZooIndex.build(streamed).prepare(); // within the default memory bound
const times: number[] = [];
let right = 0;
for (let q = 0; q < 8; q++) {
  const [run, epoch] = [(q * 7) % zoo.runs, 1 + ((q * 5) % (zoo.epochs - 1))];
  const [a, b] = [
    rows.row(zooRowIndex(zoo.runs, run, epoch)),
    rows.row(zooRowIndex(zoo.runs, run, epoch + 1)),
  ];
  const query = Float32Array.from(a, (v, j) => 0.7 * v + 0.3 * b[j]); // between two epochs
  const t = performance.now();
  const r = identify(index, query);
  times.push(performance.now() - t);
  if (r.run === run && r.verdict === 'member') right++;
}
times.sort((x, y) => x - y);
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1];
console.log(
  JSON.stringify({
    components: index.k,
    buildSeconds: +index.buildSeconds.toFixed(1),
    medianQueryMs: +times[times.length >> 1].toFixed(1),
    queries: times.length,
    right,
    peakMegabytes: Math.round(Number(hwm) / 1024),
  }),
);
index.close();
