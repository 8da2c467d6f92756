/** Small helpers to build Arrow tables column by column with zero-copy typed arrays. */
import { isAscii } from 'node:buffer';
import {
  Field,
  FixedSizeList,
  Float32,
  Float64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableToIPC,
  type Data,
  type DataType,
} from 'apache-arrow';

export interface Column {
  name: string;
  data: Data<DataType>;
  nullable?: boolean;
}

/** Arrow IPC *file* bytes of one record batch holding `columns`, with schema metadata. */
export function columnsToIPC(columns: Column[], metadata: Record<string, string> = {}): Uint8Array {
  const fields = columns.map((c) => new Field(c.name, c.data.type, c.nullable ?? false));
  const schema = new Schema(fields, new Map(Object.entries(metadata)));
  const length = columns[0]?.data.length ?? 0;
  const struct = makeData({ type: new Struct(fields), length, children: columns.map((c) => c.data) });
  return tableToIPC(new Table(schema, new RecordBatch(schema, struct)), 'file');
}

/** fixed_size_list<float32|float64>[size] over `values` (rows * size, row-major). */
export function fixedSizeListColumn(values: Float32Array | Float64Array, size: number): Data<FixedSizeList> {
  const child: Data<Float32 | Float64> =
    values instanceof Float32Array
      ? makeData({ type: new Float32(), length: values.length, data: values })
      : makeData({ type: new Float64(), length: values.length, data: values });
  const type = new FixedSizeList<Float32 | Float64>(size, new Field('item', child.type, false));
  return makeData({ type, length: values.length / size, child });
}

/** float64 column in which NaN is stored as null. */
export function nullableFloatColumn(values: Float64Array): Data<Float64> {
  let nullCount = 0;
  const bitmap = new Uint8Array(Math.ceil(values.length / 8));
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) nullCount++;
    else bitmap[i >> 3] |= 1 << (i & 7);
  }
  return makeData({
    type: new Float64(),
    length: values.length,
    data: values,
    nullCount,
    nullBitmap: nullCount ? bitmap : null,
  });
}

/** Copies a fixed_size_list column (all chunks) into one flat typed array. */
export function flattenFixedSizeList<T extends Float32Array | Float64Array>(
  chunks: readonly Data[],
  size: number,
  out: T,
): T {
  let at = 0;
  for (const chunk of chunks) {
    const child = chunk.children[0];
    const start = child.offset + chunk.offset * size;
    out.set((child.values as T).subarray(start, start + chunk.length * size), at);
    at += chunk.length * size;
  }
  return out;
}

/** A float64 column (all chunks) as one array, null read as NaN (the inverse of nullableFloatColumn). */
export function floatColumnValues(chunks: readonly Data[], n: number): Float64Array {
  const out = new Float64Array(n);
  let at = 0;
  for (const chunk of chunks) {
    out.set((chunk.values as Float64Array).subarray(chunk.offset, chunk.offset + chunk.length), at);
    const bitmap = chunk.nullBitmap;
    if (chunk.nullCount > 0 && bitmap)
      for (let i = 0; i < chunk.length; i++) {
        const bit = chunk.offset + i;
        if (!(bitmap[bit >> 3] & (1 << (bit & 7)))) out[at + i] = NaN;
      }
    at += chunk.length;
  }
  return out;
}

/**
 * A utf8 column (all chunks) as strings, null as null. ASCII values (hashes, names) are cut
 * from one decoded string of the chunk's bytes, which is far cheaper than a decode per value.
 */
export function stringColumnValues(chunks: readonly Data[], n: number): (string | null)[] {
  const out = new Array<string | null>(n);
  let at = 0;
  for (const chunk of chunks) {
    const offsets = chunk.valueOffsets as Int32Array;
    const bytes = chunk.values as Uint8Array;
    const first = offsets[chunk.offset];
    const last = offsets[chunk.offset + chunk.length];
    const span = bytes.subarray(first, last);
    const ascii = isAscii(span);
    const text = ascii ? Buffer.from(span.buffer, span.byteOffset, span.byteLength).toString('latin1') : '';
    const decoder = new TextDecoder();
    const bitmap = chunk.nullCount > 0 ? chunk.nullBitmap : null;
    for (let i = 0; i < chunk.length; i++) {
      const bit = chunk.offset + i;
      if (bitmap && !(bitmap[bit >> 3] & (1 << (bit & 7)))) {
        out[at + i] = null;
        continue;
      }
      const [s, e] = [offsets[bit], offsets[bit + 1]];
      out[at + i] = ascii ? text.slice(s - first, e - first) : decoder.decode(bytes.subarray(s, e));
    }
    at += chunk.length;
  }
  return out;
}
