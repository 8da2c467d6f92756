/**
 * The machine's SIMD peak as WebAssembly reaches it, for the training bench's fraction of
 * peak: a loop of independent multiply-adds in f64x2 or f32x4 (8 accumulators, so nothing waits
 * on a previous result; WebAssembly has no fused multiply-add), one thread. Assembled here with
 * wabt (a dev dependency), since only the bench needs it.
 */
import wabtInit from 'wabt';

const ACCUMULATORS = 8;

/** The SIMD shape of a kernel's arithmetic: two float64 or four float32 lanes. */
export type SimdShape = 'f64x2' | 'f32x4';

function wat(shape: SimdShape): string {
  const scalar = shape === 'f64x2' ? 'f64' : 'f32';
  const accumulators = Array.from({ length: ACCUMULATORS }, (_, i) => `$a${i}`);
  const sum = accumulators.map((a) => `(local.get ${a})`).reduce((acc, a) => `(${shape}.add ${acc} ${a})`);
  return `(module
  (func (export "spin") (param $n i32) (result ${scalar})
    (local $m v128) (local $c v128) ${accumulators.map((a) => `(local ${a} v128)`).join(' ')}
    (local.set $m (${shape}.splat (${scalar}.const 0.999999)))
    (local.set $c (${shape}.splat (${scalar}.const 0.000001)))
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      ${accumulators.map((a) => `(local.set ${a} (${shape}.add (${shape}.mul (local.get ${a}) (local.get $m)) (local.get $c)))`).join('\n      ')}
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))
    (${shape}.extract_lane 0 (${shape}.add ${sum} (local.get $c)))))`;
}

/** FLOP/s of one thread in `shape`: best of 5 runs of the loop (mul and add count one FLOP per lane each). */
export async function simdPeak(shape: SimdShape): Promise<number> {
  const wabt = await wabtInit();
  const module = wabt.parseWat('peak.wat', wat(shape), { simd: true });
  const { instance } = await WebAssembly.instantiate(module.toBinary({}).buffer);
  const spin = instance.exports.spin as (n: number) => number;
  const lanes = shape === 'f64x2' ? 2 : 4;
  const iterations = 20_000_000;
  spin(1000);
  let best = 0;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    spin(iterations);
    best = Math.max(best, (iterations * ACCUMULATORS * 2 * lanes) / ((performance.now() - t) / 1000));
  }
  return best;
}
