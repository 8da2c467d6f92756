/** npm run verify -- [--zoo DIR] [--json]: checks a zoo's integrity, like `git fsck`. */
import { parseArgs } from 'node:util';
import { EXIT } from '../core/errors.ts';
import { formatFinding, verifyZoo } from '../store/verifyZoo.ts';
import { findZoos, runCli } from './common.ts';

const HELP = `Usage: npm run verify -- [--zoo DIR] [--json]

Checks that a zoo holds what it claims, like git fsck: every checkpoint's SHA-256
recomputed, the parent chain (epoch e's parent is epoch e-1 of the same run), one row
per run and epoch, finite weights, the manifest against the files (architecture,
dimensions, runs, epochs, seeds), the resume state, and identify's index.
Names every damaged file and row. Leftovers of an interrupted run (an uncommitted epoch,
temp files) and a stale index are notes, not damage: \`npm run zoo\` and \`npm run identify\`
settle them.

Options:
  --zoo DIR    a zoo, or a folder of zoos (default: zoo)
  --json       the full report as JSON on stdout
  -h, --help   show this help

Exit code: 0 when every zoo is sound, 1 when one is damaged, 2 on bad usage.
`;

await runCli(async () => {
  const { values } = parseArgs({
    options: {
      zoo: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const reports = findZoos(values.zoo ?? 'zoo').map((dir) => verifyZoo(dir));
  if (values.json) process.stdout.write(JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2) + '\n');
  else {
    for (const r of reports) {
      const what = `${r.checked.checkpoints} checkpoints (${r.checked.runs} runs x ${r.checked.epochs} epochs) in ${r.checked.files} files, ${r.seconds.toFixed(2)} s`;
      process.stdout.write(r.sound ? `${r.zoo}: sound: ${what}\n` : `${r.zoo}: DAMAGED: ${r.problems.length} problem(s) in ${what}\n`);
      for (const f of r.problems) process.stdout.write(`  ${formatFinding(f)}\n`);
      for (const f of r.notes) process.stdout.write(`  note: ${formatFinding(f)}\n`);
    }
  }
  return reports.every((r) => r.sound) ? EXIT.ok : EXIT.damaged;
});
