/**
 * The README's provenance tables from the bench's report (npm run bench -- --only=provenance):
 *
 *   npx tsx scripts/provenanceTables.ts [report: results/reference/provenance-eval.json; a new run writes results/provenance-eval.json]
 */
import { readFileSync } from 'node:fs';

interface Row {
  length: string;
  derived: number;
  independent: number;
  accuracy: number;
  auc: number;
  l2: { accuracy: number; auc: number };
  alignedL2: { accuracy: number; auc: number };
}
interface Scores {
  clustering: number;
  familiesFound: number;
  familiesTrue: number;
  directedEdges: number;
}
interface Network {
  trainedBy: string;
  references: number;
  pairs: {
    rows: Row[];
    independent: {
      pairs: number;
      below001: number;
      rate: number;
      rateUpper95: number;
      disjoint: { pairs: number; ks: { d: number; p: number } };
    };
  };
  trees: Record<
    'plain' | 'aThirdPermuted',
    { ours: Scores & { seconds: number }; mother: Scores; l2Mst: Scores }
  >;
}

const report = JSON.parse(
  readFileSync(process.argv[2] ?? 'results/reference/provenance-eval.json', 'utf8'),
) as {
  networks: Record<string, Network>;
  speed: Record<string, unknown>;
};
const nets = Object.entries(report.networks);
const f = (x: number, d = 3) => x.toFixed(d);
const pct = (x: number) => `${(100 * x).toFixed(2)} %`;

const lengths = nets[0][1].pairs.rows.map((r) => r.length);
const lines: string[] = [];
lines.push(
  `| fine-tuned for | ${nets.map(([n]) => n).join(' | ')} |`,
  `|---|${nets.map(() => '---').join('|')}|`,
);
for (const length of lengths) {
  const cells = nets.map(([, net]) => {
    const r = net.pairs.rows.find((x) => x.length === length)!;
    return `**${f(r.accuracy)}** / ${f(r.auc)} (L2 ${f(r.l2.accuracy)}, aligned L2 ${f(r.alignedL2.accuracy)})`;
  });
  lines.push(`| ${length} | ${cells.join(' | ')} |`);
}
lines.push(
  `| independent pairs with p < 0.01 (95 % upper bound) | ${nets
    .map(([, n]) => {
      const i = n.pairs.independent;
      return `${i.below001} of ${i.pairs}: ${pct(i.rate)} (<= ${pct(i.rateUpper95)})`;
    })
    .join(' | ')} |`,
  `| KS of independent p-values (disjoint pairs): D, p | ${nets
    .map(([, n]) => {
      const d = n.pairs.independent.disjoint;
      return `${f(d.ks.d)}, ${f(d.ks.p)} (${d.pairs} pairs)`;
    })
    .join(' | ')} |`,
);
lines.push('');
lines.push(
  `| trees (5 x 21 models) | ${nets.map(([n]) => n).join(' | ')} |`,
  `|---|${nets.map(() => '---').join('|')}|`,
);
for (const [key, label] of [
  ['plain', 'as trained'],
  ['aThirdPermuted', 'a third of the nodes permuted'],
] as const) {
  for (const [method, name] of [
    ['ours', 'ours'],
    ['mother', "MoTHer's method"],
    ['l2Mst', 'L2 spanning tree'],
  ] as const) {
    const cells = nets.map(([, n]) => {
      const s = n.trees[key][method];
      return `${method === 'ours' ? '**' : ''}${f(s.directedEdges, 2)}${method === 'ours' ? '**' : ''} / ${f(s.clustering)}`;
    });
    lines.push(`| ${label}: ${name} | ${cells.join(' | ')} |`);
  }
}
process.stdout.write(lines.join('\n') + '\n');
