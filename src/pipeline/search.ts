/**
 * `search`: the checkpoints of every zoo under a root that an expression of the search
 * grammar (query.ts, docs/vc.md) selects, from their metadata only (labels, metrics, hashes,
 * tags), sorted and limited.
 */
import { zooRowIndex } from '../core/zoo.ts';
import { zooShape } from '../store/manifest.ts';
import type { Catalog, CatalogZoo } from '../store/catalog.ts';
import { logEntry, type LogEntry } from './history.ts';
import { compileQuery, compileSortKey, type Aggregate, type QueryRow } from './query.ts';

export type SearchEntry = Omit<LogEntry, 'time'>;

export interface SearchOptions {
  /** A field, metric, run tag or aggregate to sort by (default: zoo, then run, then epoch). */
  sort?: string;
  /** Sort descending. */
  desc?: boolean;
  /** At most this many entries. */
  limit?: number;
}

/** The checkpoints `expr` selects, across every zoo of the catalog. */
export function searchCatalog(catalog: Catalog, expr: string, options: SearchOptions = {}): SearchEntry[] {
  const predicate = compileQuery(expr);
  const key = options.sort === undefined ? null : compileSortKey(options.sort);
  const found: { row: QueryRow; entry: () => SearchEntry }[] = [];
  for (const zoo of catalog.zoos) {
    const rows = queryRows(zoo);
    for (const row of rows)
      if (predicate(row)) found.push({ row, entry: () => entryOf(zoo, row.run, row.epoch) });
  }
  if (key) {
    const sign = options.desc ? -1 : 1;
    const value = found.map((f) => key(f.row));
    const order = found.map((_, i) => i);
    // missing values last, whichever the direction; ties keep the catalog's order
    order.sort((a, b) => {
      const [x, y] = [value[a], value[b]];
      const missing = (v: unknown) => v === null || (typeof v === 'number' && Number.isNaN(v));
      if (missing(x) || missing(y)) return Number(missing(x)) - Number(missing(y)) || a - b;
      return (x! < y! ? -sign : x! > y! ? sign : 0) || a - b;
    });
    return order.slice(0, options.limit ?? Infinity).map((i) => found[i].entry());
  }
  return found.slice(0, options.limit ?? Infinity).map((f) => f.entry());
}

function entryOf(zoo: CatalogZoo, run: number, epoch: number): SearchEntry {
  const { time: _time, ...entry } = logEntry(zoo, run, epoch, '');
  return entry;
}

/** Every checkpoint of a zoo as the grammar reads it (rows in the zoo's order). */
function queryRows(zoo: CatalogZoo): QueryRow[] {
  const info = zoo.info();
  const { runs } = zooShape(zoo.manifest);
  const arch = zoo.manifest.architecture.name;
  const tagsBySha = new Map<string, string[]>();
  for (const [name, tag] of Object.entries(zoo.tags()))
    tagsBySha.set(tag.sha256, [...(tagsBySha.get(tag.sha256) ?? []), name]);
  const column = (name: string): ArrayLike<number> | undefined =>
    ({ train_loss: info.trainLoss, test_loss: info.testLoss, test_accuracy: info.testAccuracy })[name] ??
    info.metrics[name];
  const aggregates = new Map<string, Float64Array>();
  const aggregate = (fn: Aggregate, name: string, run: number): number => {
    const id = `${fn}:${name}`;
    let byRun = aggregates.get(id);
    if (!byRun) {
      byRun = new Float64Array(runs).fill(NaN);
      const values = column(name);
      if (values)
        for (let r = 0; r < runs; r++) {
          const own = Array.from(
            { length: zoo.manifest.epochsCompleted + 1 },
            (_, e) => values[e * runs + r],
          ).filter((v) => Number.isFinite(v));
          if (own.length)
            byRun[r] =
              fn === 'last' ? own[own.length - 1] : fn === 'min' ? Math.min(...own) : Math.max(...own);
        }
      aggregates.set(id, byRun);
    }
    return byRun[run];
  };
  const runInfo = zoo.manifest.origin?.runInfo;
  // run by run, epochs in order: the order search lists them in
  const order = Array.from({ length: info.n }, (_, j) =>
    zooRowIndex(runs, Math.floor(j / (info.epochs + 1)), j % (info.epochs + 1)),
  );
  return order.map((i): QueryRow => ({
    zoo: zoo.name,
    arch,
    run: info.run[i],
    epoch: info.epoch[i],
    step: info.step[i],
    sha: info.sha256[i],
    parent: info.parentSha256[i],
    tag: tagsBySha.get(info.sha256[i]) ?? [],
    metric: (name) => column(name)?.[i] ?? NaN,
    runTag: (key) => runInfo?.[info.run[i]]?.tags?.[key],
    aggregate: (fn, name) => aggregate(fn, name, info.run[i]),
  }));
}
