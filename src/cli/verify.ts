/** `verify`: checks a zoo's integrity, like `git fsck`. */
import { EXIT } from '../core/errors.ts';
import { DEFAULT_DIRS } from '../store/paths.ts';
import { formatFinding, verifyZoo } from '../store/verifyZoo.ts';
import { defineCommand } from './command.ts';
import { findZoos } from './common.ts';
import { flag, text } from './options.ts';

export const verifyCommand = defineCommand({
  name: 'verify',
  description: `Checks that a zoo holds what it claims, like git fsck: every checkpoint's SHA-256
recomputed, the parent chain (epoch e's parent is epoch e-1 of the same run), one row
per run and epoch, finite weights, the manifest against the files (architecture,
dimensions, runs, epochs, seeds), the resume state, and identify's index.
Names every damaged file and row. A zoo whose training stopped early is sound and says
\`incomplete: E of N epochs committed\`. Leftovers of an interrupted run (an uncommitted epoch,
temp files) and a stale index are notes, not damage: \`npm run zoo\` and \`npm run identify\`
settle them.`,
  options: {
    zoo: text({ arg: 'DIR', help: 'a zoo, or a folder of zoos', default: DEFAULT_DIRS.zoos }),
    json: flag({ help: 'the full report as JSON on stdout' }),
  },
  after: `Exit code: ${EXIT.ok} when every zoo is sound, ${EXIT.damaged} when one is damaged, ${EXIT.usage} on bad usage.`,
  examples: ['npm run verify', 'npm run verify -- --zoo zoo/ffnn-default --json'],
  run(o) {
    const reports = findZoos(o.zoo).map((dir) => verifyZoo(dir));
    if (o.json)
      process.stdout.write(JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2) + '\n');
    else {
      for (const r of reports) {
        const what = `${r.checked.checkpoints} checkpoints (${r.checked.runs} runs x ${r.checked.epochs} epochs) in ${r.checked.files} files, ${r.seconds.toFixed(2)} s`;
        process.stdout.write(
          r.sound
            ? `${r.zoo}: sound: ${what}\n`
            : `${r.zoo}: DAMAGED: ${r.problems.length} problem(s) in ${what}\n`,
        );
        if (r.incomplete) process.stdout.write(`  ${r.incomplete}\n`);
        for (const f of r.problems) process.stdout.write(`  ${formatFinding(f)}\n`);
        for (const f of r.notes) process.stdout.write(`  note: ${formatFinding(f)}\n`);
      }
    }
    return reports.every((r) => r.sound) ? EXIT.ok : EXIT.damaged;
  },
});
