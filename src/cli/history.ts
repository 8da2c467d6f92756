/**
 * `log`, `show`, `tag`, `search` and `lineage`: a zoo's history like git's, read from the
 * checkpoints' hashes, parents and metrics (pipeline/history.ts, search.ts and lineage.ts do
 * the work; references: store/refs.ts). They read metadata only, so this module loads none of
 * the networks, data or training code that `diff` and `fork` (compare.ts) need.
 */
import { openCatalog } from '../store/catalog.ts';
import { searchCatalog, type SearchEntry } from '../pipeline/search.ts';
import { lineageHtml } from '../plot/lineagePage.ts';
import { writeFileAtomic } from '../store/atomicWrite.ts';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { edgeText, lineageDot, pValueText, zooLineage } from '../pipeline/lineage.ts';
import { LINEAGE_INFERRED_FILE } from '../store/inferredLinks.ts';
import { DEFAULT_DIRS } from '../store/paths.ts';
import {
  logGraph,
  listTags,
  showCheckpoint,
  tagCheckpoint,
  untag,
  zooLog,
  zooLogEntries,
  type LogEntry,
} from '../pipeline/history.ts';
import type { Moments } from '../reduce/profile.ts';
import { defineCommand } from './command.ts';
import { UserError } from './common.ts';
import { flag, int, real, text } from './options.ts';
import { StepProgress } from './progress.ts';

export const REFERENCES = `A checkpoint is named by ZOO:RUN@EPOCH (ffnn-default:7@10), ZOO:RUN (its last epoch), a
tag, or a unique SHA-256 prefix of at least 6 hex digits (docs/vc.md).`;

export const root = () =>
  text({ arg: 'DIR', help: 'the folder whose zoos references name', default: DEFAULT_DIRS.zoos });

export const num = (v: number, digits = 4) => (Number.isInteger(v) ? String(v) : v.toPrecision(digits));

/** One log line, like `git log --oneline`: short hash, reference, step, metrics, tags. */
export function logLine(e: LogEntry): string {
  const metrics = Object.entries(e.metrics).map(([k, v]) => `${k} ${num(v)}`);
  const tags = e.tags.length ? [`(tag: ${e.tags.join(', ')})`] : [];
  const parent = e.parent
    ? `parent ${e.parent.slice(0, 8)}`
    : e.forkedFrom
      ? `forked from ${e.forkedFrom}`
      : 'root';
  return [
    e.sha256.slice(0, 12),
    e.ref,
    `step ${e.step}`,
    ...metrics,
    ...tags,
    parent,
    e.time.slice(0, 19),
  ].join('  ');
}

/** Lines of `log` written at a time. */
const LOG_PAGE = 100;

export const logCommand = defineCommand({
  name: 'log',
  usage: ['[ZOO] [options]'],
  description: `A zoo's history, like git log --oneline: every checkpoint of every run (or of --run R),
newest first within each run, with its short SHA-256, reference, optimizer step, metrics,
tags, parent and the time its epoch was committed. ZOO is a zoo's folder name under --root
(default: every zoo there). Reads metadata only, never decodes the weights.`,
  positionals: true,
  options: {
    root: root(),
    run: int({ arg: 'R', help: 'one run only', min: 0 }),
    all: flag({ help: 'every run (the default)' }),
    graph: flag({
      help: 'draw runs and the forks from their checkpoints as text (*, |, |/), like git log --graph',
    }),
    limit: int({ help: 'at most N checkpoints per zoo', min: 1 }),
    json: flag({ help: 'the entries as JSON on stdout' }),
  },
  examples: ['npm run log -- ffnn-default --run 3 --limit 5', 'npm run log -- --json'],
  run(o, positionals) {
    if (positionals.length > 1)
      throw new UserError(`log takes at most one zoo (got ${positionals.length}); see npm run log -- --help`);
    if (o.all && o.run !== undefined) throw new UserError('give --run R or --all, not both');
    const catalog = openCatalog(o.root);
    const zoos = positionals.length ? catalog.zoos.filter((z) => z.name === positionals[0]) : catalog.zoos;
    if (zoos.length === 0)
      throw new UserError(
        `no zoo '${positionals[0]}' under ${o.root} (zoos: ${catalog.zoos.map((z) => z.name).join(', ')})`,
      );
    if (o.graph) {
      if (o.run !== undefined || o.limit !== undefined || o.json)
        throw new UserError('--graph draws every run: give it without --run, --limit or --json');
      process.stdout.write(logGraph(catalog, logLine, positionals[0]).join('\n') + '\n');
      return;
    }
    if (o.json) {
      const entries = zoos.flatMap((zoo) => zooLog(zoo, { run: o.run, limit: o.limit }));
      process.stdout.write(JSON.stringify(entries, null, 2) + '\n');
      return;
    }
    // a page at a time: the first lines of a long history appear before the rest is read
    let page: string[] = [];
    for (const zoo of zoos)
      for (const entry of zooLogEntries(zoo, { run: o.run, limit: o.limit })) {
        page.push(logLine(entry));
        if (page.length === LOG_PAGE) (process.stdout.write(page.join('\n') + '\n'), (page = []));
      }
    if (page.length) process.stdout.write(page.join('\n') + '\n');
  },
});

const momentsLine = (label: string, m: Moments) =>
  `${label.padEnd(24)} ${String(m.count).padStart(8)}  mean ${num(m.mean)}  std ${num(m.std)}  skew ${num(m.skew, 3)}  kurtosis ${num(m.kurtosis, 3)}  L2 ${num(m.l2)}  |w|<1e-3 ${(100 * m.nearZero).toFixed(1)} %`;

export const showCommand = defineCommand({
  name: 'show',
  usage: ['REF [options]'],
  description: `One checkpoint: its SHA-256, parent and children (in every zoo under --root), tags,
metrics, and the profile of each tensor (count, mean, standard deviation, skew, excess
kurtosis, L2 norm, share of |w| < 1e-3), then of all weights and all biases together.
${REFERENCES}`,
  positionals: true,
  options: {
    root: root(),
    ancestors: flag({ help: 'the parent chain to the root' }),
    descendants: flag({ help: 'every checkpoint descended from it' }),
    json: flag({ help: 'everything as JSON on stdout' }),
  },
  examples: ['npm run show -- ffnn-default:7@10', 'npm run show -- ffnn-default:7 --ancestors --json'],
  run(o, positionals) {
    if (positionals.length !== 1)
      throw new UserError(
        `give one checkpoint to show (got ${positionals.length}); see npm run show -- --help`,
      );
    const s = showCheckpoint(openCatalog(o.root), positionals[0], o);
    if (o.json) {
      process.stdout.write(JSON.stringify(s, null, 2) + '\n');
      return;
    }
    const lines = [
      `checkpoint  ${s.ref}  (${s.architecture}, ${s.dir})`,
      `sha256      ${s.sha256}`,
      `parent      ${s.parent ? `${s.parent}${s.parentRef ? `  ${s.parentRef}` : ''}` : '(root)'}`,
      `children    ${s.children.length ? s.children.join(', ') : '(none)'}`,
      ...(s.ancestors ? [`ancestors   ${s.ancestors.length ? s.ancestors.join(' <- ') : '(none)'}`] : []),
      ...(s.descendants ? [`descendants ${s.descendants.length ? s.descendants.join(', ') : '(none)'}`] : []),
      `step        ${s.step}`,
      `metrics     ${
        Object.entries(s.metrics)
          .map(([k, v]) => `${k} ${num(v)}`)
          .join(', ') || '(none)'
      }`,
      `tags        ${s.tags.join(', ') || '(none)'}`,
      ...(Object.keys(s.runTags).length
        ? [
            `run tags    ${Object.entries(s.runTags)
              .map(([k, v]) => `${k}=${v}`)
              .join(', ')}`,
          ]
        : []),
      ...(s.note ? [`note        ${s.note}`] : []),
      ...(s.source ? [`source      ${s.source}`] : []),
      '',
      ...s.profile.map((p) => momentsLine(p.name, p)),
      momentsLine('all weights', s.weights),
      ...(s.biases ? [momentsLine('all biases', s.biases)] : []),
    ];
    process.stdout.write(lines.join('\n') + '\n');
  },
});

export const tagCommand = defineCommand({
  name: 'tag',
  usage: ['REF NAME [-m NOTE]', '--list', '-d NAME [--zoo ZOO]'],
  description: `Names a checkpoint, like git tag (release, baseline). The tag is kept in the zoo's
tags.json by the checkpoint's SHA-256, so it survives moving the folder and merging shards;
the file is replaced whole, so a tag appears whole or not at all, and verify checks that
every tag names a checkpoint of its zoo. A tag name works as a reference in every command.
${REFERENCES}`,
  positionals: true,
  options: {
    root: root(),
    message: text({ arg: 'NOTE', short: 'm', help: 'a note kept with the tag' }),
    force: flag({ help: 'move a tag that already exists' }),
    list: flag({ help: 'list every tag under --root' }),
    delete: text({ arg: 'NAME', short: 'd', help: 'delete a tag' }),
    zoo: text({ arg: 'ZOO', help: 'with -d: the zoo whose tag it is (when several have one of that name)' }),
    json: flag({ help: 'the result as JSON on stdout' }),
  },
  examples: ['npm run tag -- ffnn-default:7@10 baseline -m "before the lr sweep"', 'npm run tag -- --list'],
  run(o, positionals) {
    const catalog = openCatalog(o.root);
    const out = (value: unknown, textLine: string) =>
      process.stdout.write(o.json ? JSON.stringify(value, null, 2) + '\n' : textLine + '\n');
    if (o.list) {
      if (positionals.length) throw new UserError('tag --list takes no reference or name');
      const tags = listTags(catalog);
      out(
        tags,
        tags.length
          ? tags
              .map(
                (t) => `${t.name.padEnd(16)} ${t.ref.padEnd(24)} ${t.tag.sha256.slice(0, 12)}  ${t.tag.note}`,
              )
              .join('\n')
          : '(no tags)',
      );
      return;
    }
    if (o.delete !== undefined) {
      if (positionals.length) throw new UserError('tag -d NAME takes no reference');
      const gone = untag(catalog, o.delete, o.zoo);
      out(gone, `deleted tag '${o.delete}' of ${gone.zoo} (was ${gone.tag.sha256.slice(0, 12)})`);
      return;
    }
    if (positionals.length !== 2)
      throw new UserError(
        `give a checkpoint and a tag name (got ${positionals.length} argument(s)), or --list, or -d NAME; see npm run tag -- --help`,
      );
    const made = tagCheckpoint(catalog, positionals[0], positionals[1], { note: o.message, force: o.force });
    out(made, `tagged ${made.ref} (${made.tag.sha256.slice(0, 12)}) as '${positionals[1]}'`);
  },
});

/** Entries as CSV: the labels, then one column per metric any of them has (RFC 4180 quoting). */
export function searchCsv(entries: SearchEntry[]): string {
  const metrics = [...new Set(entries.flatMap((e) => Object.keys(e.metrics)))];
  const quote = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const header = ['zoo', 'run', 'epoch', 'step', 'sha256', 'parent', 'tags', ...metrics];
  const rows = entries.map((e) =>
    [
      e.zoo,
      e.run,
      e.epoch,
      e.step,
      e.sha256,
      e.parent ?? '',
      e.tags.join(' '),
      ...metrics.map((m) => e.metrics[m] ?? ''),
    ]
      .map((v) => quote(String(v)))
      .join(','),
  );
  return [header.join(','), ...rows].join('\n') + '\n';
}

export const searchCommand = defineCommand({
  name: 'search',
  usage: ['EXPR [options]'],
  description: `The checkpoints of every zoo under --root that EXPR selects, from their metadata only
(labels, metrics, hashes, tags; never the weights). EXPR, quoted as one argument:
  metrics.test_accuracy > 0.8 and epoch >= 10 and (tags.lr = "0.03" or tags.lr in ("0.1", "0.3"))
Fields: zoo, arch, run, epoch, step, sha, parent, tag, metrics.<name>, tags.<key> (run tags);
per-run aggregates last(metrics.<name>), min(...), max(...); operators = != < <= > >= in like
(glob: * and ?), and, or, not, parentheses. A bad expression is refused with the column of the
bad token. docs/vc.md has the grammar.`,
  positionals: true,
  options: {
    root: root(),
    sort: text({
      arg: 'KEY',
      help: 'sort by a field, metric, run tag or aggregate (add desc: --sort "KEY desc")',
    }),
    desc: flag({ help: 'with --sort: largest first' }),
    limit: int({ help: 'at most N checkpoints', min: 1 }),
    csv: flag({ help: 'the rows as CSV on stdout' }),
    json: flag({ help: 'the rows as JSON on stdout' }),
  },
  examples: [
    'npm run search -- "metrics.test_accuracy > 0.9 and epoch >= 10" --sort "metrics.test_accuracy desc" --limit 5',
    'npm run search -- \'zoo like "cnn-*" and last(metrics.test_loss) < 0.1\' --csv',
  ],
  run(o, positionals) {
    const [expr, ...rest] = positionals;
    const trailingDesc = rest.length === 1 && rest[0] === 'desc' && o.sort !== undefined;
    if (expr === undefined || (rest.length && !trailingDesc))
      throw new UserError(
        `give one search expression, quoted (got ${positionals.length} arguments); see npm run search -- --help`,
      );
    if (o.csv && o.json) throw new UserError('give --csv or --json, not both');
    const sortText = o.sort?.trim();
    const desc = o.desc || trailingDesc || /\sdesc$/i.test(sortText ?? '');
    const sort = sortText?.replace(/\s+(desc|asc)$/i, '');
    const entries = searchCatalog(openCatalog(o.root), expr, { sort, desc, limit: o.limit });
    if (o.json) process.stdout.write(JSON.stringify(entries, null, 2) + '\n');
    else if (o.csv) process.stdout.write(searchCsv(entries));
    else
      process.stdout.write(
        (entries.length
          ? entries.map((e) => logLine({ ...e, time: '' }).trimEnd()).join('\n')
          : '(no checkpoint matches)') + '\n',
      );
  },
});

/** Refuses an --html FILE whose folder is missing, before any work is done. */
export function requireFolderOf(file: string): void {
  if (!existsSync(dirname(resolve(file))))
    throw new UserError(`--html ${file}: the folder ${dirname(resolve(file))} does not exist`);
}

export const lineageCommand = defineCommand({
  name: 'lineage',
  usage: ['[REF] [options]', '--infer DIR|FILES... [options]'],
  description: `The family tree across the zoos under --root (of REF's family only, when given): every run
as a chain of epochs, the recorded links between zoos (a fork's parent, from its manifest),
tags at their checkpoints, and, kept apart, the links identify --record and lineage --infer
inferred (verdict and p-value; dashed in --dot). --dot writes Graphviz (dot -Tsvg renders
it); --html an offline page where subtrees fold and hovering a run shows its hash, metrics and
link. ${REFERENCES}

With --infer, the family tree of a bag of models with no history, from their weights alone
(docs/provenance.md): the models of the folders, zoos (their runs' last checkpoints) or files
given are grouped into families (models that descend from a common ancestor: every pair is
tested as \`provenance\` tests two, links kept at --alpha false discovery rate) and each
family's tree recovered (every model's parent, or root, each edge with its confidence and
p-value). Hidden units may be permuted or rescaled, weights pruned or float16; models of other
architectures are listed apart. The links are recorded in --root's lineage-inferred.json,
which plain lineage then shows beside the recorded ones (--no-record: only show them).`,
  positionals: true,
  options: {
    root: root(),
    dot: flag({ help: 'Graphviz DOT on stdout' }),
    json: flag({ help: 'nodes and edges as JSON on stdout' }),
    html: text({
      arg: 'FILE',
      help: 'also write an offline interactive page: fold subtrees, hover a run for its hash and metrics',
    }),
    infer: flag({ help: 'infer the family trees of the models given from their weights' }),
    reference: text({
      arg: 'ZOO|DIR',
      help: "--infer: independent models of the bag's architecture (default: the zoos under --root with its tensors, else the bag itself)",
    }),
    alpha: real({ help: '--infer: false discovery rate of the links that join families (default 0.01)' }),
    'no-record': flag({ help: '--infer: show the trees, record nothing' }),
  },
  examples: [
    'npm run lineage -- --dot | dot -Tsvg > lineage.svg',
    'npm run lineage -- --html lineage.html',
    'npm run lineage -- ffnn-default:3 --json',
    'npm run lineage -- --infer downloads/ --html family.html',
  ],
  async run(o, positionals) {
    if (o.dot && o.json) throw new UserError('give --dot or --json, not both');
    if (o.html !== undefined) requireFolderOf(o.html);
    if (o.infer) return inferLineageCli(o, positionals);
    for (const flagged of ['reference', 'alpha'] as const)
      if (o[flagged] !== undefined) throw new UserError(`--${flagged} goes with --infer`);
    if (positionals.length > 1)
      throw new UserError(
        `give at most one reference (got ${positionals.length}); see npm run lineage -- --help`,
      );
    const lineage = zooLineage(openCatalog(o.root), positionals[0]);
    if (o.html !== undefined) {
      writeFileAtomic(o.html, lineageHtml(lineage, `lineage of ${positionals[0] ?? o.root}`));
      process.stderr.write(`wrote ${o.html}\n`);
    }
    if (o.dot) process.stdout.write(lineageDot(lineage));
    else if (o.json) process.stdout.write(JSON.stringify(lineage, null, 2) + '\n');
    else {
      const links = lineage.edges.map((e) =>
        e.kind === 'recorded'
          ? `${e.from}@${e.at} -> ${e.to}  (recorded)`
          : e.method === 'infer'
            ? `${e.from} -> ${e.to}  (${edgeText(e)})`
            : `${e.from}@${Number(e.at.toFixed(2))} -> ${e.to}  (inferred: ${e.verdict}, ${pValueText(e)})`,
      );
      const zoos = [...new Set(lineage.nodes.map((n) => n.zoo).filter((z) => z !== null))];
      process.stdout.write(
        [
          `${lineage.nodes.length} run(s) in ${zoos.length} zoo(s)${zoos.length ? `: ${zoos.join(', ')}` : ''}`,
          ...lineage.nodes.filter((n) => n.tags.length).map((n) => `  ${n.id} tags ${n.tags.join(', ')}`),
          links.length ? `${links.length} link(s):` : 'no links between runs',
          ...links.map((l) => `  ${l}`),
        ].join('\n') + '\n',
      );
    }
  },
});

/** lineage --infer: infers, records (unless --no-record) and writes the trees as asked. */
async function inferLineageCli(
  o: {
    root: string;
    dot: boolean;
    json: boolean;
    html?: string;
    reference?: string;
    alpha?: number;
    'no-record': boolean;
  },
  inputs: string[],
): Promise<void> {
  if (!inputs.length)
    throw new UserError(
      'give the models to --infer: folders, zoos or model files; see npm run lineage -- --help',
    );
  const { catalogOf, inferLineage, inferredAsLineage, recordLineage } =
    await import('../pipeline/provenance.ts');
  const { inferredText, jsonText } = await import('./provenanceText.ts');
  const catalog = catalogOf(o.root);
  const progress = new StepProgress('lineage --infer');
  const result = await inferLineage(catalog, inputs, {
    reference: o.reference,
    alpha: o.alpha,
    onProgress: (stage, done, total) => progress.update(stage, done, total),
  });
  progress.finish();
  if (!o['no-record']) {
    mkdirSync(o.root, { recursive: true });
    const count = recordLineage(catalog, result);
    process.stderr.write(`recorded ${count} inferred link(s) in ${join(o.root, LINEAGE_INFERRED_FILE)}\n`);
  }
  const lineage = inferredAsLineage(result);
  if (o.html !== undefined) {
    writeFileAtomic(o.html, lineageHtml(lineage, `inferred lineage of ${inputs.join(', ')}`));
    process.stderr.write(`wrote ${o.html}\n`);
  }
  if (o.dot) process.stdout.write(lineageDot(lineage));
  else if (o.json) process.stdout.write(jsonText(result));
  else process.stdout.write(inferredText(result));
}
