import { describe, expect, it } from 'vitest';
import { embeddingDecode } from '../../src/cpu/embedding_decode';
import { runDispatches } from '../../src/gpu/dispatch';
import { packDecodeStep } from '../../src/gpu/ops/decode_step';
import { prepareEmbeddingDecode } from '../../src/gpu/ops/embedding_decode';
import { expectAllClose } from '../helpers/allclose';
import { gpuContext, poisoned, randomF32, readF32, seeded, upload } from '../helpers/gpu';

// Exact: the kernel does one f32 addition per element, the reference the same addition in f64 rounded to f32 —
// identical for two f32 inputs (the exact sum rounds the same way). atol 0 would hold; 1e-7 guards nothing but denormals.
const TOL = { rtol: 0, atol: 1e-7 };

describe('embedding_decode.wgsl against the CPU reference', () => {
  for (const [B, C, V, Tmax, pos] of [
    [1, 1, 1, 1, 0],
    [3, 7, 11, 5, 4],
    [5, 65, 9, 33, 17],
    [64, 128, 64, 128, 0],
  ] as const) {
    it(`B=${B} C=${C} V=${V} Tmax=${Tmax} pos=${pos}`, async () => {
      const ctx = await gpuContext();
      const rng = seeded(B * 31 + C + pos);
      const history = new Uint32Array(B * Tmax);
      for (let i = 0; i < history.length; i++) history[i] = rng.int(V);
      const wte = randomF32(rng, V * C);
      const wpe = randomF32(rng, Tmax * C);
      const out = poisoned(ctx, B * C);
      runDispatches(
        ctx,
        prepareEmbeddingDecode(ctx, {
          history: upload(ctx, history),
          step: upload(ctx, new Uint32Array([pos])),
          wte: upload(ctx, wte),
          wpe: upload(ctx, wpe),
          out,
          B,
          C,
          V,
          Tmax,
        }),
      );
      expectAllClose(await readF32(ctx, out), embeddingDecode(history, pos, wte, wpe, B, C, Tmax), TOL, 'out');
    });
  }

  it('one position per row (step counter + row offsets): B=5 C=65 V=9 Tmax=33, one row past the context', async () => {
    const ctx = await gpuContext();
    const [B, C, V, Tmax] = [5, 65, 9, 33];
    const rng = seeded(77);
    const history = new Uint32Array(B * Tmax);
    for (let i = 0; i < history.length; i++) history[i] = rng.int(V);
    const wte = randomF32(rng, V * C);
    const wpe = randomF32(rng, Tmax * C);
    const offsets = [0, 3, 17, 30, 40];
    const s = 2;
    const positions = offsets.map((o) => s + o); // 2, 5, 19, 32 (= Tmax − 1), 42 (past the context: not written)
    const streams = offsets.map((_, b) => ({ seed: 9, row: b }));
    const out = poisoned(ctx, B * C);
    runDispatches(
      ctx,
      prepareEmbeddingDecode(ctx, {
        history: upload(ctx, history),
        step: upload(ctx, packDecodeStep({ s, streams, offsets })),
        wte: upload(ctx, wte),
        wpe: upload(ctx, wpe),
        out,
        B,
        C,
        V,
        Tmax,
      }),
    );
    const got = await readF32(ctx, out);
    const want = embeddingDecode(history, positions, wte, wpe, B, C, Tmax);
    expectAllClose(got.slice(0, 4 * C), want.slice(0, 4 * C), TOL, 'rows 0-3');
    expect(Array.from(got.slice(4 * C)).every(Number.isNaN), 'row 4 untouched').toBe(true);
    // The offsets matter: every row's embedding differs from the lockstep one (all rows at position s).
    const lockstep = embeddingDecode(history, s, wte, wpe, B, C, Tmax);
    expect(got[C]).not.toBe(lockstep[C]);
  });

  it('writes nothing once pos reaches Tmax', async () => {
    const ctx = await gpuContext();
    const out = poisoned(ctx, 4);
    const t = upload(ctx, new Float32Array(64));
    runDispatches(
      ctx,
      prepareEmbeddingDecode(ctx, {
        history: upload(ctx, new Uint32Array(4)),
        step: upload(ctx, new Uint32Array([2])),
        wte: t,
        wpe: t,
        out,
        B: 2,
        C: 2,
        V: 2,
        Tmax: 2,
      }),
    );
    expect(Array.from(await readF32(ctx, out)).every(Number.isNaN)).toBe(true);
  });
});
