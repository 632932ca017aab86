import { afterEach, describe, expect, it } from 'vitest';
import { attentionBackward, attentionForward } from '../../src/cpu/attention';
import { assertNoErrors } from '../../src/gpu/context';
import { runDispatches } from '../../src/gpu/dispatch';
import { attentionTiles, prepareAttentionBackward, prepareAttentionForward } from '../../src/gpu/ops/attention';
import { expectAllClose } from '../helpers/allclose';
import { centralDifferences, dot } from '../helpers/finite_diff';
import { gpuContext, poisoned, randomF32, readF32, seeded, upload } from '../helpers/gpu';

// Validation errors arrive asynchronously; by the end of a test (after its awaits) they have been reported.
afterEach(async () => {
  assertNoErrors(await gpuContext());
});

// Tolerances. Inputs are U(-1, 1). A score is a length-hs f32 dot product (hs ≤ 128) scaled by 1/√hs, so |s| ≲ 4 and
// its f32 rounding error is ~√hs·6e-8·|terms| ≲ 1e-6; exp turns that into a relative error of the same size in each
// probability (the online softmax's rescalings exp(m_old − m_new) add one rounding per key tile, ≤ 64 tiles). Outputs
// are convex combinations of values in [-1, 1], so forward errors are ≲ 1e-6, and lse (|lse| ≤ 4 + ln T ≈ 11) is off by
// ≲ 1e-6 too: atol 2e-5 gives 20× headroom and still catches any wrong index or tile (errors ~0.1). The backward sums up
// to T (≤ 1024) products of such terms in f32 (each dq/dk/dv element is a sum over keys or queries of P-weighted
// rows), so its typical error is ~√T·1e-6 ≤ 3e-5: atol/rtol 1e-4.
const FWD_TOL = { rtol: 1e-4, atol: 2e-5 };
const BWD_TOL = { rtol: 1e-4, atol: 1e-4 };

// [B, T, C, H]: head sizes 3, 8, 16, 32, 64, 128 (each gets its own tile sizes, attentionTiles); T = 1, T below, equal
// to and not a multiple of the tile (rows 64 for hs ≤ 16: T = 67, 70; 32 for hs 32: T = 33, 130; 16 for hs 64: T = 45;
// 8 for hs 128: T = 37), and T = 1024, the longest allowed.
const SHAPES: [number, number, number, number][] = [
  [1, 1, 3, 1],
  [2, 1, 128, 1],
  [2, 5, 8, 1],
  [2, 7, 32, 4],
  [2, 33, 24, 3],
  [1, 70, 12, 4],
  [3, 17, 64, 2],
  [2, 67, 64, 4],
  [1, 9, 256, 2],
  [1, 130, 64, 2],
  [1, 45, 128, 2],
  [1, 37, 256, 2],
  [1, 1024, 16, 1],
];

describe('tiled attention: tile sizes', () => {
  it('fit the 16 KiB default workgroup memory for every head size ≤ 128 and T ≤ 1024', () => {
    for (let hs = 1; hs <= 128; hs++) {
      for (const T of [1, 2, 3, 7, 8, 9, 63, 64, 65, 256, 1000, 1024]) {
        const t = attentionTiles(hs, T);
        expect(t.forwardBytes, `hs ${hs} T ${T}`).toBeLessThanOrEqual(16 * 1024);
        expect(t.backwardBytes, `hs ${hs} T ${T}`).toBeLessThanOrEqual(16 * 1024);
        // Each thread owns ≤ 16 dims of one owned row (the kernels' MAX_DIMS), rows divides 64, tiles ≤ 64 rows.
        expect(Math.ceil((hs * t.rows) / 64), `hs ${hs} T ${T}`).toBeLessThanOrEqual(16);
        expect(64 % t.rows).toBe(0);
        expect(t.forwardKeys).toBeLessThanOrEqual(t.rows);
        expect(t.backwardStream).toBeLessThanOrEqual(t.rows);
      }
    }
  });
});

describe('attention_forward.wgsl against the CPU reference', () => {
  it('CPU lse is the log-normaliser: att[t, j] = exp(s[t, j] − lse[t]) (f64)', () => {
    const [B, T, C, H] = [2, 6, 8, 2];
    const hs = C / H;
    const qkv = Float64Array.from(randomF32(seeded(3), B * T * 3 * C));
    const { att, lse } = attentionForward(qkv, B, T, C, H);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        for (let t = 0; t < T; t++) {
          for (let j = 0; j <= t; j++) {
            let s = 0;
            for (let d = 0; d < hs; d++) {
              s += qkv[(b * T + t) * 3 * C + h * hs + d]! * qkv[(b * T + j) * 3 * C + C + h * hs + d]!;
            }
            const p = Math.exp(s / Math.sqrt(hs) - lse[(b * H + h) * T + t]!);
            expect(Math.abs(p - att[((b * H + h) * T + t) * T + j]!)).toBeLessThan(1e-14);
          }
        }
      }
    }
  });

  for (const [B, T, C, H] of SHAPES) {
    it(`B=${B} T=${T} C=${C} H=${H}`, async () => {
      const ctx = await gpuContext();
      const rng = seeded(B * 1000003 + T * 1009 + C * 7 + H);
      const qkv = randomF32(rng, B * T * 3 * C);
      const out = poisoned(ctx, B * T * C);
      const lse = poisoned(ctx, B * H * T);
      runDispatches(ctx, prepareAttentionForward(ctx, { qkv: upload(ctx, qkv), out, lse, B, T, C, H }));
      const ref = attentionForward(Float64Array.from(qkv), B, T, C, H);
      expectAllClose(await readF32(ctx, out), ref.out, FWD_TOL, 'out');
      expectAllClose(await readF32(ctx, lse), ref.lse, FWD_TOL, 'lse');
    });
  }

  it('rejects bad shapes with clear errors', async () => {
    const ctx = await gpuContext();
    const t = upload(ctx, new Float32Array(10));
    expect(() => prepareAttentionForward(ctx, { qkv: t, out: t, lse: t, B: 1, T: 2, C: 6, H: 4 })).toThrow(
      /C = 6 is not divisible by H = 4/,
    );
    expect(() => prepareAttentionForward(ctx, { qkv: t, out: t, lse: t, B: 1, T: 2, C: 4, H: 2 })).toThrow(
      /qkv has 10 elements, needs 24/,
    );
    expect(() => prepareAttentionForward(ctx, { qkv: t, out: t, lse: t, B: 1, T: 1025, C: 4, H: 2 })).toThrow(
      /T = 1025 exceeds 1024/,
    );
    expect(() => prepareAttentionForward(ctx, { qkv: t, out: t, lse: t, B: 1, T: 2, C: 258, H: 2 })).toThrow(
      /head size 129 exceeds 128/,
    );
    const qkv = upload(ctx, new Float32Array(24));
    expect(() => prepareAttentionForward(ctx, { qkv, out: qkv, lse: t, B: 1, T: 6, C: 4, H: 2 })).toThrow(
      /qkv has 24 elements, needs 72/,
    );
  });
});

describe('attention backward', () => {
  it('CPU attentionBackward matches central finite differences of attentionForward (f64)', () => {
    const [B, T, C, H] = [2, 5, 6, 2];
    const rng = seeded(7);
    const qkv = Float64Array.from(randomF32(rng, B * T * 3 * C));
    const dout = Float64Array.from(randomF32(rng, B * T * C));
    const { att } = attentionForward(qkv, B, T, C, H);
    const analytic = attentionBackward(dout, qkv, att, B, T, C, H);
    const x = Float64Array.from(qkv);
    const numeric = centralDifferences(x, () => dot(attentionForward(x, B, T, C, H).out, dout), 1e-5);
    // Central differences in f64: truncation O(eps²·f''') ≈ 1e-10, rounding ≈ 1e-16/eps ≈ 1e-11.
    expectAllClose(analytic, numeric, { rtol: 1e-6, atol: 1e-8 }, 'dqkv');
    // A wrong gradient would be far off; make sure the check is not vacuous.
    expect(analytic.some((v) => Math.abs(v) > 1e-2)).toBe(true);
  });

  for (const [B, T, C, H] of SHAPES) {
    it(`attention_backward.wgsl against the CPU reference, B=${B} T=${T} C=${C} H=${H}`, async () => {
      const ctx = await gpuContext();
      const rng = seeded(B * 999983 + T * 131 + C * 11 + H + 5);
      const qkv = randomF32(rng, B * T * 3 * C);
      const dout = randomF32(rng, B * T * C);
      // The reference in f64; the kernel gets the forward's saved tensors (out, lse) rounded to f32, as in the model.
      const ref = attentionForward(Float64Array.from(qkv), B, T, C, H);
      const args = {
        dout: upload(ctx, dout),
        qkv: upload(ctx, qkv),
        out: upload(ctx, Float32Array.from(ref.out)),
        lse: upload(ctx, Float32Array.from(ref.lse)),
        B,
        T,
        C,
        H,
      };
      const dqkv = poisoned(ctx, B * T * 3 * C);
      const dispatches = prepareAttentionBackward(ctx, { ...args, dqkv });
      expect(dispatches.map((d) => d.label)).toEqual(['attention_backward.dq', 'attention_backward.dkdv']);
      runDispatches(ctx, dispatches);
      const got = await readF32(ctx, dqkv);
      const expected = attentionBackward(Float64Array.from(dout), Float64Array.from(qkv), ref.att, B, T, C, H);
      expectAllClose(got, expected, BWD_TOL, 'dqkv');
      // Deterministic: no atomics, every sum in a fixed order, so a second run gives the same bits.
      const again = poisoned(ctx, B * T * 3 * C);
      runDispatches(ctx, prepareAttentionBackward(ctx, { ...args, dqkv: again }));
      expect(Array.from(await readF32(ctx, again))).toEqual(Array.from(got));
    });
  }

  it('the GPU forward then backward (lse and out from the kernel) match the CPU reference', async () => {
    const [B, T, C, H] = [2, 70, 64, 4];
    const ctx = await gpuContext();
    const rng = seeded(11);
    const qkv = randomF32(rng, B * T * 3 * C);
    const dout = randomF32(rng, B * T * C);
    const qkvGpu = upload(ctx, qkv);
    const out = poisoned(ctx, B * T * C);
    const lse = poisoned(ctx, B * H * T);
    const dqkv = poisoned(ctx, B * T * 3 * C);
    runDispatches(ctx, [
      ...prepareAttentionForward(ctx, { qkv: qkvGpu, out, lse, B, T, C, H }),
      ...prepareAttentionBackward(ctx, { dout: upload(ctx, dout), qkv: qkvGpu, out, lse, dqkv, B, T, C, H }),
    ]);
    const { att } = attentionForward(Float64Array.from(qkv), B, T, C, H);
    const expected = attentionBackward(Float64Array.from(dout), Float64Array.from(qkv), att, B, T, C, H);
    expectAllClose(await readF32(ctx, dqkv), expected, BWD_TOL, 'dqkv');
  });
});
