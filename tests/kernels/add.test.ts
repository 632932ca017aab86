import { describe, expect, it } from 'vitest';
import { addBroadcast, columnSum } from '../../src/cpu/add';
import { linearGrid, runDispatches } from '../../src/gpu/dispatch';
import { columnChunking, columnSumScratchElements, prepareAdd, prepareColumnSum } from '../../src/gpu/ops/add';
import { slice } from '../../src/gpu/tensor';
import { expectAllClose } from '../helpers/allclose';
import { centralDifferences } from '../helpers/finite_diff';
import { gpuContext, poisoned, randomF32, readF32, seeded, upload, withLimits } from '../helpers/gpu';

// add: one f32 addition per element, correctly rounded on both sides (the CPU rounds a + b from f32 inputs, exact in
// f64, to f32): results must be bit-identical. tol 0.
const EXACT = { rtol: 0, atol: 0 };

describe('add_forward.wgsl against the CPU reference', () => {
  const CASES: [number, number][] = [
    [1, 1],
    [7, 7],
    [5, 1],
    [1000, 1000],
    [67 * 33, 33],
    [3 * 130, 130],
    [257 * 4, 257 * 4],
  ];
  for (const [n, bLen] of CASES) {
    for (const inPlace of [false, true]) {
      it(`n=${n} bLen=${bLen} inPlace=${inPlace}`, async () => {
        const ctx = await gpuContext();
        const rng = seeded(n * 31 + bLen + (inPlace ? 1 : 0));
        const a = randomF32(rng, n);
        const b = randomF32(rng, bLen);
        const aT = upload(ctx, a);
        const out = inPlace ? aT : poisoned(ctx, n);
        runDispatches(ctx, prepareAdd(ctx, { a: aT, b: upload(ctx, b), out, n, bLen }));
        expectAllClose(await readF32(ctx, out), addBroadcast(a, b), EXACT, 'out');
      });
    }
  }

  it('uses a 2D grid when the workgroup count exceeds the per-dimension limit', async () => {
    const real = await gpuContext();
    const ctx = withLimits(real, { maxComputeWorkgroupsPerDimension: 3 });
    expect(linearGrid(ctx, 3)).toEqual([3, 1, 1]);
    expect(linearGrid(ctx, 7)).toEqual([3, 3, 1]);
    const n = 256 * 7 + 2;
    const a = randomF32(seeded(3), n);
    const b = randomF32(seeded(4), 2);
    const out = poisoned(ctx, n);
    runDispatches(ctx, prepareAdd(ctx, { a: upload(ctx, a), b: upload(ctx, b), out, n, bLen: 2 }));
    expectAllClose(await readF32(real, out), addBroadcast(a, b), EXACT, 'out');
  });

  it('rejects bad shapes and aliasing', async () => {
    const ctx = await gpuContext();
    const t = upload(ctx, new Float32Array(128));
    const u = upload(ctx, new Float32Array(128));
    expect(() => prepareAdd(ctx, { a: t, b: u, out: u, n: 10, bLen: 3 })).toThrow(/bLen 3 must be a positive integer/);
    expect(() => prepareAdd(ctx, { a: t, b: u, out: u, n: 200 })).toThrow(/a has 128 elements, needs 200/);
    expect(() => prepareAdd(ctx, { a: t, b: t, out: t, n: 128 })).toThrow(/b must not overlap out/);
    expect(() => prepareAdd(ctx, { a: slice(t, 0, 64), b: u, out: slice(t, 0, 32), n: 32, bLen: 32 })).toThrow(
      /out overlaps a/,
    );
    expect(() => addBroadcast(new Float32Array(5), new Float32Array(2))).toThrow(/divide/);
  });
});

describe('column_sum.wgsl against the CPU reference', () => {
  // Each output sums N ≤ 2100 values in U(-1, 1): f32 partials over chunks of ≤ 33 rows, then Σ over ≤ 64 chunks.
  // Random-walk rounding ≈ √N·2⁻²⁴·|partial sums| ≲ 3e-6; atol 2e-5 is > 6× that, far below any indexing error (O(1)).
  const TOL = { rtol: 1e-5, atol: 2e-5 };
  const SHAPES: [number, number][] = [
    [1, 1],
    [5, 7],
    [67, 33],
    [3, 130],
    [300, 65],
    [33, 1],
    [2100, 3], // 64 row chunks of 33 rows (the cap), the last one partial
  ];
  for (const [N, C] of SHAPES) {
    for (const accumulate of [false, true]) {
      it(`N=${N} C=${C} accumulate=${accumulate}`, async () => {
        const ctx = await gpuContext();
        const rng = seeded(N * 7 + C * 13 + (accumulate ? 1 : 0));
        const x = randomF32(rng, N * C);
        const init = randomF32(rng, C);
        const out = accumulate ? upload(ctx, init) : poisoned(ctx, C);
        const scratch = poisoned(ctx, columnSumScratchElements(N, C));
        runDispatches(ctx, prepareColumnSum(ctx, { x: upload(ctx, x), out, scratch, N, C, accumulate }));
        const ref = columnSum(x, N, C);
        const expected = accumulate ? ref.map((v, i) => v + init[i]!) : ref;
        expectAllClose(await readF32(ctx, out), expected, TOL, 'out');
      });
    }
  }

  it('chunks rows into at most 64 chunks of ≥ 32 rows', () => {
    expect(columnChunking(1)).toEqual({ rowsPerChunk: 1, chunks: 1 });
    expect(columnChunking(300)).toEqual({ rowsPerChunk: 30, chunks: 10 });
    expect(columnChunking(2100)).toEqual({ rowsPerChunk: 33, chunks: 64 });
    expect(columnChunking(8192)).toEqual({ rowsPerChunk: 128, chunks: 64 });
  });

  it('rejects short or aliased scratch', async () => {
    const ctx = await gpuContext();
    const t = upload(ctx, new Float32Array(64 * 64));
    const out = upload(ctx, new Float32Array(64));
    const u = upload(ctx, new Float32Array(8));
    expect(() => prepareColumnSum(ctx, { x: t, out, scratch: u, N: 64, C: 64 })).toThrow(
      /scratch has 8 elements, needs 128/,
    );
    expect(() => prepareColumnSum(ctx, { x: t, out, scratch: t, N: 64, C: 64 })).toThrow(/scratch must not overlap x/);
  });

  it('CPU columnSum is the gradient of Σ_n,c dout[c]·x[n,c]… checked by central differences', () => {
    // columnSum is the bias gradient: for y = x + b (b broadcast over rows), ∂(Σ dy·y)/∂b = Σ_rows dy. Perturb b in
    // f64: loss(b) = Σ dy[n,c]·(x[n,c] + b[c]) is linear in b, so the central difference is exact up to rounding
    // (≈ 1e-16·|loss|/h ≈ 1e-10 with h = 1e-3).
    const N = 6;
    const C = 5;
    const dy = randomF32(seeded(11), N * C);
    const x = randomF32(seeded(12), N * C);
    const b = Float64Array.from(randomF32(seeded(13), C));
    const loss = () => {
      let s = 0;
      for (let i = 0; i < N * C; i++) s += dy[i]! * (x[i]! + b[i % C]!);
      return s;
    };
    const fd = centralDifferences(b, loss, 1e-3);
    expectAllClose(columnSum(dy, N, C), fd, { rtol: 1e-6, atol: 1e-6 }, 'columnSum vs FD');
  });
});
