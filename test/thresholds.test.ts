/**
 * The verdict thresholds of an index (identify/calibration.ts) against a brute-force
 * recomputation written here from their definitions (docs/identify.md), in float64 over the
 * full weight vectors: every interior checkpoint's distance to the segment joining its
 * neighbours (looRatio), every checkpoint's distance to the nearest other run's trajectory
 * (foreignRatio), memberRatio their geometric mean, and each run's distance covered over its
 * last descendantEpochs checkpoints in last steps (descendantRatio).
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ZooIndex } from '../src/identify/zooIndex.ts';
import { loadZoo, type Zoo } from '../src/store/loadZoo.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { tempDir, tinyConfig } from './helpers.ts';

const [RUNS, EPOCHS] = [8, 7];
let zoo: Zoo;
let index: ZooIndex;

const row = (r: number, e: number) =>
  Float64Array.from(zoo.weights.subarray((e * zoo.runs + r) * zoo.dim, (e * zoo.runs + r + 1) * zoo.dim));
const norm = (v: Float64Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const minus = (a: Float64Array, b: Float64Array) => a.map((x, i) => x - b[i]);

/** Distance from q to the segment [a, b] (the nearest point clamped to the segment), and the segment's length. */
function toSegment(q: Float64Array, a: Float64Array, b: Float64Array): { distance: number; length: number } {
  const ab = minus(b, a);
  const length = norm(ab);
  const t =
    length > 0
      ? Math.min(1, Math.max(0, minus(q, a).reduce((s, x, i) => s + x * ab[i], 0) / length ** 2))
      : 0;
  return { distance: norm(q.map((x, i) => x - (a[i] + t * ab[i]))), length };
}

beforeAll(async () => {
  const dir = join(tempDir('wsvc-thresholds-'), 'ffnn');
  await trainZoo({ dir, config: tinyConfig('ffnn', { seedCount: RUNS, epochs: EPOCHS, trainSize: 600 }) });
  zoo = loadZoo(dir);
  index = ZooIndex.build(zoo, { align: false }); // every checkpoint is a sample: 64 < 400
}, 60_000);

describe('calibration thresholds', () => {
  it('looRatio: the largest leave-one-out distance over the segment joining the neighbours', () => {
    let expected = 0;
    for (let r = 0; r < RUNS; r++)
      for (let e = 1; e < EPOCHS; e++) {
        const { distance, length } = toSegment(row(r, e), row(r, e - 1), row(r, e + 1));
        expected = Math.max(expected, distance / length);
      }
    expect(index.calibration.looRatio).toBeCloseTo(expected, 9);
    expect(expected).toBeGreaterThan(0);
  });

  it("foreignRatio: the smallest distance to another run's trajectory over that segment's length", () => {
    let expected = Infinity;
    for (let r = 0; r < RUNS; r++)
      for (let e = 0; e <= EPOCHS; e++) {
        const q = row(r, e);
        let nearest = { distance: Infinity, length: 0 };
        for (let s = 0; s < RUNS; s++) {
          if (s === r) continue;
          for (let k = 0; k < EPOCHS; k++) {
            const m = toSegment(q, row(s, k), row(s, k + 1));
            if (m.distance < nearest.distance) nearest = m;
          }
        }
        expected = Math.min(expected, nearest.distance / nearest.length);
      }
    expect(index.calibration.foreignRatio).toBeCloseTo(expected, 6);
    expect(index.calibration.memberRatio).toBeCloseTo(Math.sqrt(index.calibration.looRatio * expected), 6);
  });

  it('descendantRatio: the largest distance over the last descendantEpochs checkpoints, in last steps', () => {
    const back = index.calibration.descendantEpochs;
    expect(back).toBe(5);
    let expected = 0;
    for (let r = 0; r < RUNS; r++) {
      const last = row(r, EPOCHS);
      const step = norm(minus(last, row(r, EPOCHS - 1)));
      expected = Math.max(expected, norm(minus(last, row(r, EPOCHS - back))) / step);
    }
    expect(index.calibration.descendantRatio).toBeCloseTo(expected, 9);
  });
});
