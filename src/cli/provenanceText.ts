/**
 * The text `provenance` and `lineage --infer` print: a pair's verdict and evidence, a ranked
 * folder, an inferred family tree, and JSON with typed arrays as lists.
 */
import type { Candidate, InferredLineage, PairResult } from '../pipeline/provenance.ts';

/** p as people read it: 2 significant digits, "< 1e-300" where it underflows. */
export const pText = (p: number): string =>
  p === 0 ? '< 1e-300' : p < 1e-3 ? p.toExponential(1) : p.toPrecision(2);

export function pairText(r: PairResult): string {
  const x = r.result;
  if (x.verdict === 'unrelated architectures')
    return `unrelated architectures: ${x.note}; B cannot be a fine-tune of A\n`;
  const head =
    x.verdict === 'derived'
      ? `B (${r.b}) is derived from A (${r.a}): p = ${pText(x.p)} < ${x.alpha}`
      : `no evidence that B (${r.b}) derives from A (${r.a}): p = ${pText(x.p)} (>= ${x.alpha}; independent)`;
  const exact =
    x.p < x.pFloor ? `; below 1/${x.references + 1} the p-value comes from the references' fitted tail` : '';
  const lines = [
    head,
    `null: ${x.references} references, ${r.referencesFrom}${exact}`,
    ...(x.alignment
      ? [
          `aligned: ${x.alignment.moved} of ${x.alignment.units} hidden units of A moved to match B${x.alignment.scaled ? ', both at canonical scale (rescaling undone)' : ''}`,
        ]
      : []),
    'evidence by tensor (A against the references, aligned to B):',
    ...x.tensors.map(
      (t) =>
        `  ${t.name.padEnd(Math.max(...x.tensors.map((u) => u.name.length)))}  correlation ${Math.tanh(t.z).toFixed(3).padStart(6)}  ${t.standardised >= 0 ? '+' : ''}${t.standardised.toFixed(1)} sd  p ${pText(t.p)}`,
    ),
    ...(x.resized.length ? [`left out (another shape in B: a new head?): ${x.resized.join(', ')}`] : []),
    ...(x.note ? [`note: ${x.note}`] : []),
  ];
  return lines.join('\n') + '\n';
}

export function amongText(a: string, from: string, candidates: Candidate[]): string {
  const width = Math.max(9, ...candidates.map((c) => c.label.length));
  return (
    [
      `models tested against A (${a}), most evidence first; p Holm-adjusted over ${candidates.filter((c) => c.verdict !== 'unrelated architectures').length}; null: ${from}`,
      `${'model'.padEnd(width)}  ${'verdict'.padEnd(23)}  ${'p'.padStart(8)}  ${'p (Holm)'.padStart(8)}  strongest tensor`,
      ...candidates.map(
        (c) =>
          `${c.label.padEnd(width)}  ${c.verdict.padEnd(23)}  ${pText(c.p).padStart(8)}  ${pText(c.pHolm).padStart(8)}  ${c.strongest ?? ''}`,
      ),
    ].join('\n') + '\n'
  );
}

/** lineage --infer's text: a tree per family, its edges with their p-values and confidence. */
export function inferredText(result: InferredLineage): string {
  const lines: string[] = [];
  for (const g of result.groups) {
    const { trees } = g;
    lines.push(
      `${g.models.length} models of ${g.architecture}: ${trees.families.length} famil${trees.families.length === 1 ? 'y' : 'ies'} (links at p <= ${pText(trees.linkAlpha)}: false discovery rate ${trees.alpha}; null: ${g.referencesFrom})`,
    );
    trees.families.forEach((members, f) => {
      const children = new Map<number, number[]>();
      for (const i of members)
        if (trees.parent[i] >= 0)
          children.set(trees.parent[i], [...(children.get(trees.parent[i]) ?? []), i]);
      lines.push(`family ${f + 1} (${members.length} model${members.length > 1 ? 's' : ''}):`);
      const walk = (i: number, depth: number) => {
        const edge =
          trees.parent[i] < 0
            ? 'root'
            : `p ${pText(trees.pValue[i])}, confidence ${trees.confidence[i].toFixed(2)}`;
        lines.push(`${'  '.repeat(depth + 1)}${g.models[i].label}  (${edge})`);
        for (const c of children.get(i) ?? []) walk(c, depth + 1);
      };
      for (const i of members) if (trees.parent[i] < 0) walk(i, 0);
    });
  }
  if (result.apart.length)
    lines.push(
      'apart (no other model of their architecture):',
      ...result.apart.map((m) => `  ${m.label}: ${m.architecture}`),
    );
  return lines.join('\n') + '\n';
}

/** Typed arrays as plain lists, for --json. */
export const jsonText = (value: unknown): string =>
  JSON.stringify(
    value,
    (_k, v) =>
      ArrayBuffer.isView(v)
        ? Array.from(v as Float64Array)
        : typeof v === 'number' && !Number.isFinite(v)
          ? String(v)
          : v,
    2,
  ) + '\n';
