/**
 * How well identify() works on one zoo, measured on checkpoints it has not indexed:
 *  - held-out: the index holds the even epochs of the known runs (the first 80 %); queries
 *    are their odd epochs: run accuracy, mean absolute epoch error, fraction accepted
 *    (member or descendant);
 *  - unknown runs: every checkpoint of the other 20 % of the runs, against an index of all
 *    epochs of the known runs: fraction called unknown;
 *  - descendants: known runs trained further from their last checkpoint (trainFurther.ts:
 *    own data order, fresh momentum) for 1, 2 and 5 epochs: run accuracy and fraction
 *    called descendant;
 *  - perturbed copies of known checkpoints (epochs >= 1): Gaussian noise of 1 %, 5 % and
 *    10 % of the checkpoint's RMS weight, magnitude pruning of 10 %, 30 % and 50 % of the
 *    weights, float16 rounding: run accuracy.
 */
import { Rng } from '../core/rng.ts';
import { trainFurther } from '../train/trainFurther.ts';
import type { Zoo } from '../store/loadZoo.ts';
import { identify } from './identify.ts';
import { ZooIndex } from './zooIndex.ts';
import { toFloat16 } from '../store/formats/float16.ts';
import { checkpointWeights } from '../core/zoo.ts';

export interface EvaluationRow {
  set: string;
  queries: number;
  runAccuracy: number;
  /** Fraction with the expected verdict (member or descendant accepted; unknown; descendant). */
  verdictRate: number | null;
  verdictExpected: string | null;
  meanEpochError: number | null;
}

export function evaluateIdentify(
  zoo: Zoo,
  onProgress: (msg: string) => void = () => {},
): { rows: EvaluationRow[]; calibration: ZooIndex['calibration']; queryMilliseconds: number } {
  const known = Math.max(2, Math.round(zoo.runs * 0.8));
  const row = (r: number, e: number) => checkpointWeights(zoo, r, e);
  const rows: EvaluationRow[] = [];
  let queryMs = 0;
  let queries = 0;
  const measure = (
    set: string,
    index: ZooIndex,
    items: { w: Float32Array; run: number; epoch?: number }[],
    expected: string | null,
    ok?: (v: string) => boolean,
  ) => {
    let right = 0,
      verdicts = 0,
      epochError = 0;
    for (const { w, run, epoch } of items) {
      const t = performance.now();
      const id = identify(index, w);
      queryMs += performance.now() - t;
      queries++;
      if (id.run === run) right++;
      if (ok?.(id.verdict)) verdicts++;
      if (epoch !== undefined) epochError += Math.abs(id.epoch - epoch);
    }
    const n = items.length;
    rows.push({
      set,
      queries: n,
      runAccuracy: expected === 'unknown' ? NaN : right / n,
      verdictRate: ok ? verdicts / n : null,
      verdictExpected: expected,
      meanEpochError: items[0]?.epoch !== undefined ? epochError / n : null,
    });
  };

  onProgress('held-out checkpoints (index: even epochs)');
  const even = ZooIndex.build(zoo, { runs: (r) => r < known, epochs: (e) => e % 2 === 0 });
  const odd = [];
  for (let r = 0; r < known; r++)
    for (let e = 1; e <= zoo.epochs; e += 2) odd.push({ w: row(r, e), run: r, epoch: e });
  measure('held-out (odd epochs)', even, odd, 'member or descendant', (v) => v !== 'unknown');
  even.close();

  onProgress('unknown runs');
  const index = ZooIndex.build(zoo, { runs: (r) => r < known });
  const strangers = [];
  for (let r = known; r < zoo.runs; r++)
    for (let e = 0; e <= zoo.epochs; e++) strangers.push({ w: row(r, e), run: -1 });
  measure(
    `unknown runs (${zoo.runs - known} seeds not indexed)`,
    index,
    strangers,
    'unknown',
    (v) => v === 'unknown',
  );

  onProgress(`descendants: training ${known} runs 5 epochs further`);
  const runs = Array.from({ length: known }, (_, r) => r);
  const further = trainFurther(zoo, { runs, epochs: 5 });
  for (const e of [1, 2, 5])
    measure(
      `descendants, +${e} epoch${e > 1 ? 's' : ''}`,
      index,
      further[e - 1].map((w, i) => ({ w, run: runs[i] })),
      'descendant',
      (v) => v === 'descendant',
    );

  onProgress('perturbed copies');
  const base = [];
  for (let r = 0; r < known; r++)
    for (let e = 1; e <= zoo.epochs; e += Math.max(1, Math.floor(zoo.epochs / 5)))
      base.push({ w: row(r, e), run: r });
  const rng = new Rng(12345, 7);
  const rms = (w: Float32Array) => Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
  for (const s of [0.01, 0.05, 0.1]) {
    measure(
      `noise ${s * 100} % of RMS`,
      index,
      base.map(({ w, run }) => {
        const sigma = s * rms(w); // once per checkpoint, not per weight
        return { w: w.map((v) => v + sigma * rng.nextNormal()), run };
      }),
      null,
    );
  }
  for (const p of [0.1, 0.3, 0.5]) {
    measure(
      `pruned ${p * 100} %`,
      index,
      base.map(({ w, run }) => {
        const cut = Float32Array.from(w, Math.abs).sort()[Math.floor(p * w.length)];
        return { w: w.map((v) => (Math.abs(v) < cut ? 0 : v)), run };
      }),
      null,
    );
  }
  measure(
    'float16 rounding',
    index,
    base.map(({ w, run }) => ({ w: w.map(toFloat16), run })),
    null,
  );
  index.close();
  return { rows, calibration: index.calibration, queryMilliseconds: queryMs / queries };
}
