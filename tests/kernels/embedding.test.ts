import { describe, expect, it } from 'vitest';
import { buildTokenIndex, embeddingBackward, embeddingForward, embeddingForward64 } from '../../src/cpu/embedding';
import { runDispatches } from '../../src/gpu/dispatch';
import {
  EMBEDDING_BACKWARD_CPU,
  EMBEDDING_BACKWARD_GPU,
  prepareEmbeddingBackward,
  prepareEmbeddingForward,
} from '../../src/gpu/ops/embedding';
import type { Rng } from '../../src/util/rng';
import { expectAllClose } from '../helpers/allclose';
import { centralDifferences, dot } from '../helpers/finite_diff';
import { gpuContext, poisoned, randomF32, readF32, seeded, upload } from '../helpers/gpu';

// Forward: one f32 addition per element, correctly rounded on both sides → bit-identical (tol 0).
const EXACT = { rtol: 0, atol: 0 };
// Backward: each dwte/dwpe element sums ≤ B·T ≤ 400 values in U(-1, 1) in f32 (32-lane strided partials + a tree);
// random-walk rounding ≈ √400·2⁻²⁴·|partial| ≈ 1e-5 worst case, typically far less. atol 5e-5 is a wide margin and
// still catches a missing or doubled term (≥ 1e-3 here, as |dout| is U(-1,1)).
const SUM_TOL = { rtol: 1e-5, atol: 5e-5 };

/** Token ids: mostly id `hot` (a skewed bucket) plus uniform ids in [0, V − 2], never V − 1 (an absent token). */
function randomTokens(rng: Rng, n: number, V: number, hot: number): Int32Array {
  const tokens = new Int32Array(n);
  for (let i = 0; i < n; i++) tokens[i] = rng.next() < 0.5 ? hot : rng.int(Math.max(1, V - 1));
  return tokens;
}

// [B, T, C, V, Tmax]
const SHAPES: [number, number, number, number, number][] = [
  [1, 1, 1, 1, 1],
  [2, 5, 7, 11, 8],
  [3, 67, 33, 5, 70],
  [4, 9, 130, 64, 9],
  [20, 17, 20, 3, 24],
  [40, 3, 9, 6, 5], // B > 32: dwpe rows take the many-lane tree too
];

describe('embedding_forward.wgsl / embedding_backward.wgsl against the CPU reference', () => {
  for (const [B, T, C, V, Tmax] of SHAPES) {
    it(`B=${B} T=${T} C=${C} V=${V} Tmax=${Tmax}`, async () => {
      const ctx = await gpuContext();
      const rng = seeded(B * 1e6 + T * 1e4 + C * 10 + V);
      const tokens = randomTokens(rng, B * T, V, 0);
      const wte = randomF32(rng, V * C);
      const wpe = randomF32(rng, Tmax * C);
      const dout = randomF32(rng, B * T * C);

      const out = poisoned(ctx, B * T * C);
      const tokT = upload(ctx, tokens);
      runDispatches(
        ctx,
        prepareEmbeddingForward(ctx, { tokens: tokT, wte: upload(ctx, wte), wpe: upload(ctx, wpe), out, B, T, C }),
      );
      expectAllClose(await readF32(ctx, out), embeddingForward(tokens, wte, wpe, B, T, C), EXACT, 'out');

      const { tokenOffsets, positionsByToken } = buildTokenIndex(tokens, V);
      const args = {
        dout: upload(ctx, dout),
        tokenOffsets: upload(ctx, tokenOffsets),
        positionsByToken: upload(ctx, positionsByToken),
        B,
        T,
        C,
        V,
        Tmax,
      };
      const ref = embeddingBackward(dout, tokens, B, T, C, V, Tmax);
      // Both workgroup shapes on any adapter (the adapter picks one); rows of ≤ 32 terms are summed in order, longer
      // ones (the hot token's bucket; dwpe when B > 32) by the lanes and a tree.
      for (const workgroup of [EMBEDDING_BACKWARD_GPU, EMBEDDING_BACKWARD_CPU]) {
        const what = `${workgroup.COLS}×${workgroup.LANES}`;
        const dwte = poisoned(ctx, V * C);
        const dwpe = poisoned(ctx, Tmax * C);
        runDispatches(ctx, prepareEmbeddingBackward(ctx, { ...args, dwte, dwpe, workgroup }));
        const gotWte = await readF32(ctx, dwte);
        expectAllClose(gotWte, ref.dwte, SUM_TOL, `dwte ${what}`);
        expectAllClose(await readF32(ctx, dwpe), ref.dwpe, SUM_TOL, `dwpe ${what}`);
        if (V > 1) {
          // Token V − 1 never occurs: its row must be written as exactly 0 (it was NaN-poisoned).
          expect(Array.from(gotWte.subarray((V - 1) * C))).toEqual(new Array(C).fill(0));
        }
        // Deterministic: a second run over NaN-poisoned outputs gives bit-identical results.
        const again = poisoned(ctx, V * C);
        runDispatches(ctx, prepareEmbeddingBackward(ctx, { ...args, dwte: again, dwpe, workgroup }));
        expect(await readF32(ctx, again)).toEqual(gotWte);
      }
    });
  }

  it('rejects bad shapes and aliasing', async () => {
    const ctx = await gpuContext();
    const t = upload(ctx, new Float32Array(64));
    const u = upload(ctx, new Float32Array(64));
    const base = { dout: t, tokenOffsets: t, positionsByToken: t, dwte: u, dwpe: u, B: 2, T: 4, C: 4, V: 3 };
    expect(() => prepareEmbeddingBackward(ctx, { ...base, Tmax: 3 })).toThrow(/Tmax 3 < T 4/);
    expect(() => prepareEmbeddingBackward(ctx, { ...base, Tmax: 4 })).toThrow(/dwte must not overlap dwpe/);
    expect(() => prepareEmbeddingForward(ctx, { tokens: t, wte: t, wpe: t, out: u, B: 4, T: 5, C: 4 })).toThrow(
      /out has 64 elements, needs 80/,
    );
    expect(() => buildTokenIndex(new Int32Array([0, 3]), 3)).toThrow(/token 3 at 1 out of \[0, 3\)/);
  });
});

describe('CPU embedding helpers', () => {
  it('buildTokenIndex groups positions by id, ascending within a bucket', () => {
    const rng = seeded(5);
    const V = 6;
    const tokens = randomTokens(rng, 50, V, 2);
    const { tokenOffsets, positionsByToken } = buildTokenIndex(tokens, V);
    expect(tokenOffsets[0]).toBe(0);
    expect(tokenOffsets[V]).toBe(tokens.length);
    for (let v = 0; v < V; v++) {
      const bucket = Array.from(positionsByToken.subarray(tokenOffsets[v]!, tokenOffsets[v + 1]!));
      const expected = Array.from(tokens.keys()).filter((p) => tokens[p] === v);
      expect(bucket).toEqual(expected);
    }
  });

  it('embeddingBackward matches central finite differences of the forward', () => {
    // loss = Σ dout·out computed in f64 from embeddingForward64; it is linear in wte and wpe, so the central
    // difference with h = 1e-3 is exact up to f64 rounding (≈ 1e-16·|loss|/h ≈ 1e-12). The analytic gradient is
    // rounded to f32 (relative 6e-8): rtol 1e-6 / atol 1e-7.
    const [B, T, C, V, Tmax] = [3, 4, 3, 5, 6];
    const rng = seeded(9);
    const tokens = randomTokens(rng, B * T, V, 1);
    const wte = Float64Array.from(randomF32(rng, V * C));
    const wpe = Float64Array.from(randomF32(rng, Tmax * C));
    const dout = randomF32(rng, B * T * C);
    const loss = () => dot(embeddingForward64(tokens, wte, wpe, B, T, C), dout);
    const fd = (arr: Float64Array) => centralDifferences(arr, loss, 1e-3);
    const ref = embeddingBackward(dout, tokens, B, T, C, V, Tmax);
    expectAllClose(ref.dwte, fd(wte), { rtol: 1e-6, atol: 1e-7 }, 'dwte vs FD');
    expectAllClose(ref.dwpe, fd(wpe), { rtol: 1e-6, atol: 1e-7 }, 'dwpe vs FD');
  });
});
