/**
 * The markdown tables of identify's evaluation, from a report `identify --evaluate` wrote:
 * the README's summary (one column per zoo) and docs/identify.md's per-zoo tables.
 *
 *   npx tsx scripts/evalTables.ts results/reference/identify-eval.json > /tmp/tables.md
 */
import { readFileSync } from 'node:fs';
import type { EvaluationRow } from '../src/identify/evaluate.ts';
import { FORK_ALPHA } from '../src/identify/identify.ts';

type Report = Record<
  string,
  {
    rows: EvaluationRow[];
    queryMilliseconds: number;
    indexSeconds: number;
    plan: { notTrained: string | null };
  }
>;
const report = JSON.parse(readFileSync(process.argv[2] ?? 'results/identify-eval.json', 'utf8')) as Report;
const zoos = Object.keys(report);
const pct = (x: number | null | undefined) => (x == null ? '' : `${+(100 * x).toFixed(1)}`);
const num = (x: number | null | undefined) => (x == null ? '' : x.toFixed(2));
const find = (zoo: string, test: (set: string) => boolean) => report[zoo].rows.filter((r) => test(r.set));

/** One README row: a figure per zoo from the rows whose set name passes `test`, pooled by query count. */
function summaryRow(
  label: string,
  target: string,
  test: (set: string) => boolean,
  figure: (rows: EvaluationRow[]) => string,
): string {
  return `| ${label} | ${target} | ${zoos.map((z) => (find(z, test).length ? figure(find(z, test)) : 'n/a')).join(' | ')} |`;
}
const pooled = (rows: EvaluationRow[], pick: (r: EvaluationRow) => number | null) => {
  const n = rows.reduce((a, r) => a + (pick(r) === null ? 0 : r.queries), 0);
  return n ? rows.reduce((a, r) => a + (pick(r) ?? 0) * r.queries, 0) / n : null;
};
const disguise = (name: string) => (set: string) =>
  set === name || set === name.replace('permuted + rescaled', 'permuted');
const relativeOutputs = (rows: EvaluationRow[]) => {
  const worst = Math.max(
    ...rows.map((r) =>
      r.outputs ? Number(r.outputs.maxAbsDifference) / Number(r.outputs.maxAbsOutput) : NaN,
    ),
  );
  return Number.isNaN(worst) ? 'n/a' : worst.toExponential(0);
};

const lines = [`| goal | target | ${zoos.join(' | ')} |`, `|---|---|${zoos.map(() => '---').join('|')}|`];
for (const name of [
  'permuted',
  'permuted + rescaled',
  'permuted + rescaled + 1 % noise',
  'permuted + rescaled, pruned 10 %',
  'permuted + rescaled, float16',
]) {
  const label = name.replace('permuted + rescaled', 'permuted (+ rescaled)');
  const test =
    name === 'permuted' || name === 'permuted + rescaled' ? (s: string) => s === name : disguise(name);
  lines.push(
    summaryRow(
      `${label}: run / member %, epoch error`,
      '>= 99 / 99, <= 0.2',
      test,
      (rows) =>
        `${pct(pooled(rows, (r) => r.identify.runAccuracy))} / ${pct(pooled(rows, (r) => r.identify.verdictRate))}, ${num(pooled(rows, (r) => r.identify.meanEpochError))}`,
    ),
  );
}
lines.push(
  summaryRow(
    'unknown seeds, plain / disguised: unknown %',
    '>= 99',
    (s) => s.startsWith('unknown seeds'),
    (rows) =>
      `${pct(
        pooled(
          rows.filter((r) => !r.set.includes(',')),
          (r) => r.identify.verdictRate,
        ),
      )} / ${pct(
        pooled(
          rows.filter((r) => r.set.includes(',')),
          (r) => r.identify.verdictRate,
        ),
      )}`,
  ),
  summaryRow(
    `unknown seeds with p < ${FORK_ALPHA} (a fork's p), %`,
    '<= 1',
    (s) => s.startsWith('unknown seeds'),
    (rows) => pct(pooled(rows, (r) => r.identify.pBelowAlpha)),
  ),
  summaryRow(
    'same-function copies: max output difference / max output',
    '~1e-6',
    (s) =>
      /^(permuted|rescaled|permuted \+ rescaled)( \(c in \[0\.5, 2\]\))?$/.test(s) ||
      (/, permuted( \+ rescaled)?$/.test(s) && s.startsWith('unknown')),
    relativeOutputs,
  ),
  summaryRow(
    'pruned 10 % / float16: output difference / max output',
    '',
    (s) => s === 'pruned 10 %' || s === 'float16 rounding',
    (rows) => rows.map((r) => relativeOutputs([r])).join(' / '),
  ),
  summaryRow(
    'forks after 1 epoch: run accuracy %',
    '>= 99',
    (s) => /^fork: .*, \+1$/.test(s),
    (rows) => pct(pooled(rows, (r) => r.identify.runAccuracy)),
  ),
  summaryRow(
    'forks off the path (task changed, last layer re-initialised), +3: fork %',
    '',
    (s) => /^fork: (labels permuted|images rotated 90 degrees|last layer re-initialised), \+3$/.test(s),
    (rows) => pct(pooled(rows, (r) => r.identify.verdictRate)),
  ),
  `| identify query, mean ms / index build s | | ${zoos.map((z) => `${report[z].queryMilliseconds.toFixed(1)} / ${report[z].indexSeconds.toFixed(1)}`).join(' | ')} |`,
);
process.stdout.write(`${lines.join('\n')}\n`);

for (const zoo of zoos) {
  process.stdout.write(`\n### ${zoo}\n\n`);
  if (report[zoo].plan.notTrained) process.stdout.write(`(${report[zoo].plan.notTrained}.)\n\n`);
  process.stdout.write(
    '| set | n | run accuracy: identify / previous / plain L2 | expected verdict: identify / previous | mean epoch error: identify / previous / L2 | steps off | max output difference | identify verdicts |\n|---|---|---|---|---|---|---|---|\n',
  );
  for (const r of report[zoo].rows) {
    const three = (f: (m: EvaluationRow['identify']) => string) =>
      [r.identify, r.previous, r.plainL2].map((m) => f(m as EvaluationRow['identify'])).join(' / ');
    const run = r.identify.runAccuracy === null ? '' : three((m) => `${pct(m.runAccuracy)} %`);
    const verdict = r.verdictExpected
      ? `${pct(r.identify.verdictRate)} % / ${pct(r.previous.verdictRate)} % ${r.verdictExpected}`
      : '';
    const epoch = r.identify.meanEpochError === null ? '' : three((m) => num(m.meanEpochError));
    const outputs = r.outputs
      ? `${Number(r.outputs.maxAbsDifference).toExponential(1)} (of ${Number(r.outputs.maxAbsOutput).toFixed(2)})`
      : '';
    const verdicts = Object.entries(r.identify.verdicts)
      .map(([v, c]) => `${v} ${c}`)
      .join(', ');
    process.stdout.write(
      `| ${r.set} | ${r.queries} | ${run} | ${verdict} | ${epoch} | ${num(r.identify.medianStepsAway)} | ${outputs} | ${verdicts} |\n`,
    );
  }
}
