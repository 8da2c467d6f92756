/** Child of bench/stream.ts: the SVD-50 of the zoo in argv[2] streamed from its files; prints seconds and peak RSS. */
import { readFileSync } from 'node:fs';
import { StreamingProducts } from '../src/reduce/streamingProducts.ts';
import { TruncatedSVD } from '../src/reduce/svd.ts';
import { zooBlocks } from '../src/store/zooBlocks.ts';

const blocks = zooBlocks(process.argv[2]);
const products = new StreamingProducts(blocks);
const t = performance.now();
new TruncatedSVD({ components: 50 }).fit(products);
products.close();
const seconds = (performance.now() - t) / 1000;
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1];
console.log(
  JSON.stringify({
    seconds: +seconds.toFixed(2),
    passes: products.passes,
    peakMegabytes: Math.round(Number(hwm) / 1024),
  }),
);
