/**
 * `provenance A B` and `provenance A --among DIR`: is B derived from A, from the weights alone
 * (pipeline/provenance.ts; the method in docs/provenance.md). Also lineage --infer's output.
 */
import type { Candidate, InferredLineage, PairResult } from '../pipeline/provenance.ts';
import { defineCommand } from './command.ts';
import { UserError } from './common.ts';
import { REFERENCES, root } from './history.ts';
import { flag, real, text } from './options.ts';

/** p as people read it: 2 significant digits, "< 1e-300" where it underflows. */
export const pText = (p: number): string =>
  p === 0 ? '< 1e-300' : p < 1e-3 ? p.toExponential(1) : p.toPrecision(2);

function pairText(r: PairResult): string {
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

function amongText(a: string, from: string, candidates: Candidate[]): string {
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

export const provenanceCommand = defineCommand({
  name: 'provenance',
  usage: ['A B [options]', 'A --among DIR [options]'],
  description: `Is model B derived from model A (fine-tuned, pruned, converted to float16, its hidden units
permuted or rescaled), or trained independently of it? From the weights alone: no data, no
outputs. A's tensors are compared with B's after aligning hidden units, against references:
models trained as A was from other seeds (A's zoo's other runs, or --reference), whose
similarity to B is what independence looks like. The verdict is derived when p < --alpha; the
p-value is exact down to 1/(references + 1) and extrapolated below. B may have another output
layer (a new head): it is left out. With --among DIR every model in DIR is tested against A
and ranked, p-values Holm-adjusted. ${REFERENCES} A and B may also be model files.`,
  positionals: true,
  options: {
    root: root(),
    among: text({
      arg: 'DIR',
      help: 'test every model of DIR (a zoo: its runs; a folder: its model files) against A',
    }),
    reference: text({
      arg: 'ZOO|DIR',
      help: "models trained as A was, from other seeds (default: A's zoo's other runs, else the zoos under --root with A's tensors)",
    }),
    alpha: real({ help: 'verdict derived below this p-value (default 0.01)' }),
    json: flag({ help: 'everything as JSON on stdout' }),
  },
  examples: [
    'npm run provenance -- ffnn-default:3 exports/suspect.safetensors',
    'npm run provenance -- ffnn-default:3 --among downloads/ --json',
    'npm run provenance -- mine.safetensors theirs.safetensors --reference my-seeds/',
  ],
  async run(o, positionals) {
    const { catalogOf, provenanceAmong, provenanceOf } = await import('../pipeline/provenance.ts');
    const catalog = catalogOf(o.root);
    const options = { reference: o.reference, alpha: o.alpha };
    if (o.among !== undefined) {
      if (positionals.length !== 1)
        throw new UserError(
          `give A and --among DIR (got ${positionals.length} models); see npm run provenance -- --help`,
        );
      const r = await provenanceAmong(catalog, positionals[0], o.among, options);
      process.stdout.write(o.json ? jsonText(r) : amongText(r.a, r.referencesFrom, r.candidates));
      return;
    }
    if (positionals.length !== 2)
      throw new UserError(
        `give two models, A and B (got ${positionals.length}); see npm run provenance -- --help`,
      );
    const r = await provenanceOf(catalog, positionals[0], positionals[1], options);
    process.stdout.write(o.json ? jsonText(r) : pairText(r));
  },
});
