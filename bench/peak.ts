/**
 * The machine's float64 SIMD peak as WebAssembly reaches it, for the training bench's
 * fraction of peak: a loop of independent f64x2 multiply-adds (8 accumulators, so nothing waits
 * on a previous result; WebAssembly has no fused multiply-add), one thread. Assembled here with
 * wabt (a dev dependency), since only the bench needs it.
 */
import wabtInit from 'wabt';

const ACCUMULATORS = 8;

const WAT = `(module
  (func (export "spin") (param $n i32) (result f64)
    (local $m v128) (local $c v128) ${Array.from({ length: ACCUMULATORS }, (_, i) => `(local $a${i} v128)`).join(' ')}
    (local.set $m (f64x2.splat (f64.const 0.999999)))
    (local.set $c (f64x2.splat (f64.const 0.000001)))
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      ${Array.from({ length: ACCUMULATORS }, (_, i) => `(local.set $a${i} (f64x2.add (f64x2.mul (local.get $a${i}) (local.get $m)) (local.get $c)))`).join('\n      ')}
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))
    (f64x2.extract_lane 0 (f64x2.add ${Array.from(
      { length: ACCUMULATORS },
      (_, i) => `(local.get $a${i})`,
    ).reduce((acc, a) => `(f64x2.add ${acc} ${a})`)} (local.get $c)))))`;

/** Float64 FLOP/s of one thread: best of 5 runs of the loop (mul and add count one FLOP per lane each). */
export async function float64SimdPeak(): Promise<number> {
  const wabt = await wabtInit();
  const module = wabt.parseWat('peak.wat', WAT, { simd: true });
  const { instance } = await WebAssembly.instantiate(module.toBinary({}).buffer);
  const spin = instance.exports.spin as (n: number) => number;
  const iterations = 20_000_000;
  spin(1000);
  let best = 0;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    spin(iterations);
    best = Math.max(best, (iterations * ACCUMULATORS * 2 * 2) / ((performance.now() - t) / 1000));
  }
  return best;
}
