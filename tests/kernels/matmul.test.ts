import { describe, expect, it } from 'vitest';
import { type MatmulOptions, matmul } from '../../src/cpu/matmul';
import { runDispatches } from '../../src/gpu/dispatch';
import { chooseSplits, prepareMatmul } from '../../src/gpu/ops/matmul';
import { expectAllClose } from '../helpers/allclose';
import { gpuContext, poisoned, randomF32, readF32, seeded, upload } from '../helpers/gpu';

// Tolerance: inputs are U(-1, 1), so each output is a sum of K products of magnitude ≤ 1. The GPU accumulates in f32
// with fma in a different order than the f64 reference; the rounding error of a length-K f32 dot product is bounded by
// about K·2⁻²⁴·Σ|aᵢbᵢ| ≤ K²·6e-8, but it behaves like a random walk: ~√K·6e-8·√K ≈ K·6e-8 in typical magnitude.
// With K ≤ 700 that is ≈ 4e-5; atol 2e-4 leaves 5× headroom while still catching any wrong index (errors ~0.1–10).
const TOL = { rtol: 1e-4, atol: 2e-4 };

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [7, 13, 5],
  [64, 64, 16],
  [65, 63, 17],
  [100, 37, 129],
  [33, 130, 700],
];

/** The textbook loop (m, n, then k): the definition the reference's fast loop order is tested against. */
function matmulNaive(
  a: Float32Array,
  b: Float32Array,
  M: number,
  N: number,
  K: number,
  opts: MatmulOptions = {},
): Float32Array {
  const c = opts.accumulateInto ?? new Float32Array(M * N);
  const accumulate = opts.accumulateInto !== undefined;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const av = opts.transA ? a[k * M + m]! : a[m * K + k]!;
        const bv = opts.transB ? b[n * K + k]! : b[k * N + n]!;
        s += av * bv;
      }
      if (opts.bias) s += opts.bias[n]!;
      c[m * N + n] = accumulate ? c[m * N + n]! + s : s;
    }
  }
  return c;
}

describe('the CPU reference', () => {
  // The fast loop order (rows of f64 sums) must give the same bits as the textbook m-n-k loop: every sum is taken in
  // the same order, so any difference (a wrong stride, a lost bias or accumulate) is a bug, not rounding.
  it('equals the textbook loop bit for bit, for every layout, bias and accumulate', () => {
    const rng = seeded(5);
    for (const [M, N, K] of SHAPES.slice(0, 5)) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          for (const withBias of [false, true]) {
            const a = randomF32(rng, M * K);
            const b = randomF32(rng, K * N);
            const bias = withBias ? randomF32(rng, N) : undefined;
            const c0 = randomF32(rng, M * N);
            for (const accumulate of [false, true]) {
              const opts = { transA, transB, bias };
              const fast = matmul(a, b, M, N, K, { ...opts, accumulateInto: accumulate ? c0.slice() : undefined });
              const naive = matmulNaive(a, b, M, N, K, {
                ...opts,
                accumulateInto: accumulate ? c0.slice() : undefined,
              });
              expect(fast).toEqual(naive);
            }
          }
        }
      }
    }
  });
});

describe('matmul.wgsl against the CPU reference', () => {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      for (const [M, N, K] of SHAPES) {
        it(`M=${M} N=${N} K=${K} transA=${transA} transB=${transB}`, async () => {
          const ctx = await gpuContext();
          const rng = seeded(M * 1000 + N * 10 + K + (transA ? 7 : 0) + (transB ? 13 : 0));
          const a = randomF32(rng, M * K);
          const b = randomF32(rng, K * N);
          const bias = randomF32(rng, N);
          const c = poisoned(ctx, M * N);
          runDispatches(
            ctx,
            prepareMatmul(ctx, {
              a: upload(ctx, a),
              b: upload(ctx, b),
              c,
              M,
              N,
              K,
              transA,
              transB,
              bias: upload(ctx, bias),
            }),
          );
          const got = await readF32(ctx, c);
          expectAllClose(got, matmul(a, b, M, N, K, { transA, transB, bias }), TOL, 'C');
        });
      }
    }
  }

  it('split-K with bias and accumulate equals the reference', async () => {
    const ctx = await gpuContext();
    const rng = seeded(42);
    const [M, N, K] = [70, 45, 1500];
    const scratch = poisoned(ctx, 64 * M * N);
    expect(chooseSplits(M, N, K, scratch.length)).toBeGreaterThan(1);
    const a = randomF32(rng, K * M);
    const b = randomF32(rng, K * N);
    const bias = randomF32(rng, N);
    const init = randomF32(rng, M * N);
    const c = upload(ctx, init);
    const dispatches = prepareMatmul(ctx, {
      a: upload(ctx, a),
      b: upload(ctx, b),
      c,
      M,
      N,
      K,
      transA: true,
      bias: upload(ctx, bias),
      accumulate: true,
      scratch,
    });
    expect(dispatches.length).toBe(2);
    runDispatches(ctx, dispatches);
    const expected = matmul(a, b, M, N, K, { transA: true, bias, accumulateInto: init.slice() });
    // K = 1500: the same random-walk bound gives ≈ 1e-4 typical error; 5e-4 keeps headroom.
    expectAllClose(await readF32(ctx, c), expected, { rtol: 1e-4, atol: 5e-4 }, 'C');
  });

  it('rejects tensors too small for the shape', async () => {
    const ctx = await gpuContext();
    const t = upload(ctx, new Float32Array(10));
    expect(() => prepareMatmul(ctx, { a: t, b: t, c: t, M: 4, N: 4, K: 4 })).toThrow(/A has 10 elements, needs 16/);
  });
});
