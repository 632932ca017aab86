import { describe, expect, it } from 'vitest';
import { clipScale, globalNorm } from '../../src/cpu/global_norm';
import { runDispatches } from '../../src/gpu/dispatch';
import { globalNormPartials, globalNormScratchElements, prepareGlobalNorm } from '../../src/gpu/ops/global_norm';
import { expectAllClose } from '../helpers/allclose';
import { gpuContext, poisoned, randomF32, readF32, seeded, upload } from '../helpers/gpu';

// Each size runs with the adapter's own number of partial sums (globalNormPartials: fewer on a software adapter) and,
// where that differs, with the GPU grid's (globalNormScratchElements), so both grids are checked on any adapter.
// Tolerance: Σ g² of n ≤ 3e5 terms in f32 — each thread sums ≤ n/(256·partials) + 1 ≤ 38 terms sequentially (32
// partials), then two trees; all terms are positive so the relative error is bounded by ≈ (terms per thread + 16)·2⁻²⁴ ≲ 4e-6, halved by
// the sqrt. rtol 1e-5 for the norm and the scale (scale = maxNorm/(norm + 1e-6) inherits the norm's relative error).
const TOL = { rtol: 1e-5, atol: 1e-7 };

const SIZES = [1, 7, 255, 257, 1000, 70_001, 300_001];

describe('global_norm.wgsl against the CPU reference', () => {
  for (const n of SIZES) {
    for (const mode of ['active', 'inactive', 'disabled'] as const) {
      it(`n=${n} clipping ${mode}`, async () => {
        const ctx = await gpuContext();
        const g = randomF32(seeded(n * 3 + mode.length), n, -0.5, 1);
        const norm = globalNorm(g);
        const maxNorm = mode === 'active' ? norm * 0.3 : mode === 'inactive' ? norm * 1.5 : 0;
        const scale = clipScale(norm, maxNorm);
        const grads = upload(ctx, g);
        const grids = new Set([globalNormPartials(ctx, n), globalNormScratchElements(n)]);
        for (const partials of grids) {
          const out = poisoned(ctx, 2);
          const scratch = poisoned(ctx, globalNormScratchElements(n));
          runDispatches(ctx, prepareGlobalNorm(ctx, { grads, scratch, out, n, maxNorm, partials }));
          const got = await readF32(ctx, out);
          expectAllClose(got, [norm, scale], TOL, `[norm, scale] with ${partials} partials`);
          if (mode === 'active') expect(got[1]).toBeLessThan(0.5);
          else expect(got[1]).toBe(1);
        }
      });
    }
  }

  it('all-zero gradients give norm 0 and scale 1', async () => {
    const ctx = await gpuContext();
    const out = poisoned(ctx, 2);
    const n = 500;
    const scratch = poisoned(ctx, globalNormScratchElements(n));
    runDispatches(
      ctx,
      prepareGlobalNorm(ctx, { grads: upload(ctx, new Float32Array(n)), scratch, out, n, maxNorm: 1 }),
    );
    expect(Array.from(await readF32(ctx, out))).toEqual([0, 1]);
  });

  it('rejects bad arguments', async () => {
    const ctx = await gpuContext();
    const t = upload(ctx, new Float32Array(64));
    const u = upload(ctx, new Float32Array(64));
    const o = upload(ctx, new Float32Array(2));
    expect(() => prepareGlobalNorm(ctx, { grads: t, scratch: u, out: o, n: 65, maxNorm: 1 })).toThrow(
      /grads has 64 elements, needs 65/,
    );
    expect(() => prepareGlobalNorm(ctx, { grads: t, scratch: t, out: o, n: 64, maxNorm: 1 })).toThrow(
      /scratch must not overlap grads/,
    );
    expect(() => prepareGlobalNorm(ctx, { grads: t, scratch: u, out: o, n: 64, maxNorm: Number.NaN })).toThrow(
      /maxNorm must be finite/,
    );
    expect(() => prepareGlobalNorm(ctx, { grads: t, scratch: u, out: o, n: 64, maxNorm: 1, partials: 2 })).toThrow(
      /partials must be an integer in \[1, 1\], got 2/,
    );
  });
});

describe('CPU clipScale', () => {
  it('follows clip_grad_norm_: maxNorm/(norm + 1e-6) above the threshold, else 1; maxNorm ≤ 0 disables', () => {
    expect(clipScale(2, 1)).toBeCloseTo(1 / (2 + 1e-6), 15);
    expect(clipScale(1, 1)).toBe(1);
    expect(clipScale(0.5, 1)).toBe(1);
    expect(clipScale(100, 0)).toBe(1);
    expect(clipScale(100, -1)).toBe(1);
    expect(globalNorm(new Float32Array([3, 4]))).toBe(5);
  });
});
