/**
 * Which files of a source folder are checkpoints, and which run and epoch (or step) each one
 * is: from a layout pattern (`{run}/epoch_{epoch}.safetensors`), from a listing (CSV or
 * JSON: path, run, epoch[, step]), or from the first of the common layouts that fits every
 * file. The zoo's epoch e of a run is its e-th checkpoint in order of the source's epoch (or
 * step) numbers, so every run must have the same number of checkpoints.
 */
import { PICKLE, PICKLE_ADVICE } from './formats/pickle.ts';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import { option, UserError } from '../core/errors.ts';

/** One checkpoint file of a source. */
export interface SourceEntry {
  /** Path relative to the source folder (listings: as listed). */
  path: string;
  /** The run's name in the source. */
  runLabel: string;
  /** The source's epoch number, or its step when the layout names steps. */
  order: number;
  step: number | null;
  /** Numeric metrics a listing gives (its columns beyond path, run, epoch, step). */
  metrics?: Record<string, number>;
  /** A JSON listing's run tags (`tags`: an object of strings) and parent reference (`parent`). */
  tags?: Record<string, string>;
  parent?: string;
}

export interface SourcePlan {
  /** The source folder (a listing's files are relative to its folder). */
  root: string;
  /** safetensors files, or TensorFlow.js model.json folders. */
  format: 'safetensors' | 'tfjs';
  /** The layout used: the pattern given, 'listing', or the auto-detected one. */
  layout: string;
  /** Run labels in run-id order (natural order: run-2 before run-10). */
  runLabels: string[];
  /** entries[run][epoch]. */
  entries: SourceEntry[][];
}

export class ImportError extends UserError {}

/** The layouts auto-detection tries, in order; the first that fits every checkpoint file wins. */
export const COMMON_LAYOUTS: readonly string[] = [
  '{run}/checkpoint-{step}/model.safetensors', // Hugging Face Trainer output folders
  '{run}/epoch_{epoch}.safetensors',
  '{run}/epoch-{epoch}.safetensors',
  '{run}/epoch{epoch}.safetensors',
  '{run}/step_{step}.safetensors',
  '{run}/step-{step}.safetensors',
  '{run}/step{step}.safetensors',
  '{run}/{epoch}.safetensors',
  'seed{run}_epoch{epoch}.safetensors',
  'seed{run}_step{step}.safetensors',
  'run{run}_epoch{epoch}.safetensors',
  'run{run}_step{step}.safetensors',
  'run-{run}_epoch-{epoch}.safetensors',
  'run-{run}_step-{step}.safetensors',
  '{run}_epoch{epoch}.safetensors',
  '{run}_step{step}.safetensors',
];

/** The checkpoint files of `source` (a folder, or a .csv/.json listing) and their runs and epochs. */
export function planSource(source: string, layout?: string): SourcePlan {
  if (!existsSync(source))
    throw new ImportError(`${source} does not exist; give a folder of checkpoints or a listing`);
  if (statSync(source).isFile()) {
    if (/\.(csv|json)$/i.test(source)) return planListing(source);
    if (PICKLE.test(source)) throw new ImportError(`${source} is a PyTorch pickle. ${PICKLE_ADVICE}`);
    throw new ImportError(
      `${source} is a file; give the folder that holds the checkpoints, or a .csv/.json listing`,
    );
  }
  const files = walk(source).sort();
  let models = files.filter((f) => f.endsWith('.safetensors'));
  // TensorFlow.js models: each model.json's folder is matched as if it were a file (run-3/epoch-07/model.json is run-3/epoch-07)
  const tfjs = !models.length && files.some((f) => f.endsWith('model.json'));
  if (tfjs)
    models = files
      .filter((f) => f.endsWith('model.json'))
      .map((f) => f.replace(/\/?model\.json$/, '') + '.safetensors');
  const asFile = (p: string) => (tfjs ? p.replace(/\.safetensors$/, '/model.json') : p);
  const done = (layout: string, entries: SourceEntry[]) =>
    arrange(
      source,
      tfjs ? 'tfjs' : 'safetensors',
      tfjs ? layout.replace(/\.safetensors$/, '') : layout,
      entries.map((e) => ({ ...e, path: asFile(e.path) })),
    );
  if (!models.length) {
    const pickle = files.find((f) => PICKLE.test(f));
    if (pickle)
      throw new ImportError(
        `${join(source, pickle)} is a PyTorch pickle and the folder has no .safetensors files. ${PICKLE_ADVICE}`,
      );
    throw new ImportError(`no .safetensors files under ${source}`);
  }
  if (layout) {
    if (tfjs && !layout.endsWith('.safetensors'))
      layout = layout.replace(/\/model\.json$/, '') + '.safetensors';
    const entries = matchLayout(layout, models);
    const unmatched = models.filter((_, i) => !entries[i]);
    if (unmatched.length === models.length)
      throw new ImportError(
        `${option('layout')} '${layout}' matches none of the ${models.length} .safetensors files under ${source} (e.g. ${models[0]})`,
      );
    if (unmatched.length)
      throw new ImportError(
        `${option('layout')} '${layout}' does not match ${unmatched.length} of the files under ${source}, e.g. ${unmatched[0]}`,
      );
    return done(layout, entries as SourceEntry[]);
  }
  for (const candidate of COMMON_LAYOUTS) {
    const entries = matchLayout(candidate, models);
    if (entries.every(Boolean)) return done(candidate, entries as SourceEntry[]);
  }
  throw new ImportError(
    `cannot tell the run and epoch of the files under ${source} (e.g. ${models[0]}); give ${option('layout')}, e.g. '{run}/epoch_{epoch}.safetensors', or a listing (path,run,epoch)`,
  );
}

/** A layout pattern as a regular expression over relative paths: {run} a name, {epoch} or {step} a number, * any text within a name. */
export function layoutRegex(layout: string): { regex: RegExp; counter: 'epoch' | 'step' } {
  const runs = layout.split('{run}').length - 1;
  const epochs = layout.split('{epoch}').length - 1;
  const steps = layout.split('{step}').length - 1;
  if (runs !== 1 || epochs + steps !== 1)
    throw new ImportError(
      `${option('layout')} '${layout}' must name {run} once and one of {epoch} or {step} once`,
    );
  const source = layout
    .split(/(\{run\}|\{epoch\}|\{step\}|\*)/)
    .map((part) => {
      if (part === '{run}') return '(?<run>[^/]+?)';
      if (part === '{epoch}' || part === '{step}') return '(?<n>\\d+)';
      if (part === '*') return '[^/]*';
      return part.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return { regex: new RegExp(`^${source}$`), counter: epochs ? 'epoch' : 'step' };
}

function matchLayout(layout: string, files: string[]): (SourceEntry | null)[] {
  const { regex, counter } = layoutRegex(layout);
  return files.map((path) => {
    const m = regex.exec(path);
    if (!m?.groups) return null;
    const n = Number(m.groups.n);
    return { path, runLabel: m.groups.run, order: n, step: counter === 'step' ? n : null };
  });
}

/** Groups entries by run (natural order of labels) and orders each run's checkpoints; every run must have as many. */
function arrange(
  root: string,
  format: SourcePlan['format'],
  layout: string,
  entries: SourceEntry[],
): SourcePlan {
  const byRun = new Map<string, SourceEntry[]>();
  for (const e of entries) byRun.set(e.runLabel, [...(byRun.get(e.runLabel) ?? []), e]);
  const runLabels = [...byRun.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const ordered = runLabels.map((label) => {
    const list = byRun.get(label)!.sort((a, b) => a.order - b.order);
    const twice = list.find((e, i) => i > 0 && e.order === list[i - 1].order);
    if (twice)
      throw new ImportError(
        `run ${label} has two checkpoints numbered ${twice.order}: ${list
          .filter((e) => e.order === twice.order)
          .map((e) => e.path)
          .join(' and ')}`,
      );
    return list;
  });
  // the runs whose count differs from the most common one are the odd ones out
  const counts = ordered.map((l) => l.length);
  const tally = new Map<number, number>();
  for (const c of counts) tally.set(c, (tally.get(c) ?? 0) + 1);
  const usual = [...tally].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0][0];
  const odd = runLabels.filter((_, r) => counts[r] !== usual);
  if (odd.length) {
    const named = odd.slice(0, 3).map((l) => `${l} has ${byRun.get(l)!.length}`);
    throw new ImportError(
      `runs need the same number of checkpoints: ${named.join(', ')}${odd.length > 3 ? ', ...' : ''}; the others have ${usual}`,
    );
  }
  return { root, format, layout, runLabels, entries: ordered };
}

/** A listing: CSV with a header row or a JSON array of objects, with path, run, epoch and optionally step. */
function planListing(listing: string): SourcePlan {
  const text = readFileSync(listing, 'utf8');
  let rows: Record<string, unknown>[];
  if (/\.json$/i.test(listing)) {
    try {
      rows = JSON.parse(text);
    } catch (err) {
      throw new ImportError(`${listing} is not JSON (${(err as Error).message})`);
    }
    if (!Array.isArray(rows))
      throw new ImportError(`${listing} must be a JSON array of {path, run, epoch[, step]} objects`);
  } else {
    const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
    const header = (lines.shift() ?? '').split(',').map((h) => h.trim());
    rows = lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [header[i], v.trim()])));
  }
  const root = resolve(listing, '..');
  const entries = rows.map((row, i): SourceEntry => {
    const where = `${listing} entry ${i + 1}`;
    const path = String(row.path ?? '');
    if (!path) throw new ImportError(`${where} has no path`);
    if (row.run === undefined || row.run === '') throw new ImportError(`${where} has no run`);
    const epoch = Number(row.epoch);
    const step = row.step === undefined || row.step === '' ? null : Number(row.step);
    if (!Number.isInteger(epoch) || epoch < 0)
      throw new ImportError(`${where}: epoch '${row.epoch}' is not a non-negative integer`);
    if (step !== null && !Number.isInteger(step))
      throw new ImportError(`${where}: step '${row.step}' is not an integer`);
    const full = isAbsolute(path) ? path : join(root, path);
    if (!existsSync(full)) throw new ImportError(`${where}: ${full} does not exist`);
    if (PICKLE.test(path)) throw new ImportError(`${where}: ${path} is a PyTorch pickle. ${PICKLE_ADVICE}`);
    if (extname(path) !== '.safetensors')
      throw new ImportError(`${where}: ${path} is not a .safetensors file`);
    const metrics = Object.fromEntries(
      Object.entries(row)
        .filter(
          ([k, v]) =>
            !['path', 'run', 'epoch', 'step', 'tags', 'parent'].includes(k) &&
            v !== '' &&
            v !== null &&
            Number.isFinite(Number(v)),
        )
        .map(([k, v]) => [k, Number(v)]),
    );
    const tags = row.tags;
    if (
      tags !== undefined &&
      (typeof tags !== 'object' || tags === null || Object.values(tags).some((v) => typeof v !== 'string'))
    )
      throw new ImportError(`${where}: tags must be an object of strings, e.g. {"lr": "0.03"}`);
    if (row.parent !== undefined && typeof row.parent !== 'string')
      throw new ImportError(`${where}: parent must be a checkpoint reference (a string, docs/vc.md)`);
    return {
      path: isAbsolute(path) ? relative(root, path) : path,
      runLabel: String(row.run),
      order: epoch,
      step,
      ...(Object.keys(metrics).length && { metrics }),
      ...(tags !== undefined && { tags: tags as Record<string, string> }),
      ...(typeof row.parent === 'string' && { parent: row.parent }),
    };
  });
  if (!entries.length) throw new ImportError(`${listing} lists no checkpoints`);
  return arrange(root, 'safetensors', 'listing', entries);
}

function walk(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((d) => {
    const rel = prefix ? `${prefix}/${d.name}` : d.name;
    return d.isDirectory() ? walk(dir, rel) : d.isFile() ? [rel] : [];
  });
}
