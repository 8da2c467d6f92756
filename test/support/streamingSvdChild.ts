/**
 * Child process of test/streaming.test.ts: streams the SVD of the zoo in argv[2] after a
 * warm-up on the zoo in argv[3] (so compilation and the heap's first growth are not counted),
 * and prints the singular values and the memory it took beyond the warmed-up process: the
 * lower peak of two runs, the peak reset between them (/proc/self/clear_refs), since when the
 * collector frees the garbage of a pass moves one run's peak by several MB on a busy machine.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { StreamingProducts } from '../../src/reduce/streamingProducts.ts';
import { TruncatedSVD } from '../../src/reduce/svd.ts';
import { zooBlocks } from '../../src/store/zooBlocks.ts';

const megabytes = (key: string) =>
  Number(
    /(\d+) kB/.exec(
      readFileSync('/proc/self/status', 'utf8')
        .split('\n')
        .find((l) => l.startsWith(key))!,
    )![1],
  ) / 1024;
const streamed = (dir: string) => {
  const blocks = zooBlocks(dir);
  const products = new StreamingProducts(blocks);
  const svd = new TruncatedSVD({ components: 10 });
  svd.fit(products);
  products.close();
  return { singularValues: Array.from(svd.singularValues), passes: products.passes };
};
streamed(process.argv[3]);
const before = Math.max(megabytes('VmRSS'), megabytes('VmHWM'));
const runs = [0, 1].map(() => {
  writeFileSync('/proc/self/clear_refs', '5'); // the peak starts again from what the process holds now
  return { ...streamed(process.argv[2]), extraMegabytes: megabytes('VmHWM') - before };
});
const [result] = runs;
console.log(JSON.stringify({ ...result, extraMegabytes: Math.min(...runs.map((r) => r.extraMegabytes)) }));
