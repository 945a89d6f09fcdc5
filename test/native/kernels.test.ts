// Fast kernels against their naive references (double-precision loops in the addon):
// GEMM through OpenBLAS and through our portable kernel, on odd shapes with every transpose and
// leading dimensions wider than the rows; im2col conv forward/backward; pooling forward/backward.
// Tolerance: |fast − ref| <= 1e-5·(K+1)·max|ref| (float32 accumulation over K terms).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { kernels, nativeInfo, reference, setGemm, type ConvShape, type PoolMode } from '../../src/engine/native.ts';
import { maxAbs, maxAbsDiff, randomInput } from './helpers.ts';

const initial = nativeInfo().gemm;
after(() => setGemm(initial));

const impls: ('portable' | 'openblas')[] = nativeInfo().openblas ? ['portable', 'openblas'] : ['portable'];

const shapes: [number, number, number][] = [
  [1, 1, 1], [3, 5, 7], [10, 30, 784], [30, 784, 10], [6, 32, 256], [7, 33, 257], [13, 17, 300],
  [97, 45, 129], [200, 20, 25], [5, 1000, 3], [1, 64, 1], [64, 1, 64],
];

describe('gemm vs reference', () => {
  for (const impl of impls) {
    test(`${impl}: all transposes, odd shapes, alpha/beta, padded leading dimensions`, () => {
      setGemm(impl);
      assert.equal(nativeInfo().gemm, impl);
      let seed = 1;
      for (const [M, N, K] of shapes) {
        for (const ta of [false, true]) {
          for (const tb of [false, true]) {
            for (const [alpha, beta, pad] of [[1, 0, 0], [0.5, 1, 3], [-2, 0.25, 1]] as const) {
              const lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
              const A = randomInput((ta ? K : M) * lda, 1, seed++).map((v) => v - 0.5);
              const B = randomInput((tb ? N : K) * ldb, 1, seed++).map((v) => v - 0.5);
              const C0 = randomInput(M * ldc, 1, seed++);
              if (beta === 0) C0.fill(NaN); // beta 0 must not read C
              const fast = C0.slice(), ref = C0.slice();
              kernels.gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, fast, ldc);
              reference.gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, ref, ldc);
              for (let i = 0; i < M; i++) {
                for (let j = N; j < ldc; j++) {
                  const idx = i * ldc + j;
                  assert.ok(Object.is(fast[idx], C0[idx]), 'gemm wrote outside the N columns');
                }
                for (let j = 0; j < N; j++) fast[i * ldc + j]! -= ref[i * ldc + j]!;
              }
              let err = 0;
              for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) err = Math.max(err, Math.abs(fast[i * ldc + j]!));
              const scale = Math.max(1, maxAbs(ref.map((v) => (Number.isNaN(v) ? 0 : v))));
              assert.ok(err <= 1e-5 * (K + 1) * scale, `${impl} ${M}×${N}×${K} ta=${ta} tb=${tb}: err ${err}`);
            }
          }
        }
      }
    });
  }
});

const convShapes: ConvShape[] = [
  { H: 28, W: 28, C: 1, F: 20, K: 5 },
  { H: 12, W: 12, C: 20, F: 40, K: 5 },
  { H: 7, W: 9, C: 3, F: 5, K: 3 },
  { H: 5, W: 5, C: 2, F: 1, K: 5 },
  { H: 6, W: 4, C: 1, F: 3, K: 1 },
];

describe('conv (im2col + GEMM) vs direct reference', () => {
  for (const impl of impls) {
    test(`${impl}: forward and backward`, () => {
      setGemm(impl);
      let seed = 100;
      for (const s of convShapes) {
        const rows = 3;
        const x = randomInput(rows * s.H * s.W * s.C, 1, seed++);
        const W = randomInput(s.F * s.K * s.K * s.C, 1, seed++).map((v) => v - 0.5);
        const b = randomInput(s.F, 1, seed++);
        const P = (s.H - s.K + 1) * (s.W - s.K + 1);
        const kk = s.K * s.K * s.C;
        const zf = kernels.convForward(s, x, W, b, rows), zr = reference.convForward(s, x, W, b, rows);
        assert.ok(maxAbsDiff(zf, zr) <= 1e-5 * (kk + 1) * Math.max(1, maxAbs(zr)), `forward ${JSON.stringify(s)}`);
        const dz = randomInput(rows * P * s.F, 1, seed++).map((v) => v - 0.5);
        const gf = kernels.convBackward(s, x, W, dz, rows), gr = reference.convBackward(s, x, W, dz, rows);
        for (const key of ['dW', 'db', 'dx'] as const) {
          const tol = 1e-5 * (rows * P + kk + 1) * Math.max(1, maxAbs(gr[key]));
          assert.ok(maxAbsDiff(gf[key], gr[key]) <= tol, `${key} ${JSON.stringify(s)}: ${maxAbsDiff(gf[key], gr[key])}`);
        }
      }
    });
  }
});

describe('pooling vs reference', () => {
  for (const mode of ['max', 'l2', 'avg'] as PoolMode[]) {
    test(mode, () => {
      let seed = 200;
      for (const s of [{ H: 24, W: 24, C: 20 }, { H: 8, W: 8, C: 40 }, { H: 5, W: 7, C: 3 }, { H: 2, W: 2, C: 1 }]) {
        const rows = 2;
        const x = randomInput(rows * s.H * s.W * s.C, 1, seed++).map((v) => v - 0.3);
        const yf = kernels.poolForward(mode, s, x, rows), yr = reference.poolForward(mode, s, x, rows);
        assert.ok(maxAbsDiff(yf, yr) <= 1e-6, `${mode} forward ${JSON.stringify(s)}`);
        const dy = randomInput(yf.length, 1, seed++);
        const df = kernels.poolBackward(mode, s, x, yf, dy, rows), dr = reference.poolBackward(mode, s, x, yr, dy, rows);
        assert.ok(maxAbsDiff(df, dr) <= 1e-6, `${mode} backward ${JSON.stringify(s)}`);
      }
    });
  }
  test('max routes the gradient to exactly one input per window, even on ties', () => {
    const s = { H: 2, W: 2, C: 1 };
    const x = new Float32Array([0.5, 0.5, 0.5, 0.1]);
    const y = kernels.poolForward('max', s, x, 1);
    const dx = kernels.poolBackward('max', s, x, y, new Float32Array([1]), 1);
    assert.deepEqual([...dx], [1, 0, 0, 0]);
    assert.deepEqual([...reference.poolBackward('max', s, x, y, new Float32Array([1]), 1)], [1, 0, 0, 0]);
  });
});

// The one-thread fused dense backward + SGD step: one sweep over W gives dx (with the old W) and the
// stepped W. Rows 1..12 take the sweep (every register-tile width), 13+ the two-pass fallback; `in`
// covers full vectors, the 8- and 4-wide tails and single columns.
describe('dense backward step vs reference', () => {
  const cases: [number, number, number][] = [
    [1, 1, 1], [10, 1000, 200], [10, 640, 37], [3, 17, 5], [12, 100, 30], [7, 29, 64], [5, 784, 10], [13, 50, 20], [32, 40, 9],
  ];
  for (const withDx of [true, false]) {
    test(`rows × in × out, ${withDx ? 'with' : 'without'} dx, with and without L2`, () => {
      let seed = 500;
      for (const [rows, inn, out] of cases) {
        for (const l2 of [0, 0.01]) {
          const shape = { rows, in: inn, out, eta: 0.5, l2 }; // a big step: dx from the stepped W would be far off
          const x = randomInput(rows * inn, 1, seed++).map((v) => v - 0.3);
          const W = randomInput(out * inn, 1, seed++).map((v) => (v - 0.5) * 0.2);
          const dz = randomInput(rows * out, 1, seed++).map((v) => v - 0.5);
          const W0 = W.slice();
          const f = kernels.denseBackwardStep(shape, x, W, dz, withDx);
          const r = reference.denseBackwardStep(shape, x, W, dz, withDx);
          const what = `${rows}×${inn}×${out} l2=${l2}`;
          // the step moves W by η·(mean of rows products): compare the moves, at float32 accumulation over rows
          const moveF = f.W.map((w, i) => w - W[i]!), moveR = r.W.map((w, i) => w - W[i]!);
          assert.ok(maxAbsDiff(moveF, moveR) <= 1e-5 * (rows + 1) * Math.max(1e-3, maxAbs(moveR)) + 1e-7, `W ${what}`);
          assert.ok(maxAbsDiff(f.db, r.db) <= 1e-5 * (rows + 1) * Math.max(1, maxAbs(r.db)), `db ${what}`);
          if (withDx) assert.ok(maxAbsDiff(f.dx!, r.dx!) <= 1e-5 * (out + 1) * Math.max(1, maxAbs(r.dx!)), `dx ${what}`);
          else assert.equal(f.dx, null);
          assert.ok(Math.abs(f.sq - r.sq) <= 1e-4 * r.sq + 1e-12, `sq ${what}: ${f.sq} vs ${r.sq}`);
          assert.deepEqual(W, W0, 'the input W is left alone');
          assert.ok(r.sq > 0 && maxAbs(moveR) > 0, `the case steps W (${what})`);
        }
      }
    });
  }
});
