import { describe, expect, it } from 'vitest';
import { layernormBackward, layernormForward, layernormForward64 } from '../../src/cpu/layernorm';
import { runDispatches } from '../../src/gpu/dispatch';
import {
  layernormBackwardScratchElements,
  prepareLayernormBackward,
  prepareLayernormForward,
} from '../../src/gpu/ops/layernorm';
import { expectAllClose } from '../helpers/allclose';
import { centralDifferences, dot } from '../helpers/finite_diff';
import { gpuContext, poisoned, randomF32, readF32, seeded, upload, withLimits } from '../helpers/gpu';

// Forward tolerance: inputs are U(-2, 3), so xhat = (x − mean)·rstd is O(1–3) and out = xhat·w + b is O(5). The GPU
// sums C ≤ 130 values in f32 (32-lane partials plus a tree, error ≈ √C·2⁻²⁴ relative ≈ 1e-6) and inverseSqrt is
// accurate to 2 ulp, so out differs from the f64 reference by a few 1e-7·|out|; rtol/atol 2e-5 leave >10× headroom
// and still catch any wrong index (errors O(1)).
const FWD_TOL = { rtol: 2e-5, atol: 2e-5 };
// Backward: dinp = rstd·(dnorm − mean(dnorm) − xhat·mean(dnorm·xhat)) mixes O(1) terms with cancellation, so its
// absolute error is a few ulp of the O(5) intermediate values (≈ 1e-6); dweight/dbias sum N ≤ 2100 O(3) terms in
// f32 (chunk partials of ≤ 33 rows, then Σ over ≤ 64 chunks): random-walk error ≈ √N·3·6e-8 ≈ 8e-6. atol 5e-5 /
// rtol 5e-5 leaves ≥ 6× headroom.
const BWD_TOL = { rtol: 5e-5, atol: 5e-5 };

const SHAPES: [number, number][] = [
  [1, 1],
  [5, 7],
  [67, 33],
  [3, 130],
  [300, 64],
  [9, 257],
  [2100, 5], // 64 row chunks of 33 rows (the cap), the last one partial
];

describe('layernorm_forward.wgsl against the CPU reference', () => {
  for (const [N, C] of SHAPES) {
    for (const serial of [false, true]) {
      it(`N=${N} C=${C} (${serial ? 'serial: a row an invocation' : '32 lanes a row'})`, async () => {
        const ctx = await gpuContext();
        const rng = seeded(N * 1000 + C);
        const x = randomF32(rng, N * C, -2, 3);
        const w = randomF32(rng, C, 0.5, 1.5);
        const b = randomF32(rng, C);
        const out = poisoned(ctx, N * C);
        const mean = poisoned(ctx, N);
        const rstd = poisoned(ctx, N);
        runDispatches(
          ctx,
          prepareLayernormForward(ctx, {
            inp: upload(ctx, x),
            weight: upload(ctx, w),
            bias: upload(ctx, b),
            out,
            mean,
            rstd,
            N,
            C,
            serial,
          }),
        );
        const ref = layernormForward(x, w, b, N, C);
        expectAllClose(await readF32(ctx, out), ref.out, FWD_TOL, 'out');
        expectAllClose(await readF32(ctx, mean), ref.mean, { rtol: 1e-5, atol: 1e-6 }, 'mean');
        // rstd ≤ 1/√eps ≈ 316 (C = 1); relative accuracy is what matters.
        expectAllClose(await readF32(ctx, rstd), ref.rstd, { rtol: 2e-5, atol: 0 }, 'rstd');
      });
    }
  }
});

describe('layernorm_backward.wgsl against the CPU reference', () => {
  for (const [N, C] of SHAPES) {
    for (const [accumulate, serial] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      it(`N=${N} C=${C} accumulate=${accumulate} (dinp ${serial ? 'serial: a row an invocation' : 'by 32 lanes a row'})`, async () => {
        const ctx = await gpuContext();
        const rng = seeded(N * 1000 + C + (accumulate ? 1 : 0));
        const x = randomF32(rng, N * C, -2, 3);
        const w = randomF32(rng, C, 0.5, 1.5);
        const b = randomF32(rng, C);
        const dout = randomF32(rng, N * C);
        const { mean, rstd } = layernormForward(x, w, b, N, C);
        const initDinp = randomF32(rng, N * C);
        const initDw = randomF32(rng, C);
        const initDb = randomF32(rng, C);
        const dinp = accumulate ? upload(ctx, initDinp) : poisoned(ctx, N * C);
        const dweight = accumulate ? upload(ctx, initDw) : poisoned(ctx, C);
        const dbias = accumulate ? upload(ctx, initDb) : poisoned(ctx, C);
        const scratch = poisoned(ctx, layernormBackwardScratchElements(N, C));
        const dispatches = prepareLayernormBackward(ctx, {
          dout: upload(ctx, dout),
          inp: upload(ctx, x),
          weight: upload(ctx, w),
          mean: upload(ctx, mean),
          rstd: upload(ctx, rstd),
          dinp,
          dweight,
          dbias,
          scratch,
          N,
          C,
          accumulate,
          accumulateParams: accumulate,
          serial,
        });
        expect(dispatches[0]!.pipeline.label).toContain(serial ? '|dinp_serial|' : '|dinp|');
        runDispatches(ctx, dispatches);
        const ref = layernormBackward(dout, x, w, mean, rstd, N, C);
        const plus = (init: Float32Array, d: Float32Array) => (accumulate ? d.map((v, i) => v + init[i]!) : d);
        expectAllClose(await readF32(ctx, dinp), plus(initDinp, ref.dinp), BWD_TOL, 'dinp');
        expectAllClose(await readF32(ctx, dweight), plus(initDw, ref.dweight), BWD_TOL, 'dweight');
        expectAllClose(await readF32(ctx, dbias), plus(initDb, ref.dbias), BWD_TOL, 'dbias');
      });
    }
  }

  it('rejects bad shapes, short scratch and aliasing', async () => {
    const ctx = await gpuContext();
    const t = upload(ctx, new Float32Array(64));
    const other = upload(ctx, new Float32Array(64));
    const base = { dout: t, inp: t, weight: t, mean: t, rstd: t, dinp: other, dweight: other, dbias: other };
    expect(() => prepareLayernormBackward(ctx, { ...base, scratch: other, N: 4, C: 32 })).toThrow(
      /dout has 64 elements, needs 128/,
    );
    expect(() =>
      prepareLayernormBackward(ctx, { ...base, scratch: upload(ctx, new Float32Array(8)), N: 2, C: 8 }),
    ).toThrow(/scratch has 8 elements, needs/);
    expect(() =>
      prepareLayernormBackward(ctx, { ...base, dinp: t, scratch: upload(ctx, new Float32Array(256)), N: 2, C: 8 }),
    ).toThrow(/dinp must not overlap dout/);
    expect(() =>
      prepareLayernormForward(ctx, { inp: t, weight: t, bias: t, out: other, mean: t, rstd: other, N: 2, C: 0 }),
    ).toThrow(/C must be a positive integer/);
  });
});

describe('layernorm kernels on a 2D grid', () => {
  for (const serial of [false, true]) {
    it(`forward and dinp are right when the row-group count exceeds the per-dimension limit (${serial ? 'serial forms' : 'by lanes'})`, async () => {
      const real = await gpuContext();
      const ctx = withLimits(real, { maxComputeWorkgroupsPerDimension: 5 });
      const [N, C] = [67, 9];
      const rng = seeded(4242);
      const x = randomF32(rng, N * C, -2, 3);
      const w = randomF32(rng, C, 0.5, 1.5);
      const b = randomF32(rng, C);
      const dout = randomF32(rng, N * C);
      const out = poisoned(ctx, N * C);
      const mean = poisoned(ctx, N);
      const rstd = poisoned(ctx, N);
      const dinp = poisoned(ctx, N * C);
      const [inpT, wT] = [upload(ctx, x), upload(ctx, w)];
      const fwd = prepareLayernormForward(ctx, {
        inp: inpT,
        weight: wT,
        bias: upload(ctx, b),
        out,
        mean,
        rstd,
        N,
        C,
        serial,
      });
      // By lanes 9 row groups of 8 → a 5×2 grid; serial 17 groups of 4 → 5×4. The last group partial in both.
      expect(fwd[0]!.workgroups).toEqual(serial ? [5, 4, 1] : [5, 2, 1]);
      const bwd = prepareLayernormBackward(ctx, {
        dout: upload(ctx, dout),
        inp: inpT,
        weight: wT,
        mean,
        rstd,
        dinp,
        dweight: poisoned(ctx, C),
        dbias: poisoned(ctx, C),
        scratch: poisoned(ctx, layernormBackwardScratchElements(N, C)),
        N,
        C,
        serial,
      });
      runDispatches(ctx, [...fwd, ...bwd]);
      const ref = layernormForward(x, w, b, N, C);
      expectAllClose(await readF32(real, out), ref.out, FWD_TOL, 'out');
      const refB = layernormBackward(dout, x, w, ref.mean, ref.rstd, N, C);
      expectAllClose(await readF32(real, dinp), refB.dinp, BWD_TOL, 'dinp');
    });
  }
});

describe('CPU layernormBackward against central finite differences of the forward', () => {
  // loss = Σ dout·out in f64; ∂loss/∂θ ≈ (loss(θ+h) − loss(θ−h)) / 2h. With h = 1e-4 the truncation error is
  // O(h²·|f'''|) ≈ 1e-8 and the f64 rounding error ≈ 1e-16/h ≈ 1e-12, so the FD is exact to ~1e-7; the analytic
  // gradient uses f32 mean/rstd (relative error 6e-8) and returns f32, so rtol/atol 1e-5 is tight and comfortable.
  const FD_TOL = { rtol: 1e-5, atol: 1e-5 };
  for (const [N, C] of [
    [1, 1],
    [3, 5],
    [4, 17],
  ] as [number, number][]) {
    it(`N=${N} C=${C}`, () => {
      const rng = seeded(77 + N * 100 + C);
      const x = randomF32(rng, N * C, -2, 3);
      const w = randomF32(rng, C, 0.5, 1.5);
      const b = randomF32(rng, C);
      const dout = randomF32(rng, N * C);
      const { mean, rstd } = layernormForward(x, w, b, N, C);
      const ref = layernormBackward(dout, x, w, mean, rstd, N, C);
      const x64 = Float64Array.from(x);
      const w64 = Float64Array.from(w);
      const b64 = Float64Array.from(b);
      const loss = () => dot(layernormForward64(x64, w64, b64, N, C).out, dout);
      const fd = (arr: Float64Array) => centralDifferences(arr, loss, 1e-4);
      expectAllClose(ref.dinp, fd(x64), FD_TOL, 'dinp vs FD');
      expectAllClose(ref.dweight, fd(w64), FD_TOL, 'dweight vs FD');
      expectAllClose(ref.dbias, fd(b64), FD_TOL, 'dbias vs FD');
    });
  }
});
