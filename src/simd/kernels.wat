;; SIMD kernels: the tall-skinny products of the randomized SVD (f32x4), its CholeskyQR
;; (f64x2), the Prim step and candidate-tree check of exact single linkage (f64x2, with
;; an f32x4 filter for float32 input), SGD steps of the FFNN (f64x2), and an epoch of UMAP's
;; layout optimisation (scalar).
;; Assembled by `npm run build:wasm` into kernels.wasm.ts; test/wasm.test.ts checks that the
;; committed bytes match this source. All matrices are row-major float32 whose rows are
;; padded to a multiple of 4 floats (rowBytes = 16 * k); callers pad counts as noted.
(module
  ;; shared, so a helper thread can take half of a kernel's work (helperThread.ts)
  (import "env" "memory" (memory 1 65536 shared))

  ;; Y (n x l) = X (n x d4) * B, with B given transposed: BT (l x d4). n even, l multiple of 4.
  ;; Rows go in blocks of 64 and columns in tiles of 16 KB, so a tile of BT stays in cache while
  ;; a block of rows passes over it (a wide X would otherwise read all of BT for every two rows).
  ;; acc (64 x l x 16 bytes) keeps each entry's four lane sums from tile to tile, so every sum
  ;; is added in the same order as in one sweep over the row.
  (func (export "xbt") (param $x i32) (param $n i32) (param $rowBytes i32) (param $bt i32) (param $l i32) (param $y i32) (param $acc i32)
    (local $i0 i32) (local $i1 i32) (local $j0 i32) (local $j1 i32) (local $i i32) (local $c i32) (local $j i32)
    (local $x0 i32) (local $x1 i32) (local $b0 i32) (local $b1 i32) (local $b2 i32) (local $b3 i32) (local $ao i32) (local $ao1 i32)
    (local $v0 v128) (local $v1 v128) (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128)
    (local $a00 v128) (local $a01 v128) (local $a02 v128) (local $a03 v128)
    (local $a10 v128) (local $a11 v128) (local $a12 v128) (local $a13 v128)
    (block $blocksDone (loop $blocks
      (br_if $blocksDone (i32.ge_u (local.get $i0) (local.get $n)))
      (local.set $i1 (select (local.get $n) (i32.add (local.get $i0) (i32.const 64))
        (i32.lt_u (local.get $n) (i32.add (local.get $i0) (i32.const 64)))))
      (local.set $j0 (i32.const 0))
      (block $tilesDone (loop $tiles
        (br_if $tilesDone (i32.ge_u (local.get $j0) (local.get $rowBytes)))
        (local.set $j1 (select (local.get $rowBytes) (i32.add (local.get $j0) (i32.const 16384))
          (i32.lt_u (local.get $rowBytes) (i32.add (local.get $j0) (i32.const 16384)))))
        (local.set $i (local.get $i0))
        (block $rowsDone (loop $rows
          (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $i1)))
          (local.set $x0 (i32.add (local.get $x) (i32.mul (local.get $i) (local.get $rowBytes))))
          (local.set $x1 (i32.add (local.get $x0) (local.get $rowBytes)))
          (local.set $c (i32.const 0))
          (block $colsDone (loop $cols
            (br_if $colsDone (i32.ge_u (local.get $c) (local.get $l)))
            (local.set $b0 (i32.add (local.get $bt) (i32.mul (local.get $c) (local.get $rowBytes))))
            (local.set $b1 (i32.add (local.get $b0) (local.get $rowBytes)))
            (local.set $b2 (i32.add (local.get $b1) (local.get $rowBytes)))
            (local.set $b3 (i32.add (local.get $b2) (local.get $rowBytes)))
            (local.set $ao (i32.add (local.get $acc)
              (i32.shl (i32.add (i32.mul (i32.sub (local.get $i) (local.get $i0)) (local.get $l)) (local.get $c)) (i32.const 4))))
            (local.set $ao1 (i32.add (local.get $ao) (i32.shl (local.get $l) (i32.const 4))))
            (if (i32.eqz (local.get $j0))
              (then
                (local.set $a00 (v128.const i32x4 0 0 0 0)) (local.set $a01 (v128.const i32x4 0 0 0 0))
                (local.set $a02 (v128.const i32x4 0 0 0 0)) (local.set $a03 (v128.const i32x4 0 0 0 0))
                (local.set $a10 (v128.const i32x4 0 0 0 0)) (local.set $a11 (v128.const i32x4 0 0 0 0))
                (local.set $a12 (v128.const i32x4 0 0 0 0)) (local.set $a13 (v128.const i32x4 0 0 0 0)))
              (else
                (local.set $a00 (v128.load offset=0 (local.get $ao))) (local.set $a01 (v128.load offset=16 (local.get $ao)))
                (local.set $a02 (v128.load offset=32 (local.get $ao))) (local.set $a03 (v128.load offset=48 (local.get $ao)))
                (local.set $a10 (v128.load offset=0 (local.get $ao1))) (local.set $a11 (v128.load offset=16 (local.get $ao1)))
                (local.set $a12 (v128.load offset=32 (local.get $ao1))) (local.set $a13 (v128.load offset=48 (local.get $ao1)))))
            (local.set $j (local.get $j0))
            (block $dotDone (loop $dot
              (br_if $dotDone (i32.ge_u (local.get $j) (local.get $j1)))
              (local.set $v0 (v128.load (i32.add (local.get $x0) (local.get $j))))
              (local.set $v1 (v128.load (i32.add (local.get $x1) (local.get $j))))
              (local.set $w0 (v128.load (i32.add (local.get $b0) (local.get $j))))
              (local.set $w1 (v128.load (i32.add (local.get $b1) (local.get $j))))
              (local.set $w2 (v128.load (i32.add (local.get $b2) (local.get $j))))
              (local.set $w3 (v128.load (i32.add (local.get $b3) (local.get $j))))
              (local.set $a00 (f32x4.add (local.get $a00) (f32x4.mul (local.get $v0) (local.get $w0))))
              (local.set $a01 (f32x4.add (local.get $a01) (f32x4.mul (local.get $v0) (local.get $w1))))
              (local.set $a02 (f32x4.add (local.get $a02) (f32x4.mul (local.get $v0) (local.get $w2))))
              (local.set $a03 (f32x4.add (local.get $a03) (f32x4.mul (local.get $v0) (local.get $w3))))
              (local.set $a10 (f32x4.add (local.get $a10) (f32x4.mul (local.get $v1) (local.get $w0))))
              (local.set $a11 (f32x4.add (local.get $a11) (f32x4.mul (local.get $v1) (local.get $w1))))
              (local.set $a12 (f32x4.add (local.get $a12) (f32x4.mul (local.get $v1) (local.get $w2))))
              (local.set $a13 (f32x4.add (local.get $a13) (f32x4.mul (local.get $v1) (local.get $w3))))
              (local.set $j (i32.add (local.get $j) (i32.const 16)))
              (br $dot)))
            (v128.store offset=0 (local.get $ao) (local.get $a00)) (v128.store offset=16 (local.get $ao) (local.get $a01))
            (v128.store offset=32 (local.get $ao) (local.get $a02)) (v128.store offset=48 (local.get $ao) (local.get $a03))
            (v128.store offset=0 (local.get $ao1) (local.get $a10)) (v128.store offset=16 (local.get $ao1) (local.get $a11))
            (v128.store offset=32 (local.get $ao1) (local.get $a12)) (v128.store offset=48 (local.get $ao1) (local.get $a13))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $cols)))
          (local.set $i (i32.add (local.get $i) (i32.const 2)))
          (br $rows)))
        (local.set $j0 (local.get $j1))
        (br $tiles)))
      ;; the block's entries: Y[i][c] = the sum of its four lanes
      (local.set $ao (local.get $acc))
      (local.set $j (i32.add (local.get $y) (i32.shl (i32.mul (local.get $i0) (local.get $l)) (i32.const 2))))
      (local.set $j1 (i32.add (local.get $y) (i32.shl (i32.mul (local.get $i1) (local.get $l)) (i32.const 2))))
      (block $sumsDone (loop $sums
        (br_if $sumsDone (i32.ge_u (local.get $j) (local.get $j1)))
        (f32.store (local.get $j) (call $hsum (v128.load (local.get $ao))))
        (local.set $ao (i32.add (local.get $ao) (i32.const 16)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $sums)))
      (local.set $i0 (local.get $i1))
      (br $blocks))))

  ;; y (n) = X (n x d4) v: one dot product per row, four rows at a time (a query against a
  ;; matrix: bound by memory, so one pass and no column blocking). n multiple of 4.
  (func (export "xv") (param $x i32) (param $n i32) (param $rowBytes i32) (param $v i32) (param $y i32)
    (local $i i32) (local $j i32) (local $x0 i32) (local $x1 i32) (local $x2 i32) (local $x3 i32) (local $w v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $yo i32)
    (block $rowsDone (loop $rows
      (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $x0 (i32.add (local.get $x) (i32.mul (local.get $i) (local.get $rowBytes))))
      (local.set $x1 (i32.add (local.get $x0) (local.get $rowBytes)))
      (local.set $x2 (i32.add (local.get $x1) (local.get $rowBytes)))
      (local.set $x3 (i32.add (local.get $x2) (local.get $rowBytes)))
      (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0))
      (local.set $a2 (v128.const i32x4 0 0 0 0)) (local.set $a3 (v128.const i32x4 0 0 0 0))
      (local.set $j (i32.const 0))
      (block $dotDone (loop $dot
        (br_if $dotDone (i32.ge_u (local.get $j) (local.get $rowBytes)))
        (local.set $w (v128.load (i32.add (local.get $v) (local.get $j))))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load (i32.add (local.get $x0) (local.get $j))) (local.get $w))))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (v128.load (i32.add (local.get $x1) (local.get $j))) (local.get $w))))
        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.load (i32.add (local.get $x2) (local.get $j))) (local.get $w))))
        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (v128.load (i32.add (local.get $x3) (local.get $j))) (local.get $w))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $dot)))
      (local.set $yo (i32.add (local.get $y) (i32.shl (local.get $i) (i32.const 2))))
      (f32.store offset=0 (local.get $yo) (call $hsum (local.get $a0)))
      (f32.store offset=4 (local.get $yo) (call $hsum (local.get $a1)))
      (f32.store offset=8 (local.get $yo) (call $hsum (local.get $a2)))
      (f32.store offset=12 (local.get $yo) (call $hsum (local.get $a3)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $rows))))

  ;; ZT (l x d4) += Q[r0..r1)^T X[r0..r1): ZT[c] += sum_i Q[i][c] X[i], in the columns from byte
  ;; j0 to byte jEnd of each row (multiples of 16). Q is n x l; r1 - r0 multiple of 4.
  ;; Columns go in tiles of 16 KB, so a tile of ZT stays in cache while the rows pass over it;
  ;; each entry still gets its rows added in row order.
  (func (export "qtx") (param $x i32) (param $r0 i32) (param $r1 i32) (param $rowBytes i32) (param $q i32) (param $l i32) (param $zt i32) (param $j0 i32) (param $jEnd i32)
    (local $i i32) (local $c i32) (local $j i32) (local $z i32) (local $qo i32) (local $j1 i32)
    (local $x0 i32) (local $x1 i32) (local $x2 i32) (local $x3 i32)
    (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128)
    (block $tilesDone (loop $tiles
    (br_if $tilesDone (i32.ge_u (local.get $j0) (local.get $jEnd)))
    (local.set $j1 (select (local.get $jEnd) (i32.add (local.get $j0) (i32.const 16384))
      (i32.lt_u (local.get $jEnd) (i32.add (local.get $j0) (i32.const 16384)))))
    (local.set $i (local.get $r0))
    (block $rowsDone (loop $rows
      (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $r1)))
      (local.set $x0 (i32.add (local.get $x) (i32.mul (local.get $i) (local.get $rowBytes))))
      (local.set $x1 (i32.add (local.get $x0) (local.get $rowBytes)))
      (local.set $x2 (i32.add (local.get $x1) (local.get $rowBytes)))
      (local.set $x3 (i32.add (local.get $x2) (local.get $rowBytes)))
      (local.set $c (i32.const 0))
      (block $colsDone (loop $cols
        (br_if $colsDone (i32.ge_u (local.get $c) (local.get $l)))
        (local.set $qo (i32.add (local.get $q) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $l)) (local.get $c)) (i32.const 2))))
        (local.set $q0 (f32x4.splat (f32.load (local.get $qo))))
        (local.set $qo (i32.add (local.get $qo) (i32.shl (local.get $l) (i32.const 2))))
        (local.set $q1 (f32x4.splat (f32.load (local.get $qo))))
        (local.set $qo (i32.add (local.get $qo) (i32.shl (local.get $l) (i32.const 2))))
        (local.set $q2 (f32x4.splat (f32.load (local.get $qo))))
        (local.set $qo (i32.add (local.get $qo) (i32.shl (local.get $l) (i32.const 2))))
        (local.set $q3 (f32x4.splat (f32.load (local.get $qo))))
        (local.set $z (i32.add (local.get $zt) (i32.mul (local.get $c) (local.get $rowBytes))))
        (local.set $j (local.get $j0))
        (block $axpyDone (loop $axpy
          (br_if $axpyDone (i32.ge_u (local.get $j) (local.get $j1)))
          (v128.store (i32.add (local.get $z) (local.get $j))
            (f32x4.add (v128.load (i32.add (local.get $z) (local.get $j)))
              (f32x4.add
                (f32x4.add (f32x4.mul (local.get $q0) (v128.load (i32.add (local.get $x0) (local.get $j))))
                           (f32x4.mul (local.get $q1) (v128.load (i32.add (local.get $x1) (local.get $j)))))
                (f32x4.add (f32x4.mul (local.get $q2) (v128.load (i32.add (local.get $x2) (local.get $j))))
                           (f32x4.mul (local.get $q3) (v128.load (i32.add (local.get $x3) (local.get $j))))))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $axpy)))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $cols)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $rows)))
    (local.set $j0 (local.get $j1))
    (br $tiles))))

;; G (l x lp, row-major float64; the upper triangle is what counts) += Y^T Y over rows r0..r1
  ;; of Y (rows of lp float64, lp even; r1 - r0 a multiple of 4): CholeskyQR's Gram matrix.
  (func (export "gram") (param $y i32) (param $r0 i32) (param $r1 i32) (param $lp i32) (param $l i32) (param $g i32)
    (local $i i32) (local $a i32) (local $bo i32) (local $rowBytes i32) (local $ga i32)
    (local $y0 i32) (local $y1 i32) (local $y2 i32) (local $y3 i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local.set $rowBytes (i32.shl (local.get $lp) (i32.const 3)))
    (local.set $i (local.get $r0))
    (block $rowsDone (loop $rows
      (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $r1)))
      (local.set $y0 (i32.add (local.get $y) (i32.mul (local.get $i) (local.get $rowBytes))))
      (local.set $y1 (i32.add (local.get $y0) (local.get $rowBytes)))
      (local.set $y2 (i32.add (local.get $y1) (local.get $rowBytes)))
      (local.set $y3 (i32.add (local.get $y2) (local.get $rowBytes)))
      (local.set $a (i32.const 0))
      (block $colsDone (loop $cols
        (br_if $colsDone (i32.ge_u (local.get $a) (local.get $l)))
        (local.set $s0 (f64x2.splat (f64.load (i32.add (local.get $y0) (i32.shl (local.get $a) (i32.const 3))))))
        (local.set $s1 (f64x2.splat (f64.load (i32.add (local.get $y1) (i32.shl (local.get $a) (i32.const 3))))))
        (local.set $s2 (f64x2.splat (f64.load (i32.add (local.get $y2) (i32.shl (local.get $a) (i32.const 3))))))
        (local.set $s3 (f64x2.splat (f64.load (i32.add (local.get $y3) (i32.shl (local.get $a) (i32.const 3))))))
        (local.set $ga (i32.add (local.get $g) (i32.mul (local.get $a) (local.get $rowBytes))))
        ;; columns b >= a, from the even column at or below a
        (local.set $bo (i32.shl (i32.and (local.get $a) (i32.const -2)) (i32.const 3)))
        (block $rowDone (loop $row
          (br_if $rowDone (i32.ge_u (local.get $bo) (local.get $rowBytes)))
          (v128.store (i32.add (local.get $ga) (local.get $bo))
            (f64x2.add (v128.load (i32.add (local.get $ga) (local.get $bo)))
              (f64x2.add
                (f64x2.add (f64x2.mul (local.get $s0) (v128.load (i32.add (local.get $y0) (local.get $bo))))
                           (f64x2.mul (local.get $s1) (v128.load (i32.add (local.get $y1) (local.get $bo)))))
                (f64x2.add (f64x2.mul (local.get $s2) (v128.load (i32.add (local.get $y2) (local.get $bo))))
                           (f64x2.mul (local.get $s3) (v128.load (i32.add (local.get $y3) (local.get $bo))))))))
          (local.set $bo (i32.add (local.get $bo) (i32.const 16)))
          (br $row)))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (br $cols)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $rows))))

  ;; Rows r0..r1 of Y (rows of lp float64; r1 - r0 even) <- Y R^-1 by forward substitution,
  ;; y[a] = (y[a] - sum_{p<a} y[p] R[p][a]) / R[a][a]. rt: l rows of lp float64, row a holding
  ;; R[p][a] for p < a and zeros from p = a on; inv: the l values 1 / R[a][a].
  (func (export "trsm") (param $y i32) (param $r0 i32) (param $r1 i32) (param $lp i32) (param $l i32) (param $rt i32) (param $inv i32)
    (local $i i32) (local $a i32) (local $p i32) (local $pEnd i32) (local $rowBytes i32) (local $ra i32) (local $y0 i32) (local $y1 i32)
    (local $r v128) (local $acc0 v128) (local $acc1 v128) (local $f f64)
    (local.set $rowBytes (i32.shl (local.get $lp) (i32.const 3)))
    (local.set $i (local.get $r0))
    (block $rowsDone (loop $rows
      (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $r1)))
      (local.set $y0 (i32.add (local.get $y) (i32.mul (local.get $i) (local.get $rowBytes))))
      (local.set $y1 (i32.add (local.get $y0) (local.get $rowBytes)))
      (local.set $a (i32.const 0))
      (block $colsDone (loop $cols
        (br_if $colsDone (i32.ge_u (local.get $a) (local.get $l)))
        (local.set $ra (i32.add (local.get $rt) (i32.mul (local.get $a) (local.get $rowBytes))))
        (local.set $acc0 (v128.const i32x4 0 0 0 0))
        (local.set $acc1 (v128.const i32x4 0 0 0 0))
        ;; p up to a rounded up to even: rt[a][a] is zero, so the extra term adds nothing
        (local.set $pEnd (i32.shl (i32.and (i32.add (local.get $a) (i32.const 1)) (i32.const -2)) (i32.const 3)))
        (local.set $p (i32.const 0))
        (block $dotDone (loop $dot
          (br_if $dotDone (i32.ge_u (local.get $p) (local.get $pEnd)))
          (local.set $r (v128.load (i32.add (local.get $ra) (local.get $p))))
          (local.set $acc0 (f64x2.add (local.get $acc0) (f64x2.mul (v128.load (i32.add (local.get $y0) (local.get $p))) (local.get $r))))
          (local.set $acc1 (f64x2.add (local.get $acc1) (f64x2.mul (v128.load (i32.add (local.get $y1) (local.get $p))) (local.get $r))))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (br $dot)))
        (local.set $f (f64.load (i32.add (local.get $inv) (i32.shl (local.get $a) (i32.const 3)))))
        (local.set $p (i32.shl (local.get $a) (i32.const 3)))
        (f64.store (i32.add (local.get $y0) (local.get $p))
          (f64.mul (f64.sub (f64.load (i32.add (local.get $y0) (local.get $p)))
                            (f64.add (f64x2.extract_lane 0 (local.get $acc0)) (f64x2.extract_lane 1 (local.get $acc0))))
                   (local.get $f)))
        (f64.store (i32.add (local.get $y1) (local.get $p))
          (f64.mul (f64.sub (f64.load (i32.add (local.get $y1) (local.get $p)))
                            (f64.add (f64x2.extract_lane 0 (local.get $acc1)) (f64x2.extract_lane 1 (local.get $acc1))))
                   (local.get $f)))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (br $cols)))
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br $rows))))

;; Rows r0..r1 of OUT (rows of kp float64, kp even) = rows of Y (rows of lp float64) times W
  ;; (l x kp float64): out[i] = sum_a y[i][a] w[a], a long factor times a small matrix.
  (func (export "yw") (param $y i32) (param $r0 i32) (param $r1 i32) (param $lp i32) (param $l i32) (param $w i32) (param $kp i32) (param $out i32)
    (local $i i32) (local $a i32) (local $bo i32) (local $outBytes i32) (local $y0 i32) (local $o i32) (local $wa i32) (local $s v128)
    (local.set $outBytes (i32.shl (local.get $kp) (i32.const 3)))
    (local.set $i (local.get $r0))
    (block $rowsDone (loop $rows
      (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $r1)))
      (local.set $y0 (i32.add (local.get $y) (i32.mul (local.get $i) (i32.shl (local.get $lp) (i32.const 3)))))
      (local.set $o (i32.add (local.get $out) (i32.mul (local.get $i) (local.get $outBytes))))
      (local.set $bo (i32.const 0))
      (block $zeroDone (loop $zero
        (br_if $zeroDone (i32.ge_u (local.get $bo) (local.get $outBytes)))
        (v128.store (i32.add (local.get $o) (local.get $bo)) (v128.const i32x4 0 0 0 0))
        (local.set $bo (i32.add (local.get $bo) (i32.const 16)))
        (br $zero)))
      (local.set $a (i32.const 0))
      (block $colsDone (loop $cols
        (br_if $colsDone (i32.ge_u (local.get $a) (local.get $l)))
        (local.set $s (f64x2.splat (f64.load (i32.add (local.get $y0) (i32.shl (local.get $a) (i32.const 3))))))
        (local.set $wa (i32.add (local.get $w) (i32.mul (local.get $a) (local.get $outBytes))))
        (local.set $bo (i32.const 0))
        (block $axpyDone (loop $axpy
          (br_if $axpyDone (i32.ge_u (local.get $bo) (local.get $outBytes)))
          (v128.store (i32.add (local.get $o) (local.get $bo))
            (f64x2.add (v128.load (i32.add (local.get $o) (local.get $bo)))
              (f64x2.mul (local.get $s) (v128.load (i32.add (local.get $wa) (local.get $bo))))))
          (local.set $bo (i32.add (local.get $bo) (i32.const 16)))
          (br $axpy)))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (br $cols)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $rows))))

  ;; One step of Prim's algorithm over slots t0..r-1 of the points not yet in the tree (float64, exact).
  ;; Each point's coordinates are split in two segments (linkage.ts): a head of headBytes per
  ;; point, all points' heads packed together, and the tail of tailBytes per point, so scans
  ;; that stop early (most do) read dense memory that stays in cache, and scans that go on
  ;; read each tail sequentially. Slot t's head is at head + t * headBytes, its tail at
  ;; tail + t * tailBytes; both byte counts are multiples of 64. u: the point just added,
  ;; head and tail end to end; best/lower: float64 per slot, parent: int32 per slot. For each
  ;; slot: skip if the triangle bound lower - delta already exceeds the best distance; else sum
  ;; squared differences (two f64x2 lanes, early exit every 8 coordinates once the partial sum
  ;; reaches best), refresh lower, and take the distance if it improves best. Returns the slot
  ;; in t0..r-1 with the smallest best (first one on ties).
  (func (export "primStep") (param $t0 i32) (param $r i32) (param $head i32) (param $headBytes i32) (param $tail i32) (param $tailBytes i32)
        (param $u i32) (param $best i32) (param $lower i32) (param $parent i32) (param $delta f64) (param $uId i32) (result i32)
    (local $t i32) (local $argmin i32) (local $minVal f64) (local $bt f64) (local $low f64) (local $lb f64)
    (local.set $minVal (f64.const inf))
    (local.set $t (local.get $t0))
    (local.set $argmin (local.get $t0))
    (block $slotsDone (loop $slots
      (br_if $slotsDone (i32.ge_u (local.get $t) (local.get $r)))
      ;; triangle bound: lower - delta (less a 1e-12 relative margin for rounding) already reaching
      ;; sqrt(best) rules the slot out; it becomes the slot's lower bound
      (local.set $low (f64.load (i32.add (local.get $lower) (i32.shl (local.get $t) (i32.const 3)))))
      (local.set $lb (f64.sub (f64.sub (local.get $low) (local.get $delta)) (f64.mul (f64.const 1e-12) (local.get $low))))
      (if (i32.and (f64.gt (local.get $lb) (f64.const 0))
                   (f64.ge (f64.mul (local.get $lb) (local.get $lb))
                           (f64.mul (f64.load (i32.add (local.get $best) (i32.shl (local.get $t) (i32.const 3)))) (f64.const 1.000000001))))
        (then (f64.store (i32.add (local.get $lower) (i32.shl (local.get $t) (i32.const 3))) (local.get $lb)))
        (else
          (call $exactF64 (local.get $t) (local.get $head) (local.get $headBytes) (local.get $tail) (local.get $tailBytes) (local.get $u)
                          (local.get $best) (local.get $lower) (local.get $parent) (local.get $uId) (i32.const 0))))
      (local.set $bt (f64.load (i32.add (local.get $best) (i32.shl (local.get $t) (i32.const 3)))))
      (if (f64.lt (local.get $bt) (local.get $minVal))
        (then (local.set $minVal (local.get $bt)) (local.set $argmin (local.get $t))))
      (local.set $t (i32.add (local.get $t) (i32.const 1)))
      (br $slots)))
    (local.get $argmin))

  ;; Prim step for float32 points in the lanes layout (spanningTree.ts): slots in blocks of 4,
  ;; block b holding coordinate c of its 4 slots as one f32x4 at lanes + (b * m4 + c) * 16 (m4:
  ;; the coordinates padded with zeros to a multiple of 4). Each lane sums one slot's squared
  ;; differences to the added point u (us: u as m4 f32x4 splats), and a block is dropped as
  ;; soon as every lane's partial sum reaches its hi (checked every 16 coordinates). hi[t]
  ;; (float32) is best[t] * margin + slack rounded up, where margin = 1 + (m4 + 8) * 2^-23
  ;; bounds float32 rounding (a float32 sum of m non-negative rounded terms is within
  ;; (1 + 2^-24)^(m + 3) of the exact sum) and slack = (m4 + 8) * 2^-148 the underflow of tiny
  ;; squares, so that drop proves the exact squared distance >= best[t]. Lanes still below
  ;; their hi at the end get the exact float64 sum ($exactLane; u64: u as float64), so results
  ;; are those of exact arithmetic. Slots at or above r hold hi = -1 and never get one.
  ;; Scans blocks b0..b1-1; returns the slot in 4 b0 .. min(r, 4 b1) - 1 with the smallest
  ;; best (first on ties).
  (func (export "primLanes") (param $b0 i32) (param $b1 i32) (param $r i32) (param $lanes i32) (param $m4 i32)
        (param $us i32) (param $u64 i32) (param $hi i32) (param $best i32) (param $parent i32) (param $uId i32)
        (param $margin f64) (param $slack f64) (result i32)
    (local $b i32) (local $base i32) (local $c i32) (local $bytes i32) (local $lane i32) (local $mask i32)
    (local $t i32) (local $t1 i32) (local $argmin i32) (local $minVal f64) (local $bt f64)
    (local $hv v128) (local $s v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $d v128)
    (local.set $bytes (i32.shl (local.get $m4) (i32.const 4)))
    (local.set $b (local.get $b0))
    (block $blocksDone (loop $blocks
      (br_if $blocksDone (i32.ge_u (local.get $b) (local.get $b1)))
      (local.set $base (i32.add (local.get $lanes) (i32.mul (local.get $b) (local.get $bytes))))
      (local.set $hv (v128.load (i32.add (local.get $hi) (i32.shl (local.get $b) (i32.const 4)))))
      (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0))
      (local.set $a2 (v128.const i32x4 0 0 0 0)) (local.set $a3 (v128.const i32x4 0 0 0 0))
      (local.set $c (i32.const 0))
      (block $blockDone
        (loop $coords
          (local.set $d (f32x4.sub (v128.load offset=0 (i32.add (local.get $base) (local.get $c))) (v128.load offset=0 (i32.add (local.get $us) (local.get $c)))))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $d (f32x4.sub (v128.load offset=16 (i32.add (local.get $base) (local.get $c))) (v128.load offset=16 (i32.add (local.get $us) (local.get $c)))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $d (f32x4.sub (v128.load offset=32 (i32.add (local.get $base) (local.get $c))) (v128.load offset=32 (i32.add (local.get $us) (local.get $c)))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $d (f32x4.sub (v128.load offset=48 (i32.add (local.get $base) (local.get $c))) (v128.load offset=48 (i32.add (local.get $us) (local.get $c)))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $c (i32.add (local.get $c) (i32.const 64)))
          (if (i32.or (i32.eqz (i32.and (local.get $c) (i32.const 255))) (i32.ge_u (local.get $c) (local.get $bytes)))
            (then
              (local.set $s (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (f32x4.add (local.get $a2) (local.get $a3))))
              (br_if $blockDone (i32x4.all_true (f32x4.ge (local.get $s) (local.get $hv))))))
          (br_if $coords (i32.lt_u (local.get $c) (local.get $bytes))))
        (local.set $mask (i32x4.bitmask (f32x4.lt (local.get $s) (local.get $hv))))
        (local.set $lane (i32.const 0))
        (block $lanesDone (loop $lanesLoop
          (br_if $lanesDone (i32.ge_u (local.get $lane) (i32.const 4)))
          (if (i32.and (local.get $mask) (i32.shl (i32.const 1) (local.get $lane)))
            (then (call $exactLane (i32.add (i32.shl (local.get $b) (i32.const 2)) (local.get $lane))
                                   (i32.add (local.get $base) (i32.shl (local.get $lane) (i32.const 2))) (local.get $m4) (local.get $u64)
                                   (local.get $hi) (local.get $best) (local.get $parent) (local.get $uId) (local.get $margin) (local.get $slack))))
          (local.set $lane (i32.add (local.get $lane) (i32.const 1)))
          (br $lanesLoop))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $blocks)))
    (local.set $t (i32.shl (local.get $b0) (i32.const 2)))
    (local.set $t1 (i32.shl (local.get $b1) (i32.const 2)))
    (if (i32.lt_u (local.get $r) (local.get $t1)) (then (local.set $t1 (local.get $r))))
    (local.set $argmin (local.get $t))
    (local.set $minVal (f64.const inf))
    (block $scanned (loop $scan
      (br_if $scanned (i32.ge_u (local.get $t) (local.get $t1)))
      (local.set $bt (f64.load (i32.add (local.get $best) (i32.shl (local.get $t) (i32.const 3)))))
      (if (f64.lt (local.get $bt) (local.get $minVal))
        (then (local.set $minVal (local.get $bt)) (local.set $argmin (local.get $t))))
      (local.set $t (i32.add (local.get $t) (i32.const 1)))
      (br $scan)))
    (local.get $argmin))

  ;; Exact float64 squared distance of slot t (its lane at p, coordinates 16 bytes apart) to
  ;; u64; takes it if it improves best[t], with parent[t] = uId and hi[t] as in primLanes.
  (func $exactLane (param $t i32) (param $p i32) (param $m4 i32) (param $u64 i32) (param $hi i32) (param $best i32) (param $parent i32)
        (param $uId i32) (param $margin f64) (param $slack f64)
    (local $c i32) (local $s f64) (local $s1 f64) (local $d f64)
    ;; even and odd coordinates summed apart and then added, like the two lanes of $partialF64,
    ;; so float32 points and their float64 copies give the same tree bit for bit
    (block $summed (loop $sum
      (br_if $summed (i32.ge_u (local.get $c) (local.get $m4)))
      (local.set $d (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $p) (i32.shl (local.get $c) (i32.const 4)))))
                             (f64.load (i32.add (local.get $u64) (i32.shl (local.get $c) (i32.const 3))))))
      (local.set $s (f64.add (local.get $s) (f64.mul (local.get $d) (local.get $d))))
      (local.set $d (f64.sub (f64.promote_f32 (f32.load offset=16 (i32.add (local.get $p) (i32.shl (local.get $c) (i32.const 4)))))
                             (f64.load offset=8 (i32.add (local.get $u64) (i32.shl (local.get $c) (i32.const 3))))))
      (local.set $s1 (f64.add (local.get $s1) (f64.mul (local.get $d) (local.get $d))))
      (local.set $c (i32.add (local.get $c) (i32.const 2)))
      (br $sum)))
    (local.set $s (f64.add (local.get $s) (local.get $s1)))
    (if (f64.lt (local.get $s) (f64.load (i32.add (local.get $best) (i32.shl (local.get $t) (i32.const 3)))))
      (then
        (f64.store (i32.add (local.get $best) (i32.shl (local.get $t) (i32.const 3))) (local.get $s))
        (i32.store (i32.add (local.get $parent) (i32.shl (local.get $t) (i32.const 2))) (local.get $uId))
        (f32.store (i32.add (local.get $hi) (i32.shl (local.get $t) (i32.const 2))) (call $roundUp32 (f64.add (f64.mul (local.get $s) (local.get $margin)) (local.get $slack)))))))

  ;; x (>= 0) as the nearest float32 at or above it
  (func $roundUp32 (param $x f64) (result f32)
    (local $h f32)
    (local.set $h (f32.demote_f64 (local.get $x)))
    (if (f64.lt (f64.promote_f32 (local.get $h)) (local.get $x))
      (then (local.set $h (f32.reinterpret_i32 (i32.add (i32.reinterpret_f32 (local.get $h)) (i32.const 1))))))
    (local.get $h))

  ;; Exact squared distance of slot t to u in float64 (u: float64, head and tail end to end),
  ;; stopping once it reaches best[t]; refreshes lower[t], and best[t]/parent[t] if it is
  ;; closer. f32 = 1: coordinates are float32 (promoted exactly to float64), else float64.
  (func $exactF64 (param $t i32) (param $head i32) (param $headBytes i32) (param $tail i32) (param $tailBytes i32) (param $u i32)
        (param $best i32) (param $lower i32) (param $parent i32) (param $uId i32) (param $f32 i32)
    (local $limit f64) (local $s f64)
    (local.set $limit (f64.load (i32.add (local.get $best) (i32.shl (local.get $t) (i32.const 3)))))
    (local.set $s (call $partialF64 (i32.add (local.get $head) (i32.mul (local.get $t) (local.get $headBytes))) (local.get $headBytes)
                                    (i32.add (local.get $tail) (i32.mul (local.get $t) (local.get $tailBytes))) (local.get $tailBytes)
                                    (local.get $u) (local.get $limit) (local.get $f32)))
    (f64.store (i32.add (local.get $lower) (i32.shl (local.get $t) (i32.const 3)))
      (f64.mul (f64.sqrt (local.get $s)) (f64.const 0.999999999999)))
    (if (f64.lt (local.get $s) (local.get $limit))
      (then
        (f64.store (i32.add (local.get $best) (i32.shl (local.get $t) (i32.const 3))) (local.get $s))
        (i32.store (i32.add (local.get $parent) (i32.shl (local.get $t) (i32.const 2))) (local.get $uId)))))

  ;; Cycle-property check of a candidate spanning tree (spanningTree.ts). Points are in the
  ;; order of the leaves of the candidate's dendrogram, and gap[k] is its merge height between
  ;; leaves k and k + 1, so h(i, j) = max(gap[i..j-1]) is the longest edge on the candidate's
  ;; path from i to j. A pair farther apart than h is in no minimum spanning tree; every other
  ;; pair is written out: i32 i, i32 j, f64 squared distance (exact), 16 bytes each from
  ;; out + 16, their count at out. Points come in blocks of 4 consecutive leaves, each with a
  ;; centre (cHead/cTail, same layout as the points) and a radius (rad, f64) such that every
  ;; member is within it, so d(i, j) >= d(cI, cJ) - rI - rJ: a pair of blocks is passed over
  ;; whole when that reaches the largest h among its pairs.
  ;; Checks blocks I0..I1-1 against themselves and all later blocks. Scratch: u64 (4 rows of
  ;; float64, head and tail end to end), u32 (4 rows of float32), c64/c32 (one row each), for
  ;; block I's points and centre. Stops before a block when fewer than 4n records of room are
  ;; left (cap: records) and returns it (I1 when done).
  (func (export "checkBlocks") (param $I0 i32) (param $I1 i32) (param $n i32) (param $head i32) (param $headBytes i32) (param $tail i32) (param $tailBytes i32)
        (param $gap i32) (param $cHead i32) (param $cTail i32) (param $rad i32) (param $u64 i32) (param $u32 i32) (param $c64 i32) (param $c32 i32)
        (param $f32 i32) (param $margin f64) (param $checkMask i32) (param $out i32) (param $cap i32) (result i32)
    (local $I i32) (local $J i32) (local $blocks i32) (local $i i32) (local $j i32) (local $iEnd i32) (local $jEnd i32) (local $k i32) (local $count i32)
    (local $rowBytes i32) (local $row64 i32) (local $h f64) (local $run f64) (local $runEnd f64) (local $innerMax f64) (local $t f64) (local $rI f64)
    (local $in0 f64) (local $in1 f64) (local $in2 f64) (local $in3 f64)
    (local.set $rowBytes (i32.add (local.get $headBytes) (local.get $tailBytes)))
    (local.set $row64 (i32.shl (local.get $rowBytes) (local.get $f32)))
    (local.set $blocks (i32.shr_u (i32.add (local.get $n) (i32.const 3)) (i32.const 2)))
    (local.set $count (i32.load (local.get $out)))
    (local.set $I (local.get $I0))
    (block $done (loop $outer
      (br_if $done (i32.ge_u (local.get $I) (local.get $I1)))
      (br_if $done (i32.gt_u (i32.add (local.get $count) (i32.shl (local.get $n) (i32.const 2))) (local.get $cap)))
      (local.set $i (i32.shl (local.get $I) (i32.const 2)))
      (local.set $iEnd (select (local.get $n) (i32.add (local.get $i) (i32.const 4)) (i32.lt_u (local.get $n) (i32.add (local.get $i) (i32.const 4)))))
      ;; block I's rows and centre into scratch
      (local.set $k (local.get $i))
      (block $copied (loop $copy
        (br_if $copied (i32.ge_u (local.get $k) (local.get $iEnd)))
        (call $copyRow (local.get $head) (local.get $headBytes) (local.get $tail) (local.get $tailBytes) (local.get $k)
                       (i32.add (local.get $u64) (i32.mul (i32.sub (local.get $k) (local.get $i)) (local.get $row64)))
                       (i32.add (local.get $u32) (i32.mul (i32.sub (local.get $k) (local.get $i)) (local.get $rowBytes))) (local.get $f32))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $copy)))
      (call $copyRow (local.get $cHead) (local.get $headBytes) (local.get $cTail) (local.get $tailBytes) (local.get $I)
                     (local.get $c64) (local.get $c32) (local.get $f32))
      (local.set $rI (f64.load (i32.add (local.get $rad) (i32.shl (local.get $I) (i32.const 3)))))
      ;; inner_k = max(gap[i+k .. iEnd-2]): h(i+k, j) = max(inner_k, max(gap[iEnd-1 .. j-1])) for j >= iEnd
      (local.set $in3 (f64.const 0))
      (local.set $in2 (call $gapAt (local.get $gap) (local.get $i) (i32.const 2) (local.get $iEnd)))
      (local.set $in1 (f64.max (local.get $in2) (call $gapAt (local.get $gap) (local.get $i) (i32.const 1) (local.get $iEnd))))
      (local.set $in0 (f64.max (local.get $in1) (call $gapAt (local.get $gap) (local.get $i) (i32.const 0) (local.get $iEnd))))
      (local.set $innerMax (local.get $in0))
      ;; pairs inside block I
      (local.set $j (i32.add (local.get $i) (i32.const 1)))
      (block $innerDone (loop $inner
        (br_if $innerDone (i32.ge_u (local.get $j) (local.get $iEnd)))
        (local.set $h (f64.const 0))
        ;; pairs (k, j) for k = j-1 down to i, h = max(gap[k..j-1])
        (local.set $k (i32.sub (local.get $j) (i32.const 1)))
        (block $back (loop $down
          (local.set $h (f64.max (local.get $h) (f64.load (i32.add (local.get $gap) (i32.shl (local.get $k) (i32.const 3))))))
          (local.set $count (call $checkPair (local.get $k) (local.get $j) (local.get $h) (local.get $i)
            (local.get $head) (local.get $headBytes) (local.get $tail) (local.get $tailBytes) (local.get $u64) (local.get $u32)
            (local.get $f32) (local.get $margin) (local.get $checkMask) (local.get $out) (local.get $count)))
          (br_if $back (i32.le_u (local.get $k) (local.get $i)))
          (local.set $k (i32.sub (local.get $k) (i32.const 1)))
          (br $down)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $inner)))
      ;; later blocks J; run = max(gap[iEnd-1 .. j-1])
      (local.set $run (f64.const 0))
      (local.set $J (i32.add (local.get $I) (i32.const 1)))
      (block $laterDone (loop $later
        (br_if $laterDone (i32.ge_u (local.get $J) (local.get $blocks)))
        (local.set $j (i32.shl (local.get $J) (i32.const 2)))
        (local.set $jEnd (select (local.get $n) (i32.add (local.get $j) (i32.const 4)) (i32.lt_u (local.get $n) (i32.add (local.get $j) (i32.const 4)))))
        (local.set $runEnd (local.get $run))
        (local.set $k (i32.sub (local.get $j) (i32.const 1)))
        (block $gapsDone (loop $gaps
          (br_if $gapsDone (i32.ge_u (local.get $k) (i32.sub (local.get $jEnd) (i32.const 1))))
          (local.set $runEnd (f64.max (local.get $runEnd) (f64.load (i32.add (local.get $gap) (i32.shl (local.get $k) (i32.const 3))))))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br $gaps)))
        ;; block bound against the largest h of the block pair, with room for rounding
        (local.set $t (f64.add (f64.add (f64.max (local.get $innerMax) (local.get $runEnd)) (local.get $rI))
                               (f64.load (i32.add (local.get $rad) (i32.shl (local.get $J) (i32.const 3))))))
        (local.set $t (f64.add (f64.mul (f64.mul (local.get $t) (local.get $t)) (f64.const 1.000000001)) (f64.const 1e-300)))
        (if (i32.eqz (call $apart (i32.add (local.get $cHead) (i32.mul (local.get $J) (local.get $headBytes))) (local.get $headBytes)
                                  (i32.add (local.get $cTail) (i32.mul (local.get $J) (local.get $tailBytes))) (local.get $tailBytes)
                                  (local.get $c64) (local.get $c32) (local.get $t) (local.get $f32) (local.get $margin) (local.get $checkMask)))
          (then
            (block $jDone (loop $js
              (br_if $jDone (i32.ge_u (local.get $j) (local.get $jEnd)))
              (local.set $run (f64.max (local.get $run) (f64.load (i32.add (local.get $gap) (i32.shl (i32.sub (local.get $j) (i32.const 1)) (i32.const 3))))))
              (local.set $k (local.get $i))
              (block $kDone (loop $ks
                (br_if $kDone (i32.ge_u (local.get $k) (local.get $iEnd)))
                (local.set $h (f64.max (local.get $run)
                  (select (local.get $in0) (select (local.get $in1) (select (local.get $in2) (local.get $in3)
                            (i32.eq (i32.sub (local.get $k) (local.get $i)) (i32.const 2)))
                            (i32.eq (i32.sub (local.get $k) (local.get $i)) (i32.const 1)))
                          (i32.eq (local.get $k) (local.get $i)))))
                (local.set $count (call $checkPair (local.get $k) (local.get $j) (local.get $h) (local.get $i)
                  (local.get $head) (local.get $headBytes) (local.get $tail) (local.get $tailBytes) (local.get $u64) (local.get $u32)
                  (local.get $f32) (local.get $margin) (local.get $checkMask) (local.get $out) (local.get $count)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $ks)))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br $js))))
          (else (local.set $run (local.get $runEnd))))
        (local.set $J (i32.add (local.get $J) (i32.const 1)))
        (br $later)))
      (local.set $I (i32.add (local.get $I) (i32.const 1)))
      (br $outer)))
    (i32.store (local.get $out) (local.get $count))
    (local.get $I))

  ;; gap[i + k] if i + k <= iEnd - 2 (a gap inside the block), else 0
  (func $gapAt (param $gap i32) (param $i i32) (param $k i32) (param $iEnd i32) (result f64)
    (if (result f64) (i32.lt_s (i32.add (i32.add (local.get $i) (local.get $k)) (i32.const 1)) (local.get $iEnd))
      (then (f64.load (i32.add (local.get $gap) (i32.shl (i32.add (local.get $i) (local.get $k)) (i32.const 3)))))
      (else (f64.const 0))))

  ;; Row t of a segment pair, head and tail end to end, into q64 as float64 (and q32 as float32 for f32 = 1).
  (func $copyRow (param $head i32) (param $headBytes i32) (param $tail i32) (param $tailBytes i32) (param $t i32) (param $q64 i32) (param $q32 i32) (param $f32 i32)
    (local $c i32) (local $x v128)
    (block $copied (loop $copy
      (br_if $copied (i32.ge_u (local.get $c) (i32.add (local.get $headBytes) (local.get $tailBytes))))
      (if (i32.lt_u (local.get $c) (local.get $headBytes))
        (then (local.set $x (v128.load (i32.add (i32.add (local.get $head) (i32.mul (local.get $t) (local.get $headBytes))) (local.get $c)))))
        (else (local.set $x (v128.load (i32.add (i32.add (local.get $tail) (i32.mul (local.get $t) (local.get $tailBytes)))
                                                (i32.sub (local.get $c) (local.get $headBytes)))))))
      (if (local.get $f32)
        (then
          (v128.store (i32.add (local.get $q32) (local.get $c)) (local.get $x))
          (v128.store (i32.add (local.get $q64) (i32.shl (local.get $c) (i32.const 1))) (f64x2.promote_low_f32x4 (local.get $x)))
          (v128.store offset=16 (i32.add (local.get $q64) (i32.shl (local.get $c) (i32.const 1)))
            (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $x) (local.get $x)))))
        (else (v128.store (i32.add (local.get $q64) (local.get $c)) (local.get $x))))
      (local.set $c (i32.add (local.get $c) (i32.const 16)))
      (br $copy))))

  ;; 1 if the squared distance between a row (segments) and q (q64/q32 as in $copyRow) provably reaches t.
  ;; The float32 sum must reach t * margin plus a slack for underflowing squares (as in primLanes).
  (func $apart (param $head i32) (param $headLen i32) (param $tail i32) (param $tailLen i32) (param $q64 i32) (param $q32 i32)
        (param $t f64) (param $f32 i32) (param $margin f64) (param $checkMask i32) (result i32)
    (local $hi f64)
    (if (local.get $f32) (then
      (local.set $hi (f64.add (f64.mul (local.get $t) (local.get $margin))
                              (f64.mul (f64.convert_i32_u (i32.add (i32.shr_u (i32.add (local.get $headLen) (local.get $tailLen)) (i32.const 2)) (i32.const 8)))
                                       (f64.const 0x1p-148))))
      (return (f64.ge (call $partialF32 (local.get $head) (local.get $headLen) (local.get $tail) (local.get $tailLen) (local.get $q32)
                                        (local.get $hi) (local.get $checkMask))
                      (local.get $hi)))))
    (f64.ge (call $partialF64 (local.get $head) (local.get $headLen) (local.get $tail) (local.get $tailLen) (local.get $q64) (local.get $t) (i32.const 0))
            (local.get $t)))

  ;; The pair (i, j) against h (see checkBlocks); i's row is row i - i0 of the scratch. Returns the new record count.
  (func $checkPair (param $i i32) (param $j i32) (param $h f64) (param $i0 i32) (param $head i32) (param $headBytes i32) (param $tail i32) (param $tailBytes i32)
        (param $u64 i32) (param $u32 i32) (param $f32 i32) (param $margin f64) (param $checkMask i32) (param $out i32) (param $count i32) (result i32)
    (local $limit f64) (local $s f64) (local $rowBytes i32) (local $rowJ i32) (local $tailJ i32) (local $rec i32)
    (local.set $rowBytes (i32.add (local.get $headBytes) (local.get $tailBytes)))
    (local.set $rowJ (i32.add (local.get $head) (i32.mul (local.get $j) (local.get $headBytes))))
    (local.set $tailJ (i32.add (local.get $tail) (i32.mul (local.get $j) (local.get $tailBytes))))
    ;; a record: squared distance up to h squared, with room for rounding (and above 0: duplicates)
    (local.set $limit (f64.add (f64.mul (f64.mul (local.get $h) (local.get $h)) (f64.const 1.000000001)) (f64.const 1e-300)))
    (if (call $apart (local.get $rowJ) (local.get $headBytes) (local.get $tailJ) (local.get $tailBytes)
                     (i32.add (local.get $u64) (i32.mul (i32.sub (local.get $i) (local.get $i0)) (i32.shl (local.get $rowBytes) (local.get $f32))))
                     (i32.add (local.get $u32) (i32.mul (i32.sub (local.get $i) (local.get $i0)) (local.get $rowBytes)))
                     (local.get $limit) (local.get $f32) (local.get $margin) (local.get $checkMask))
      (then (return (local.get $count))))
    (local.set $s (call $partialF64 (local.get $rowJ) (local.get $headBytes) (local.get $tailJ) (local.get $tailBytes)
                                    (i32.add (local.get $u64) (i32.mul (i32.sub (local.get $i) (local.get $i0)) (i32.shl (local.get $rowBytes) (local.get $f32))))
                                    (local.get $limit) (local.get $f32)))
    (if (f64.ge (local.get $s) (local.get $limit)) (then (return (local.get $count))))
    (local.set $rec (i32.add (i32.add (local.get $out) (i32.const 16)) (i32.shl (local.get $count) (i32.const 4))))
    (i32.store (local.get $rec) (local.get $i))
    (i32.store offset=4 (local.get $rec) (local.get $j))
    (f64.store offset=8 (local.get $rec) (local.get $s))
    (i32.add (local.get $count) (i32.const 1)))

  ;; Float32 sum of squared differences between a row (head and tail segments) and q (float32,
  ;; end to end), four lanes at a time; stops once it reaches hi, checked every
  ;; (checkMask + 1) / 4 floats (checkMask 63 or 127) and at the end of each segment.
  (func $partialF32 (param $head i32) (param $headLen i32) (param $tail i32) (param $tailLen i32) (param $q i32) (param $hi f64) (param $checkMask i32) (result f64)
    (local $seg i32) (local $row i32) (local $len i32) (local $h i32) (local $s f64)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $d v128)
    (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0))
    (local.set $a2 (v128.const i32x4 0 0 0 0)) (local.set $a3 (v128.const i32x4 0 0 0 0))
    (local.set $seg (i32.const 0))
    (block $done (loop $segments
      (br_if $done (i32.ge_u (local.get $seg) (i32.const 2)))
      (if (i32.eqz (local.get $seg))
        (then (local.set $row (local.get $head)) (local.set $len (local.get $headLen)))
        (else (local.set $row (local.get $tail)) (local.set $len (local.get $tailLen))))
      ;; 16 floats at a time
      (local.set $h (i32.const 0))
      (block $chunksDone (loop $chunks
        (br_if $chunksDone (i32.ge_u (local.get $h) (local.get $len)))
        (local.set $d (f32x4.sub (v128.load offset=0 (i32.add (local.get $row) (local.get $h))) (v128.load offset=0 (local.get $q))))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $d) (local.get $d))))
        (local.set $d (f32x4.sub (v128.load offset=16 (i32.add (local.get $row) (local.get $h))) (v128.load offset=16 (local.get $q))))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $d) (local.get $d))))
        (local.set $d (f32x4.sub (v128.load offset=32 (i32.add (local.get $row) (local.get $h))) (v128.load offset=32 (local.get $q))))
        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $d) (local.get $d))))
        (local.set $d (f32x4.sub (v128.load offset=48 (i32.add (local.get $row) (local.get $h))) (v128.load offset=48 (local.get $q))))
        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $d) (local.get $d))))
        (local.set $h (i32.add (local.get $h) (i32.const 64)))
        (local.set $q (i32.add (local.get $q) (i32.const 64)))
        (if (i32.or (i32.eqz (i32.and (local.get $h) (local.get $checkMask))) (i32.eq (local.get $h) (local.get $len)))
          (then
            (local.set $s (f64.promote_f32 (call $hsum (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (f32x4.add (local.get $a2) (local.get $a3))))))
            (br_if $done (f64.ge (local.get $s) (local.get $hi)))))
        (br $chunks)))
      (local.set $seg (i32.add (local.get $seg) (i32.const 1)))
      (br $segments)))
    (local.get $s))

  ;; Exact float64 sum of squared differences between a row (head and tail segments) and q
  ;; (float64, end to end), stopping once it reaches limit (checked every 8 coordinates).
  ;; f32 = 1: the row is float32 (promoted exactly to float64), else float64.
  (func $partialF64 (param $head i32) (param $headLen i32) (param $tail i32) (param $tailLen i32) (param $q i32) (param $limit f64) (param $f32 i32) (result f64)
    (local $seg i32) (local $row i32) (local $len i32) (local $j i32) (local $s f64) (local $acc v128) (local $d v128) (local $x v128)
    (local.set $acc (v128.const i32x4 0 0 0 0))
    (local.set $seg (i32.const 0))
    (block $done (loop $segments
      (br_if $done (i32.ge_u (local.get $seg) (i32.const 2)))
      (if (i32.eqz (local.get $seg))
        (then (local.set $row (local.get $head)) (local.set $len (local.get $headLen)))
        (else (local.set $row (local.get $tail)) (local.set $len (local.get $tailLen))))
      (local.set $j (i32.const 0))
      (block $segmentDone (loop $sum
        (br_if $segmentDone (i32.ge_u (local.get $j) (local.get $len)))
        (if (local.get $f32)
          (then
            ;; 8 floats: a float32x4 load split into two float64x2 halves, twice
            (local.set $x (v128.load (i32.add (local.get $row) (local.get $j))))
            (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (local.get $x)) (v128.load (local.get $q))))
            (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (local.get $d) (local.get $d))))
            (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $x) (local.get $x)))
                                     (v128.load offset=16 (local.get $q))))
            (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (local.get $d) (local.get $d))))
            (local.set $x (v128.load offset=16 (i32.add (local.get $row) (local.get $j))))
            (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (local.get $x)) (v128.load offset=32 (local.get $q))))
            (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (local.get $d) (local.get $d))))
            (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $x) (local.get $x)))
                                     (v128.load offset=48 (local.get $q))))
            (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (local.get $d) (local.get $d))))
            (local.set $j (i32.add (local.get $j) (i32.const 32))))
          (else
            ;; 8 float64
            (local.set $d (f64x2.sub (v128.load (i32.add (local.get $row) (local.get $j))) (v128.load (local.get $q))))
            (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (local.get $d) (local.get $d))))
            (local.set $d (f64x2.sub (v128.load offset=16 (i32.add (local.get $row) (local.get $j))) (v128.load offset=16 (local.get $q))))
            (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (local.get $d) (local.get $d))))
            (local.set $d (f64x2.sub (v128.load offset=32 (i32.add (local.get $row) (local.get $j))) (v128.load offset=32 (local.get $q))))
            (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (local.get $d) (local.get $d))))
            (local.set $d (f64x2.sub (v128.load offset=48 (i32.add (local.get $row) (local.get $j))) (v128.load offset=48 (local.get $q))))
            (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (local.get $d) (local.get $d))))
            (local.set $j (i32.add (local.get $j) (i32.const 64)))))
        (local.set $q (i32.add (local.get $q) (i32.const 64)))
        (local.set $s (f64.add (f64x2.extract_lane 0 (local.get $acc)) (f64x2.extract_lane 1 (local.get $acc))))
        (br_if $done (f64.ge (local.get $s) (local.get $limit)))
        (br $sum)))
      (local.set $seg (i32.add (local.get $seg) (i32.const 1)))
      (br $segments)))
    (f64.add (f64x2.extract_lane 0 (local.get $acc)) (f64x2.extract_lane 1 (local.get $acc))))

  ;; FFNN (196 -> 10 -> sigmoid -> 10 -> sigmoid -> 10, no biases, MSE): `steps` SGD steps of one
  ;; model (train/models/ffnnKernel.ts), batches of b images in the order perm[start..]. Layout
  ;; (float64, input-major, so that each input's 10 weights are 5 consecutive f64x2): fc1 at
  ;; w + 0 as [196][10], fc2 at w + 15680 as [10][10], fc3 at w + 16480 as [10][10]; v (momentum)
  ;; and g (gradient, zero between calls) alike. Images: CSR (nzStart int32, nzPixel uint8,
  ;; nzValue float32) and labels (uint8). tmp: 160 bytes of scratch. Step: g = mean gradient of
  ;; the batch (scale 2 / (b' * 10), b' the batch's size); v = mu v + g + wd w; w -= lr v; g = 0
  ;; (torch.optim.SGD). Returns the sum of squared errors over the samples.
  (func (export "ffnnSteps") (param $w i32) (param $v i32) (param $g i32) (param $perm i32) (param $start i32) (param $steps i32)
        (param $b i32) (param $n i32) (param $nzStart i32) (param $nzPixel i32) (param $nzValue i32) (param $labels i32) (param $tmp i32)
        (param $lr f64) (param $mu f64) (param $wd f64) (result f64)
    (local $step i32) (local $at i32) (local $bs i32) (local $i i32) (local $sse f64) (local $scale f64)
    (local $p i32) (local $end i32) (local $vlr v128) (local $vmu v128) (local $vwd v128) (local $vv v128) (local $vw v128)
    (local.set $vlr (f64x2.splat (local.get $lr)))
    (local.set $vmu (f64x2.splat (local.get $mu)))
    (local.set $vwd (f64x2.splat (local.get $wd)))
    (local.set $at (local.get $start))
    (block $stepsDone (loop $stepLoop
      (br_if $stepsDone (i32.ge_s (local.get $step) (local.get $steps)))
      (br_if $stepsDone (i32.ge_s (local.get $at) (local.get $n)))
      (local.set $bs (select (local.get $b) (i32.sub (local.get $n) (local.get $at))
                             (i32.le_s (i32.add (local.get $at) (local.get $b)) (local.get $n))))
      (local.set $scale (f64.div (f64.const 2) (f64.convert_i32_s (i32.mul (local.get $bs) (i32.const 10)))))
      (local.set $i (i32.const 0))
      (block $batchDone (loop $batch
        (br_if $batchDone (i32.ge_s (local.get $i) (local.get $bs)))
        (local.set $sse (f64.add (local.get $sse)
          (call $ffnnSample (local.get $w) (local.get $g)
                (i32.load (i32.add (local.get $perm) (i32.shl (i32.add (local.get $at) (local.get $i)) (i32.const 2))))
                (local.get $nzStart) (local.get $nzPixel) (local.get $nzValue) (local.get $labels) (local.get $tmp) (local.get $scale))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $batch)))
      ;; SGD on all 2160 weights, two at a time
      (local.set $p (i32.const 0))
      (block $sgdDone (loop $sgd
        (br_if $sgdDone (i32.ge_u (local.get $p) (i32.const 17280)))
        (local.set $vw (v128.load (i32.add (local.get $w) (local.get $p))))
        (local.set $vv (f64x2.add (f64x2.add (f64x2.mul (local.get $vmu) (v128.load (i32.add (local.get $v) (local.get $p))))
                                             (v128.load (i32.add (local.get $g) (local.get $p))))
                                  (f64x2.mul (local.get $vwd) (local.get $vw))))
        (v128.store (i32.add (local.get $v) (local.get $p)) (local.get $vv))
        (v128.store (i32.add (local.get $w) (local.get $p)) (f64x2.sub (local.get $vw) (f64x2.mul (local.get $vlr) (local.get $vv))))
        (v128.store (i32.add (local.get $g) (local.get $p)) (v128.const i64x2 0 0))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $sgd)))
      (local.set $at (i32.add (local.get $at) (local.get $bs)))
      (local.set $step (i32.add (local.get $step) (i32.const 1)))
      (br $stepLoop)))
    (local.get $sse))

  ;; one sample of the FFNN step: adds scale * d(squared error)/dw to g, returns the squared error
  (func $ffnnSample (param $w i32) (param $g i32) (param $s i32) (param $nzStart i32) (param $nzPixel i32) (param $nzValue i32)
        (param $labels i32) (param $tmp i32) (param $scale f64) (result f64)
    (local $k i32) (local $k1 i32) (local $row i32) (local $grow i32) (local $j i32) (local $x v128) (local $acc v128) (local $sv v128)
    (local $z0 v128) (local $z1 v128) (local $z2 v128) (local $z3 v128) (local $z4 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $a4 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128) (local $b4 v128)
    (local $d0 v128) (local $d1 v128) (local $d2 v128) (local $d3 v128) (local $d4 v128)
    (local $sse f64) (local $one v128)
    (local.set $one (f64x2.splat (f64.const 1)))
    (local.set $k (i32.load (i32.add (local.get $nzStart) (i32.shl (local.get $s) (i32.const 2)))))
    (local.set $k1 (i32.load offset=4 (i32.add (local.get $nzStart) (i32.shl (local.get $s) (i32.const 2)))))
    ;; fc1 over the image's non-zero pixels: z += fc1[p] * x_p
    (block $inDone (loop $in
      (br_if $inDone (i32.ge_s (local.get $k) (local.get $k1)))
      (local.set $row (i32.add (local.get $w) (i32.mul (i32.load8_u (i32.add (local.get $nzPixel) (local.get $k))) (i32.const 80))))
      (local.set $x (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $nzValue) (i32.shl (local.get $k) (i32.const 2)))))))
      (local.set $z0 (f64x2.add (local.get $z0) (f64x2.mul (v128.load offset=0 (local.get $row)) (local.get $x))))
      (local.set $z1 (f64x2.add (local.get $z1) (f64x2.mul (v128.load offset=16 (local.get $row)) (local.get $x))))
      (local.set $z2 (f64x2.add (local.get $z2) (f64x2.mul (v128.load offset=32 (local.get $row)) (local.get $x))))
      (local.set $z3 (f64x2.add (local.get $z3) (f64x2.mul (v128.load offset=48 (local.get $row)) (local.get $x))))
      (local.set $z4 (f64x2.add (local.get $z4) (f64x2.mul (v128.load offset=64 (local.get $row)) (local.get $x))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $in)))
    (local.set $a0 (call $sigmoid2 (local.get $z0)))
    (v128.store offset=0 (local.get $tmp) (local.get $a0))
    (local.set $a1 (call $sigmoid2 (local.get $z1)))
    (v128.store offset=16 (local.get $tmp) (local.get $a1))
    (local.set $a2 (call $sigmoid2 (local.get $z2)))
    (v128.store offset=32 (local.get $tmp) (local.get $a2))
    (local.set $a3 (call $sigmoid2 (local.get $z3)))
    (v128.store offset=48 (local.get $tmp) (local.get $a3))
    (local.set $a4 (call $sigmoid2 (local.get $z4)))
    (v128.store offset=64 (local.get $tmp) (local.get $a4))
    ;; fc2: z = sum_j fc2[j] * a_j, then the sigmoid
    (local.set $z0 (v128.const i64x2 0 0))
    (local.set $z1 (v128.const i64x2 0 0))
    (local.set $z2 (v128.const i64x2 0 0))
    (local.set $z3 (v128.const i64x2 0 0))
    (local.set $z4 (v128.const i64x2 0 0))
    (local.set $j (i32.const 0))
    (block $fDone15680 (loop $f15680
      (br_if $fDone15680 (i32.ge_u (local.get $j) (i32.const 10)))
      (local.set $row (i32.add (local.get $w) (i32.add (i32.const 15680) (i32.mul (local.get $j) (i32.const 80)))))
      (local.set $x (f64x2.splat (f64.load offset=0 (i32.add (local.get $tmp) (i32.shl (local.get $j) (i32.const 3))))))
      (local.set $z0 (f64x2.add (local.get $z0) (f64x2.mul (v128.load offset=0 (local.get $row)) (local.get $x))))
      (local.set $z1 (f64x2.add (local.get $z1) (f64x2.mul (v128.load offset=16 (local.get $row)) (local.get $x))))
      (local.set $z2 (f64x2.add (local.get $z2) (f64x2.mul (v128.load offset=32 (local.get $row)) (local.get $x))))
      (local.set $z3 (f64x2.add (local.get $z3) (f64x2.mul (v128.load offset=48 (local.get $row)) (local.get $x))))
      (local.set $z4 (f64x2.add (local.get $z4) (f64x2.mul (v128.load offset=64 (local.get $row)) (local.get $x))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $f15680)))
    (local.set $b0 (call $sigmoid2 (local.get $z0)))
    (v128.store offset=80 (local.get $tmp) (local.get $b0))
    (local.set $b1 (call $sigmoid2 (local.get $z1)))
    (v128.store offset=96 (local.get $tmp) (local.get $b1))
    (local.set $b2 (call $sigmoid2 (local.get $z2)))
    (v128.store offset=112 (local.get $tmp) (local.get $b2))
    (local.set $b3 (call $sigmoid2 (local.get $z3)))
    (v128.store offset=128 (local.get $tmp) (local.get $b3))
    (local.set $b4 (call $sigmoid2 (local.get $z4)))
    (v128.store offset=144 (local.get $tmp) (local.get $b4))
    ;; fc3: outputs z = sum_j fc3[j] * b_j; errors d = z - onehot(label), through tmp + 160
    (local.set $z0 (v128.const i64x2 0 0))
    (local.set $z1 (v128.const i64x2 0 0))
    (local.set $z2 (v128.const i64x2 0 0))
    (local.set $z3 (v128.const i64x2 0 0))
    (local.set $z4 (v128.const i64x2 0 0))
    (local.set $j (i32.const 0))
    (block $fDone16480 (loop $f16480
      (br_if $fDone16480 (i32.ge_u (local.get $j) (i32.const 10)))
      (local.set $row (i32.add (local.get $w) (i32.add (i32.const 16480) (i32.mul (local.get $j) (i32.const 80)))))
      (local.set $x (f64x2.splat (f64.load offset=80 (i32.add (local.get $tmp) (i32.shl (local.get $j) (i32.const 3))))))
      (local.set $z0 (f64x2.add (local.get $z0) (f64x2.mul (v128.load offset=0 (local.get $row)) (local.get $x))))
      (local.set $z1 (f64x2.add (local.get $z1) (f64x2.mul (v128.load offset=16 (local.get $row)) (local.get $x))))
      (local.set $z2 (f64x2.add (local.get $z2) (f64x2.mul (v128.load offset=32 (local.get $row)) (local.get $x))))
      (local.set $z3 (f64x2.add (local.get $z3) (f64x2.mul (v128.load offset=48 (local.get $row)) (local.get $x))))
      (local.set $z4 (f64x2.add (local.get $z4) (f64x2.mul (v128.load offset=64 (local.get $row)) (local.get $x))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $f16480)))
    (v128.store offset=160 (local.get $tmp) (local.get $z0))
    (v128.store offset=176 (local.get $tmp) (local.get $z1))
    (v128.store offset=192 (local.get $tmp) (local.get $z2))
    (v128.store offset=208 (local.get $tmp) (local.get $z3))
    (v128.store offset=224 (local.get $tmp) (local.get $z4))
    (local.set $row (i32.add (local.get $tmp) (i32.shl (i32.load8_u (i32.add (local.get $labels) (local.get $s))) (i32.const 3))))
    (f64.store offset=160 (local.get $row) (f64.sub (f64.load offset=160 (local.get $row)) (f64.const 1)))
    (local.set $sv (f64x2.splat (local.get $scale)))
    (local.set $d0 (v128.load offset=160 (local.get $tmp)))
    (local.set $d1 (v128.load offset=176 (local.get $tmp)))
    (local.set $d2 (v128.load offset=192 (local.get $tmp)))
    (local.set $d3 (v128.load offset=208 (local.get $tmp)))
    (local.set $d4 (v128.load offset=224 (local.get $tmp)))
    (local.set $acc (v128.const i64x2 0 0))
    (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (local.get $d0) (local.get $d0))))
    (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (local.get $d1) (local.get $d1))))
    (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (local.get $d2) (local.get $d2))))
    (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (local.get $d3) (local.get $d3))))
    (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (local.get $d4) (local.get $d4))))
    (local.set $sse (f64.add (f64x2.extract_lane 0 (local.get $acc)) (f64x2.extract_lane 1 (local.get $acc))))
    (local.set $d0 (f64x2.mul (local.get $d0) (local.get $sv)))
    (local.set $d1 (f64x2.mul (local.get $d1) (local.get $sv)))
    (local.set $d2 (f64x2.mul (local.get $d2) (local.get $sv)))
    (local.set $d3 (f64x2.mul (local.get $d3) (local.get $sv)))
    (local.set $d4 (f64x2.mul (local.get $d4) (local.get $sv)))
    ;; fc3 backward: g3[j] += b_j d; e_j = fc3[j] . d (to tmp + 160); then d = e * b (1 - b)
    (local.set $j (i32.const 0))
    (block $bDone16480 (loop $b16480
      (br_if $bDone16480 (i32.ge_u (local.get $j) (i32.const 10)))
      (local.set $row (i32.add (local.get $w) (i32.add (i32.const 16480) (i32.mul (local.get $j) (i32.const 80)))))
      (local.set $grow (i32.add (local.get $g) (i32.add (i32.const 16480) (i32.mul (local.get $j) (i32.const 80)))))
      (local.set $x (f64x2.splat (f64.load offset=80 (i32.add (local.get $tmp) (i32.shl (local.get $j) (i32.const 3))))))
      (v128.store offset=0 (local.get $grow) (f64x2.add (v128.load offset=0 (local.get $grow)) (f64x2.mul (local.get $x) (local.get $d0))))
      (v128.store offset=16 (local.get $grow) (f64x2.add (v128.load offset=16 (local.get $grow)) (f64x2.mul (local.get $x) (local.get $d1))))
      (v128.store offset=32 (local.get $grow) (f64x2.add (v128.load offset=32 (local.get $grow)) (f64x2.mul (local.get $x) (local.get $d2))))
      (v128.store offset=48 (local.get $grow) (f64x2.add (v128.load offset=48 (local.get $grow)) (f64x2.mul (local.get $x) (local.get $d3))))
      (v128.store offset=64 (local.get $grow) (f64x2.add (v128.load offset=64 (local.get $grow)) (f64x2.mul (local.get $x) (local.get $d4))))
      (local.set $acc (f64x2.mul (v128.load (local.get $row)) (local.get $d0)))
      (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (v128.load offset=16 (local.get $row)) (local.get $d1))))
      (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (v128.load offset=32 (local.get $row)) (local.get $d2))))
      (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (v128.load offset=48 (local.get $row)) (local.get $d3))))
      (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (v128.load offset=64 (local.get $row)) (local.get $d4))))
      (f64.store offset=160 (i32.add (local.get $tmp) (i32.shl (local.get $j) (i32.const 3)))
                 (f64.add (f64x2.extract_lane 0 (local.get $acc)) (f64x2.extract_lane 1 (local.get $acc))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $b16480)))
    (local.set $d0 (f64x2.mul (v128.load offset=160 (local.get $tmp)) (f64x2.mul (local.get $b0) (f64x2.sub (local.get $one) (local.get $b0)))))
    (local.set $d1 (f64x2.mul (v128.load offset=176 (local.get $tmp)) (f64x2.mul (local.get $b1) (f64x2.sub (local.get $one) (local.get $b1)))))
    (local.set $d2 (f64x2.mul (v128.load offset=192 (local.get $tmp)) (f64x2.mul (local.get $b2) (f64x2.sub (local.get $one) (local.get $b2)))))
    (local.set $d3 (f64x2.mul (v128.load offset=208 (local.get $tmp)) (f64x2.mul (local.get $b3) (f64x2.sub (local.get $one) (local.get $b3)))))
    (local.set $d4 (f64x2.mul (v128.load offset=224 (local.get $tmp)) (f64x2.mul (local.get $b4) (f64x2.sub (local.get $one) (local.get $b4)))))
    ;; fc2 backward, then d = e * a (1 - a)
    (local.set $j (i32.const 0))
    (block $bDone15680 (loop $b15680
      (br_if $bDone15680 (i32.ge_u (local.get $j) (i32.const 10)))
      (local.set $row (i32.add (local.get $w) (i32.add (i32.const 15680) (i32.mul (local.get $j) (i32.const 80)))))
      (local.set $grow (i32.add (local.get $g) (i32.add (i32.const 15680) (i32.mul (local.get $j) (i32.const 80)))))
      (local.set $x (f64x2.splat (f64.load offset=0 (i32.add (local.get $tmp) (i32.shl (local.get $j) (i32.const 3))))))
      (v128.store offset=0 (local.get $grow) (f64x2.add (v128.load offset=0 (local.get $grow)) (f64x2.mul (local.get $x) (local.get $d0))))
      (v128.store offset=16 (local.get $grow) (f64x2.add (v128.load offset=16 (local.get $grow)) (f64x2.mul (local.get $x) (local.get $d1))))
      (v128.store offset=32 (local.get $grow) (f64x2.add (v128.load offset=32 (local.get $grow)) (f64x2.mul (local.get $x) (local.get $d2))))
      (v128.store offset=48 (local.get $grow) (f64x2.add (v128.load offset=48 (local.get $grow)) (f64x2.mul (local.get $x) (local.get $d3))))
      (v128.store offset=64 (local.get $grow) (f64x2.add (v128.load offset=64 (local.get $grow)) (f64x2.mul (local.get $x) (local.get $d4))))
      (local.set $acc (f64x2.mul (v128.load (local.get $row)) (local.get $d0)))
      (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (v128.load offset=16 (local.get $row)) (local.get $d1))))
      (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (v128.load offset=32 (local.get $row)) (local.get $d2))))
      (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (v128.load offset=48 (local.get $row)) (local.get $d3))))
      (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (v128.load offset=64 (local.get $row)) (local.get $d4))))
      (f64.store offset=160 (i32.add (local.get $tmp) (i32.shl (local.get $j) (i32.const 3)))
                 (f64.add (f64x2.extract_lane 0 (local.get $acc)) (f64x2.extract_lane 1 (local.get $acc))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $b15680)))
    (local.set $d0 (f64x2.mul (v128.load offset=160 (local.get $tmp)) (f64x2.mul (local.get $a0) (f64x2.sub (local.get $one) (local.get $a0)))))
    (local.set $d1 (f64x2.mul (v128.load offset=176 (local.get $tmp)) (f64x2.mul (local.get $a1) (f64x2.sub (local.get $one) (local.get $a1)))))
    (local.set $d2 (f64x2.mul (v128.load offset=192 (local.get $tmp)) (f64x2.mul (local.get $a2) (f64x2.sub (local.get $one) (local.get $a2)))))
    (local.set $d3 (f64x2.mul (v128.load offset=208 (local.get $tmp)) (f64x2.mul (local.get $a3) (f64x2.sub (local.get $one) (local.get $a3)))))
    (local.set $d4 (f64x2.mul (v128.load offset=224 (local.get $tmp)) (f64x2.mul (local.get $a4) (f64x2.sub (local.get $one) (local.get $a4)))))
    ;; fc1 backward over the non-zero pixels: g1[p] += x_p d
    (local.set $k (i32.load (i32.add (local.get $nzStart) (i32.shl (local.get $s) (i32.const 2)))))
    (block $gDone (loop $gin
      (br_if $gDone (i32.ge_s (local.get $k) (local.get $k1)))
      (local.set $grow (i32.add (local.get $g) (i32.mul (i32.load8_u (i32.add (local.get $nzPixel) (local.get $k))) (i32.const 80))))
      (local.set $x (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $nzValue) (i32.shl (local.get $k) (i32.const 2)))))))
      (v128.store offset=0 (local.get $grow) (f64x2.add (v128.load offset=0 (local.get $grow)) (f64x2.mul (local.get $x) (local.get $d0))))
      (v128.store offset=16 (local.get $grow) (f64x2.add (v128.load offset=16 (local.get $grow)) (f64x2.mul (local.get $x) (local.get $d1))))
      (v128.store offset=32 (local.get $grow) (f64x2.add (v128.load offset=32 (local.get $grow)) (f64x2.mul (local.get $x) (local.get $d2))))
      (v128.store offset=48 (local.get $grow) (f64x2.add (v128.load offset=48 (local.get $grow)) (f64x2.mul (local.get $x) (local.get $d3))))
      (v128.store offset=64 (local.get $grow) (f64x2.add (v128.load offset=64 (local.get $grow)) (f64x2.mul (local.get $x) (local.get $d4))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $gin)))
    (local.get $sse))

  ;; 1 / (1 + e^-z) in both lanes
  (func $sigmoid2 (param $z v128) (result v128)
    (f64x2.div (f64x2.splat (f64.const 1)) (f64x2.add (f64x2.splat (f64.const 1)) (call $exp2x (f64x2.neg (local.get $z))))))

  ;; e^x in both lanes: x = k ln 2 + r (k nearest to x / ln 2, ln 2 in two parts), e^r by its
  ;; Taylor series to r^11 / 11! (|r| <= 0.347: relative error below 1e-14), times 2^k from the bits
  (func $exp2x (param $x v128) (result v128)
    (local $k v128) (local $r v128) (local $p v128)
    (local.set $x (f64x2.pmax (f64x2.splat (f64.const -708)) (f64x2.pmin (f64x2.splat (f64.const 709)) (local.get $x))))
    (local.set $k (f64x2.nearest (f64x2.mul (local.get $x) (f64x2.splat (f64.const 1.4426950408889634)))))
    (local.set $r (f64x2.sub (f64x2.sub (local.get $x) (f64x2.mul (local.get $k) (f64x2.splat (f64.const 0.6931471803691238))))
                             (f64x2.mul (local.get $k) (f64x2.splat (f64.const 1.9082149292705877e-10)))))
    (local.set $p (f64x2.splat (f64.const 2.505210838544172e-08)))
    (local.set $p (f64x2.add (f64x2.splat (f64.const 2.755731922398589e-07)) (f64x2.mul (local.get $p) (local.get $r))))
    (local.set $p (f64x2.add (f64x2.splat (f64.const 2.7557319223985893e-06)) (f64x2.mul (local.get $p) (local.get $r))))
    (local.set $p (f64x2.add (f64x2.splat (f64.const 2.48015873015873e-05)) (f64x2.mul (local.get $p) (local.get $r))))
    (local.set $p (f64x2.add (f64x2.splat (f64.const 0.0001984126984126984)) (f64x2.mul (local.get $p) (local.get $r))))
    (local.set $p (f64x2.add (f64x2.splat (f64.const 0.001388888888888889)) (f64x2.mul (local.get $p) (local.get $r))))
    (local.set $p (f64x2.add (f64x2.splat (f64.const 0.008333333333333333)) (f64x2.mul (local.get $p) (local.get $r))))
    (local.set $p (f64x2.add (f64x2.splat (f64.const 0.041666666666666664)) (f64x2.mul (local.get $p) (local.get $r))))
    (local.set $p (f64x2.add (f64x2.splat (f64.const 0.16666666666666666)) (f64x2.mul (local.get $p) (local.get $r))))
    (local.set $p (f64x2.add (f64x2.splat (f64.const 0.5)) (f64x2.mul (local.get $p) (local.get $r))))
    (local.set $p (f64x2.add (f64x2.splat (f64.const 1.0)) (f64x2.mul (local.get $p) (local.get $r))))
    (local.set $p (f64x2.add (f64x2.splat (f64.const 1.0)) (f64x2.mul (local.get $p) (local.get $r))))
    (f64x2.mul (local.get $p)
      (i64x2.shl (i64x2.add (i64x2.extend_low_i32x4_s (i32x4.trunc_sat_f64x2_s_zero (local.get $k))) (i64x2.splat (i64.const 1023)))
                 (i32.const 52))))


  ;; UMAP: one epoch of the layout's stochastic gradient descent (reduce/umap.ts optimizeLayout;
  ;; umap-learn's optimize_layout_euclidean, as umap-js steps it). y: n x dims float64; head,
  ;; tail: m int32; sched: four float64 arrays of m end to end (epochs per sample, epochs per
  ;; negative sample, epoch of next sample, epoch of next negative sample), advanced in place;
  ;; rng: the four int32 words of xoshiro128** (core/rng.ts), advanced in place. Each due edge
  ;; pulls its ends together, then pushes its head away from random points; every gradient
  ;; coordinate is clipped to +-clip. x^b is 2^(b log2 x) ($pow).
  (func (export "umapEpoch") (param $y i32) (param $n i32) (param $dims i32) (param $head i32) (param $tail i32) (param $m i32)
        (param $sched i32) (param $a f64) (param $b f64) (param $gamma f64) (param $clip f64) (param $epoch f64) (param $alpha f64) (param $rng i32)
    (local $e i32) (local $e8 i32) (local $j i32) (local $k i32) (local $o i32) (local $c i32) (local $rowBytes i32)
    (local $perS i32) (local $perN i32) (local $nextS i32) (local $nextN i32) (local $headId i32)
    (local $negs i32) (local $s i32) (local $other i32)
    (local $d2 f64) (local $coeff f64) (local $p f64) (local $g f64) (local $negF f64)
    (local.set $rowBytes (i32.shl (local.get $dims) (i32.const 3)))
    (local.set $perS (local.get $sched))
    (local.set $perN (i32.add (local.get $perS) (i32.shl (local.get $m) (i32.const 3))))
    (local.set $nextS (i32.add (local.get $perN) (i32.shl (local.get $m) (i32.const 3))))
    (local.set $nextN (i32.add (local.get $nextS) (i32.shl (local.get $m) (i32.const 3))))
    (local.set $e (i32.const 0))
    (block $edgesDone (loop $edges
      (br_if $edgesDone (i32.ge_u (local.get $e) (local.get $m)))
      (local.set $e8 (i32.shl (local.get $e) (i32.const 3)))
      (if (f64.le (f64.load (i32.add (local.get $nextS) (local.get $e8))) (local.get $epoch))
        (then
          (local.set $headId (i32.load (i32.add (local.get $head) (i32.shl (local.get $e) (i32.const 2)))))
          (local.set $j (i32.add (local.get $y) (i32.mul (local.get $headId) (local.get $rowBytes))))
          (local.set $k (i32.add (local.get $y) (i32.mul (i32.load (i32.add (local.get $tail) (i32.shl (local.get $e) (i32.const 2)))) (local.get $rowBytes))))
          ;; attraction: -2ab d2^(b-1) / (a d2^b + 1)
          (local.set $d2 (call $dist2 (local.get $j) (local.get $k) (local.get $rowBytes)))
          (local.set $coeff (f64.const 0))
          (if (f64.gt (local.get $d2) (f64.const 0))
            (then
              (local.set $p (call $pow (local.get $d2) (local.get $b)))
              (local.set $coeff (f64.div (f64.mul (f64.mul (f64.const -2) (f64.mul (local.get $a) (local.get $b))) (f64.div (local.get $p) (local.get $d2)))
                                         (f64.add (f64.mul (local.get $a) (local.get $p)) (f64.const 1))))))
          (local.set $c (i32.const 0))
          (block $pullDone (loop $pull
            (br_if $pullDone (i32.ge_u (local.get $c) (local.get $rowBytes)))
            (local.set $g (f64.mul (call $clipTo (f64.mul (local.get $coeff)
                                                        (f64.sub (f64.load (i32.add (local.get $j) (local.get $c))) (f64.load (i32.add (local.get $k) (local.get $c)))))
                                                 (local.get $clip))
                                   (local.get $alpha)))
            (f64.store (i32.add (local.get $j) (local.get $c)) (f64.add (f64.load (i32.add (local.get $j) (local.get $c))) (local.get $g)))
            (f64.store (i32.add (local.get $k) (local.get $c)) (f64.sub (f64.load (i32.add (local.get $k) (local.get $c))) (local.get $g)))
            (local.set $c (i32.add (local.get $c) (i32.const 8)))
            (br $pull)))
          (f64.store (i32.add (local.get $nextS) (local.get $e8))
                     (f64.add (f64.load (i32.add (local.get $nextS) (local.get $e8))) (f64.load (i32.add (local.get $perS) (local.get $e8)))))
          ;; repulsion from floor((epoch - next negative) / per negative) random points: 2 gamma b / ((0.001 + d2)(a d2^b + 1))
          (local.set $negF (f64.floor (f64.div (f64.sub (local.get $epoch) (f64.load (i32.add (local.get $nextN) (local.get $e8))))
                                               (f64.load (i32.add (local.get $perN) (local.get $e8))))))
          (local.set $negs (i32.trunc_f64_s (local.get $negF)))
          (local.set $s (i32.const 0))
          (block $negDone (loop $neg
            (br_if $negDone (i32.ge_s (local.get $s) (local.get $negs)))
            (local.set $s (i32.add (local.get $s) (i32.const 1)))
            (local.set $other (i32.rem_u (call $xoshiro (local.get $rng)) (local.get $n)))
            (local.set $o (i32.add (local.get $y) (i32.mul (local.get $other) (local.get $rowBytes))))
            (local.set $d2 (call $dist2 (local.get $j) (local.get $o) (local.get $rowBytes)))
            (br_if $neg (i32.and (f64.eq (local.get $d2) (f64.const 0)) (i32.eq (local.get $other) (local.get $headId))))
            (local.set $coeff (f64.const 0))
            (if (f64.gt (local.get $d2) (f64.const 0))
              (then
                (local.set $coeff (f64.div (f64.mul (f64.const 2) (f64.mul (local.get $gamma) (local.get $b)))
                                           (f64.mul (f64.add (f64.const 0.001) (local.get $d2))
                                                    (f64.add (f64.mul (local.get $a) (call $pow (local.get $d2) (local.get $b))) (f64.const 1)))))))
            (local.set $c (i32.const 0))
            (block $pushDone (loop $push
              (br_if $pushDone (i32.ge_u (local.get $c) (local.get $rowBytes)))
              (if (f64.gt (local.get $coeff) (f64.const 0))
                (then (local.set $g (call $clipTo (f64.mul (local.get $coeff)
                                                          (f64.sub (f64.load (i32.add (local.get $j) (local.get $c))) (f64.load (i32.add (local.get $o) (local.get $c)))))
                                                  (local.get $clip))))
                (else (local.set $g (local.get $clip))))
              (f64.store (i32.add (local.get $j) (local.get $c)) (f64.add (f64.load (i32.add (local.get $j) (local.get $c))) (f64.mul (local.get $g) (local.get $alpha))))
              (local.set $c (i32.add (local.get $c) (i32.const 8)))
              (br $push)))
            (br $neg)))
          (f64.store (i32.add (local.get $nextN) (local.get $e8))
                     (f64.add (f64.load (i32.add (local.get $nextN) (local.get $e8))) (f64.mul (local.get $negF) (f64.load (i32.add (local.get $perN) (local.get $e8))))))))
      (local.set $e (i32.add (local.get $e) (i32.const 1)))
      (br $edges))))

  ;; squared distance between the float64 rows at p and q, rowBytes bytes each
  (func $dist2 (param $p i32) (param $q i32) (param $rowBytes i32) (result f64)
    (local $c i32) (local $s f64) (local $d f64)
    (block $done (loop $sum
      (br_if $done (i32.ge_u (local.get $c) (local.get $rowBytes)))
      (local.set $d (f64.sub (f64.load (i32.add (local.get $p) (local.get $c))) (f64.load (i32.add (local.get $q) (local.get $c)))))
      (local.set $s (f64.add (local.get $s) (f64.mul (local.get $d) (local.get $d))))
      (local.set $c (i32.add (local.get $c) (i32.const 8)))
      (br $sum)))
    (local.get $s))

  (func $clipTo (param $v f64) (param $limit f64) (result f64)
    (f64.max (f64.neg (local.get $limit)) (f64.min (local.get $limit) (local.get $v))))

  ;; x^b for x > 0 (normal floats): 2^(b log2 x), relative error below 1e-8
  (func $pow (param $x f64) (param $b f64) (result f64)
    (call $exp2 (f64.mul (local.get $b) (call $log2 (local.get $x)))))

  ;; log2 x = e + log2 m from the float's exponent e and mantissa m in [0.707, 1.414), with
  ;; ln m = 2 atanh t, t = (m - 1) / (m + 1) < 0.172, summed to t^11. The series goes by
  ;; Estrin's scheme (pairs of terms side by side), as the optimiser's steps wait on each result.
  (func $log2 (param $x f64) (result f64)
    (local $bits i64) (local $e f64) (local $m f64) (local $t f64) (local $t2 f64) (local $t4 f64)
    (local.set $bits (i64.reinterpret_f64 (local.get $x)))
    (local.set $e (f64.convert_i64_s (i64.sub (i64.shr_u (local.get $bits) (i64.const 52)) (i64.const 1023))))
    (local.set $m (f64.reinterpret_i64 (i64.or (i64.and (local.get $bits) (i64.const 0x000fffffffffffff)) (i64.const 0x3ff0000000000000))))
    (if (f64.gt (local.get $m) (f64.const 1.4142135623730951))
      (then (local.set $m (f64.mul (local.get $m) (f64.const 0.5)))
            (local.set $e (f64.add (local.get $e) (f64.const 1)))))
    (local.set $t (f64.div (f64.sub (local.get $m) (f64.const 1)) (f64.add (local.get $m) (f64.const 1))))
    (local.set $t2 (f64.mul (local.get $t) (local.get $t)))
    (local.set $t4 (f64.mul (local.get $t2) (local.get $t2)))
    ;; coefficients 2 / (k ln 2) for k = 1, 3, ..., 11
    (f64.add (local.get $e)
      (f64.mul (local.get $t)
        (f64.add
          (f64.add (f64.const 2.8853900817779268) (f64.mul (local.get $t2) (f64.const 0.9617966939259756)))
          (f64.mul (local.get $t4)
            (f64.add
              (f64.add (f64.const 0.5770780163555854) (f64.mul (local.get $t2) (f64.const 0.41219858311113244)))
              (f64.mul (local.get $t4)
                (f64.add (f64.const 0.32059889797532526) (f64.mul (local.get $t2) (f64.const 0.26230818925254))))))))))

  ;; 2^v = 2^k e^f, k = floor v, f = (v - k) ln 2 in [0, 0.694), e^f by its Taylor series to
  ;; f^9 / 9! (Estrin's scheme)
  (func $exp2 (param $v f64) (result f64)
    (local $k f64) (local $f f64) (local $f2 f64) (local $f4 f64)
    (local.set $v (f64.max (f64.const -1022) (f64.min (f64.const 1023) (local.get $v))))
    (local.set $k (f64.floor (local.get $v)))
    (local.set $f (f64.mul (f64.sub (local.get $v) (local.get $k)) (f64.const 0.6931471805599453)))
    (local.set $f2 (f64.mul (local.get $f) (local.get $f)))
    (local.set $f4 (f64.mul (local.get $f2) (local.get $f2)))
    (f64.mul
      (f64.add
        (f64.add
          (f64.add (f64.const 1) (local.get $f))
          (f64.mul (local.get $f2) (f64.add (f64.const 0.5) (f64.mul (local.get $f) (f64.const 0.16666666666666666)))))
        (f64.mul (local.get $f4)
          (f64.add
            (f64.add
              (f64.add (f64.const 0.041666666666666664) (f64.mul (local.get $f) (f64.const 0.008333333333333333)))
              (f64.mul (local.get $f2) (f64.add (f64.const 0.001388888888888889) (f64.mul (local.get $f) (f64.const 0.0001984126984126984)))))
            (f64.mul (local.get $f4) (f64.add (f64.const 0.0000248015873015873) (f64.mul (local.get $f) (f64.const 0.0000027557319223985893)))))))
      (f64.reinterpret_i64 (i64.shl (i64.add (i64.trunc_f64_s (local.get $k)) (i64.const 1023)) (i64.const 52)))))

  ;; xoshiro128** 1.0 (core/rng.ts nextUint32): the next 32-bit output of the state at st
  (func $xoshiro (param $st i32) (result i32)
    (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $s3 i32) (local $t i32) (local $r i32)
    (local.set $s0 (i32.load (local.get $st)))
    (local.set $s1 (i32.load offset=4 (local.get $st)))
    (local.set $s2 (i32.load offset=8 (local.get $st)))
    (local.set $s3 (i32.load offset=12 (local.get $st)))
    (local.set $r (i32.mul (i32.rotl (i32.mul (local.get $s1) (i32.const 5)) (i32.const 7)) (i32.const 9)))
    (local.set $t (i32.shl (local.get $s1) (i32.const 9)))
    (local.set $s2 (i32.xor (local.get $s2) (local.get $s0)))
    (local.set $s3 (i32.xor (local.get $s3) (local.get $s1)))
    (local.set $s1 (i32.xor (local.get $s1) (local.get $s2)))
    (local.set $s0 (i32.xor (local.get $s0) (local.get $s3)))
    (local.set $s2 (i32.xor (local.get $s2) (local.get $t)))
    (local.set $s3 (i32.rotl (local.get $s3) (i32.const 11)))
    (i32.store (local.get $st) (local.get $s0))
    (i32.store offset=4 (local.get $st) (local.get $s1))
    (i32.store offset=8 (local.get $st) (local.get $s2))
    (i32.store offset=12 (local.get $st) (local.get $s3))
    (local.get $r))

  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v))))))
