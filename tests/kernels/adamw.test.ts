import { describe, expect, it } from 'vitest';
import { type AdamWHyper, adamwStep } from '../../src/cpu/adamw';
import { clipScale, globalNorm } from '../../src/cpu/global_norm';
import type { GpuContext } from '../../src/gpu/context';
import { runDispatches } from '../../src/gpu/dispatch';
import { ADAMW_HYPER_ELEMENTS, packDecayMask, prepareAdamW, writeAdamWHyper } from '../../src/gpu/ops/adamw';
import { globalNormScratchElements, prepareGlobalNorm } from '../../src/gpu/ops/global_norm';
import { expectAllClose } from '../helpers/allclose';
import { gpuContext, poisoned, randomF32, readF32, seeded, upload, withLimits } from '../helpers/gpu';

// Tolerance: each step changes p by ≈ lr·(1 + wd) ≤ 1.2e-2; the GPU computes the update in f32 with relative error
// ≈ 5 ulp ≈ 3e-7, i.e. ≈ 4e-9 absolute, plus one rounding of p (|p| ≤ 1: 6e-8). Over 6 steps ≲ 5e-7; m and v are
// f32 recurrences: v sums positive terms (relative error ≈ 2 ulp per step), but m = β1·m + (1 − β1)·g can cancel, so
// its error is absolute, ≈ 2 ulp of the terms (|g| ≤ 2 → |m| ≲ 2, ulp 2.4e-7) per step. A wrong formula (missing bias correction, decay on the wrong
// elements, unscaled grads) changes p by ≥ 1e-3.
const P_TOL = { rtol: 1e-6, atol: 2e-6 };
const M_TOL = { rtol: 1e-5, atol: 1e-6 };
const V_TOL = { rtol: 1e-5, atol: 1e-9 };

const BASE: Omit<AdamWHyper, 'step'> = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
const STEPS = 6;

async function runCase(
  gctx: GpuContext,
  n: number,
  opts: { mask: boolean; scale: number | null },
  seed: number,
): Promise<void> {
  const ctx = await gpuContext();
  const rng = seeded(seed);
  const p0 = randomF32(rng, n);
  const mask = opts.mask ? Uint8Array.from({ length: n }, () => (rng.next() < 0.6 ? 1 : 0)) : null;
  const params = upload(ctx, p0);
  const m = upload(ctx, new Float32Array(n));
  const v = upload(ctx, new Float32Array(n));
  const grads = poisoned(ctx, n);
  const hyper = poisoned(ctx, ADAMW_HYPER_ELEMENTS);
  const scale = opts.scale === null ? null : Math.fround(opts.scale);
  const clip = scale === null ? undefined : upload(ctx, new Float32Array([123, scale]));
  const dispatches = prepareAdamW(gctx, {
    params,
    grads,
    m,
    v,
    decayMaskBits: mask ? upload(ctx, packDecayMask(mask)) : undefined,
    hyper,
    clip,
    n,
  });
  const cp = p0.slice();
  const cm = new Float32Array(n);
  const cv = new Float32Array(n);
  for (let step = 1; step <= STEPS; step++) {
    // Fresh gradients each step, including exact zeros (p must still decay, m/v must still shrink).
    const g = randomF32(rng, n, -2, 2);
    for (let i = 0; i < n; i += 5) g[i] = 0;
    ctx.device.queue.writeBuffer(grads.buffer, grads.offset * 4, g.buffer, g.byteOffset, g.byteLength);
    const h = { ...BASE, step };
    writeAdamWHyper(ctx, hyper, h);
    runDispatches(ctx, dispatches); // the same prepared dispatch every step
    adamwStep(cp, g, cm, cv, mask, h, scale ?? 1);
  }
  expectAllClose(await readF32(ctx, params), cp, P_TOL, 'params');
  expectAllClose(await readF32(ctx, m), cm, M_TOL, 'm');
  expectAllClose(await readF32(ctx, v), cv, V_TOL, 'v');
}

describe('adamw.wgsl against the CPU reference (6 steps)', () => {
  for (const n of [1, 31, 33, 1000, 4097]) {
    for (const mask of [false, true]) {
      for (const scale of [null, 0.37]) {
        it(`n=${n} mask=${mask} clipScale=${scale ?? 'none'}`, async () => {
          const ctx = await gpuContext();
          await runCase(ctx, n, { mask, scale }, n * 4 + (mask ? 1 : 0) + (scale ? 2 : 0));
        });
      }
    }
  }

  it('uses a 2D grid when the workgroup count exceeds the per-dimension limit', async () => {
    const ctx = withLimits(await gpuContext(), { maxComputeWorkgroupsPerDimension: 3 });
    await runCase(ctx, 256 * 7 + 9, { mask: true, scale: 0.5 }, 99);
  });

  it('global_norm → adamw in one submission clips by the GPU-computed scale', async () => {
    const ctx = await gpuContext();
    const n = 3000;
    const rng = seeded(2024);
    const p0 = randomF32(rng, n);
    const g = randomF32(rng, n, -3, 3);
    const mask = Uint8Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0 : 1));
    const norm = globalNorm(g);
    const maxNorm = 1.0; // norm ≈ √(3000·3) ≈ 95: clipping is active
    const scale = clipScale(norm, maxNorm);
    expect(scale).toBeLessThan(0.05);
    const params = upload(ctx, p0);
    const m = upload(ctx, new Float32Array(n));
    const v = upload(ctx, new Float32Array(n));
    const gradsT = upload(ctx, g);
    const hyper = poisoned(ctx, ADAMW_HYPER_ELEMENTS);
    const normOut = poisoned(ctx, 2);
    const h = { ...BASE, step: 1 };
    writeAdamWHyper(ctx, hyper, h);
    runDispatches(ctx, [
      ...prepareGlobalNorm(ctx, {
        grads: gradsT,
        scratch: poisoned(ctx, globalNormScratchElements(n)),
        out: normOut,
        n,
        maxNorm,
      }),
      ...prepareAdamW(ctx, {
        params,
        grads: gradsT,
        m,
        v,
        decayMaskBits: upload(ctx, packDecayMask(mask)),
        hyper,
        clip: normOut,
        n,
      }),
    ]);
    const cp = p0.slice();
    const cm = new Float32Array(n);
    const cv = new Float32Array(n);
    adamwStep(cp, g, cm, cv, mask, h, scale);
    expectAllClose(await readF32(ctx, params), cp, P_TOL, 'params');
    // m = (1 − β1)·g·scale: the GPU scale carries the norm's f32 relative error (≲ 1e-6), inside M_TOL.
    expectAllClose(await readF32(ctx, m), cm, M_TOL, 'm');
  });

  it('rejects bad arguments', async () => {
    const ctx = await gpuContext();
    const t = upload(ctx, new Float32Array(64));
    const u = upload(ctx, new Float32Array(64));
    const w = upload(ctx, new Float32Array(64));
    const hy = upload(ctx, new Float32Array(8));
    expect(() => prepareAdamW(ctx, { params: t, grads: u, m: w, v: w, hyper: hy, n: 64 })).toThrow(
      /m must not overlap v/,
    );
    expect(() => prepareAdamW(ctx, { params: t, grads: u, m: w, v: hy, hyper: hy, n: 8 })).toThrow(
      /v must not overlap hyper/,
    );
    expect(() => prepareAdamW(ctx, { params: t, grads: u, m: w, v: hy, hyper: u, n: 100 })).toThrow(
      /params has 64 elements, needs 100/,
    );
    expect(() => writeAdamWHyper(ctx, hy, { ...BASE, step: 0 })).toThrow(/step must be an integer ≥ 1/);
    expect(() => packDecayMask(new Uint8Array([0, 2]))).toThrow(/element 1 is 2/);
  });
});

describe('CPU adamwStep semantics', () => {
  it('step 1 moves each weight by lr·sign(g) after decoupled decay; masked weights do not decay', () => {
    // At step 1 with m = v = 0: m̂ = g, v̂ = g², so the Adam term is lr·g/(|g| + eps) ≈ lr·sign(g).
    const p = new Float32Array([1, 1, -0.5, 0.25]);
    const g = new Float32Array([0.3, -2, 1e-3, 0]);
    const m = new Float32Array(4);
    const v = new Float32Array(4);
    const h: AdamWHyper = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.5, step: 1 };
    adamwStep(p, g, m, v, new Uint8Array([1, 0, 1, 1]), h);
    const decayed = (x: number) => x * (1 - h.lr * h.weightDecay);
    expect(p[0]).toBeCloseTo(decayed(1) - 0.1, 6);
    expect(p[1]).toBeCloseTo(1 + 0.1, 6);
    expect(p[2]).toBeCloseTo(decayed(-0.5) - 0.1, 5);
    expect(p[3]).toBeCloseTo(decayed(0.25), 7); // zero gradient: only decay
    expect(m[0]).toBeCloseTo(0.1 * 0.3, 7);
    expect(v[1]).toBeCloseTo(0.001 * 4, 7);
  });

  it('gradScale multiplies the gradient before the moments', () => {
    const h: AdamWHyper = { lr: 0.01, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, step: 3 };
    const a = { p: new Float32Array([0.5]), m: new Float32Array([0.2]), v: new Float32Array([0.3]) };
    const b = { p: new Float32Array([0.5]), m: new Float32Array([0.2]), v: new Float32Array([0.3]) };
    adamwStep(a.p, new Float32Array([2]), a.m, a.v, null, h, 0.25);
    adamwStep(b.p, new Float32Array([0.5]), b.m, b.v, null, h);
    expect(Array.from(a.p)).toEqual(Array.from(b.p));
    expect(Array.from(a.m)).toEqual(Array.from(b.m));
    expect(Array.from(a.v)).toEqual(Array.from(b.v));
  });
});
