/**
 * `search`: the checkpoints of every zoo under a root that an expression of the search
 * grammar (query.ts, docs/vc.md) selects, from their metadata only (labels, metrics, hashes,
 * tags), sorted and limited.
 */
import { zooRowIndex } from '../core/zoo.ts';
import { zooShape } from '../store/manifest.ts';
import type { Catalog, CatalogZoo } from '../store/catalog.ts';
import type { ZooInfo } from '../store/loadZoo.ts';
import { checkpointEntry, tagsAt, type LogEntry } from './history.ts';
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
  // one view walks each zoo's rows; only the matches keep a view of their own
  const found: RowView[] = [];
  for (const zoo of catalog.zoos) {
    const z = new ZooColumns(zoo);
    const cursor = new RowView(z, 0);
    // run by run, epochs in order: the order search lists them in
    for (let r = 0; r < z.runs; r++)
      for (let e = 0; e <= z.info.epochs; e++) {
        cursor.i = zooRowIndex(z.runs, r, e);
        if (!predicate(cursor)) continue;
        found.push(new RowView(z, cursor.i));
      }
  }
  if (key) {
    const sign = options.desc ? -1 : 1;
    const value = found.map((row) => key(row));
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
  return found.slice(0, options.limit ?? Infinity).map((row) => row.entry());
}

/** What every row of one zoo reads: its labels, metric columns by name, run tags, run aggregates. */
class ZooColumns {
  readonly info: ZooInfo;
  readonly runs: number;
  readonly arch: string;
  readonly columns: Map<string, ArrayLike<number>>;
  /** Each run's tags (from the manifest). */
  readonly runTags: (Record<string, string> | undefined)[];
  private readonly aggregates: Record<Aggregate, Map<string, Float64Array>> = {
    last: new Map(),
    min: new Map(),
    max: new Map(),
  };

  constructor(readonly zoo: CatalogZoo) {
    this.info = zoo.info();
    this.runs = zooShape(zoo.manifest).runs;
    this.arch = zoo.manifest.architecture.name;
    const runInfo = zoo.manifest.origin?.runInfo;
    this.runTags = Array.from({ length: this.runs }, (_, r) => runInfo?.[r]?.tags);
    const { trainLoss, testLoss, testAccuracy, metrics } = this.info;
    this.columns = new Map<string, ArrayLike<number>>([
      ...Object.entries(metrics),
      ['train_loss', trainLoss],
      ['test_loss', testLoss],
      ['test_accuracy', testAccuracy],
    ]);
  }

  /** A metric's last, smallest or largest finite value over each run (NaN: none), computed once per zoo. */
  aggregate(fn: Aggregate, name: string, run: number): number {
    let byRun = this.aggregates[fn].get(name);
    if (!byRun) {
      byRun = new Float64Array(this.runs).fill(NaN);
      const values = this.columns.get(name);
      if (values)
        for (let r = 0; r < this.runs; r++)
          for (let e = 0; e <= this.info.epochs; e++) {
            const v = values[e * this.runs + r];
            if (!Number.isFinite(v)) continue;
            const old = byRun[r];
            byRun[r] =
              Number.isNaN(old) || fn === 'last' ? v : fn === 'min' ? Math.min(old, v) : Math.max(old, v);
          }
      this.aggregates[fn].set(name, byRun);
    }
    return byRun[run];
  }
}

/** One checkpoint as the grammar reads it: a view of row i of its zoo's columns. */
class RowView implements QueryRow {
  constructor(
    private readonly z: ZooColumns,
    /** The zoo row it shows (search's cursor moves it). */
    public i: number,
  ) {}
  get zoo() {
    return this.z.zoo.name;
  }
  get arch() {
    return this.z.arch;
  }
  get run() {
    return this.z.info.run[this.i];
  }
  get epoch() {
    return this.z.info.epoch[this.i];
  }
  get step() {
    return this.z.info.step[this.i];
  }
  get sha() {
    return this.z.info.sha256[this.i];
  }
  get parent() {
    return this.z.info.parentSha256[this.i];
  }
  get tag() {
    return tagsAt(this.z.zoo, this.sha);
  }
  metric(name: string): number {
    return this.z.columns.get(name)?.[this.i] ?? NaN;
  }
  runTag(key: string): string | undefined {
    return this.z.runTags[this.run]?.[key];
  }
  aggregate(fn: Aggregate, name: string): number {
    return this.z.aggregate(fn, name, this.run);
  }
  /** The checkpoint as search lists it. */
  entry(): SearchEntry {
    return checkpointEntry(this.z.zoo, this.run, this.epoch);
  }
}
