/**
 * How well identify() works on one zoo, measured on checkpoints it has not indexed
 * (evaluationSets.ts: held-out epochs, unknown seeds, descendants, forks, disguised and
 * perturbed copies), each query answered three ways on the same index:
 *  - identify: as the CLI does (alignment of hidden units, fork verdict, p-values);
 *  - previous: identify before forks and alignment (no alignment; a fork verdict reads as
 *    unknown, the only other verdict it could have had);
 *  - plain L2: the nearest indexed checkpoint by Euclidean distance (no trajectory, no
 *    alignment, no verdict): the baseline every weight-space method starts from.
 * Per set and method: run accuracy, the fraction with an expected verdict, mean |epoch error|
 * (against the epoch, or for forks the branch epoch), and for identify the verdicts' counts and
 * the fraction with p < FORK_ALPHA.
 */
import { matrix } from '../core/matrix.ts';
import type { Zoo } from '../store/loadZoo.ts';
import { SimdProducts } from '../reduce/simdProducts.ts';
import { FORK_ALPHA, identify, type Verdict } from './identify.ts';
import { ZooIndex } from './zooIndex.ts';
import { calibrationSummary, type CalibrationSummary } from './calibration.ts';
import { evaluationPlan, evaluationSets, type Probe, type Query, type QuerySet } from './evaluationSets.ts';

export const EVALUATION_METHODS = ['identify', 'previous', 'plainL2'] as const;
export type EvaluationMethod = (typeof EVALUATION_METHODS)[number];

export interface MethodScore {
  runAccuracy: number | null;
  verdictRate: number | null;
  meanEpochError: number | null;
}

export interface EvaluationRow {
  set: string;
  group: QuerySet['group'];
  queries: number;
  /** Verdicts that count as right, joined by ' or ' (null: none expected). */
  verdictExpected: string | null;
  identify: MethodScore & {
    verdicts: Partial<Record<Verdict, number>>;
    pBelowAlpha: number;
    /** Median distance off the best trajectory, in its local step lengths. */
    medianStepsAway: number;
  };
  previous: MethodScore;
  plainL2: MethodScore;
  /** For copies: their outputs against the checkpoints' own (evaluationSets.ts). */
  outputs?: QuerySet['outputs'];
}

export interface Evaluation {
  rows: EvaluationRow[];
  calibration: CalibrationSummary;
  /** Mean time of one identify() query (with alignment), over every query of the `all` index. */
  queryMilliseconds: number;
  indexSeconds: number;
  trainingSeconds: number;
  plan: ReturnType<typeof evaluationPlan>;
}

interface Answer {
  run: number;
  epoch: number;
  verdict: Verdict | null;
  pValue?: number;
  stepsAway?: number;
}

export async function evaluateIdentify(
  zoo: Zoo,
  onProgress: (msg: string) => void = () => {},
  options: { forkRuns?: number; probe?: Probe } = {},
): Promise<Evaluation> {
  const plan = evaluationPlan(zoo, options.forkRuns);
  const t0 = performance.now();
  const sets = await evaluationSets(zoo, plan, { onProgress, probe: options.probe });
  const trainingSeconds = (performance.now() - t0) / 1000;
  const rows: EvaluationRow[] = [];
  let queryMs = 0;
  let queries = 0;
  let indexSeconds = 0;
  let calibration: ZooIndex['calibration'] | null = null;
  for (const which of ['even', 'all'] as const) {
    onProgress(`index of the known runs' ${which === 'even' ? 'even epochs' : 'checkpoints'}`);
    const index = ZooIndex.build(zoo, {
      runs: (r) => r < plan.known,
      epochs: which === 'even' ? (e) => e % 2 === 0 : undefined,
    });
    if (which === 'all') [indexSeconds, calibration] = [index.buildSeconds, index.calibration];
    const nearest = nearestCheckpoint(index);
    try {
      for (const s of sets.filter((q) => q.index === which)) {
        onProgress(`${s.set}: ${s.queries.length} queries`);
        const answers: Record<EvaluationMethod, Answer[]> = { identify: [], previous: [], plainL2: [] };
        for (const { w } of s.queries) {
          const start = performance.now();
          const id = identify(index, w);
          if (which === 'all') [queryMs, queries] = [queryMs + performance.now() - start, queries + 1];
          answers.identify.push(id);
          const plain = identify(index, w, { align: false });
          answers.previous.push({ ...plain, verdict: plain.verdict === 'fork' ? 'unknown' : plain.verdict });
          answers.plainL2.push({ ...nearest.find(w), verdict: null });
        }
        rows.push(scoreSet(s, answers));
      }
    } finally {
      nearest.close();
      index.close();
    }
  }
  return {
    rows,
    calibration: calibrationSummary(calibration!),
    queryMilliseconds: queryMs / queries,
    indexSeconds,
    trainingSeconds,
    plan,
  };
}

function scoreSet(s: QuerySet, answers: Record<EvaluationMethod, Answer[]>): EvaluationRow {
  const score = (list: Answer[]): MethodScore => {
    const known = s.queries.filter((q) => q.run >= 0).length;
    const placed = s.queries.filter((q) => q.epoch !== undefined).length;
    let [right, verdicts, epochError] = [0, 0, 0];
    list.forEach((a, i) => {
      const q: Query = s.queries[i];
      if (q.run >= 0 && a.run === q.run) right++;
      if (a.verdict && s.expected?.includes(a.verdict)) verdicts++;
      if (q.epoch !== undefined) epochError += Math.abs(a.epoch - q.epoch);
    });
    return {
      runAccuracy: known ? right / known : null,
      verdictRate: s.expected && list[0]?.verdict !== null ? verdicts / list.length : null,
      meanEpochError: placed ? epochError / placed : null,
    };
  };
  const verdicts: Partial<Record<Verdict, number>> = {};
  for (const a of answers.identify) verdicts[a.verdict!] = (verdicts[a.verdict!] ?? 0) + 1;
  const n = s.queries.length;
  return {
    set: s.set,
    group: s.group,
    queries: n,
    verdictExpected: s.expected?.join(' or ') ?? null,
    identify: {
      ...score(answers.identify),
      verdicts,
      pBelowAlpha: answers.identify.filter((a) => a.pValue! < FORK_ALPHA).length / n,
      medianStepsAway: answers.identify.map((a) => a.stepsAway!).sort((a, b) => a - b)[n >> 1],
    },
    previous: score(answers.previous),
    plainL2: score(answers.plainL2),
    ...(s.outputs && { outputs: s.outputs }),
  };
}

/** The plain-L2 baseline: the run and epoch of the indexed checkpoint nearest the query (float32 SIMD products). */
function nearestCheckpoint(index: ZooIndex): {
  find: (w: Float32Array) => { run: number; epoch: number };
  close: () => void;
} {
  const d = index.zoo.dim;
  const labels = index.trajectories.flatMap((t) =>
    [...t.rows].map((row, i) => ({ row, run: t.run, epoch: t.epochs[i] })),
  );
  const x = new Float32Array(labels.length * d);
  labels.forEach(({ row }, i) => x.set(index.rows.row(row), i * d));
  const products = new SimdProducts(matrix(x, labels.length, d));
  const find = (w: Float32Array) => {
    const dots = products.timesVector(Float64Array.from(w));
    let best = 0;
    let bestSq = Infinity;
    labels.forEach(({ row }, i) => {
      const sq = index.sqNorm[row] - 2 * dots[i];
      if (sq < bestSq) [best, bestSq] = [i, sq];
    });
    return labels[best];
  };
  return { find, close: () => products.close() };
}
