import { createHash } from 'node:crypto';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** SHA-256 (hex) of float32 weights as little-endian bytes, whatever this machine's byte order. */
export function weightsSha256(weights: Float32Array): string {
  let bytes = new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength);
  if (!LITTLE_ENDIAN) {
    const le = new Uint8Array(bytes.length);
    const view = new DataView(le.buffer);
    for (let i = 0; i < weights.length; i++) view.setFloat32(4 * i, weights[i], true);
    bytes = le;
  }
  return createHash('sha256').update(bytes).digest('hex');
}
