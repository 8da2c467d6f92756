/** `identify`: which run of a zoo a checkpoint belongs to, where on its trajectory, and how sure we are (identify/identify.ts). */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { ARCH_NAMES, type Architecture } from '../core/architectures.ts';
import { networkOf, type Network } from '../core/network.ts';
import { loadMnist } from '../data/mnist.ts';
import {
  EVALUATION_METHODS,
  evaluateIdentify,
  type EvaluationMethod,
  type EvaluationRow,
  type MethodScore,
} from '../identify/evaluate.ts';
import type { Probe } from '../identify/evaluationSets.ts';
import { calibrationSummary } from '../identify/calibration.ts';
import { FORK_ALPHA, type Identification } from '../identify/identify.ts';
import { ZooIndex } from '../identify/zooIndex.ts';
import { writeFileAtomic } from '../store/atomicWrite.ts';
import { loadZoo } from '../store/loadZoo.ts';
import { runDescription } from '../store/manifest.ts';
import { identifyFile } from '../pipeline/identifyFile.ts';
import { INFERRED_FILE } from '../store/zooLayout.ts';
import { DEFAULT_DIRS, IDENTIFY_EVAL_PATH, zooDirFor } from '../store/paths.ts';
import { mnistSide } from '../train/scoreNetwork.ts';
import { jsonNumbers, readJsonFile } from '../util/json.ts';
import { defineCommand } from './command.ts';
import { UserError } from './common.ts';
import { flag, int, text } from './options.ts';
import { StepProgress } from './progress.ts';
import { memoryBound, memoryOption } from './memory.ts';

export const identifyCommand = defineCommand({
  name: 'identify',
  usage: ['<checkpoint> [options]', '--evaluate [--zoo DIR]'],
  description: `Names the zoo run a checkpoint comes from, its position on that run's trajectory (a
fractional epoch), and a verdict: member (on the trajectory), descendant (beyond the run's
last checkpoint, e.g. trained further), fork (branched from the run and trained on its own:
off every trajectory, yet far nearer this run than any other) or unknown (no run is close
enough), with a p-value. Hidden units permuted or rescaled are aligned first. Thresholds and
p-values are calibrated from the zoo itself (docs/identify.md).

<checkpoint>: a checkpoint Arrow file (one row, or pick one with --run/--epoch), a
.safetensors file, or a TensorFlow.js model.json (or its folder), as \`npm run export\` writes, or
a .npy of the flat weights (the architecture's tensors one after another, float32 or float64).`,
  positionals: true,
  options: {
    zoo: text({
      arg: 'DIR',
      help: 'the zoo to search',
      defaultText: 'the zoo under zoo/ whose architecture the checkpoint fits, <arch>-default first',
    }),
    run: int({ arg: 'R', help: "pick run R's row of a checkpoint file holding several", min: 0 }),
    epoch: int({ arg: 'E', help: "pick epoch E's row", min: 0 }),
    top: int({ help: 'candidates to list', min: 1, max: 1000, default: 5 }),
    json: flag({ help: 'print the result as JSON' }),
    record: flag({
      help: "keep what was found (run, epoch, verdict, p-value) in the zoo's inferred.json,\nwhich lineage shows as an inferred link (not for an unknown verdict)",
    }),
    rebuild: flag({
      help: "rebuild the zoo's index (<zoo>/index.json, index.arrow, index-svd.arrow) even if current",
    }),
    evaluate: flag({
      help: `measure identification on checkpoints the index does not hold (held-out epochs,\nunknown seeds, runs trained further, forks, permuted, rescaled and perturbed copies),\nbeside identify without alignment or forks and plain L2, for --zoo, or for\n${ARCH_NAMES.map((a) => zooDirFor(DEFAULT_DIRS.zoos, a, 'default')).join(' and ')}; table on stdout, ${IDENTIFY_EVAL_PATH}`,
    }),
    'fork-runs': int({
      arg: 'N',
      help: 'with --evaluate: known runs to fork (default 10), each from every branch epoch and setting',
      min: 1,
    }),
    'no-verify': flag({
      help: "skip checking every checkpoint's SHA-256 while loading the zoo (see npm run verify)",
    }),
    memory: memoryOption('its index then holds as many SVD components as the bound allows'),
  },
  examples: [
    'npm run identify -- zoo/ffnn-default/checkpoints/epoch-0007.arrow --run 3',
    'npm run export -- --zoo zoo/cnn-default --run 3 --epoch 7 --format safetensors   # writes exports/cnn-default-run3-epoch7.safetensors',
    'npm run identify -- exports/cnn-default-run3-epoch7.safetensors --json',
  ],
  async run(o, positionals) {
    if (o.evaluate) {
      const defaults = ARCH_NAMES.map((a) => zooDirFor(DEFAULT_DIRS.zoos, a, 'default'));
      await evaluate(
        o.zoo ? [o.zoo] : defaults.filter((d) => existsSync(d)),
        !o['no-verify'],
        o['fork-runs'],
      );
      return;
    }
    if (positionals.length !== 1)
      throw new UserError(
        `give one checkpoint to identify (got ${positionals.length}); see npm run identify -- --help`,
      );
    const path = positionals[0];
    const progress = new StepProgress('index (built once per zoo)');
    const {
      zooDir,
      description,
      result,
      index,
      milliseconds: ms,
    } = identifyFile(path, {
      zoo: o.zoo,
      pick: { run: o.run, epoch: o.epoch },
      top: o.top,
      record: o.record,
      rebuild: o.rebuild,
      verify: !o['no-verify'],
      memory: memoryBound(o.memory),
      onProgress: (step, done, total) => progress.update(step, done, total),
      onNote: (message) => {
        progress.finish();
        process.stderr.write(`note: ${message}\n`);
      },
    });
    const { zoo } = index;
    if (o.record && result.verdict !== 'unknown')
      process.stderr.write(
        `recorded: ${description} -> run ${result.run} of ${zooDir} (${join(zooDir, INFERRED_FILE)})\n`,
      );
    if (o.json) {
      const origin = zoo.manifest.origin;
      process.stdout.write(
        JSON.stringify(
          {
            checkpoint: description,
            zoo: zooDir,
            ...result,
            ...(origin && {
              runLabel: origin.runLabels[result.run],
              runInfo: origin.runInfo?.[result.run] ?? null,
            }),
            nextDistance: result.candidates[1]?.distance ?? null,
            test: {
              null: `not from run ${result.run}`,
              statistic: 'margin (distance to the next run / to this one)',
              alpha: FORK_ALPHA,
              significant: result.pValue < FORK_ALPHA,
              pValueBelowFloor: result.pValue < result.pValueFloor,
            },
            calibration: calibrationSummary(index.calibration),
            milliseconds: ms,
          },
          jsonNumbers,
          2,
        ) + '\n',
      );
    } else {
      process.stdout.write(report(description, zooDir, index, result, ms));
    }
  },
});

function report(description: string, zooDir: string, index: ZooIndex, r: Identification, ms: number): string {
  const { zoo, calibration } = index;
  const f = (x: number) =>
    Math.abs(x) >= 1000 || (x !== 0 && Math.abs(x) < 0.001) ? x.toExponential(3) : x.toFixed(4);
  const best = r.candidates[0];
  const lines = [
    `checkpoint  ${description}`,
    `zoo         ${zooDir} (${zoo.manifest.architecture.name}, ${index.trajectories.length} runs, epochs 0-${zoo.epochs})`,
    `verdict     ${r.verdict.toUpperCase()}: ${verdictText(r)} run ${r.run} (${runDescription(zoo.manifest, r.run)}), ${r.verdict === 'fork' ? 'branched at ' : ''}epoch ${r.epoch.toFixed(2)}` +
      (r.verdict === 'fork' ? `, moved ${r.stepsAway.toFixed(2)} step lengths since` : ''),
    `distance    ${f(r.distance)} to the run's trajectory; member threshold ${f(calibration.memberRatio * best.segmentLength)} ` +
      `(${calibration.memberRatio.toFixed(3)} x segment length ${f(best.segmentLength)}): score ${r.memberScore.toFixed(3)}` +
      (r.descendantScore !== null
        ? `; beyond the last checkpoint: descendant score ${r.descendantScore.toFixed(3)}`
        : ''),
    `margin      ${Number.isFinite(r.margin) ? r.margin.toFixed(2) : 'inf'} (distance to the next run / to this one${Number.isFinite(r.margin) ? '' : r.candidates.length > 1 ? '; the distance to this run is 0' : '; the zoo has one run'})`,
    ...testLines(r),
    `aligned     ${r.aligned ?? 'no (the checkpoint as given is nearest)'}${r.alignmentNote ? `; ${r.alignmentNote}` : ''}`,
    '',
    '   run   seed   epoch    distance',
    ...r.candidates.map(
      (c) =>
        `${String(c.run).padStart(6)} ${String(c.seed).padStart(6)} ${c.epoch.toFixed(2).padStart(7)}  ${f(c.distance).padStart(10)}`,
    ),
    '',
    `query ${ms.toFixed(1)} ms (${r.runsMeasured} of ${index.trajectories.length} runs measured in the full weight space)`,
  ];
  return lines.join('\n') + '\n';
}

/**
 * The p-value as what it is: the null hypothesis, the test, the decision at FORK_ALPHA, and
 * a floor where the calibration cannot resolve smaller values.
 */
function testLines(r: Identification): string[] {
  const samples = Math.round(1 / r.pValueFloor) - 1;
  const p =
    r.pValue < r.pValueFloor
      ? `p < ${formatP(r.pValueFloor)} (1/${samples + 1}: the calibration's samples resolve no smaller p)`
      : `p = ${formatP(r.pValue)}`;
  // below the floor the decision rests on the fitted tail alone, which the output says
  const extrapolated = r.pValue < FORK_ALPHA && r.pValueFloor > FORK_ALPHA ? ' (by the fitted tail)' : '';
  const decision =
    r.pValue < FORK_ALPHA
      ? `significant at ${FORK_ALPHA}${extrapolated}: the null is rejected`
      : `not significant at ${FORK_ALPHA}: the null is not rejected (which does not show that it is true)`;
  return [
    `null        H0: the checkpoint is not from run ${r.run} (it is from another run, in the zoo or not)`,
    `test        its margin over the next run, ranked among ${samples} calibration margins (the zoo's checkpoints or their permuted copies, each measured without its own run; exponential tail)`,
    `p-value     ${p}; ${decision}`,
  ];
}

const formatP = (p: number): string => (p < 0.001 ? p.toExponential(1) : p.toPrecision(2));

function verdictText(r: Identification): string {
  return { member: 'on', descendant: 'beyond the end of', fork: 'fork of', unknown: 'nearest is' }[r.verdict];
}

async function evaluate(zooDirs: string[], verify: boolean, forkRuns?: number): Promise<void> {
  if (zooDirs.length === 0)
    throw new UserError(
      'no zoo to evaluate: build zoo/ffnn-default and zoo/cnn-default (npm run zoo) or give --zoo DIR',
    );
  // results of other zoos evaluated earlier stay in the report
  const reportPath = IDENTIFY_EVAL_PATH;
  const report = (
    existsSync(reportPath) ? readJsonFile(reportPath, 'delete it to start a new report') : {}
  ) as Record<string, unknown>;
  for (const dir of zooDirs) {
    const zoo = loadZoo(dir, { verify });
    const start = performance.now();
    const result = await evaluateIdentify(zoo, (msg) => process.stderr.write(`${dir}: ${msg}\n`), {
      forkRuns,
      probe: mnistProbe(zoo.manifest.architecture, zoo.manifest.network),
    });
    if (result.plan.notTrained) process.stdout.write(`note: ${dir}: ${result.plan.notTrained}\n`);
    process.stdout.write(
      `\n${dir} (${zoo.manifest.architecture.name}, ${zoo.runs} runs, epochs 0-${zoo.epochs}; index of ${result.plan.known} runs); ` +
        `identify ${result.queryMilliseconds.toFixed(2)} ms a query on average, index built in ${result.indexSeconds.toFixed(1)} s\n`,
    );
    process.stdout.write(evaluationTable(result.rows));
    report[dir] = { ...result, seconds: (performance.now() - start) / 1000 };
  }
  writeFileAtomic(reportPath, JSON.stringify(report, jsonNumbers, 2) + '\n');
  process.stdout.write(`\nwrote ${reportPath}\n`);
}

/** Images the copies' outputs are compared on: the first PROBE_IMAGES MNIST test images, when the network reads MNIST. */
function mnistProbe(arch: Architecture, given?: Network): Probe | undefined {
  const network = networkOf(arch, given);
  if (!network) return undefined;
  let side: 14 | 28;
  try {
    side = mnistSide(network);
  } catch {
    return undefined;
  }
  return {
    images: loadMnist({ trainSize: 1, testSize: PROBE_IMAGES, side }).test.images,
    count: PROBE_IMAGES,
  };
}

const PROBE_IMAGES = 64;

/** One line per set: run accuracy, expected verdict and epoch error, for identify / previous / plain L2. */
function evaluationTable(rows: EvaluationRow[]): string {
  const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}`);
  const num = (x: number | null) => (x === null ? '-' : x.toFixed(2));
  const lines = [
    `${'set'.padEnd(44)} ${'n'.padStart(5)}  run % (identify / previous / L2)  verdict % (id / prev)  |epoch err| (id / prev / L2)  p<${FORK_ALPHA}  steps off  max |out diff|  verdicts`,
  ];
  for (const r of rows) {
    const three = (
      pick: (m: MethodScore) => string,
      methods: readonly EvaluationMethod[] = EVALUATION_METHODS,
    ) => methods.map((m) => pick(r[m])).join(' / ');
    const verdicts = Object.entries(r.identify.verdicts)
      .map(([v, c]) => `${v} ${c}`)
      .join(', ');
    lines.push(
      `${r.set.padEnd(44)} ${String(r.queries).padStart(5)}  ${three((m) => pct(m.runAccuracy)).padEnd(33)} ` +
        `${(r.verdictExpected ? `${three((m) => pct(m.verdictRate), ['identify', 'previous'])} ${r.verdictExpected}` : '').padEnd(21)} ` +
        `${three((m) => num(m.meanEpochError)).padEnd(29)} ${pct(r.identify.pBelowAlpha).padStart(5)}  ${num(r.identify.medianStepsAway).padStart(9)}  ` +
        `${(r.outputs ? r.outputs.maxAbsDifference.toExponential(1) : '-').padStart(14)}  ${verdicts}`,
    );
  }
  return lines.join('\n') + '\n';
}
