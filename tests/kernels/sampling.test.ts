import { afterEach, describe, expect, it } from 'vitest';
import {
  advanceDecodeState,
  argmax,
  type BudgetForcing,
  type DecodeRowState,
  type DecodeRule,
  decodeStepRow,
  inverseCdf,
  marginFires,
  packDecodeStates,
  pcgHash,
  type SamplingParams,
  sampleRow,
  samplingProbs,
  stopMargin,
  stopScaledProb,
  uniformFor,
  unpackDecodeState,
} from '../../src/cpu/sampling';
import { assertNoErrors } from '../../src/gpu/context';
import { runDispatches } from '../../src/gpu/dispatch';
import { prepareSampleTokens, SAMPLING_MAX_V, samplingWorkgroupSize } from '../../src/gpu/ops/sampling';
import { PROBED_WORKGROUPS } from '../../src/gpu/subgroups';
import type { Rng } from '../../src/util/rng';
import { expectAllClose } from '../helpers/allclose';
import {
  gpuContext,
  poisoned,
  REDUCTION_FORMS,
  randomF32,
  readF32,
  readU32,
  reductionOption,
  seeded,
  upload,
  usesSubgroups,
} from '../helpers/gpu';

// Validation errors arrive asynchronously; by the end of a test (after its awaits) they have been reported.
afterEach(async () => {
  assertNoErrors(await gpuContext());
});

const OFF: SamplingParams = {
  temperature: 1,
  topK: 0,
  topP: 1,
  stopTokenId: -1,
  stopTemperature: 1,
  stopLogitBias: 0,
};

function softmax(x: ArrayLike<number>, T = 1): Float64Array {
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < x.length; i++) m = Math.max(m, x[i]!);
  const e = Float64Array.from({ length: x.length }, (_, i) => Math.exp((x[i]! - m) / T));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

describe('CPU sampling reference', () => {
  it('uniformFor is a deterministic hash into [0, 1) that varies with every argument', () => {
    expect(pcgHash(0)).toBe(pcgHash(0));
    const seen = new Set<number>();
    let mean = 0;
    const n = 3000;
    for (let i = 0; i < n; i++) {
      const u = uniformFor(12345, i % 30, Math.floor(i / 30));
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      seen.add(u);
      mean += u / n;
    }
    expect(seen.size).toBeGreaterThan(n - 5);
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.03); // σ of the mean ≈ 0.29/√3000 ≈ 0.005
    expect(uniformFor(1, 2, 3)).not.toBe(uniformFor(2, 2, 3));
    expect(uniformFor(1, 2, 3)).not.toBe(uniformFor(1, 3, 3));
    expect(uniformFor(1, 2, 3)).not.toBe(uniformFor(1, 2, 4));
  });

  it('greedy (T = 0) picks the argmax, ties → lowest id, for any u', () => {
    const rng = seeded(3);
    for (let trial = 0; trial < 20; trial++) {
      const logits = randomF32(rng, 50, -3, 3);
      const best = argmax(logits);
      for (const u of [0, 0.5, 0.999]) {
        const r = sampleRow(logits, { ...OFF, temperature: 0 }, u, false);
        expect(r.token).toBe(best);
        expect(r.logprob).toBeCloseTo(Math.log(softmax(logits)[best]!), 12);
      }
    }
    const tied = Float32Array.from([0, 2, 1, 2, 2]);
    expect(sampleRow(tied, { ...OFF, temperature: 0 }, 0.3, false).token).toBe(1);
  });

  it('top-k = 1 is greedy at any temperature and u; top-k keeps exactly k tokens', () => {
    const rng = seeded(4);
    for (let trial = 0; trial < 20; trial++) {
      const logits = randomF32(rng, 40, -3, 3);
      const u = rng.next();
      expect(sampleRow(logits, { ...OFF, temperature: 1.7, topK: 1 }, u, false).token).toBe(argmax(logits));
      const q = samplingProbs(logits, { ...OFF, topK: 7 }, false);
      expect(q.filter((v) => v > 0).length).toBe(7);
      // The kept ones are the 7 largest logits, renormalised.
      const p = softmax(logits);
      const kept = Array.from(p.keys())
        .sort((a, b) => p[b]! - p[a]!)
        .slice(0, 7);
      const z = kept.reduce((s, i) => s + p[i]!, 0);
      for (const i of kept) expect(q[i]!).toBeCloseTo(p[i]! / z, 12);
    }
    // Ties at the k boundary go to the lower id.
    const q = samplingProbs(Float32Array.from([1, 3, 2, 2, 2]), { ...OFF, topK: 2 }, false);
    expect(Array.from(q, (v) => v > 0)).toEqual([false, true, true, false, false]);
  });

  it('top-p keeps the smallest prefix (by probability) whose mass reaches topP', () => {
    const rng = seeded(5);
    for (let trial = 0; trial < 30; trial++) {
      const logits = randomF32(rng, 30, -3, 3);
      const topP = 0.05 + 0.9 * rng.next();
      const q = samplingProbs(logits, { ...OFF, topP }, false);
      const p = softmax(logits);
      const order = Array.from(p.keys()).sort((a, b) => p[b]! - p[a]!);
      const keptCount = q.filter((v) => v > 0).length;
      const massOf = (n: number) => order.slice(0, n).reduce((s, i) => s + p[i]!, 0);
      expect(massOf(keptCount)).toBeGreaterThanOrEqual(topP);
      expect(massOf(keptCount - 1)).toBeLessThan(topP);
      for (let r = 0; r < keptCount; r++) expect(q[order[r]!]!).toBeGreaterThan(0);
    }
  });

  it('stop-token temperature τ: p′ = p^(1/τ)/(p^(1/τ) + (1−p)^(1/τ)), others rescaled, only while thinking', () => {
    const rng = seeded(6);
    for (const tau of [0.25, 0.5, 2, 5]) {
      const logits = randomF32(rng, 20, -2, 2);
      const stop = 4;
      const p = softmax(logits);
      const ps = p[stop]!;
      const closed = ps ** (1 / tau) / (ps ** (1 / tau) + (1 - ps) ** (1 / tau));
      expect(stopScaledProb(ps, tau)).toBeCloseTo(closed, 14);
      const params = { ...OFF, stopTokenId: stop, stopTemperature: tau };
      const q = samplingProbs(logits, params, true);
      expect(q[stop]!).toBeCloseTo(closed, 12);
      for (let i = 0; i < 20; i++) if (i !== stop) expect(q[i]!).toBeCloseTo((p[i]! * (1 - closed)) / (1 - ps), 12);
      // Not thinking: the plain softmax.
      const plain = samplingProbs(logits, params, false);
      for (let i = 0; i < 20; i++) expect(plain[i]!).toBeCloseTo(p[i]!, 14);
    }
    // Edge cases p = 0 and p = 1 are fixed points.
    expect(stopScaledProb(0, 0.5)).toBe(0);
    expect(stopScaledProb(1, 0.5)).toBe(1);
    const certain = samplingProbs(Float32Array.from([0, 200, 0]), { ...OFF, stopTokenId: 1, stopTemperature: 3 }, true);
    expect(Array.from(certain)).toEqual([0, 1, 0]);
  });

  it('the stop-token logit bias applies only while thinking', () => {
    const logits = Float32Array.from([0.5, -1, 2, 0]);
    const params = { ...OFF, stopTokenId: 1, stopLogitBias: 3 };
    const biased = samplingProbs(logits, params, true);
    const expected = softmax([0.5, 2, 2, 0]);
    for (let i = 0; i < 4; i++) expect(biased[i]!).toBeCloseTo(expected[i]!, 6);
    const plain = samplingProbs(logits, params, false);
    const p = softmax(logits);
    for (let i = 0; i < 4; i++) expect(plain[i]!).toBeCloseTo(p[i]!, 12);
  });

  it('stop-logit TS: softmax of the logits with z_stop ← (z_stop + bias)/τ_z, only while thinking', () => {
    const rng = seeded(8);
    for (const tauZ of [0.25, 0.5, 2, 4]) {
      const logits = randomF32(rng, 20, -2, 2);
      const stop = 4;
      const params = { ...OFF, temperature: 0.7, stopTokenId: stop, stopLogitBias: 0.5, stopLogitTemperature: tauZ };
      const x = Array.from(logits);
      x[stop] = (x[stop]! + 0.5) / tauZ;
      const expected = softmax(x, 0.7);
      const q = samplingProbs(logits, params, true);
      for (let i = 0; i < 20; i++) expect(q[i]!).toBeCloseTo(expected[i]!, 12);
      const plain = samplingProbs(logits, params, false);
      const p = softmax(logits, 0.7);
      for (let i = 0; i < 20; i++) expect(plain[i]!).toBeCloseTo(p[i]!, 12);
    }
    // Not shift-invariant (unlike two-way TS): the same logits + 3 give a different stop probability at τ_z = 2.
    const base = Float32Array.from([1, 0.5, -0.5, 0.2]);
    const shifted = base.map((v) => v + 3);
    const params = { ...OFF, stopTokenId: 1, stopLogitTemperature: 2 };
    expect(samplingProbs(base, params, true)[1]!).not.toBeCloseTo(samplingProbs(shifted, params, true)[1]!, 3);
    const ts = { ...OFF, stopTokenId: 1, stopTemperature: 2 };
    expect(samplingProbs(base, ts, true)[1]!).toBeCloseTo(samplingProbs(shifted, ts, true)[1]!, 6);
  });

  it('margin rule: stop when max logit − stop logit < δ (after step 1), while thinking, optionally at a boundary', () => {
    const [START, END, SEMI] = [1, 2, 5];
    const logits = Float32Array.from([0, 0, 2, 3, 0, 0, 0, 0]); // top 3, stop (2) at margin 1
    const st = { thinking: true, thinkingTokens: 4, extensionsUsed: 0, pendingIndex: 0 };
    const greedy = { ...OFF, temperature: 0, stopTokenId: END };
    expect(stopMargin(logits, greedy, true)).toBe(1);
    expect(stopMargin(logits, greedy, false)).toBeNaN();
    const step = (marginNats: number, boundary = -1, prev = -1, thinking = true) =>
      decodeStepRow(
        { ...st, thinking },
        logits,
        -1,
        { ...greedy, stopMarginNats: marginNats, stopMarginBoundaryId: boundary },
        undefined,
        START,
        END,
        0.5,
        prev,
      );
    expect(step(0).token).toBe(3); // off: the greedy token
    expect(step(1).token).toBe(3); // margin 1 is not < 1
    let r = step(1.01);
    expect([r.token, r.rule, r.state.thinking]).toEqual([END, 'margin', false]);
    expect(r.logprob).toBeCloseTo(Math.log(softmax(logits)[END]!), 12);
    expect(step(1.01, -1, -1, false).token).toBe(3); // not thinking
    expect(step(1.01, SEMI, 7).token).toBe(3); // boundary option: the previous token is not ';'
    r = step(1.01, SEMI, SEMI);
    expect([r.token, r.rule]).toEqual([END, 'margin']);
    // Read after the bias and stop-logit TS: bias +0.5 → margin 0.5; τ_z = 0.5 on (2 + 0.5) → 5 > 3, margin 0.
    expect(stopMargin(logits, { ...greedy, stopLogitBias: 0.5 }, true)).toBeCloseTo(0.5, 12);
    expect(stopMargin(logits, { ...greedy, stopLogitBias: 0.5, stopLogitTemperature: 0.5 }, true)).toBe(0);
    // The cap comes first; the margin beats a sampled token; a stop token that is the argmax has margin 0.
    const budget = { thinkingCapTokens: 4, minThinkingTokens: 0, maxExtensions: 0, extensionIds: [] };
    const capped = decodeStepRow(st, logits, -1, { ...greedy, stopMarginNats: 2 }, budget, START, END, 0.5);
    expect(capped.rule).toBe('cap');
    expect(marginFires(Float32Array.from([0, 0, 9, 3]), { ...greedy, stopMarginNats: 1e-6 }, true, -1)).toBe(true);
    expect(marginFires(logits, { ...OFF, stopMarginNats: 5 }, true, -1)).toBe(false); // no stop token
  });

  it('decodeStepRow applies the budget rules in order: forced, pending, cap, extend', () => {
    const [START, END] = [1, 2];
    // Greedy over logits that make `</think>` the sample unless told otherwise.
    const endFirst = Float32Array.from([0, 0, 5, 1, 0, 0, 0, 0]);
    const budget: BudgetForcing = {
      thinkingCapTokens: 5,
      minThinkingTokens: 3,
      maxExtensions: 2,
      extensionIds: [6, 7],
    };
    const greedy = { ...OFF, temperature: 0 };
    const st = (thinking: boolean, thinkingTokens: number, extensionsUsed = 0, pendingIndex = 0): DecodeRowState => ({
      thinking,
      thinkingTokens,
      extensionsUsed,
      pendingIndex,
    });
    const step = (s: DecodeRowState, forced = -1) =>
      decodeStepRow(s, endFirst, forced, greedy, budget, START, END, 0.5);
    const q = samplingProbs(endFirst, greedy, true);
    // Extend: `</think>` below the minimum becomes the first extension id, then the pending one follows.
    let r = step(st(true, 1));
    expect([r.token, r.rule, r.state]).toEqual([6, 'extend', st(true, 2, 1, 1)]);
    expect(r.logprob).toBe(Math.log(q[6]!));
    r = step(r.state);
    expect([r.token, r.rule, r.state]).toEqual([7, 'pending', st(true, 3, 1, 0)]);
    // Minimum reached: `</think>` stays, the flag clears.
    r = step(r.state);
    expect([r.token, r.rule, r.state]).toEqual([END, 'sample', st(false, 3, 1, 0)]);
    // Extensions used up: `</think>` stays even below the minimum.
    expect(step(st(true, 0, 2)).rule).toBe('sample');
    // Cap: at 5 thinking tokens `</think>` is forced whatever the sample (here a larger logit on token 3).
    const notEnd = Float32Array.from([0, 0, 0, 9, 0, 0, 0, 0]);
    r = decodeStepRow(st(true, 5), notEnd, -1, greedy, budget, START, END, 0.5);
    expect([r.token, r.rule, r.state]).toEqual([END, 'cap', st(false, 5)]);
    expect(decodeStepRow(st(true, 4), notEnd, -1, greedy, budget, START, END, 0.5).token).toBe(3);
    // A forced token beats a pending extension and the cap, and leaves the pending index alone; `<think>` resets.
    r = step(st(true, 9, 1, 1), START);
    expect([r.token, r.rule, r.state]).toEqual([START, 'forced', st(true, 0, 1, 1)]);
    // Not thinking: no budget rule applies. No budget: the plain sample.
    expect(step(st(false, 0)).token).toBe(END);
    expect(decodeStepRow(st(true, 1), endFirst, -1, greedy, undefined, START, END, 0.5).token).toBe(END);
  });

  it('inverse-CDF sampling over ascending ids reproduces the distribution', () => {
    const q = Float64Array.from([0.1, 0, 0.25, 0.4, 0.25]);
    const counts = new Float64Array(5);
    const M = 10000;
    for (let k = 0; k < M; k++) counts[inverseCdf(q, (k + 0.5) / M)]! += 1 / M;
    for (let i = 0; i < 5; i++) expect(counts[i]!).toBeCloseTo(q[i]!, 3);
    expect(inverseCdf(q, 0)).toBe(0);
    expect(inverseCdf(q, 0.1)).toBe(2); // cdf 0.1 is not > 0.1; token 1 has no mass
    expect(inverseCdf(Float64Array.from([0.5, 0.5, 0]), 1 - 1e-17)).toBe(1); // the last id with mass
  });
});

// ---------------------------------------------------------------------------------------------------------------------

/**
 * GPU vs CPU. The GPU works in f32: final probabilities differ by ~1e-6 relative (softmax of V ≤ 1024 terms, a few
 * roundings each), so: probs rtol 1e-4 + atol 1e-6; logprobs atol 1e-4 (log of a 1e-5-relative error, plus slack for
 * tiny probabilities where exp's f32 relative error grows with |x − max|/T ≲ 30, i.e. ≲ 2e-6 relative).
 * A sampled token may differ only where the CPU's u·Σq lies within 1e-5 of a CDF boundary, and the kept set of
 * top-k/top-p may differ only where the decision is within 1e-5 (relative) of its threshold; such rows are counted and
 * that count must stay tiny.
 */
const PROBS_TOL = { rtol: 1e-4, atol: 1e-6 };
const LOGPROB_ATOL = 1e-4;
const MARGIN = 1e-5;

/** How close row's sampling decisions are to a threshold (small → float rounding may legitimately flip them). */
function fragility(
  logits: Float32Array,
  p: SamplingParams,
  thinking: boolean,
  u: number,
): { probs: boolean; token: boolean } {
  const q = samplingProbs(logits, p, thinking);
  // Token: distance of u to the CDF boundaries (or of the top two probabilities for greedy).
  let tokenFragile = false;
  if (p.temperature === 0) {
    const s = Array.from(q).sort((a, b) => b - a);
    tokenFragile = s.length > 1 && s[0]! - s[1]! > 0 && s[0]! - s[1]! < MARGIN * s[0]!;
  } else {
    let c = 0;
    for (const v of q) {
      c += v;
      if (v > 0 && Math.abs(c - u) < MARGIN) tokenFragile = true;
    }
  }
  // Kept set: recompute the pre-filter distribution and the top-k / top-p thresholds.
  const pre = samplingProbs(logits, { ...p, topK: 0, topP: 1 }, thinking);
  const s = Array.from(pre).sort((a, b) => b - a);
  let probsFragile = false;
  // Exact ties are not fragile: equal f32 logits give bit-equal probabilities on both sides, and both break ties by id.
  const gap = p.topK > 0 && p.topK < s.length ? s[p.topK - 1]! - s[p.topK]! : 1;
  if (gap > 0 && gap < MARGIN * s[p.topK - 1]!) probsFragile = true;
  if (p.topP < 1) {
    const kept = p.topK > 0 ? s.slice(0, p.topK) : s;
    const z = kept.reduce((a, b) => a + b, 0);
    let c = 0;
    for (const v of kept) {
      c += v;
      if (Math.abs(c - p.topP * z) < MARGIN) probsFragile = true;
    }
  }
  return { probs: probsFragile, token: tokenFragile || probsFragile };
}

interface Case {
  name: string;
  V: number;
  params: SamplingParams;
  seedOffset?: number;
  /** Every row draws from its own stream (step[2 + 2b], step[3 + 2b]), rows given out of order. */
  streams?: boolean;
  /** With streams: row b at position s + (b mod 3) (step[2 + 2B + b]), so rows reach the context's end apart. */
  offsets?: boolean;
  /** Integer logits: many exact ties (top-k boundary, argmax). */
  ties?: boolean;
  /** Threads per row (default samplingWorkgroupSize(V)). */
  workgroupSize?: number;
}

const THINK_START = 1;
const THINK_END = 2;

function cases(): Case[] {
  const out: Case[] = [];
  const configs: [string, SamplingParams][] = [
    ['plain T=1', OFF],
    ['T=0.7 top-k=5', { ...OFF, temperature: 0.7, topK: 5 }],
    ['T=1.3 top-p=0.9', { ...OFF, temperature: 1.3, topP: 0.9 }],
    [
      'T=0.8 top-k=20 top-p=0.8 stop τ=0.5 bias=1.5',
      { temperature: 0.8, topK: 20, topP: 0.8, stopTokenId: 3, stopTemperature: 0.5, stopLogitBias: 1.5 },
    ],
    ['greedy with stop τ=2 bias=-1', { ...OFF, temperature: 0, stopTokenId: 3, stopTemperature: 2, stopLogitBias: -1 }],
    ['T=1 stop τ=3', { ...OFF, stopTokenId: 0, stopTemperature: 3 }],
    ['T=0.9 stop-logit τ_z=0.4', { ...OFF, temperature: 0.9, stopTokenId: 3, stopLogitTemperature: 0.4 }],
    [
      'greedy stop-logit τ_z=3 bias=2 top-k=10',
      { ...OFF, temperature: 0, topK: 10, stopTokenId: 3, stopLogitBias: 2, stopLogitTemperature: 3 },
    ],
  ];
  for (const V of [7, 64, 300]) for (const [name, params] of configs) out.push({ name, V, params });
  out.push({ name: 'V=1', V: 1, params: { ...OFF, topK: 3, topP: 0.5 } });
  out.push({ name: 'ties: integer logits, top-k=3', V: 64, params: { ...OFF, temperature: 0.9, topK: 3 }, ties: true });
  out.push({ name: 'ties: integer logits, greedy', V: 64, params: { ...OFF, temperature: 0 }, ties: true });
  out.push({
    name: 'V=1024 with everything, step[1] reseeds',
    V: 1024,
    params: { temperature: 0.9, topK: 50, topP: 0.95, stopTokenId: 3, stopTemperature: 0.3, stopLogitBias: 0.5 },
    seedOffset: 777,
  });
  // The default threads per row are 32 at V ≤ 128, 128 at V = 300 and 256 at V = 1024; these reach 64 and a
  // workgroup far wider than the vocabulary (the kernel's only size before it was chosen from V).
  out.push({
    name: 'T=1.3 top-k=30 top-p=0.9, 64 threads a row',
    V: 200,
    params: { ...OFF, temperature: 1.3, topK: 30, topP: 0.9 },
  });
  out.push({
    name: 'T=0.7 top-k=5 stop τ=0.5, 256 threads a row',
    V: 64,
    params: { ...OFF, temperature: 0.7, topK: 5, stopTokenId: 3, stopTemperature: 0.5 },
    workgroupSize: 256,
  });
  out.push({
    name: 'per-row streams (step[2 + 2b], step[3 + 2b])',
    V: 300,
    params: { ...OFF, temperature: 1.1, topK: 40, stopTokenId: 3, stopTemperature: 0.5 },
    streams: true,
  });
  out.push({
    name: 'per-row streams and positions (step[2 + 2B + b])',
    V: 64,
    params: { ...OFF, temperature: 0.8, topP: 0.9, stopTokenId: 3, stopTemperature: 2 },
    streams: true,
    offsets: true,
  });
  return out;
}

function logitsFor(rng: Rng, B: number, V: number, ties: boolean): Float32Array {
  const x = randomF32(rng, B * V, -4, 4);
  return ties ? x.map((v) => Math.round(v)) : x;
}

describe('sample_tokens.wgsl against the CPU reference', () => {
  for (const c of cases()) {
    for (const form of REDUCTION_FORMS) {
      it(`${c.name}, V=${c.V} (${form} reductions)`, async () => {
        const ctx = await gpuContext();
        const subgroups = reductionOption(ctx, form);
        const { V, params } = c;
        const B = 24;
        const Tmax = 6;
        const startPos = 2; // steps sample at pos 2, 3, 4 (writing 3, 4, 5), then pos 5 writes nothing (5 + 1 ≥ Tmax)
        const steps = 4;
        const seed = 0x9e3779b9 ^ (V * 7919);
        const effSeed = (seed + (c.seedOffset ?? 0)) >>> 0;
        const rng = seeded(V * 100 + c.name.length);
        const logits = logitsFor(rng, B, V, c.ties ?? false);
        const thinking0 = Uint32Array.from({ length: B }, (_, b) => (b % 2 === 0 ? 1 : 0));
        const forced = new Int32Array(B * Tmax).fill(-1);
        for (let b = 0; b < B; b += 5) forced[b * Tmax + 4] = b % 10 === 0 ? Math.min(THINK_END, V - 1) : V - 1;
        for (let b = 1; b < B; b += 7) forced[b * Tmax + 3] = Math.min(THINK_START, V - 1);
        const SENTINEL = 0xdeadbeef;
        const tokens = upload(ctx, new Uint32Array(B * Tmax).fill(SENTINEL));
        const logprobs = poisoned(ctx, B * Tmax);
        const states0: DecodeRowState[] = Array.from(thinking0, (v) => ({
          thinking: v !== 0,
          thinkingTokens: 0,
          extensionsUsed: 0,
          pendingIndex: 0,
        }));
        const state = upload(ctx, packDecodeStates(states0));
        // Per-row streams: seeds unrelated to `seed`, stream rows a permutation (row b draws as row (5b + 3) mod B).
        const streamOf = (b: number) =>
          c.streams ? { seed: (0x51ed270b * (b + 1)) >>> 0, row: (5 * b + 3) % B } : { seed: effSeed, row: b };
        const offsetOf = (b: number) => (c.offsets ? b % 3 : 0);
        const stepInit = c.streams
          ? [
              startPos,
              12345,
              ...Array.from({ length: B }, (_, b) => [streamOf(b).seed, streamOf(b).row]).flat(),
              ...(c.offsets ? Array.from({ length: B }, (_, b) => offsetOf(b)) : []),
            ]
          : c.seedOffset !== undefined
            ? [startPos, c.seedOffset]
            : [startPos];
        const step = upload(ctx, Uint32Array.from(stepInit));
        const probs = poisoned(ctx, B * V);
        const one = prepareSampleTokens(ctx, {
          B,
          V,
          Tmax,
          logits: upload(ctx, logits),
          state,
          forced: upload(ctx, forced),
          tokens,
          logprobs,
          step,
          params,
          seed,
          thinkStartId: THINK_START,
          thinkEndId: THINK_END,
          probs,
          subgroups,
          workgroupSize: c.workgroupSize,
        });
        expect(one.length).toBe(2);
        expect(usesSubgroups(one[0]!)).toBe(subgroups);
        // The whole multi-step generation in one command buffer.
        runDispatches(ctx, Array.from({ length: steps }, () => one).flat());

        // CPU emulation of the same steps.
        const expTokens = new Uint32Array(B * Tmax).fill(SENTINEL);
        const th = Array.from(thinking0, (v) => v !== 0);
        const rowStates = states0.slice();
        const lastThinking = th.slice();
        const gotTokens = await readU32(ctx, tokens);
        const gotLogprobs = await readF32(ctx, logprobs);
        const gotProbs = await readF32(ctx, probs);
        let fragileRows = 0;
        let mismatches = 0;
        const cpuProbs: number[] = [];
        const gpuProbs: number[] = [];
        const expLp: number[] = [];
        const gotLp: number[] = [];
        let excluded = 0;
        for (let s = 0; s < steps; s++) {
          for (let b = 0; b < B; b++) {
            const pos = startPos + s + offsetOf(b);
            if (pos + 1 >= Tmax) continue;
            const row = logits.subarray(b * V, (b + 1) * V);
            const u = uniformFor(streamOf(b).seed, pos, streamOf(b).row);
            const q = samplingProbs(row, params, th[b]!);
            const ref = sampleRow(row, params, u, th[b]!);
            const idx = b * Tmax + pos + 1;
            const f = forced[idx]!;
            const frag = fragility(row, params, th[b]!, u);
            let token = f >= 0 ? f : ref.token;
            if (gotTokens[idx] !== token) {
              mismatches++;
              if (frag.token && f < 0) {
                fragileRows++;
                token = gotTokens[idx]!; // follow the GPU on a legitimately fragile row
              }
            }
            expTokens[idx] = token;
            if (frag.probs) excluded++;
            else {
              expLp.push(Math.log(q[gotTokens[idx]!] ?? 0));
              gotLp.push(gotLogprobs[idx]!);
            }
            if (pos + 1 === Tmax - 1) {
              lastThinking[b] = th[b]!;
              if (!frag.probs) {
                cpuProbs.push(...q);
                gpuProbs.push(...gotProbs.subarray(b * V, (b + 1) * V));
              }
            }
            if (token === THINK_START) th[b] = true;
            else if (token === THINK_END) th[b] = false;
            rowStates[b] = advanceDecodeState(rowStates[b]!, token, THINK_START, THINK_END);
          }
        }
        expect(mismatches, 'token mismatches outside fragile rows').toBe(fragileRows);
        expect(fragileRows + excluded, 'rows within float rounding of a threshold').toBeLessThanOrEqual(3);
        expect(Array.from(gotTokens)).toEqual(Array.from(expTokens));
        expectAllClose(gpuProbs, cpuProbs, PROBS_TOL, 'final probabilities');
        // Logprobs: finite ones within LOGPROB_ATOL; −∞ exactly where q = 0 (forced tokens outside the kept set).
        for (let i = 0; i < expLp.length; i++) {
          if (expLp[i] === Number.NEGATIVE_INFINITY) expect(gotLp[i]).toBe(Number.NEGATIVE_INFINITY);
          else
            expect(Math.abs(gotLp[i]! - expLp[i]!), `logprob ${i}: ${gotLp[i]} vs ${expLp[i]}`).toBeLessThan(
              LOGPROB_ATOL,
            );
        }
        // Unwritten positions keep their contents.
        for (let b = 0; b < B; b++)
          for (let t = 0; t <= startPos + offsetOf(b); t++) expect(gotLogprobs[b * Tmax + t]).toBeNaN();
        // The state buffer: the flag as before, and the thinking-token counter (no budget: nothing else changes).
        expect(Array.from(await readU32(ctx, state))).toEqual(Array.from(packDecodeStates(rowStates)));
        expect(rowStates.map((r) => r.thinking)).toEqual(th);
        expect((await readU32(ctx, step))[0]).toBe(startPos + steps);
        // Stop rules really were exercised with both flag values on the last step.
        expect(lastThinking.some((v) => v) && lastThinking.some((v) => !v)).toBe(true);
      });
    }
  }

  it('rejects bad arguments with clear errors', async () => {
    const ctx = await gpuContext();
    const t = upload(ctx, new Float32Array(64));
    const base = {
      B: 2,
      V: 8,
      Tmax: 4,
      logits: t,
      state: t,
      forced: t,
      tokens: t,
      logprobs: t,
      step: upload(ctx, new Uint32Array(1)),
      params: OFF,
      seed: 1,
      thinkStartId: -1,
      thinkEndId: -1,
    };
    expect(() => prepareSampleTokens(ctx, { ...base, V: 1025 })).toThrow(/V = 1025 exceeds 1024/);
    expect(() => prepareSampleTokens(ctx, { ...base, params: { ...OFF, topP: 0 } })).toThrow(
      /topP must be in \(0, 1\]/,
    );
    expect(() => prepareSampleTokens(ctx, { ...base, params: { ...OFF, stopTemperature: 0 } })).toThrow(
      /stopTemperature must be/,
    );
    expect(() => prepareSampleTokens(ctx, { ...base, B: 40 })).toThrow(/logits has 64 elements, needs 320/);
    // Per-row streams need 2 + 2B words (2 + 3B or more add per-row positions: lib/decode_position.wgsl).
    expect(() => prepareSampleTokens(ctx, { ...base, step: upload(ctx, new Uint32Array(5)) })).toThrow(
      /step must have 1, 2 or at least 2 \+ 2B = 6 elements, has 5/,
    );
    expect(() => prepareSampleTokens(ctx, { ...base, step: upload(ctx, new Uint32Array(9)) })).not.toThrow();
    for (const workgroupSize of [16, 48, 512]) {
      expect(() => prepareSampleTokens(ctx, { ...base, workgroupSize })).toThrow(
        new RegExp(`workgroupSize must be 32, 64, 128 or 256 .*got ${workgroupSize}`),
      );
    }
    // 4 ids a thread: 32 threads hold at most 128 ids.
    expect(() => prepareSampleTokens(ctx, { ...base, V: 129, workgroupSize: 32 })).toThrow(/≥ V = 129, got 32/);
  });

  it('takes the fewest threads per row that hold the vocabulary at 4 ids a thread (32 to 256)', () => {
    const sizes = [1, 98, 128, 129, 256, 257, 512, 513, 1024].map(samplingWorkgroupSize);
    expect(sizes).toEqual([32, 32, 32, 64, 64, 128, 128, 256, 256]);
  });

  it('every size it takes is one the subgroup layout probe checks (the subgroup form relies on the probe)', () => {
    const taken = new Set(Array.from({ length: SAMPLING_MAX_V }, (_, i) => samplingWorkgroupSize(i + 1)));
    expect([...taken].sort((a, b) => a - b)).toEqual([32, 64, 128, 256]);
    for (const wg of taken) expect(PROBED_WORKGROUPS as readonly number[], `workgroup of ${wg}`).toContain(wg);
  });
});

// ---------------------------------------------------------------------------------------------------------------------

interface BudgetCase {
  name: string;
  V: number;
  params: SamplingParams;
  budget: BudgetForcing;
  /** Situations the emulation must have met (see `situation` below). */
  covers: string[];
}

/** What decided a step, finer than DecodeRule: which rule fired and, where a rule did not, why. */
function situation(
  s: DecodeRowState,
  rule: DecodeRule,
  sampled: number,
  forcedToken: number,
  b: BudgetForcing,
): string {
  const overCap = s.thinking && b.thinkingCapTokens > 0 && s.thinkingTokens >= b.thinkingCapTokens;
  if (rule === 'forced') return s.pendingIndex > 0 ? 'forced beats pending' : overCap ? 'forced beats cap' : 'forced';
  if (rule === 'pending') return s.pendingIndex + 1 < b.extensionIds.length ? 'pending continues' : 'pending ends';
  if (rule === 'cap' || rule === 'extend' || rule === 'margin') return rule;
  if (forcedToken < 0 && s.thinking && sampled === THINK_END) {
    if (s.thinkingTokens >= b.minThinkingTokens) return 'end kept: min reached';
    if (s.extensionsUsed >= b.maxExtensions) return 'end kept: extensions exhausted';
  }
  if (s.thinking && b.thinkingCapTokens > 0) return 'sample under cap';
  return 'sample';
}

function budgetCases(): BudgetCase[] {
  const ids = (n: number, from: number) => Array.from({ length: n }, (_, i) => from + i);
  return [
    {
      name: 'greedy, cap 6, min 5, 2 extensions of 3 ids',
      V: 50,
      params: { ...OFF, temperature: 0 },
      budget: { thinkingCapTokens: 6, minThinkingTokens: 5, maxExtensions: 2, extensionIds: ids(3, 10) },
      covers: [
        'forced beats pending',
        'forced beats cap',
        'pending continues',
        'pending ends',
        'cap',
        'extend',
        'end kept: min reached',
        'end kept: extensions exhausted',
        'sample under cap',
      ],
    },
    {
      name: 'T=0.9 top-k=8, stop bias 0.5, cap 4, min 7, 3 extensions of 1 id',
      V: 300,
      params: { ...OFF, temperature: 0.9, topK: 8, stopTokenId: THINK_END, stopLogitBias: 0.5 },
      budget: { thinkingCapTokens: 4, minThinkingTokens: 7, maxExtensions: 3, extensionIds: [20] },
      covers: ['forced beats cap', 'cap', 'extend', 'end kept: extensions exhausted', 'sample under cap'],
    },
    {
      name: 'T=1 top-p=0.9, cap off, min 6, 1 extension of 8 ids',
      V: 37,
      params: { ...OFF, temperature: 1, topP: 0.9 },
      budget: { thinkingCapTokens: 0, minThinkingTokens: 6, maxExtensions: 1, extensionIds: ids(8, 4) },
      covers: [
        'forced beats pending',
        'pending continues',
        'pending ends',
        'extend',
        'end kept: min reached',
        'end kept: extensions exhausted',
      ],
    },
    {
      name: 'greedy, margin rule δ = 1.5 nats at every token, no budget',
      V: 50,
      params: { ...OFF, temperature: 0, stopTokenId: THINK_END, stopMarginNats: 1.5 },
      budget: { thinkingCapTokens: 0, minThinkingTokens: 0, maxExtensions: 0, extensionIds: [] },
      covers: ['margin', 'sample'],
    },
    {
      // The boundary id is the token forced at the first written position of every 4th row (30 % V = 30).
      name: 'T=0.8 stop-logit τ_z=0.7 bias 1, margin δ = 3 only after token 30, cap 5',
      V: 300,
      params: {
        ...OFF,
        temperature: 0.8,
        stopTokenId: THINK_END,
        stopLogitBias: 1,
        stopLogitTemperature: 0.7,
        stopMarginNats: 3,
        stopMarginBoundaryId: 30,
      },
      budget: { thinkingCapTokens: 5, minThinkingTokens: 0, maxExtensions: 0, extensionIds: [] },
      covers: ['margin', 'cap', 'sample under cap', 'forced beats cap'],
    },
  ];
}

describe('sample_tokens.wgsl budget forcing against decodeStepRow', () => {
  // The cases alternate between the two reduction forms (each case's pipeline is the same; the forms differ only in
  // how the row's maxima and sums are reduced, which the tests above check case by case).
  for (const [ci, c] of budgetCases().entries()) {
    const form = REDUCTION_FORMS[ci % 2]!;
    it(`${c.name} (${form} reductions)`, async () => {
      const ctx = await gpuContext();
      const subgroups = reductionOption(ctx, form);
      const { V, params, budget } = c;
      const nIds = budget.extensionIds.length;
      // B = 19 rows (no nice multiple); SwiftShader runs ~7 ms per row-step of this kernel under load, so few of them.
      const B = 19;
      const Tmax = 8;
      const startPos = 1; // pos 1..6 write tokens 2..7; the last step (pos 7) writes nothing
      const steps = 7;
      const seed = 0x2545f491 ^ V;
      const rng = seeded(V * 31 + nIds);
      const logits = randomF32(rng, B * V, -4, 4);
      // Every third row strongly prefers `</think>`, so the extension rule has something to replace.
      for (let b = 0; b < B; b += 3) logits[b * V + THINK_END] = logits[b * V + THINK_END]! + 10;
      const states0: DecodeRowState[] = Array.from({ length: B }, () => ({
        thinking: rng.next() < 0.75,
        thinkingTokens: rng.int(9),
        extensionsUsed: rng.int(budget.maxExtensions + 1),
        pendingIndex: nIds > 1 && rng.next() < 0.3 ? 1 + rng.int(nIds - 1) : 0,
      }));
      // Rows 0 and 4 get a forced token (below) at the first step: row 0 over the cap, row 4 mid-extension. Rows 3, 6
      // and 9 prefer `</think>`: row 6 has reached the minimum, row 9 has used up its extensions, row 3 is fresh.
      states0[3] = { thinking: true, thinkingTokens: 0, extensionsUsed: 0, pendingIndex: 0 };
      states0[0] = { thinking: true, thinkingTokens: 8, extensionsUsed: 0, pendingIndex: 0 };
      states0[4] = { thinking: true, thinkingTokens: 0, extensionsUsed: 0, pendingIndex: nIds > 1 ? 1 : 0 };
      states0[6] = { thinking: true, thinkingTokens: budget.minThinkingTokens, extensionsUsed: 0, pendingIndex: 0 };
      states0[9] = { thinking: true, thinkingTokens: 0, extensionsUsed: budget.maxExtensions, pendingIndex: 0 };
      // Forced tokens: the first written position of every 4th row (so some meet a pending sequence or the cap), a
      // `<think>` in a few rows mid-way (resets the counter), an ordinary token elsewhere.
      const forced = new Int32Array(B * Tmax).fill(-1);
      for (let b = 0; b < B; b += 4) forced[b * Tmax + startPos + 1] = 30 % V;
      for (let b = 2; b < B; b += 7) forced[b * Tmax + 4] = THINK_START;
      for (let b = 3; b < B; b += 5) forced[b * Tmax + 6] = 0;
      const SENTINEL = 0xdeadbeef;
      const tokens = upload(ctx, new Uint32Array(B * Tmax).fill(SENTINEL));
      const logprobs = poisoned(ctx, B * Tmax);
      const state = upload(ctx, packDecodeStates(states0));
      const step = upload(ctx, Uint32Array.from([startPos, 5]));
      const one = prepareSampleTokens(ctx, {
        B,
        V,
        Tmax,
        logits: upload(ctx, logits),
        state,
        forced: upload(ctx, forced),
        tokens,
        logprobs,
        step,
        params,
        seed,
        thinkStartId: THINK_START,
        thinkEndId: THINK_END,
        budget,
        subgroups,
      });
      expect(usesSubgroups(one[0]!)).toBe(subgroups);
      runDispatches(ctx, Array.from({ length: steps }, () => one).flat());
      const gotTokens = await readU32(ctx, tokens);
      const gotLogprobs = await readF32(ctx, logprobs);
      const gotState = await readU32(ctx, state);

      // CPU emulation with decodeStepRow. A row whose sampled token is within float rounding of a threshold may
      // legitimately differ (see MARGIN); from then on its history differs, so it is dropped from the comparison.
      const effSeed = (seed + 5) >>> 0;
      const rows = states0.slice();
      const diverged = new Set<number>();
      const seen = new Map<string, number>();
      for (let s = 0; s < steps; s++) {
        const pos = startPos + s;
        if (pos + 1 >= Tmax) continue;
        for (let b = 0; b < B; b++) {
          if (diverged.has(b)) continue;
          const row = logits.subarray(b * V, (b + 1) * V);
          const u = uniformFor(effSeed, pos, b);
          const idx = b * Tmax + pos + 1;
          const f = forced[idx]!;
          // The token at this position (the margin rule's boundary option reads it): as checked at the last step.
          const prev = gotTokens[b * Tmax + pos]!;
          const r = decodeStepRow(rows[b]!, row, f, params, budget, THINK_START, THINK_END, u, prev);
          const sampled = sampleRow(row, params, u, rows[b]!.thinking).token;
          const frag = fragility(row, params, rows[b]!.thinking, u);
          // The margin is compared in f32 on the GPU (f64 here): within 1e-4 nats of δ either side may be right.
          const margin = stopMargin(row, params, rows[b]!.thinking);
          const marginFragile = Math.abs(margin - (params.stopMarginNats ?? 0)) < 1e-4;
          const ruleFragile = r.rule === 'sample' || r.rule === 'extend' || r.rule === 'margin';
          if (gotTokens[idx] !== r.token && (frag.token || marginFragile) && ruleFragile) {
            diverged.add(b);
            continue;
          }
          expect(gotTokens[idx], `row ${b} pos ${pos + 1} (${r.rule})`).toBe(r.token);
          if (!frag.probs) {
            if (r.logprob === Number.NEGATIVE_INFINITY) expect(gotLogprobs[idx]).toBe(Number.NEGATIVE_INFINITY);
            else
              expect(Math.abs(gotLogprobs[idx]! - r.logprob), `logprob row ${b} pos ${pos + 1}`).toBeLessThan(
                LOGPROB_ATOL,
              );
          }
          const what = situation(rows[b]!, r.rule, sampled, f, budget);
          seen.set(what, (seen.get(what) ?? 0) + 1);
          rows[b] = r.state;
        }
      }
      expect(diverged.size, 'rows within float rounding of a CDF boundary').toBeLessThanOrEqual(2);
      for (let b = 0; b < B; b++) {
        if (diverged.has(b)) continue;
        expect(unpackDecodeState(gotState, b), `state of row ${b}`).toEqual(rows[b]);
        for (let t = 0; t <= startPos; t++) {
          expect(gotTokens[b * Tmax + t]).toBe(SENTINEL);
          expect(gotLogprobs[b * Tmax + t]).toBeNaN();
        }
      }
      expect((await readU32(ctx, step))[0]).toBe(startPos + steps);
      for (const what of c.covers) expect(seen.get(what) ?? 0, `situation "${what}" exercised`).toBeGreaterThan(0);
    });
  }

  it('an all-zero budget (with extension ids) is bit-identical to no budget', async () => {
    const ctx = await gpuContext();
    const B = 13;
    const V = 40;
    const Tmax = 5;
    const rng = seeded(77);
    const logits = upload(ctx, randomF32(rng, B * V, -3, 3));
    const forced = upload(ctx, new Int32Array(B * Tmax).fill(-1));
    const states0: DecodeRowState[] = Array.from({ length: B }, (_, b) => ({
      thinking: b % 2 === 0,
      thinkingTokens: b,
      extensionsUsed: 0,
      pendingIndex: 0,
    }));
    const run = async (budget: BudgetForcing | undefined) => {
      const tokens = upload(ctx, new Uint32Array(B * Tmax).fill(0xdeadbeef));
      const logprobs = poisoned(ctx, B * Tmax);
      const state = upload(ctx, packDecodeStates(states0));
      const step = upload(ctx, Uint32Array.from([0, 3]));
      const d = prepareSampleTokens(ctx, {
        B,
        V,
        Tmax,
        logits,
        state,
        forced,
        tokens,
        logprobs,
        step,
        params: { ...OFF, temperature: 1.2, stopTokenId: THINK_END, stopLogitBias: 2 },
        seed: 11,
        thinkStartId: THINK_START,
        thinkEndId: THINK_END,
        budget,
      });
      runDispatches(ctx, Array.from({ length: Tmax }, () => d).flat());
      return [await readU32(ctx, tokens), await readU32(ctx, logprobs), await readU32(ctx, state)].map((a) =>
        Array.from(a),
      );
    };
    const off = await run(undefined);
    const zero = await run({ thinkingCapTokens: 0, minThinkingTokens: 0, maxExtensions: 3, extensionIds: [5, 6] });
    expect(zero).toEqual(off);
    // It did sample while thinking (the `</think>` bias was in play), and every position 1..Tmax−1 was written.
    expect(off[0]!.filter((v) => v === 0xdeadbeef).length).toBe(B);
    expect(off[0]!.some((v) => v === THINK_END)).toBe(true);
  });

  it('rejects bad budgets and a short state buffer with clear errors', async () => {
    const ctx = await gpuContext();
    const t = upload(ctx, new Float32Array(64));
    const base = {
      B: 2,
      V: 8,
      Tmax: 4,
      logits: t,
      state: t,
      forced: t,
      tokens: t,
      logprobs: t,
      step: upload(ctx, new Uint32Array(1)),
      params: OFF,
      seed: 1,
      thinkStartId: THINK_START,
      thinkEndId: THINK_END,
    };
    const budget: BudgetForcing = { thinkingCapTokens: 3, minThinkingTokens: 0, maxExtensions: 0, extensionIds: [] };
    expect(() => prepareSampleTokens(ctx, { ...base, budget })).not.toThrow();
    expect(() => prepareSampleTokens(ctx, { ...base, budget, thinkEndId: -1 })).toThrow(
      /budget forcing needs thinkStartId and thinkEndId/,
    );
    expect(() =>
      prepareSampleTokens(ctx, { ...base, budget: { ...budget, extensionIds: [0, 1, 4, 5, 6, 7, 0, 4, 5] } }),
    ).toThrow(/at most 8/);
    expect(() => prepareSampleTokens(ctx, { ...base, budget: { ...budget, extensionIds: [4, 8] } })).toThrow(
      /extensionIds\[1\] = 8 is outside the vocabulary/,
    );
    expect(() => prepareSampleTokens(ctx, { ...base, budget: { ...budget, extensionIds: [THINK_END] } })).toThrow(
      /think delimiter/,
    );
    expect(() =>
      prepareSampleTokens(ctx, { ...base, budget: { ...budget, minThinkingTokens: 4, maxExtensions: 1 } }),
    ).toThrow(/extensionIds needs 1 to 8 ids/);
    expect(() => prepareSampleTokens(ctx, { ...base, budget: { ...budget, thinkingCapTokens: -1 } })).toThrow(
      /budget.thinkingCapTokens must be an integer/,
    );
    expect(() => prepareSampleTokens(ctx, { ...base, B: 20, logits: upload(ctx, new Float32Array(160)) })).toThrow(
      /state has 64 elements, needs 80/,
    );
  });
});
