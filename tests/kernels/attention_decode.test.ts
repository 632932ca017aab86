import { afterEach, describe, expect, it } from 'vitest';
import { attentionDecode, attentionForward } from '../../src/cpu/attention';
import { assertNoErrors, isSoftwareAdapter } from '../../src/gpu/context';
import { encodeDispatches, runDispatches } from '../../src/gpu/dispatch';
import {
  DECODE_MIN_CHUNK_KEYS,
  DECODE_TARGET_WORKGROUPS,
  decodePartialFloats,
  decodeSplits,
  prepareAttentionDecode,
} from '../../src/gpu/ops/attention';
import { packDecodeStep } from '../../src/gpu/ops/decode_step';
import { expectAllClose } from '../helpers/allclose';
import {
  gpuContext,
  poisoned,
  REDUCTION_FORMS,
  randomF32,
  readF32,
  reductionOption,
  seeded,
  upload,
  usesSubgroups,
} from '../helpers/gpu';

// Validation errors arrive asynchronously; by the end of a test (after its awaits) they have been reported.
afterEach(async () => {
  assertNoErrors(await gpuContext());
});

// Tolerance. Inputs are U(-1, 1). A score is a length-hs f32 dot product (hs ≤ 128) scaled by 1/√hs, so |s| ≲ 4 and
// its f32 rounding error is ≲ 1e-6; exp turns that into a relative error of the same size in each weight. Each split's
// sums (≤ 1024 terms of size ≤ 1) and the combine's rescalings exp(m_s − M) (one rounding per split) add relative
// errors ~1e-6 to the normalised output, a convex combination of values in [-1, 1]: atol 2e-5 is 20× headroom and still
// catches a wrong key, split boundary or head (errors ~0.1).
const TOL = { rtol: 1e-4, atol: 2e-5 };

describe('decodeSplits', () => {
  it('reaches the target workgroups with chunks of at least DECODE_MIN_CHUNK_KEYS, and covers the cache', () => {
    for (const B of [1, 2, 7, 32, 64, 200]) {
      for (const H of [1, 4, 6]) {
        for (const Tmax of [1, 31, 64, 100, 256, 1024]) {
          const { splits, chunkKeys } = decodeSplits(B, H, Tmax);
          const where = `B ${B} H ${H} Tmax ${Tmax}`;
          expect(splits * chunkKeys, where).toBeGreaterThanOrEqual(Tmax);
          expect((splits - 1) * chunkKeys, where).toBeLessThan(Tmax);
          if (splits > 1) expect(chunkKeys, where).toBeGreaterThanOrEqual(DECODE_MIN_CHUNK_KEYS);
          // Too few workgroups only where one more split would make chunks shorter than the floor.
          if (B * H * splits < DECODE_TARGET_WORKGROUPS) {
            expect(Tmax / (splits + 1), where).toBeLessThan(DECODE_MIN_CHUNK_KEYS);
          }
        }
      }
    }
    // The lab's shapes: medium (H 6, Tmax 256) at 32 rows → 3 splits of 86 keys; small (H 4, Tmax 128) at 64 rows → 2.
    expect(decodeSplits(32, 6, 256)).toEqual({ splits: 3, chunkKeys: 86 });
    expect(decodeSplits(64, 4, 128)).toEqual({ splits: 2, chunkKeys: 64 });
    expect(decodeSplits(128, 4, 256)).toEqual({ splits: 1, chunkKeys: 256 });
    expect(decodeSplits(2, 2, 40, 1, 40)).toEqual({ splits: 40, chunkKeys: 1 });
    expect(() => decodeSplits(2, 2, 40, 512, 41)).toThrow(/splits must be an integer in \[1, min\(Tmax = 40/);
    expect(() => decodeSplits(2, 2, 40, 512, 1.5)).toThrow(/got 1.5/);
  });
});

describe('decodePartialFloats', () => {
  it('is the largest scratch any number of rows up to B needs, which need not be at B', () => {
    for (const [B, H, Tmax, hs] of [
      [32, 6, 256, 32],
      [64, 4, 128, 32],
      [5, 2, 40, 10],
      [256, 6, 256, 32],
    ] as const) {
      let want = 1;
      for (let R = 1; R <= B; R++) {
        const { splits } = decodeSplits(R, H, Tmax);
        if (splits > 1) want = Math.max(want, R * H * splits * (hs + 2));
      }
      expect(decodePartialFloats(B, H, Tmax, hs, DECODE_TARGET_WORKGROUPS), `B ${B}`).toBe(want);
    }
    // medium's heads and cache: 3 splits at 32 rows (19584 floats), but 4 at 28 rows (22848).
    expect(decodePartialFloats(32, 6, 256, 32, DECODE_TARGET_WORKGROUPS)).toBe(28 * 6 * 4 * 34);
    // A software adapter keeps one split: no scratch beyond the one float every binding needs.
    expect(decodePartialFloats(32, 6, 256, 32, 1)).toBe(1);
  });
});

describe('attention decode (KV cache) against the CPU reference', () => {
  it('CPU attentionDecode equals the last row of attentionForward', () => {
    const [B, T, C, H] = [2, 11, 12, 3];
    const hs = C / H;
    const Tmax = 16;
    const rng = seeded(99);
    const qkv = randomF32(rng, B * T * 3 * C);
    const kCache = randomF32(rng, B * H * Tmax * hs); // garbage beyond pos must be ignored
    const vCache = randomF32(rng, B * H * Tmax * hs);
    const q = new Float32Array(B * C);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        for (let h = 0; h < H; h++) {
          for (let d = 0; d < hs; d++) {
            const row = (b * T + t) * 3 * C + h * hs + d;
            kCache[((b * H + h) * Tmax + t) * hs + d] = qkv[row + C]!;
            vCache[((b * H + h) * Tmax + t) * hs + d] = qkv[row + 2 * C]!;
          }
        }
      }
      q.set(qkv.subarray((b * T + T - 1) * 3 * C, (b * T + T - 1) * 3 * C + C), b * C);
    }
    const { out } = attentionForward(qkv, B, T, C, H);
    const expected = new Float32Array(B * C);
    for (let b = 0; b < B; b++) expected.set(out.subarray((b * T + T - 1) * C, (b * T + T) * C), b * C);
    // Same f64 arithmetic in both; only the final f32 rounding can differ.
    expectAllClose(
      attentionDecode(q, kCache, vCache, T - 1, B, C, H, Tmax),
      expected,
      { rtol: 1e-6, atol: 1e-7 },
      'out',
    );
  });

  // [B, H, hs, Tmax, pos, splits]: hs 8, 24 (not a divisor of 64), 64, 128 (two dims a thread); pos 0, Tmax − 1 and
  // inside a split; one split (the whole row in one workgroup, up to 1024 keys), a few, and one key per split (most of
  // them empty at pos 17); splits that do not divide Tmax (the last one short).
  const CASES: [number, number, number, number, number, number][] = [
    [3, 2, 8, 50, 0, 1],
    [3, 2, 8, 50, 0, 7],
    [2, 2, 8, 40, 17, 40],
    [2, 3, 24, 100, 99, 1],
    [2, 3, 24, 100, 99, 4],
    [2, 3, 24, 100, 61, 3],
    [2, 2, 64, 300, 137, 5],
    [1, 3, 64, 70, 69, 2],
    [1, 2, 128, 1024, 1023, 1],
    [1, 2, 128, 1024, 1023, 16],
    [2, 1, 128, 130, 100, 3],
  ];
  // Each case with the split kernels in both reduction forms, and with one split also with the serial form (the
  // serial form ignores splits and partials; it is also run on the cases of more splits, as its own shape).
  const FORMS = [...REDUCTION_FORMS, 'serial'] as const;
  const serialShapes = new Set<string>();
  for (const [B, H, hs, Tmax, pos, splitsAsked] of CASES) {
    for (const form of FORMS) {
      const serial = form === 'serial';
      const splits = serial ? 1 : splitsAsked;
      const shape = `${B} ${H} ${hs} ${Tmax} ${pos}`;
      if (serial && serialShapes.has(shape)) continue;
      if (serial) serialShapes.add(shape);
      const entries = serial ? 'serial' : 'partial (+ combine)';
      it(`${entries}, appending k and v: B=${B} H=${H} hs=${hs} Tmax=${Tmax} pos=${pos} splits=${splits} (${form}${serial ? '' : ' reductions'})`, async () => {
        const ctx = await gpuContext();
        const subgroups = serial ? false : reductionOption(ctx, form);
        const C = H * hs;
        const rng = seeded(B * 7919 + H * 104729 + hs * 31 + Tmax * 3 + pos + splits * 1299709);
        const qkv = randomF32(rng, B * 3 * C);
        // Keys and values at every position, including garbage past pos that must be ignored.
        const kInit = randomF32(rng, B * H * Tmax * hs);
        const vInit = randomF32(rng, B * H * Tmax * hs);
        const kCache = upload(ctx, kInit);
        const vCache = upload(ctx, vInit);
        const out = poisoned(ctx, B * C);
        const partials = poisoned(ctx, B * H * splits * (hs + 2));
        const step = upload(ctx, new Uint32Array([pos]));
        const args = { qkv: upload(ctx, qkv), kCache, vCache, out, step, B, C, H, Tmax, splits, partials, subgroups };
        const dispatches = prepareAttentionDecode(ctx, { ...args, serial });
        expect(dispatches.every((d) => usesSubgroups(d) === subgroups)).toBe(true);
        const stages = serial ? ['serial'] : splits > 1 ? ['partial', 'combine'] : ['partial'];
        expect(dispatches.map((d) => d.label)).toEqual(stages.map((s) => `attention_decode.${s}`));
        expect(dispatches[0]!.workgroups).toEqual(serial ? [Math.ceil((B * H) / 4), 1, 1] : [splits, B * H, 1]);
        runDispatches(ctx, dispatches);

        // The CPU side: the current token's k and v written at pos, then attention over 0..pos.
        const positions = new Array<number>(B).fill(pos);
        const { q, kExpected, vExpected } = appendExpected(qkv, kInit, vInit, positions, B, C, H, Tmax);
        expect(firstDifference(await readF32(ctx, kCache), kExpected), 'kCache').toBe(-1);
        expect(firstDifference(await readF32(ctx, vCache), vExpected), 'vCache').toBe(-1);
        const expected = attentionDecode(q, kExpected, vExpected, pos, B, C, H, Tmax);
        expectAllClose(await readF32(ctx, out), expected, TOL, 'out');
      });
    }
  }

  // One position per row (ragged prompts decode each from its own end): row 1 inside a split, row 2 at Tmax − 1, row 3
  // past the context (nothing written: its cache and output keep their contents).
  for (const [splits, serial] of [
    [1, false],
    [4, false],
    [1, true],
  ] as const) {
    it(`one position per row (step counter + offsets), one row past the context: ${serial ? 'serial' : `splits=${splits}`}`, async () => {
      const ctx = await gpuContext();
      const [B, H, hs, Tmax] = [4, 3, 24, 100];
      const C = H * hs;
      const rng = seeded(4242 + splits);
      const qkv = randomF32(rng, B * 3 * C);
      const kInit = randomF32(rng, B * H * Tmax * hs);
      const vInit = randomF32(rng, B * H * Tmax * hs);
      const kCache = upload(ctx, kInit);
      const vCache = upload(ctx, vInit);
      const out = poisoned(ctx, B * C);
      const partials = poisoned(ctx, B * H * splits * (hs + 2));
      const s = 5;
      const offsets = [0, 32, 94, 115];
      const positions = offsets.map((o) => s + o); // 5, 37, 99, 120
      const streams = offsets.map(() => ({ seed: 0, row: 0 }));
      const step = upload(ctx, packDecodeStep({ s, streams, offsets }));
      runDispatches(
        ctx,
        prepareAttentionDecode(ctx, {
          qkv: upload(ctx, qkv),
          kCache,
          vCache,
          out,
          step,
          B,
          C,
          H,
          Tmax,
          splits,
          partials,
          serial,
        }),
      );
      const { q, kExpected, vExpected } = appendExpected(qkv, kInit, vInit, positions, B, C, H, Tmax);
      expect(firstDifference(await readF32(ctx, kCache), kExpected), 'kCache').toBe(-1);
      expect(firstDifference(await readF32(ctx, vCache), vExpected), 'vCache').toBe(-1);
      const got = await readF32(ctx, out);
      const expected = attentionDecode(q, kExpected, vExpected, positions, B, C, H, Tmax);
      expectAllClose(got.slice(0, 3 * C), expected.slice(0, 3 * C), TOL, 'rows 0-2');
      expect(Array.from(got.slice(3 * C)).every(Number.isNaN), 'row 3 untouched').toBe(true);
      // Each row attends over its own prefix: the lockstep result (every row at position s) differs.
      const lockstep = attentionDecode(q, kExpected, vExpected, s, B, C, H, Tmax);
      expect(Math.abs(got[C]! - lockstep[C]!)).toBeGreaterThan(1e-3);
    });
  }

  // Generation records many steps in one command buffer; step[0] changes between them on the GPU. Here each step copies
  // its position into `step` and its token's qkv row into the bound input, runs the decode dispatches and copies `out`
  // aside, all in one submission: every row must equal the causal attention forward's row at that position.
  for (const [B, T, C, H, Tmax, splits, serial] of [
    [2, 9, 24, 3, 12, 1, false],
    [2, 9, 24, 3, 12, 3, false],
    [3, 70, 8, 1, 70, 1, false],
    [3, 70, 8, 1, 70, 5, false],
    [1, 5, 256, 2, 7, 2, false],
    [3, 70, 8, 1, 70, 1, true],
    [1, 5, 256, 2, 7, 1, true],
  ] as const) {
    it(`steps 0..T−1 in one command buffer equal attentionForward rows, B=${B} T=${T} C=${C} H=${H} Tmax=${Tmax} ${serial ? 'serial' : `splits=${splits}`}`, async () => {
      const ctx = await gpuContext();
      const rng = seeded(B * 31 + T * 17 + C + H + splits);
      const qkv = randomF32(rng, B * T * 3 * C);
      const hs = C / H;
      const kCache = poisoned(ctx, B * H * Tmax * hs);
      const vCache = poisoned(ctx, B * H * Tmax * hs);
      const qkvStep = poisoned(ctx, B * 3 * C);
      const out = poisoned(ctx, B * C);
      const step = upload(ctx, new Uint32Array(1));
      const dispatches = prepareAttentionDecode(ctx, {
        qkv: qkvStep,
        kCache,
        vCache,
        out,
        step,
        B,
        C,
        H,
        Tmax,
        splits,
        serial,
      });
      // Per step t: its qkv rows [B, 3C] (time-major) and its position, read by copies inside the command buffer.
      const rowsByStep = new Float32Array(T * B * 3 * C);
      for (let t = 0; t < T; t++) {
        for (let b = 0; b < B; b++) {
          rowsByStep.set(qkv.subarray((b * T + t) * 3 * C, (b * T + t + 1) * 3 * C), (t * B + b) * 3 * C);
        }
      }
      const rows = upload(ctx, rowsByStep);
      const positions = upload(
        ctx,
        Uint32Array.from({ length: T + 1 }, (_, t) => t),
      );
      const outs = poisoned(ctx, T * B * C);
      const encoder = ctx.device.createCommandEncoder();
      for (let t = 0; t < T; t++) {
        encoder.copyBufferToBuffer(positions.buffer, t * 4, step.buffer, 0, 4);
        encoder.copyBufferToBuffer(rows.buffer, t * B * 3 * C * 4, qkvStep.buffer, 0, B * 3 * C * 4);
        const pass = encoder.beginComputePass();
        encodeDispatches(pass, dispatches);
        pass.end();
        encoder.copyBufferToBuffer(out.buffer, 0, outs.buffer, t * B * C * 4, B * C * 4);
      }
      ctx.device.queue.submit([encoder.finish()]);
      const got = await readF32(ctx, outs);
      const ref = attentionForward(qkv, B, T, C, H).out;
      const expected = new Float32Array(T * B * C);
      for (let t = 0; t < T; t++) {
        for (let b = 0; b < B; b++) {
          expected.set(ref.subarray((b * T + t) * C, (b * T + t + 1) * C), (t * B + b) * C);
        }
      }
      expectAllClose(got, expected, TOL, 'decode out vs forward rows');

      // pos ≥ Tmax: nothing is written (the output keeps its previous contents, the cache is untouched).
      const before = await readF32(ctx, kCache);
      const outBefore = await readF32(ctx, out);
      ctx.device.queue.writeBuffer(step.buffer, 0, new Uint32Array([Tmax]));
      runDispatches(ctx, dispatches);
      expect(firstDifference(await readF32(ctx, out), outBefore), 'out').toBe(-1);
      expect(firstDifference(await readF32(ctx, kCache), before), 'kCache').toBe(-1);
    });
  }

  it('by default splits by decodeSplits on a GPU and takes the serial form on a software adapter', async () => {
    const ctx = await gpuContext();
    const [B, C, H, Tmax] = [3, 8, 2, 256];
    const t = poisoned(ctx, B * 3 * C * Tmax);
    const step = upload(ctx, new Uint32Array(1));
    const args = { qkv: t, kCache: t, vCache: t, out: t, step, B, C, H, Tmax };
    const dispatches = prepareAttentionDecode(ctx, args);
    if (isSoftwareAdapter(ctx)) {
      expect(dispatches.map((d) => [d.label, d.workgroups])).toEqual([['attention_decode.serial', [2, 1, 1]]]);
      // Asked for, the split form keeps one split there.
      expect(prepareAttentionDecode(ctx, { ...args, serial: false })[0]!.workgroups).toEqual([1, B * H, 1]);
    } else {
      const { splits } = decodeSplits(B, H, Tmax);
      expect(dispatches[0]!.workgroups).toEqual([splits, B * H, 1]);
      expect(dispatches.length).toBe(splits > 1 ? 2 : 1);
    }
  });

  it('rejects bad shapes and scratch with clear errors', async () => {
    const ctx = await gpuContext();
    const t = upload(ctx, new Float32Array(10));
    const step = upload(ctx, new Uint32Array(1));
    const dec = {
      qkv: upload(ctx, new Float32Array(64)),
      kCache: t,
      vCache: t,
      out: t,
      step,
      B: 1,
      C: 4,
      H: 2,
      serial: false,
    };
    expect(() => prepareAttentionDecode(ctx, { ...dec, Tmax: 1025 })).toThrow(/Tmax = 1025 exceeds 1024/);
    expect(() => prepareAttentionDecode(ctx, { ...dec, Tmax: 3 })).toThrow(/kCache has 10 elements, needs 12/);
    expect(() => prepareAttentionDecode(ctx, { ...dec, Tmax: 2, splits: 3 })).toThrow(/splits must be an integer/);
    // 1 row × 2 heads × 2 splits × (hs 2 + 2) = 16 floats of partials.
    expect(() => prepareAttentionDecode(ctx, { ...dec, Tmax: 2, splits: 2, partials: t })).toThrow(
      /partials has 10 elements, needs 16/,
    );
    expect(() => prepareAttentionDecode(ctx, { ...dec, Tmax: 2, splits: 2, serial: true })).toThrow(
      /the serial form takes one split, got splits = 2/,
    );
  });
});

/**
 * The CPU side of a decode step's append: the queries q [B, C] of the rows' qkv [B, 3C], and the caches kInit, vInit
 * [B, H, Tmax, hs] with row b's k and v written at positions[b] (nothing where positions[b] ≥ Tmax).
 */
function appendExpected(
  qkv: Float32Array,
  kInit: Float32Array,
  vInit: Float32Array,
  positions: readonly number[],
  B: number,
  C: number,
  H: number,
  Tmax: number,
) {
  const hs = C / H;
  const kExpected = Float32Array.from(kInit);
  const vExpected = Float32Array.from(vInit);
  const q = new Float32Array(B * C);
  for (let b = 0; b < B; b++) {
    q.set(qkv.subarray(b * 3 * C, b * 3 * C + C), b * C);
    if (positions[b]! >= Tmax) continue;
    for (let c = 0; c < C; c++) {
      const at = ((b * H + Math.floor(c / hs)) * Tmax + positions[b]!) * hs + (c % hs);
      kExpected[at] = qkv[b * 3 * C + C + c]!;
      vExpected[at] = qkv[b * 3 * C + 2 * C + c]!;
    }
  }
  return { q, kExpected, vExpected };
}

/** The first index where the two arrays' bits differ (NaN equals NaN), or -1; a fast exact check of large caches. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}
