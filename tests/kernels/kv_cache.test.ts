import { describe, expect, it } from 'vitest';
import { kvCacheFill } from '../../src/cpu/kv_cache';
import { runDispatches } from '../../src/gpu/dispatch';
import { prepareKvCacheFill } from '../../src/gpu/ops/kv_cache';
import { gpuContext, poisoned, randomF32, readF32, seeded, upload } from '../helpers/gpu';

/**
 * Bit-exact: the kernel only copies f32 values, so every written element must equal the reference's bit for bit, and
 * every element it must not touch must still hold the NaN poison (compared as u32 bits, so NaN counts as equal).
 */
function expectSameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  let bad = 0;
  let first = -1;
  for (let i = 0; i < e.length; i++) {
    if (a[i] !== e[i]) {
      bad++;
      if (first < 0) first = i;
    }
  }
  expect(bad, `${what}: ${bad} elements differ, first at ${first} (${actual[first]} vs ${expected[first]})`).toBe(0);
}

describe('kv_cache_fill.wgsl against the CPU reference', () => {
  // [B, R, rowOffset, P, C, H, Tmax]: P = 1, P = Tmax, odd head sizes, rows before and after the filled ones.
  for (const [B, R, rowOffset, P, C, H, Tmax] of [
    [1, 1, 0, 1, 1, 1, 1],
    [5, 3, 2, 7, 20, 2, 9],
    [4, 2, 1, 33, 48, 3, 40],
    [3, 3, 0, 65, 64, 4, 65],
  ] as const) {
    it(`B=${B} R=${R} rowOffset=${rowOffset} P=${P} C=${C} H=${H} Tmax=${Tmax}`, async () => {
      const ctx = await gpuContext();
      const rng = seeded(B * 131 + P * 7 + C);
      const qkv = randomF32(rng, R * P * 3 * C);
      const cacheElements = B * H * Tmax * (C / H);
      const k = poisoned(ctx, cacheElements);
      const v = poisoned(ctx, cacheElements);
      runDispatches(
        ctx,
        prepareKvCacheFill(ctx, { qkv: upload(ctx, qkv), kCache: k, vCache: v, R, P, C, H, B, Tmax, rowOffset }),
      );
      const kWant = new Float32Array(cacheElements).fill(Number.NaN);
      const vWant = new Float32Array(cacheElements).fill(Number.NaN);
      kvCacheFill(qkv, kWant, vWant, R, P, C, H, Tmax, rowOffset);
      expectSameBits(await readF32(ctx, k), kWant, 'kCache');
      expectSameBits(await readF32(ctx, v), vWant, 'vCache');
      // The reference wrote R·P·C elements of each cache; the rest must still be poison (checked above) and these not.
      expect(Array.from(kWant).filter((x) => !Number.isNaN(x)).length).toBe(R * P * C);
    });
  }

  it('rejects rows outside the cache and P beyond its capacity', async () => {
    const ctx = await gpuContext();
    const t = upload(ctx, new Float32Array(4 * 3 * 2 * 8));
    const base = { qkv: t, kCache: t, vCache: upload(ctx, new Float32Array(64)), R: 2, P: 2, C: 2, H: 1 };
    expect(() =>
      prepareKvCacheFill(ctx, { ...base, kCache: upload(ctx, new Float32Array(64)), B: 2, Tmax: 4, rowOffset: 1 }),
    ).toThrow(/rows \[1, 3\) are outside the cache's 2 rows/);
    expect(() =>
      prepareKvCacheFill(ctx, { ...base, kCache: upload(ctx, new Float32Array(64)), B: 2, Tmax: 1, rowOffset: 0 }),
    ).toThrow(/P = 2 exceeds the cache's 1 positions/);
    expect(() => prepareKvCacheFill(ctx, { ...base, B: 2, Tmax: 4, rowOffset: 0 })).toThrow(/qkv overlaps kCache/);
  });
});
