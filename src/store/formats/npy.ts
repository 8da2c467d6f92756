/**
 * NumPy .npy (format 1.0) for float64 matrices, so Python users can `np.load` a linkage.
 * Layout: magic "\x93NUMPY", version 1.0, header length (uint16 LE), a Python-dict header
 * padded with spaces to a multiple of 64 bytes ending in "\n", then little-endian data.
 */
import { readFileSync } from 'node:fs';
import { UserError } from '../../core/errors.ts';
import { writeFileAtomic } from '../atomicWrite.ts';

export function npyBytes(data: Float64Array, shape: number[]): Uint8Array {
  if (shape.reduce((a, b) => a * b, 1) !== data.length)
    throw new RangeError(`shape ${shape} does not match ${data.length} values`);
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

/** A .npy file that is not the float64 C-order matrix expected. */
export class NpyError extends UserError {}

/**
 * Reads a .npy file of little-endian float64 or float32 in C order (what writeNpy writes;
 * NumPy's `np.save` of such an array too), format 1.0 or 2.0, checking every field of the header.
 */
export function readNpy(path: string): { data: Float64Array; shape: number[] } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new NpyError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  const fail = (why: string): never => {
    throw new NpyError(`${path} is not a float .npy array: ${why}`);
  };
  if (bytes.length < 10 || bytes[0] !== 0x93 || bytes.toString('latin1', 1, 6) !== 'NUMPY')
    fail('no NumPy magic string');
  const major = bytes[6];
  if (major !== 1 && major !== 2) fail(`format version ${major}.${bytes[7]} (1.0 and 2.0 are read)`);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) fail('truncated header');
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const dataStart = 8 + lengthBytes + headerLength;
  if (dataStart > bytes.length) fail(`header length ${headerLength} runs past the end of the file`);
  const header = bytes.toString('latin1', 8 + lengthBytes, dataStart);
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr !== '<f8' && descr !== '<f4')
    fail(`dtype '${descr ?? 'missing'}' (expected '<f8' or '<f4', little-endian float64 or float32)`);
  const width = descr === '<f8' ? 8 : 4;
  if (fortran !== 'False')
    fail(fortran ? 'Fortran order (expected C order)' : 'no fortran_order in the header');
  if (shapeText === undefined) fail('no shape in the header');
  const shape = shapeText!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) fail(`shape (${shapeText}) is not a tuple of sizes`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.length - dataStart !== width * count)
    fail(`${bytes.length - dataStart} data bytes for shape (${shape.join(', ')}), expected ${width * count}`);
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++)
    data[i] = width === 8 ? bytes.readDoubleLE(dataStart + 8 * i) : bytes.readFloatLE(dataStart + 4 * i);
  return { data, shape };
}
