/**
 * NumPy .npy (format 1.0) for float64 matrices, so Python users can `np.load` a linkage.
 * Layout: magic "\x93NUMPY", version 1.0, header length (uint16 LE), a Python-dict header
 * padded with spaces to a multiple of 64 bytes ending in "\n", then little-endian data.
 */
import { writeFileAtomic } from './atomicWrite.ts';

export function npyBytes(data: Float64Array, shape: number[]): Uint8Array {
  if (shape.reduce((a, b) => a * b, 1) !== data.length) throw new RangeError(`shape ${shape} does not match ${data.length} values`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.length * 8);
  out.set([0x93, ...Buffer.from('NUMPY'), 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  const view = new DataView(out.buffer, 10 + header.length);
  for (let i = 0; i < data.length; i++) view.setFloat64(8 * i, data[i], true);
  return out;
}

export function writeNpy(path: string, data: Float64Array, shape: number[]): void {
  writeFileAtomic(path, npyBytes(data, shape));
}
