/**
 * A fitted SVD basis as an Arrow file: one row per component (its right singular vector, a
 * float64 fixed-size list, and its singular value), the fit's options and the column means
 * (PCA) in the schema metadata under `weightspace.svd`. The basis is a value (SvdBasis);
 * reduce/svd.ts's TruncatedSVD gives and takes it.
 */
import { readFileSync } from 'node:fs';
import { Precision, tableFromIPC, type FixedSizeList } from 'apache-arrow';
import { UserError } from '../core/errors.ts';
import { writeFileAtomic } from './atomicWrite.ts';
import {
  columnsToIPC,
  fixedSizeListColumn,
  flattenFixedSizeList,
  nullableFloatColumn,
} from './arrowColumns.ts';
import { isFloatList } from './checkpointFile.ts';

export interface SvdBasis {
  /** The options it was fitted with (TruncatedSVDOptions), components the count. */
  options: { components: number } & Record<string, number | string | boolean>;
  /** k x d, row-major. */
  components: Float64Array;
  singularValues: Float64Array;
  /** Column means subtracted before projecting, or null. */
  mean: Float64Array | null;
  dim: number;
}

export function writeSvdFile(path: string, basis: SvdBasis): void {
  writeFileAtomic(
    path,
    columnsToIPC(
      [
        { name: 'component', data: fixedSizeListColumn(basis.components, basis.dim) },
        { name: 'singular_value', data: nullableFloatColumn(basis.singularValues) },
      ],
      {
        'weightspace.svd': JSON.stringify({
          ...basis.options,
          mean: basis.mean ? Array.from(basis.mean) : null,
        }),
      },
    ),
  );
}

export function readSvdFile(path: string): SvdBasis {
  let table;
  try {
    table = tableFromIPC(readFileSync(path));
  } catch (err) {
    throw new UserError(
      `${path} is not a readable SVD basis (${(err as Error).message}); delete it and run the command that made it again`,
    );
  }
  const meta = table.schema.metadata.get('weightspace.svd');
  const type = table.getChild('component')?.type;
  if (!meta || !type || !isFloatList(type, Precision.DOUBLE))
    throw new UserError(`${path} is not a saved SVD basis`);
  const { mean, ...options } = JSON.parse(meta) as SvdBasis['options'] & { mean: number[] | null };
  const dim = (type as FixedSizeList).listSize;
  return {
    options,
    dim,
    components: flattenFixedSizeList(
      table.getChild('component')!.data,
      dim,
      new Float64Array(table.numRows * dim),
    ),
    singularValues: Float64Array.from(table.getChild('singular_value')!.toArray() as Float64Array),
    mean: mean ? Float64Array.from(mean) : null,
  };
}
