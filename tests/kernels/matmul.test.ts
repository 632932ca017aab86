import { describe, expect, it } from 'vitest';
import { geluForward } from '../../src/cpu/gelu';
import { type MatmulOptions, matmul } from '../../src/cpu/matmul';
import { isSoftwareAdapter } from '../../src/gpu/context';
import { runDispatches } from '../../src/gpu/dispatch';
import { prepareAdd } from '../../src/gpu/ops/add';
import {
  chooseMatmulTile,
  chooseSplits,
  DOT_TILE,
  type MatmulTile,
  prepareMatmul,
  ROWS_MAX_M,
  ROWS_TILE,
  SCALAR_TILE,
  VEC4_TILES,
  vec4Aligned,
} from '../../src/gpu/ops/matmul';
import type { TensorRef } from '../../src/gpu/tensor';
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

describe('matmul.wgsl (the scalar kernel) against the CPU reference', () => {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      for (const [M, N, K] of SHAPES) {
        it(`M=${M} N=${N} K=${K} transA=${transA} transB=${transB}`, async () => {
          const ctx = await gpuContext();
          const rng = seeded(M * 1000 + N * 10 + K + (transA ? 7 : 0) + (transB ? 13 : 0));
          const a = randomF32(rng, M * K);
          const b = randomF32(rng, K * N);
          const bias = randomF32(rng, N);
          for (const flagsIn of ['pipeline', 'uniform'] as const) {
            const c = poisoned(ctx, M * N);
            runDispatches(
              ctx,
              prepareMatmul(
                ctx,
                {
                  a: upload(ctx, a),
                  b: upload(ctx, b),
                  c,
                  M,
                  N,
                  K,
                  transA,
                  transB,
                  bias: upload(ctx, bias),
                  flagsIn,
                },
                SCALAR_TILE,
              ),
            );
            const got = await readF32(ctx, c);
            expectAllClose(got, matmul(a, b, M, N, K, { transA, transB, bias }), TOL, `C, flags in the ${flagsIn}`);
          }
        });
      }
    }
  }

  it('split-K with bias and accumulate equals the reference (unaligned: the scalar kernel)', async () => {
    const ctx = await gpuContext();
    const rng = seeded(42);
    const [M, N, K] = [70, 45, 1500];
    expect(chooseMatmulTile(M, N, K, { transA: true })).toBe(SCALAR_TILE);
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

interface Case {
  tile: MatmulTile;
  transA: boolean;
  transB: boolean;
  bias: boolean;
  accumulate: boolean;
  gelu: boolean;
  /** The residual epilogue: C = product + bias + a random residual. */
  residual?: boolean;
  /** The scalar kernel's flags as override constants or uniform words (default: the adapter's choice). */
  flagsIn?: 'pipeline' | 'uniform';
}

/** Runs one matmul on the GPU with the given tile and checks C (and the GELU output) against the CPU reference. */
async function checkCase(cs: Case, [M, N, K]: [number, number, number], seed: number): Promise<void> {
  const ctx = await gpuContext();
  const rng = seeded(seed);
  const a = randomF32(rng, M * K);
  const b = randomF32(rng, K * N);
  const bias = cs.bias ? randomF32(rng, N) : undefined;
  const init = randomF32(rng, M * N);
  const c = cs.accumulate ? upload(ctx, init) : poisoned(ctx, M * N);
  const g: TensorRef | undefined = cs.gelu ? poisoned(ctx, M * N) : undefined;
  const residual = cs.residual ? randomF32(rng, M * N) : undefined;
  const opts = { transA: cs.transA, transB: cs.transB };
  const dispatches = prepareMatmul(
    ctx,
    {
      a: upload(ctx, a),
      b: upload(ctx, b),
      c,
      M,
      N,
      K,
      ...opts,
      ...(bias ? { bias: upload(ctx, bias) } : {}),
      ...(g ? { gelu: g } : {}),
      ...(residual ? { residual: upload(ctx, residual) } : {}),
      accumulate: cs.accumulate,
      ...(cs.flagsIn ? { flagsIn: cs.flagsIn } : {}),
    },
    cs.tile,
  );
  expect(dispatches.length).toBe(1);
  expect(dispatches[0]!.pipeline.label).toContain(KERNEL_PIPELINES[cs.tile.kernel]);
  if (cs.flagsIn) expect(dispatches[0]!.pipeline.label.includes('DYNAMIC_FLAGS=1')).toBe(cs.flagsIn === 'uniform');
  runDispatches(ctx, dispatches);
  const expected = matmul(a, b, M, N, K, { ...opts, bias, accumulateInto: cs.accumulate ? init.slice() : undefined });
  if (residual) for (let i = 0; i < M * N; i++) expected[i] = expected[i]! + residual[i]!;
  const got = await readF32(ctx, c);
  expectAllClose(got, expected, TOL, 'C');
  if (g) {
    // The GELU output is compared with the CPU GELU of the GPU's own pre-activation, so the only difference is the
    // epilogue's f32 tanh against the f64 reference (the same check as tests/kernels/gelu: |error| ≲ 1e-6 relative).
    expectAllClose(await readF32(ctx, g), geluForward(got), { rtol: 1e-5, atol: 1e-6 }, 'gelu(C)');
  }
}

/** The start of each kernel's pipeline label. */
const KERNEL_PIPELINES: Record<MatmulTile['kernel'], string> = {
  scalar: 'matmul|',
  vec4: 'matmul_vec4|',
  rows: 'matmul_rows|',
  dot: 'matmul_dot|',
};

const tileName = (t: MatmulTile) => `${t.kernel} ${t.tileM}×${t.tileN} k${t.kStep}`;
const [VEC4_128x128, VEC4_128x64, VEC4_64x64] = VEC4_TILES as [MatmulTile, MatmulTile, MatmulTile];
const off = { bias: false, accumulate: false, gelu: false };

// Every vec4 configuration and each of its four operand loads (A along k or m, B along n or k) at a k step of 8 and of
// 16; bias, accumulate, the GELU and the residual epilogues on both kernels, the scalar one with its flags in the pipeline and in
// the uniform buffer. Few pipelines (each takes ~1 s to compile on
// SwiftShader), several shapes each: tiny ones, ones smaller than a tile, and ones that end inside a tile in every
// dimension (M odd where A is read along k).
const CASES: Case[] = [
  { tile: VEC4_64x64, transA: false, transB: false, ...off, bias: true },
  { tile: VEC4_64x64, transA: true, transB: false, ...off },
  { tile: VEC4_128x64, transA: false, transB: true, ...off, bias: true, gelu: true },
  { tile: VEC4_128x128, transA: true, transB: true, ...off, bias: true },
  { tile: VEC4_128x128, transA: false, transB: false, ...off, accumulate: true },
  { tile: VEC4_64x64, transA: false, transB: true, ...off, bias: true, residual: true },
  { tile: SCALAR_TILE, transA: false, transB: true, ...off, bias: true, residual: true, flagsIn: 'pipeline' },
  { tile: SCALAR_TILE, transA: false, transB: true, ...off, bias: true, residual: true, flagsIn: 'uniform' },
  { tile: SCALAR_TILE, transA: false, transB: true, ...off, bias: true, gelu: true, flagsIn: 'pipeline' },
  { tile: SCALAR_TILE, transA: false, transB: true, ...off, bias: true, gelu: true, flagsIn: 'uniform' },
  { tile: SCALAR_TILE, transA: true, transB: false, ...off, accumulate: true, flagsIn: 'pipeline' },
  { tile: SCALAR_TILE, transA: true, transB: false, ...off, accumulate: true, flagsIn: 'uniform' },
];

describe('matmul_vec4.wgsl and the epilogues against the CPU reference', () => {
  CASES.forEach((cs, ci) => {
    const shapes: [number, number, number][] =
      cs.tile.kernel === 'scalar'
        ? [
            [7, 13, 5],
            [65, 130, 33],
          ]
        : [
            [4, 4, 4],
            [cs.transA ? 20 : 37, 132, 20],
            [132, 68, 72],
            [cs.tile.tileM + 4, cs.tile.tileN, 28],
          ];
    const flags = ['transA', 'transB', 'bias', 'accumulate', 'gelu', 'residual'].filter(
      (f) => cs[f as keyof Case] === true,
    );
    it(`${tileName(cs.tile)} ${flags.join(' ') || 'plain'}${cs.flagsIn ? ` (flags in the ${cs.flagsIn})` : ''}`, async () => {
      for (const [si, shape] of shapes.entries()) {
        expect(vec4Aligned(...shape, cs.transA, cs.transB) || cs.tile.kernel === 'scalar').toBe(true);
        await checkCase(cs, shape, 100 * ci + si);
      }
    });
  });

  it('split-K on the vec4 kernel (a dW shape) equals the reference', async () => {
    const ctx = await gpuContext();
    const rng = seeded(43);
    const [M, N, K] = [68, 40, 1032];
    const tile = chooseMatmulTile(M, N, K, { transA: true });
    expect(tile).toBe(VEC4_64x64);
    const scratch = poisoned(ctx, 64 * M * N);
    const a = randomF32(rng, K * M);
    const b = randomF32(rng, K * N);
    const c = poisoned(ctx, M * N);
    const args = { a: upload(ctx, a), b: upload(ctx, b), c, M, N, K, transA: true, scratch };
    const dispatches = prepareMatmul(ctx, args, tile);
    expect(dispatches.length).toBe(2);
    expect(dispatches[0]!.pipeline.label).toContain('matmul_vec4');
    runDispatches(ctx, dispatches);
    // K = 1032: as in the scalar split-K test, ≈ 1e-4 typical error; 5e-4 keeps headroom.
    expectAllClose(await readF32(ctx, c), matmul(a, b, M, N, K, { transA: true }), { rtol: 1e-4, atol: 5e-4 }, 'C');
  });

  it('the residual epilogue gives the same bits as the product followed by add_forward.wgsl (every kernel)', async () => {
    const ctx = await gpuContext();
    const rng = seeded(61);
    // [M, N, K] like a c_proj of 37 rows (C = 68): aligned, so both the vec4 tile and the scalar kernel apply.
    const [M, N, K] = [37, 68, 68];
    const x = upload(ctx, randomF32(rng, M * K));
    const w = upload(ctx, randomF32(rng, N * K));
    const bias = upload(ctx, randomF32(rng, N));
    const residual = upload(ctx, randomF32(rng, M * N));
    for (const tile of [VEC4_64x64, SCALAR_TILE, ROWS_TILE, DOT_TILE]) {
      const args = { a: x, b: w, M, N, K, transB: true, bias };
      const fused = poisoned(ctx, M * N);
      runDispatches(ctx, prepareMatmul(ctx, { ...args, c: fused, residual }, tile));
      const product = poisoned(ctx, M * N);
      const sum = poisoned(ctx, M * N);
      runDispatches(ctx, [
        ...prepareMatmul(ctx, { ...args, c: product }, tile),
        ...prepareAdd(ctx, { a: residual, b: product, out: sum, n: M * N }),
      ]);
      expectAllClose(await readF32(ctx, fused), await readF32(ctx, sum), { rtol: 0, atol: 0 }, tileName(tile));
    }
  });

  it('a residual epilogue is never split over k', async () => {
    const ctx = await gpuContext();
    // A dW-like shape that split-K would take (few tiles, K long) keeps one dispatch with a residual.
    const [M, N, K] = [16, 16, 2048];
    const t = upload(ctx, new Float32Array(M * K));
    const u = upload(ctx, new Float32Array(K * N));
    const scratch = poisoned(ctx, 64 * M * N);
    const c = poisoned(ctx, M * N);
    const tile = chooseMatmulTile(M, N, K); // a GPU's choice (a CPU adapter's dot kernel never splits)
    expect(prepareMatmul(ctx, { a: t, b: u, c, M, N, K, scratch }, tile).length).toBe(2);
    const r = upload(ctx, new Float32Array(M * N));
    expect(prepareMatmul(ctx, { a: t, b: u, c, M, N, K, scratch, residual: r }, tile).length).toBe(1);
  });

  it('rejects a vec4 tile for an unaligned shape, and a GELU epilogue that accumulates or overlaps C', async () => {
    const ctx = await gpuContext();
    const t = upload(ctx, new Float32Array(64 * 64));
    const g = upload(ctx, new Float32Array(64 * 64));
    expect(() => prepareMatmul(ctx, { a: t, b: t, c: g, M: 6, N: 6, K: 6 }, VEC4_64x64)).toThrow(/whole vec4s/);
    expect(() => prepareMatmul(ctx, { a: t, b: t, c: t, M: 8, N: 8, K: 8, gelu: g, accumulate: true })).toThrow(
      /cannot accumulate/,
    );
    expect(() => prepareMatmul(ctx, { a: t, b: t, c: g, M: 8, N: 8, K: 8, gelu: g })).toThrow(/must not overlap C/);
    expect(() => prepareMatmul(ctx, { a: t, b: t, c: g, M: 8, N: 8, K: 8, residual: g })).toThrow(/residual must not/);
    expect(() => prepareMatmul(ctx, { a: t, b: t, c: g, M: 8, N: 8, K: 8, residual: t, accumulate: true })).toThrow(
      /cannot also accumulate/,
    );
    const r = upload(ctx, new Float32Array(64 * 64));
    expect(() => prepareMatmul(ctx, { a: t, b: t, c: g, M: 8, N: 8, K: 8, residual: t, gelu: r })).toThrow(
      /cannot be combined/,
    );
    const big = upload(ctx, new Float32Array(65 * 64));
    expect(() => prepareMatmul(ctx, { a: t, b: t, c: big, M: 65, N: 64, K: 8, residual: t })).toThrow(
      /residual has 4096 elements, needs 4160/,
    );
  });
});

// The two kernels of a Linear layer's forward alone: the rows kernel (a GPU's, over a decode step's few rows) and the
// dot kernel (a CPU adapter's). Every epilogue; shapes from one row and one column to 65 rows, and K past one 128-wide
// sweep of the rows kernel's lanes, with rows, columns and K ending inside a workgroup's 8 rows, its 8 columns, a
// lane sweep, or the dot kernel's 4-column blocks and 64-invocation workgroups. K ≤ 772 keeps TOL's random-walk bound
// (≈ K·6e-8 ≈ 5e-5) well inside atol.
describe('matmul_rows.wgsl, matmul_dot.wgsl and their epilogues against the CPU reference', () => {
  const epilogues = [{}, { bias: true }, { bias: true, gelu: true }, { bias: true, residual: true }];
  const shapes: [number, number, number][] = [
    [1, 1, 4],
    [3, 13, 20],
    [9, 17, 132],
    [ROWS_MAX_M, 70, 772],
    [33, 301, 192],
  ];
  for (const [ti, tile] of [ROWS_TILE, DOT_TILE].entries()) {
    epilogues.forEach((epilogue, ci) => {
      const cs: Case = { tile, transA: false, transB: true, ...off, ...epilogue };
      const flags = ['bias', 'gelu', 'residual'].filter((f) => cs[f as keyof Case] === true);
      it(`${tile.kernel} ${flags.join(' ') || 'plain'}`, async () => {
        for (const [si, shape] of shapes.entries()) await checkCase(cs, shape, 700 + 100 * ti + 10 * ci + si);
      });
    });

    it(`${tile.kernel}: rejects products it does not compute`, async () => {
      const ctx = await gpuContext();
      const t = upload(ctx, new Float32Array(64 * 64));
      const c = poisoned(ctx, 64 * 64);
      const base = { a: t, b: t, c, M: 8, N: 8, K: 8 };
      const computes = new RegExp(`${tile.kernel} kernel computes A · Wᵀ.*transB=false`);
      expect(() => prepareMatmul(ctx, base, tile)).toThrow(computes);
      expect(() => prepareMatmul(ctx, { ...base, transB: true, transA: true }, tile)).toThrow(/transA=true/);
      expect(() => prepareMatmul(ctx, { ...base, transB: true, accumulate: true }, tile)).toThrow(/accumulate=true/);
      expect(() => prepareMatmul(ctx, { ...base, transB: true, K: 6 }, tile)).toThrow(/K=6/);
    });
  }
});

describe('the tile chooser', () => {
  it('takes the dot kernel on a CPU adapter (SwiftShader), and fills the GPU with vec4 tiles elsewhere', async () => {
    const ctx = await gpuContext();
    const software = ctx.adapter.info.architecture === 'swiftshader';
    expect(isSoftwareAdapter(ctx)).toBe(software);
    const t = upload(ctx, new Float32Array(256 * 256));
    // Prepared, not run; accumulate so the pipelines compiled above are reused.
    const c = poisoned(ctx, 256 * 256);
    const [d] = prepareMatmul(ctx, { a: t, b: t, c, M: 256, N: 256, K: 8, accumulate: true });
    expect(d!.pipeline.label).toContain(software ? 'matmul|' : 'matmul_vec4|');
    expect(d!.workgroups).toEqual([4, 4, 1]);
    const [f] = prepareMatmul(ctx, { a: t, b: t, c, M: 256, N: 256, K: 8, transB: true });
    expect(f!.pipeline.label).toContain(software ? 'matmul_dot|' : 'matmul_vec4|');
    expect(f!.workgroups).toEqual(software ? [256, 1, 1] : [4, 4, 1]);
    // On a CPU a Linear layer's forward takes the dot kernel (tiny's c_fc, a decode step's rows), everything else
    // the scalar kernel: dX and dW, K not whole vec4s, and outputs past the dot kernel's 65535 workgroups.
    const cpu = { cpuAdapter: true }; // as prepareMatmul asks on a CPU adapter
    expect(chooseMatmulTile(512, 256, 64, { ...cpu, transB: true })).toBe(DOT_TILE);
    expect(chooseMatmulTile(16, 256, 64, { ...cpu, transB: true })).toBe(DOT_TILE);
    expect(chooseMatmulTile(512, 64, 256, cpu)).toBe(SCALAR_TILE);
    expect(chooseMatmulTile(256, 64, 512, { ...cpu, transA: true })).toBe(SCALAR_TILE);
    expect(chooseMatmulTile(112, 128, 30, { ...cpu, transB: true })).toBe(SCALAR_TILE);
    expect(chooseMatmulTile(512, 256, 64, { ...cpu, transB: true, accumulate: true })).toBe(SCALAR_TILE);
    expect(chooseMatmulTile(65535, 256, 64, { ...cpu, transB: true })).toBe(DOT_TILE); // 64·65535 quads exactly
    expect(chooseMatmulTile(65536, 256, 64, { ...cpu, transB: true })).toBe(SCALAR_TILE);
    expect(chooseMatmulTile(512, 256, 64, { transB: true })).not.toBe(DOT_TILE);
  });

  it('runs on a device that has subgroups exactly when the adapter offers them', async () => {
    const ctx = await gpuContext();
    expect(ctx.subgroups).toBe(ctx.adapter.features.has('subgroups'));
    expect(ctx.device.features.has('subgroups')).toBe(ctx.subgroups);
  });

  it('takes the scalar kernel exactly when a row is not whole vec4s', () => {
    expect(vec4Aligned(8, 8, 8)).toBe(true);
    expect(vec4Aligned(7, 8, 8)).toBe(true); // A [M, K] is read along k: M is free
    expect(vec4Aligned(7, 8, 8, true)).toBe(false); // A [K, M] is read along m
    expect(vec4Aligned(8, 6, 8)).toBe(false); // C is written along n
    expect(vec4Aligned(8, 8, 6)).toBe(false); // A read along k
    expect(vec4Aligned(8, 8, 6, true, false)).toBe(true); // A along m, B along n: K is free
    expect(vec4Aligned(8, 8, 6, true, true)).toBe(false); // B [N, K] is read along k
    expect(chooseMatmulTile(8192, 130, 128, { transB: true })).toBe(SCALAR_TILE);
    expect(chooseMatmulTile(8192, 512, 130, { transB: true, cpuAdapter: true })).toBe(SCALAR_TILE);
  });

  it('takes the rows kernel on a GPU for a Linear layer over at most ROWS_MAX_M rows (a decode step)', () => {
    // medium at 32 rows: c_attn, c_proj, c_fc, mlp.c_proj; the LM head (N = the vocabulary); 64 rows.
    for (const [M, N, K] of [
      [32, 576, 192],
      [32, 192, 192],
      [32, 768, 192],
      [32, 192, 768],
      [32, 61, 192],
      [ROWS_MAX_M, 768, 192],
      [1, 576, 192],
    ] as const) {
      expect(chooseMatmulTile(M, N, K, { transB: true }), `${M}×${N}×${K}`).toBe(ROWS_TILE);
    }
    expect(chooseMatmulTile(ROWS_MAX_M + 1, 768, 192, { transB: true })).toBe(VEC4_64x64);
    expect(chooseMatmulTile(32, 768, 192, { transB: true, cpuAdapter: true })).toBe(DOT_TILE);
    expect(chooseMatmulTile(32, 768, 192, { transB: true, accumulate: true })).not.toBe(ROWS_TILE);
    expect(chooseMatmulTile(32, 768, 192, {})).not.toBe(ROWS_TILE); // dX = dY · W: B read along n
    expect(chooseMatmulTile(32, 768, 30, { transB: true })).toBe(SCALAR_TILE); // K not whole vec4s
  });

  it('picks the largest tile that still fills the GPU at the model shapes', () => {
    // small and medium at 8192 rows: c_fc forward (N = 4C), c_attn forward (3C), c_proj / dX (C).
    expect(chooseMatmulTile(8192, 512, 128, { transB: true })).toBe(VEC4_128x128); // 64·4 = 256 tiles
    expect(chooseMatmulTile(8192, 384, 128, { transB: true })).toBe(VEC4_128x64); // 128×128 gives only 192
    expect(chooseMatmulTile(8192, 128, 512)).toBe(VEC4_64x64); // 128×64 gives only 128
    expect(chooseMatmulTile(8192, 768, 192, { transB: true })).toBe(VEC4_128x128); // medium c_fc: 384 tiles
    expect(chooseMatmulTile(8192, 192, 768)).toBe(VEC4_64x64); // medium mlp.c_proj dX: 128×64 gives 192, 64×64 384
    // dW (transA, K = rows): few tiles, so the smallest, and split-K adds workgroups.
    const dW = chooseMatmulTile(512, 128, 8192, { transA: true });
    expect(dW).toBe(VEC4_64x64);
    expect(chooseSplits(512, 128, 8192, 64 * 512 * 128, dW)).toBe(16); // 16 tiles → 256 workgroups
    expect(chooseSplits(512, 128, 8192, 2 * 512 * 128, dW)).toBe(2); // capped by the scratch
    expect(chooseSplits(8192, 512, 128, 1 << 30, VEC4_128x128)).toBe(1);
  });
});
