import { describe, expect, it } from 'vitest';
import { crossEntropyF64 } from '../../src/cpu/crossentropy';
import type { ModelConfig } from '../../src/model/config';
import { buildParamLayout, initParams } from '../../src/model/params';
import { referenceForward, referenceLossAndGrads } from '../../src/model/reference';
import { DEFAULT_OPTIM_CONFIG, type OptimConfig } from '../../src/train/config';
import { CpuTrainer } from '../../src/train/cpu_trainer';
import {
  type GrpoBatch,
  type GrpoLossConfig,
  type GrpoLossType,
  type GrpoTokenInput,
  groupAdvantages,
  grpoStep,
  grpoTokenWeights,
} from '../../src/train/grpo_loss';
import { Trainer } from '../../src/train/trainer';
import type { Rng } from '../../src/util/rng';
import { expectAllClose } from '../helpers/allclose';
import { gpuContext, seeded } from '../helpers/gpu';

const config: ModelConfig = {
  vocabSize: 12,
  contextLength: 16,
  dModel: 16,
  nLayers: 2,
  nHeads: 2,
  mlpRatio: 2,
  seed: 9,
};
const layout = buildParamLayout(config);
const B = 4; // 2 groups × 2 completions
const T = 8;
const N = B * T;
const LOSS_TYPES: GrpoLossType[] = ['grpo', 'dr_grpo', 'dapo'];
const baseLoss: GrpoLossConfig = {
  lossType: 'grpo',
  epsilon: 0.2,
  epsilonHigh: 0.28,
  beta: 0,
  maskTruncatedCompletions: false,
  maxCompletionLength: 7,
};

/** Seeded weights spread wider than the init, so log-probabilities vary across tokens. */
function randomParams(rng: Rng): Float32Array {
  const params = initParams(config, layout);
  for (const e of layout.entries) {
    for (let i = 0; i < e.length; i++)
      params[e.offset + i] = e.init === 'ones' ? 1 + 0.2 * rng.normal() : 0.3 * rng.normal();
  }
  return params;
}

/**
 * Prompt of 2–3 tokens then a completion of `lengths[b]` tokens per row: completion targets at positions
 * [promptLength − 1, promptLength − 1 + length), −1 elsewhere.
 */
function rolloutBatch(rng: Rng, lengths: number[]): Pick<GrpoBatch, 'tokens' | 'targets' | 'completionMask'> {
  const tokens = Int32Array.from({ length: N }, () => rng.int(config.vocabSize));
  const targets = new Int32Array(N).fill(-1);
  const completionMask = new Uint8Array(N);
  for (let b = 0; b < B; b++) {
    const prompt = 2 + (b % 2);
    if (prompt - 1 + lengths[b]! > T) throw new Error(`row ${b}: completion of ${lengths[b]} does not fit`);
    for (let t = prompt - 1; t < prompt - 1 + lengths[b]!; t++) {
      const i = b * T + t;
      targets[i] = t + 1 < T ? tokens[i + 1]! : rng.int(config.vocabSize);
      completionMask[i] = 1;
    }
  }
  return { tokens, targets, completionMask };
}

/** log π(target) per position with f64 log-softmax over the reference model's logits (0 where target is −1). */
function referenceLogprobs(params: Float32Array, tokens: Int32Array, targets: Int32Array): Float64Array {
  const { logits } = referenceForward(config, layout, params, tokens, B, T);
  const { losses } = crossEntropyF64(logits, targets, new Float64Array(N), N, config.vocabSize);
  return losses.map((l) => -l);
}

/**
 * Old log-probabilities offset from the current ones. `clipping`: offsets of ±0.5 put ratios at e^{∓0.5} ≈ 1.65 / 0.61,
 * outside [0.8, 1.28] by ≥ 0.25 in log space (no finite-difference step crosses a clip boundary); the remaining tokens
 * sit at |log r| ≤ 0.05, inside. Without clipping all offsets are within ±0.05.
 */
function oldFrom(logprobs: ArrayLike<number>, rng: Rng, clipping: boolean): Float64Array {
  const pattern = clipping ? [-0.5, 0.5, 0.03, -0.5, 0.5, -0.04] : [0.05, -0.03, 0.01, -0.05];
  return Float64Array.from({ length: N }, (_, i) => logprobs[i]! + pattern[i % pattern.length]! + 0.01 * rng.next());
}

function refFrom(logprobs: ArrayLike<number>, rng: Rng): Float64Array {
  return Float64Array.from({ length: N }, (_, i) => logprobs[i]! + 0.6 * (rng.next() - 0.5));
}

describe('groupAdvantages', () => {
  it('groups of equal rewards give exactly 0 (no NaN) in every mode, even when the f64 mean is off by an ulp', () => {
    // 0.1 + 0.1 + 0.1 = 0.30000000000000004, so the computed mean 0.10000000000000002 differs from every reward.
    expect((0.1 + 0.1 + 0.1) / 3).not.toBe(0.1);
    for (const scale of ['group', 'batch', 'none'] as const) {
      for (const floor of [0, 1e-4]) {
        const a = groupAdvantages([0.1, 0.1, 0.1, 5, 5, 5], 3, scale, floor);
        expect(Array.from(a)).toEqual([0, 0, 0, 0, 0, 0]);
      }
    }
    // An equal group next to a spread one: still exactly 0 with the batch std.
    const mixed = groupAdvantages([0.1, 0.1, 0.1, 0, 1, 2], 3, 'batch', 1e-4);
    expect(Array.from(mixed.slice(0, 3))).toEqual([0, 0, 0]);
    expect(mixed.every((x) => Number.isFinite(x))).toBe(true);
  });

  it('known cases: group, batch and no scaling, unbiased std as torch.std', () => {
    const rewards = [1, 0, 0.5, 0.5, 3, 1];
    // Group 0: mean 0.5, sample std √((0.25 + 0.25)/1) = 1/√2 → ±0.5·√2. Group 2: mean 2, std √2 → ±1/√2.
    const group = groupAdvantages(rewards, 2, 'group', 1e-4);
    expectAllClose(group, [Math.SQRT1_2, -Math.SQRT1_2, 0, 0, Math.SQRT1_2, -Math.SQRT1_2], { rtol: 1e-14, atol: 0 });
    const none = groupAdvantages(rewards, 2, 'none', 1e-4);
    expect(Array.from(none)).toEqual([0.5, -0.5, 0, 0, 1, -1]);
    // Batch: mean 1, squared deviations 0 + 1 + 0.25 + 0.25 + 4 + 0 = 5.5 over n − 1 = 5 → std √1.1.
    const batch = groupAdvantages(rewards, 2, 'batch', 1e-4);
    const s = Math.sqrt(1.1);
    expectAllClose(batch, [0.5 / s, -0.5 / s, 0, 0, 1 / s, -1 / s], { rtol: 1e-14, atol: 0 });
    // The floor bounds the advantage of a nearly-constant group: std 1e-6/√2 < 1e-2 → ±5e-7 / 1e-2.
    const tiny = groupAdvantages([1e-6, 0], 2, 'group', 1e-2);
    expectAllClose(tiny, [5e-5, -5e-5], { rtol: 1e-12, atol: 0 });
  });

  it('rejects bad input naming it', () => {
    expect(() => groupAdvantages([1, 2, 3], 2, 'group', 1e-4)).toThrow(/not a multiple of groupSize = 2/);
    expect(() => groupAdvantages([1, Number.NaN], 2, 'group', 1e-4)).toThrow(/rewards\[1\]/);
    expect(() => groupAdvantages([1, 2], 0, 'group', 1e-4)).toThrow(/groupSize/);
    expect(() => groupAdvantages([1, 2], 2, 'group', -1)).toThrow(/stdFloor/);
    expect(() => groupAdvantages([1, 2], 2, 'mean' as 'group', 1e-4)).toThrow(/scale/);
  });
});

describe('grpoTokenWeights', () => {
  // Two sequences of T = 3: completion tokens at positions 1, 2 of row 0 (n = 2) and 0, 1, 2 of row 1 (n = 3).
  const hand = (over: Partial<GrpoTokenInput> = {}): GrpoTokenInput => ({
    batchSize: 2,
    seqLen: 3,
    completionMask: [0, 1, 1, 1, 1, 1],
    advantages: [1, -0.5],
    logprobs: [0, -1, -2, -0.5, -1.5, -1],
    oldLogprobs: null,
    refLogprobs: null,
    truncated: [false, true],
    ...over,
  });

  it('aggregates per loss type as TRL: hand-computed losses and weights, with and without truncation masking', () => {
    const cfg = (lossType: GrpoLossType, mask: boolean) => ({
      ...baseLoss,
      lossType,
      maxCompletionLength: 4,
      maskTruncatedCompletions: mask,
    });
    // r = 1 everywhere (old = current): J_t = A. grpo: −(A0 + A1)/2; dr_grpo: −(2A0 + 3A1)/(2·4); dapo: −(2A0 + 3A1)/5.
    const expected: Record<GrpoLossType, { loss: number; w0: number; w1: number; masked: number }> = {
      grpo: { loss: -0.25, w0: 1 / 4, w1: -0.5 / 6, masked: -0.5 },
      dr_grpo: { loss: -0.0625, w0: 1 / 8, w1: -0.5 / 8, masked: -0.25 },
      dapo: { loss: -0.1, w0: 1 / 5, w1: -0.5 / 5, masked: -1 },
    };
    for (const lossType of LOSS_TYPES) {
      const e = expected[lossType];
      const r = grpoTokenWeights(hand(), cfg(lossType, false));
      expect(r.loss).toBeCloseTo(e.loss, 14);
      expectAllClose(r.weights, [0, e.w0, e.w0, e.w1, e.w1, e.w1], { rtol: 1e-7, atol: 0 }, lossType);
      expect(r.countedTokens).toBe(5);
      expect(r.meanKl).toBeNull();
      // Row 1 truncated and masked: no tokens, yet it still counts as a sequence for grpo and dr_grpo (TRL).
      const m = grpoTokenWeights(hand(), cfg(lossType, true));
      expect(m.loss).toBeCloseTo(e.masked, 14);
      expect(Array.from(m.weights.slice(3))).toEqual([0, 0, 0]);
      expect(m.countedTokens).toBe(2);
    }
  });

  it('clip fractions low / high and the k3 KL mean, by hand', () => {
    // Row 0 (A = 1): log r = +0.5 (r = 1.65 > 1.28: high-clipped) and −0.5 (r = 0.61: A > 0, so unclipped).
    // Row 1 (A = −0.5): log r = −0.5 (low-clipped), +0.5 (unclipped for A < 0), 0.
    const logprobs = [0, -1, -2, -0.5, -1.5, -1];
    const oldLogprobs = [0, -1.5, -1.5, 0, -2, -1];
    const d = [0, 0.2, -0.1, 0.3, 0, -0.3];
    const refLogprobs = logprobs.map((l, i) => l + d[i]!);
    const r = grpoTokenWeights(hand({ oldLogprobs, refLogprobs }), { ...baseLoss, beta: 0.1, maxCompletionLength: 4 });
    expect(r.clipFractionHigh).toBeCloseTo(1 / 5, 15);
    expect(r.clipFractionLow).toBeCloseTo(1 / 5, 15);
    const k3 = (x: number) => Math.exp(x) - x - 1;
    const meanKl = (k3(0.2) + k3(-0.1) + k3(0.3) + k3(0) + k3(-0.3)) / 5;
    expect(r.meanKl).toBeCloseTo(meanKl, 14);
    // Weights: clipped tokens keep only the KL part; grpo aggregation 1/(2·2) and 1/(2·3).
    const kw = (x: number) => -0.1 * (1 - Math.exp(x));
    const e = Math.exp(0.5);
    const want = [
      0,
      (0 + kw(0.2)) / 4,
      (1 / e + kw(-0.1)) / 4,
      (0 + kw(0.3)) / 6,
      (-0.5 * e + kw(0)) / 6,
      (-0.5 + kw(-0.3)) / 6,
    ];
    expectAllClose(r.weights, want, { rtol: 1e-6, atol: 1e-9 }, 'weights');
  });

  it('weights are −∂L/∂logπ per token for every loss type (f64 central differences on the log-probabilities)', () => {
    const rng = seeded(31);
    const lengths = [5, 3, 7, 4];
    const mask = rolloutBatch(rng, lengths).completionMask;
    const logprobs = Float64Array.from({ length: N }, () => -0.2 - 3 * rng.next());
    const advantages = groupAdvantages([1, 0, 0.2, 0.7], 2, 'group', 1e-4);
    for (const lossType of LOSS_TYPES) {
      for (const clipping of [true, false]) {
        const cfg = { ...baseLoss, lossType, beta: clipping ? 0.1 : 0, maskTruncatedCompletions: true };
        const input: GrpoTokenInput = {
          batchSize: B,
          seqLen: T,
          completionMask: mask,
          advantages,
          logprobs,
          oldLogprobs: oldFrom(logprobs, rng, clipping),
          refLogprobs: clipping ? refFrom(logprobs, rng) : null,
          truncated: [false, false, true, false],
        };
        const got = grpoTokenWeights(input, cfg);
        if (clipping) expect(got.clipFractionLow * got.clipFractionHigh).toBeGreaterThan(0);
        else expect(got.clipFractionLow + got.clipFractionHigh).toBe(0);
        const lp = Float64Array.from(logprobs);
        const h = 1e-6;
        for (let i = 0; i < N; i++) {
          const keep = lp[i]!;
          lp[i] = keep + h;
          const up = grpoTokenWeights({ ...input, logprobs: lp }, cfg).loss;
          lp[i] = keep - h;
          const down = grpoTokenWeights({ ...input, logprobs: lp }, cfg).loss;
          lp[i] = keep;
          const fd = -(up - down) / (2 * h);
          // f64 with h = 1e-6: truncation ≈ h²·|L'''| ≤ 1e-12, rounding ≈ 1e-16·|L|/h ≤ 1e-10; the weight is stored
          // in f32 (6e-8 relative). Masked and truncated positions must be exactly 0.
          expect(Math.abs(fd - got.weights[i]!), `${lossType} clip=${clipping} token ${i}`).toBeLessThanOrEqual(
            1e-9 + 1e-7 * Math.abs(fd),
          );
          if (mask[i] === 0 || Math.floor(i / T) === 2) expect(got.weights[i]).toBe(0);
        }
      }
    }
  });

  it('through the CPU reference model, the weighted cross-entropy gradient equals ∇θL (central differences)', () => {
    const rng = seeded(37);
    const params = randomParams(rng);
    const batch = rolloutBatch(rng, [6, 3, 7, 4]);
    const logprobs = referenceLogprobs(params, batch.tokens, batch.targets);
    const advantages = groupAdvantages([1, 0, 0.2, 0.7], 2, 'group', 1e-4);
    let sensitive = 0;
    for (const lossType of LOSS_TYPES) {
      for (const clipping of [true, false]) {
        const cfg = { ...baseLoss, lossType, beta: clipping ? 0.1 : 0, maskTruncatedCompletions: clipping };
        const fixed = {
          batchSize: B,
          seqLen: T,
          completionMask: batch.completionMask,
          advantages,
          oldLogprobs: oldFrom(logprobs, rng, clipping),
          refLogprobs: clipping ? refFrom(logprobs, rng) : null,
          truncated: [false, clipping, false, false],
        };
        const lossAt = (p: Float32Array) =>
          grpoTokenWeights({ ...fixed, logprobs: referenceLogprobs(p, batch.tokens, batch.targets) }, cfg).loss;
        const base = grpoTokenWeights({ ...fixed, logprobs }, cfg);
        if (clipping) expect(base.clipFractionLow * base.clipFractionHigh).toBeGreaterThan(0);
        const { grads } = referenceLossAndGrads(
          config,
          layout,
          params,
          batch.tokens,
          batch.targets,
          base.weights,
          B,
          T,
        );
        // The same gradient with the clip indicator dropped (every token weighted r·A): the check must reject it.
        const unclipped = clipping
          ? referenceLossAndGrads(
              config,
              layout,
              params,
              batch.tokens,
              batch.targets,
              grpoTokenWeights({ ...fixed, logprobs }, { ...cfg, epsilon: 0.99, epsilonHigh: 1e6 }).weights,
              B,
              T,
            ).grads
          : null;
        // eps 1e-2 as in tests/model/reference.test.ts: truncation O(eps²·f''') ≈ 1e-5 for these losses (|L| ≈ 0.1),
        // f32 rounding of the forward pass (≈ 1e-7 on log-probabilities) adds ≈ 1e-7 / 2e-2 = 5e-6.
        const eps = 1e-2;
        const tol = (g: number) => 5e-5 + 1e-2 * Math.abs(g);
        for (const e of layout.entries) {
          for (let s = 0; s < 2; s++) {
            const k = e.offset + rng.int(e.length);
            const saved = params[k]!;
            params[k] = saved + eps;
            const up = lossAt(params);
            params[k] = saved - eps;
            const down = lossAt(params);
            params[k] = saved;
            const fd = (up - down) / (Math.fround(saved + eps) - Math.fround(saved - eps));
            const g = grads[k]!;
            expect(Math.abs(fd - g), `${lossType} clip=${clipping} ${e.name}: fd ${fd} vs ${g}`).toBeLessThanOrEqual(
              tol(g),
            );
            if (unclipped && Math.abs(fd - unclipped[k]!) > tol(unclipped[k]!)) sensitive++;
          }
        }
      }
    }
    // Measured: the worst |fd − g| is 8% of the tolerance, while the gradient without the clip indicator fails it on
    // 166 of the 174 clipped-case checks (SwiftShader run, CPU only). Require it on more than half.
    expect(sensitive).toBeGreaterThan((layout.entries.length * 2 * LOSS_TYPES.length) / 2);
  });

  it('rejects bad input naming the field and position', () => {
    const hand2 = hand();
    expect(() => grpoTokenWeights({ ...hand2, completionMask: [0, 1, 2, 1, 1, 1] }, baseLoss)).toThrow(
      /completionMask\[2\]/,
    );
    expect(() => grpoTokenWeights({ ...hand2, logprobs: [0, Number.NaN, 0, 0, 0, 0] }, baseLoss)).toThrow(
      /logprobs\[1\]/,
    );
    expect(() => grpoTokenWeights({ ...hand2, advantages: [1] }, baseLoss)).toThrow(/advantages has 1 entries/);
    expect(() => grpoTokenWeights(hand2, { ...baseLoss, beta: 0.1 })).toThrow(/refLogprobs is required/);
    expect(() => grpoTokenWeights(hand2, { ...baseLoss, maxCompletionLength: 2 })).toThrow(/sequence 1 has 3/);
    expect(() => grpoTokenWeights(hand2, { ...baseLoss, epsilon: 1 })).toThrow(/grpo\.epsilon/);
    expect(() => grpoTokenWeights(hand2, { ...baseLoss, lossType: 'bnpo' as GrpoLossType })).toThrow(/lossType/);
  });
});

describe('tokenLogprobs and grpoStep on both backends', () => {
  // As tests/train/cpu_trainer.test.ts: eps 1e-3 keeps Adam's update smooth in the gradient (|∂update/∂g| ≤ lr/eps).
  const optim: OptimConfig = { ...DEFAULT_OPTIM_CONFIG, learningRate: 1e-2, warmupSteps: 2, eps: 1e-3 };

  it('CPU tokenLogprobs is the log-softmax of the reference logits, queued after steps', async () => {
    const rng = seeded(41);
    const params = randomParams(rng);
    const batch = rolloutBatch(rng, [6, 3, 7, 4]);
    const cpu = new CpuTrainer(config, optim, B, T, { params, m: null, v: null, step: 0 });
    const got = await cpu.tokenLogprobs(batch);
    const { logits } = referenceForward(config, layout, params, batch.tokens, B, T);
    const V = config.vocabSize;
    for (let i = 0; i < N; i++) {
      const t = batch.targets[i]!;
      if (t === -1) {
        expect(got[i]).toBe(0);
        continue;
      }
      let sum = 0;
      for (let v = 0; v < V; v++) sum += Math.exp(logits[i * V + v]!);
      // f64 log-softmax of the same f32 logits, stored in f32.
      expect(got[i]).toBeCloseTo(logits[i * V + t]! - Math.log(sum), 6);
    }
    expect(got.some((x) => x < -0.5)).toBe(true);
  });

  it('GPU tokenLogprobs equals the CPU one, in queue order with steps', async () => {
    const ctx = await gpuContext();
    const rng = seeded(43);
    const params = randomParams(rng);
    const batch = rolloutBatch(rng, [6, 3, 7, 4]);
    const sft = { ...rolloutBatch(rng, [7, 6, 7, 6]), weights: new Float32Array(N) };
    for (let i = 0; i < N; i++) if (sft.completionMask[i]) sft.weights[i] = 1 / 26;
    const gpu = new Trainer(ctx, config, optim, B, T, params.slice());
    const cpu = new CpuTrainer(config, optim, B, T, { params, m: null, v: null, step: 0 });
    // Not awaited: tokenLogprobs must see the first step's update, and the second step must follow it.
    const gpuOps = [gpu.tokenLogprobs(batch), gpu.step(sft), gpu.tokenLogprobs(batch), gpu.step(sft)] as const;
    const [g0, gs0, g1, gs1] = await Promise.all(gpuOps);
    const [c0, cs0, c1, cs1] = await Promise.all([
      cpu.tokenLogprobs(batch),
      cpu.step(sft),
      cpu.tokenLogprobs(batch),
      cpu.step(sft),
    ]);
    gpu.destroy();
    // Log-probabilities of a few units from f32 logits of a 2-layer model: GPU and CPU sum matmuls in different
    // orders, and the GPU takes logsumexp in f32 (one ulp at 4 is 4.8e-7); measured max difference 9.5e-7
    // (SwiftShader). 5e-6 leaves margin; one step moves them by > 1e-3.
    const tol = { rtol: 0, atol: 5e-6 };
    expectAllClose(g0, c0, tol, 'logprobs before the step');
    expectAllClose(g1, c1, tol, 'logprobs after the step');
    let moved = 0;
    for (let i = 0; i < N; i++) moved = Math.max(moved, Math.abs(c1[i]! - c0[i]!));
    expect(moved).toBeGreaterThan(1e-3);
    for (let i = 0; i < N; i++) if (batch.targets[i] === -1) expect(g0[i]).toBe(0);
    expect(gs0.step).toBe(0);
    expect(gs1.step).toBe(1);
    expect(Math.abs(gs1.loss - cs1.loss)).toBeLessThan(1e-6 * cs1.loss);
    expect(Math.abs(gs0.loss - cs0.loss)).toBeLessThan(1e-6 * cs0.loss);
  });

  it('one GPU grpoStep equals the CPU one: GRPO loss, clip fractions, KL, gradient norm, weights after', async () => {
    const ctx = await gpuContext();
    const rng = seeded(47);
    const params = randomParams(rng);
    const rows = rolloutBatch(rng, [6, 3, 7, 4]);
    const logprobs = referenceLogprobs(params, rows.tokens, rows.targets);
    const batch: GrpoBatch = {
      ...rows,
      advantages: groupAdvantages([1, 0, 0.2, 0.7], 2, 'group', 1e-4),
      oldLogprobs: oldFrom(logprobs, rng, true),
      refLogprobs: refFrom(logprobs, rng),
      truncated: [false, false, true, false],
    };
    const cfg: GrpoLossConfig = { ...baseLoss, lossType: 'dapo', beta: 0.05, maskTruncatedCompletions: true };
    const gpu = new Trainer(ctx, config, optim, B, T, params.slice());
    const want = await grpoStep(gpu, batch, cfg);
    const gpuParams = await gpu.readParams();
    gpu.destroy();
    const cpu = new CpuTrainer(config, optim, B, T, { params, m: null, v: null, step: 0 });
    const got = await grpoStep(cpu, batch, cfg);
    const cpuParams = await cpu.readParams();

    expect(got.clipFractionLow * got.clipFractionHigh).toBeGreaterThan(0);
    expect(want.clipFractionLow).toBe(got.clipFractionLow);
    expect(want.clipFractionHigh).toBe(got.clipFractionHigh);
    expect(want.countedTokens).toBe(got.countedTokens);
    // The loss is a weighted sum of functions of log-probabilities with Σ|∂L/∂logπ| < 1, so the ≤ 5e-6 log-probability
    // differences move it by < 5e-6 (measured 2.4e-8 on SwiftShader); KL likewise (|∂KL/∂logπ| ≤ e^0.3 − 1 per token).
    expect(Math.abs(want.loss - got.loss)).toBeLessThan(1e-5);
    expect(Math.abs(want.meanKl! - got.meanKl!)).toBeLessThan(1e-5);
    // Gradient norm: f32 GPU vs f64 CPU, as in cpu_trainer.test.ts (≤ 1e-5 relative; measured 5.4e-7). Norm ≈ 1.9 >
    // gradClipNorm 1, so the clip is exercised.
    expect(got.stats.gradNorm).toBeGreaterThan(0);
    expect(Math.abs(want.stats.gradNorm - got.stats.gradNorm)).toBeLessThan(1e-5 * got.stats.gradNorm);
    // One Adam step of lr 1e-2: weights move by up to 1e-2. Unlike SFT, the weights themselves come from the
    // backend's log-probabilities (r = e^{logπ − old}), so GPU and CPU gradients differ by ≈ 1e-6 relative (≈ 1e-7 on
    // entries of ≈ 0.1), which |∂update/∂g| ≤ lr/eps = 10 turns into ≈ 1e-6: measured max 1.25e-6 (SwiftShader).
    // 5e-6 leaves margin and is far below a wrong gradient's effect (the weights move by > 1e-3).
    expectAllClose(gpuParams, cpuParams, { rtol: 1e-6, atol: 5e-6 }, 'params after one GRPO step');
    let moved = 0;
    for (let i = 0; i < params.length; i++) moved = Math.max(moved, Math.abs(cpuParams[i]! - params[i]!));
    expect(moved).toBeGreaterThan(1e-3);
  });

  it('grpoStep rejects a completion position without a target', async () => {
    const rng = seeded(53);
    const rows = rolloutBatch(rng, [2, 2, 2, 2]);
    const targets = rows.targets.slice();
    const at = Array.from(rows.completionMask).indexOf(1);
    targets[at] = -1;
    const cpu = new CpuTrainer(config, optim, B, T);
    const batch: GrpoBatch = {
      ...rows,
      targets,
      advantages: [1, -1, 0, 0],
      oldLogprobs: null,
      refLogprobs: null,
      truncated: [false, false, false, false],
    };
    await expect(grpoStep(cpu, batch, baseLoss)).rejects.toThrow(new RegExp(`completionMask\\[${at}\\]`));
    expect(cpu.stepsTaken).toBe(0);
  });
});
