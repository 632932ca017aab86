import { describe, expect, it } from 'vitest';
import { gelu64, geluBackward, geluForward, geluGrad64 } from '../../src/cpu/gelu';
import { runDispatches } from '../../src/gpu/dispatch';
import { prepareGeluBackward, prepareGeluForward } from '../../src/gpu/ops/gelu';
import { expectAllClose } from '../helpers/allclose';
import { gpuContext, poisoned, randomF32, readF32, seeded, upload, withLimits } from '../helpers/gpu';

// Tolerance: the tanh argument u is computed in f32 (relative error a few ulp), and the driver's tanh is accurate to
// a few ulp, exp-based implementations to ≈ 2e-6 relative at |u| ≤ 15. gelu = 0.5·x·(1 + tanh u) then has absolute
// error ≲ 2e-6·|x| (the cancellation in 1 + tanh u for x ≪ 0 is absolute, not relative). With |x| ≤ 8 for most inputs
// atol 2e-5 / rtol 1e-5 leaves ~2× headroom over that pessimistic bound; a wrong formula is off by ≥ 1e-3.
const FWD_TOL = { rtol: 1e-5, atol: 2e-5 };
// gelu'(x)·dout with |dout| ≤ 1: the same tanh error enters through 0.5·(1 + t) and 0.5·x·(1 − t²)·du (du ≤ 4 at
// |x| = 8), ≈ 1e-5 worst case.
const BWD_TOL = { rtol: 1e-5, atol: 3e-5 };

/** Inputs U(-8, 8) plus the extremes that exercise the tanh clamp and exact zeros. */
function inputs(seed: number, n: number): Float32Array {
  const x = randomF32(seeded(seed), n, -8, 8);
  const specials = [0, -0, 1e-30, 30, -30, 1e4, -1e4, 3.5];
  for (let i = 0; i < Math.min(n, specials.length); i++) x[i * 7 < n ? i * 7 : i] = specials[i]!;
  return x;
}

const SIZES = [1, 7, 256, 257, 1000, 33 * 130];

describe('gelu_forward.wgsl / gelu_backward.wgsl against the CPU reference', () => {
  for (const n of SIZES) {
    it(`forward n=${n}`, async () => {
      const ctx = await gpuContext();
      const x = inputs(n, n);
      const out = poisoned(ctx, n);
      runDispatches(ctx, prepareGeluForward(ctx, { x: upload(ctx, x), out, n }));
      expectAllClose(await readF32(ctx, out), geluForward(x), FWD_TOL, 'out');
    });
    for (const inPlace of [false, true]) {
      it(`backward n=${n} inPlace=${inPlace}`, async () => {
        const ctx = await gpuContext();
        const x = inputs(n + 1, n);
        const dout = randomF32(seeded(n + 2), n);
        const doutT = upload(ctx, dout);
        const dx = inPlace ? doutT : poisoned(ctx, n);
        runDispatches(ctx, prepareGeluBackward(ctx, { x: upload(ctx, x), dout: doutT, dx, n }));
        expectAllClose(await readF32(ctx, dx), geluBackward(x, dout), BWD_TOL, 'dx');
      });
    }
  }

  it('uses a 2D grid when the workgroup count exceeds the per-dimension limit', async () => {
    const real = await gpuContext();
    const ctx = withLimits(real, { maxComputeWorkgroupsPerDimension: 3 });
    const n = 256 * 7 + 5; // 8 workgroups → a 3×3 grid, the last one past the end
    const x = inputs(9, n);
    const dout = randomF32(seeded(10), n);
    const out = poisoned(ctx, n);
    const dx = poisoned(ctx, n);
    const fwd = prepareGeluForward(ctx, { x: upload(ctx, x), out, n });
    expect(fwd[0]!.workgroups).toEqual([3, 3, 1]);
    runDispatches(ctx, [...fwd, ...prepareGeluBackward(ctx, { x: upload(ctx, x), dout: upload(ctx, dout), dx, n })]);
    expectAllClose(await readF32(real, out), geluForward(x), FWD_TOL, 'out');
    expectAllClose(await readF32(real, dx), geluBackward(x, dout), BWD_TOL, 'dx');
  });

  it('rejects short tensors and aliasing', async () => {
    const ctx = await gpuContext();
    const t = upload(ctx, new Float32Array(64));
    const u = upload(ctx, new Float32Array(64));
    expect(() => prepareGeluForward(ctx, { x: t, out: u, n: 65 })).toThrow(/x has 64 elements, needs 65/);
    expect(() => prepareGeluForward(ctx, { x: t, out: t, n: 64 })).toThrow(/out must not overlap x/);
    expect(() => prepareGeluBackward(ctx, { x: t, dout: u, dx: t, n: 64 })).toThrow(/dx must not overlap x/);
    expect(() => prepareGeluBackward(ctx, { x: t, dout: u, dx: { ...u, length: 32 }, n: 32 })).toThrow(
      /dx overlaps dout/,
    );
  });
});

describe('CPU geluBackward against central finite differences of the forward', () => {
  it('matches (f64, h = 1e-5) over [-8, 8] and at 0', () => {
    // Central differences in f64 with h = 1e-5: truncation h²·|gelu'''|/6 ≲ 1e-10, rounding 1e-16/h ≈ 1e-11.
    // geluBackward returns f32 (relative error 6e-8), so rtol 1e-6 / atol 1e-7 is tight.
    const x = inputs(5, 2000);
    x[0] = 0;
    const dout = randomF32(seeded(6), x.length);
    const got = geluBackward(x, dout);
    const fd = new Float64Array(x.length);
    const h = 1e-5;
    for (let i = 0; i < x.length; i++) {
      const xi = x[i]!;
      if (Math.abs(xi) > 100) {
        fd[i] = geluGrad64(xi) * dout[i]!; // beyond f64 FD resolution relative to |x|; check the forward instead
        continue;
      }
      fd[i] = ((gelu64(xi + h) - gelu64(xi - h)) / (2 * h)) * dout[i]!;
    }
    expectAllClose(got, fd, { rtol: 1e-6, atol: 1e-7 }, 'dx vs FD');
    // And the forward is the PyTorch tanh formula at a few known points (values from the formula, not hard-coded
    // outputs): gelu(0) = 0, gelu(x) → x for large x, → 0 for very negative x.
    const f = geluForward(new Float32Array([0, 40, -40]));
    expect(f[0]).toBe(0);
    expect(f[1]).toBe(40);
    expect(Math.abs(f[2]!)).toBeLessThan(1e-30);
  });
});
