/**
 * The one shape in which a matrix crosses a module boundary: row-major values with their
 * row and column counts, float32 (weights) or float64 (coordinates, factors).
 */
export interface Matrix<T extends Float32Array | Float64Array = Float32Array | Float64Array> {
  readonly data: T;
  readonly rows: number;
  readonly cols: number;
}

/** A matrix over `data` (not a copy); its length must be rows x cols. */
export function matrix<T extends Float32Array | Float64Array>(
  data: T,
  rows: number,
  cols: number,
): Matrix<T> {
  if (data.length !== rows * cols)
    throw new RangeError(`a ${rows} x ${cols} matrix needs ${rows * cols} values, got ${data.length}`);
  return { data, rows, cols };
}
