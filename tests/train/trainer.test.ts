import { describe, expect, it } from 'vitest';
import { adamwStep } from '../../src/cpu/adamw';
import { clipScale, globalNorm } from '../../src/cpu/global_norm';
import { assertNoErrors } from '../../src/gpu/context';
import type { ModelConfig } from '../../src/model/config';
import { buildParamLayout, decayMask, initParams } from '../../src/model/params';
import { referenceLossAndGrads } from '../../src/model/reference';
import type { StepStats } from '../../src/train/backend';
import { DEFAULT_OPTIM_CONFIG, learningRateAt, type OptimConfig } from '../../src/train/config';
import { REVERSE_VOCAB, reverseBatch } from '../../src/train/selftest';
import { Trainer } from '../../src/train/trainer';
import { expectAllClose } from '../helpers/allclose';
import { contextFor, gpuContext, KERNEL_PATHS, seeded, withLimits } from '../helpers/gpu';

const config: ModelConfig = {
  vocabSize: REVERSE_VOCAB,
  contextLength: 16,
  dModel: 32,
  nLayers: 2,
  nHeads: 4,
  mlpRatio: 4,
  seed: 1,
};

describe('Trainer (one command buffer per step)', () => {
  // On the adapter's own kernel choices and on those a GPU gets, with and without subgroups (KERNEL_PATHS).
  for (const paths of KERNEL_PATHS)
    it(`one GPU step equals reference gradients → clip → AdamW on the CPU (${paths} paths)`, async () => {
      const ctx = contextFor(await gpuContext(), paths);
      const rng = seeded(3);
      const k = 3;
      const B = 5;
      const T = 2 * k + 1;
      const layout = buildParamLayout(config);
      const params = initParams(config, layout);
      for (let i = 0; i < params.length; i++) if (params[i] !== 0 && params[i] !== 1) params[i] = 0.3 * rng.normal();
      // Clipping active (the norm of these gradients is ≫ 0.05), warmup mid-way, decay on matrices only.
      // eps 1e-3 keeps Adam's first update g/(|g| + eps) smooth in g, so f32 gradient differences stay small in the weights.
      const optim: OptimConfig = {
        ...DEFAULT_OPTIM_CONFIG,
        learningRate: 1e-2,
        warmupSteps: 4,
        gradClipNorm: 0.05,
        eps: 1e-3,
      };
      const trainer = new Trainer(ctx, config, optim, B, T, params.slice());
      const batch = reverseBatch(rng, B, k);
      const stats = await trainer.step(batch);
      const gpuParams = await trainer.readParams();

      const ref = referenceLossAndGrads(config, layout, params, batch.tokens, batch.targets, batch.weights, B, T);
      const norm = globalNorm(ref.grads);
      const expected = params.slice();
      const m = new Float32Array(params.length);
      const v = new Float32Array(params.length);
      const lr = learningRateAt(optim, 0);
      adamwStep(
        expected,
        ref.grads,
        m,
        v,
        decayMask(layout),
        { lr, beta1: optim.beta1, beta2: optim.beta2, eps: optim.eps, weightDecay: optim.weightDecay, step: 1 },
        clipScale(norm, optim.gradClipNorm),
      );

      expect(stats.step).toBe(0);
      expect(stats.learningRate).toBeCloseTo(lr, 12);
      expect(Math.abs(stats.loss - ref.loss)).toBeLessThan(1e-4 * ref.loss);
      expect(Math.abs(stats.gradNorm - norm)).toBeLessThan(1e-3 * norm);
      expect(norm).toBeGreaterThan(optim.gradClipNorm); // the test exercises clipping
      // Update size is ≤ lr = 1e-2 per element; |∂update/∂g| ≤ lr/eps = 10, so a 1e-6 gradient error moves a weight ≤ 1e-5.
      expectAllClose(gpuParams, expected, { rtol: 1e-5, atol: 2e-5 }, 'params after one step');
    });

  it('steps queued around an unawaited evaluate() or drain() all run, with the same numbers as awaited one by one', async () => {
    // drain() and evaluate() take entries off the in-flight list; a step submitted meanwhile must still wait for its
    // staging buffer's previous readback (a buffer pending map in a submit rejects the whole step's command buffer).
    const ctx = await gpuContext();
    const small: ModelConfig = { ...config, contextLength: 8, dModel: 16, nLayers: 1, nHeads: 2, mlpRatio: 2 };
    const [B, k] = [2, 3];
    const batches = (() => {
      const rng = seeded(21);
      return Array.from({ length: 8 }, () => reverseBatch(rng, B, k));
    })();
    const sequential = new Trainer(ctx, small, DEFAULT_OPTIM_CONFIG, B, 2 * k + 1);
    const want: number[] = [];
    for (let i = 0; i < 3; i++) want.push((await sequential.step(batches[i]!)).loss);
    want.push(await sequential.evaluate(batches[7]!));
    for (let i = 3; i < 7; i++) want.push((await sequential.step(batches[i]!)).loss);
    sequential.destroy();

    const queued = new Trainer(ctx, small, DEFAULT_OPTIM_CONFIG, B, 2 * k + 1);
    const pending: Promise<number>[] = [];
    for (let i = 0; i < 3; i++) pending.push(queued.step(batches[i]!).then((s) => s.loss));
    pending.push(queued.evaluate(batches[7]!));
    for (let i = 3; i < 5; i++) pending.push(queued.step(batches[i]!).then((s) => s.loss));
    const drained = queued.drain();
    for (let i = 5; i < 7; i++) pending.push(queued.step(batches[i]!).then((s) => s.loss));
    const got = await Promise.all(pending);
    await drained;
    queued.destroy();
    assertNoErrors(ctx);
    expect(got).toEqual(want);
  });

  it("refuses a model whose parameter arena exceeds the device's buffer limits, before allocating anything", async () => {
    // Limits faked down to 64 KiB (the device is the real one): every tensor of this model fits (the largest, c_attn,
    // is 12 KiB), the arena (one buffer, bound whole by AdamW) does not.
    const ctx = withLimits(await gpuContext(), { maxStorageBufferBindingSize: 1 << 16, maxBufferSize: 1 << 16 });
    expect(() => new Trainer(ctx, config, DEFAULT_OPTIM_CONFIG, 1, 4)).toThrow(
      /^model: the parameter arena needs \d+ bytes, over the device's maxStorageBufferBindingSize 65536$/,
    );
  });

  describe('readState / loadState', () => {
    const small: ModelConfig = { ...config, contextLength: 8, dModel: 16, nLayers: 1, nHeads: 2, mlpRatio: 2 };
    const [B, k] = [2, 3];
    const T = 2 * k + 1;
    // Warmup 4: steps 3–5 have other learning rates than 0–2, so a step counter that is not restored changes the numbers.
    const optim: OptimConfig = { ...DEFAULT_OPTIM_CONFIG, warmupSteps: 4 };
    const batches = (() => {
      const rng = seeded(31);
      return Array.from({ length: 6 }, () => reverseBatch(rng, B, k));
    })();

    it('a fresh trainer loaded with a saved state continues with exactly the losses and weights of the original', async () => {
      const ctx = await gpuContext();
      const a = new Trainer(ctx, small, optim, B, T);
      for (let i = 0; i < 3; i++) await a.step(batches[i]!);
      const saved = await a.readState();
      expect(saved.step).toBe(3);
      const want: StepStats[] = [];
      for (let i = 3; i < 6; i++) want.push(await a.step(batches[i]!));
      const wantState = await a.readState();
      a.destroy();
      expect(saved.m!.some((x) => x !== 0) && saved.v!.some((x) => x !== 0)).toBe(true);

      // A different init seed, so only the load can give the saved weights; one step first leaves moments and a step
      // counter that the load must replace. Steps are queued behind the unawaited load.
      const b = new Trainer(ctx, { ...small, seed: 99 }, optim, B, T);
      await b.step(batches[0]!);
      const loaded = b.loadState(saved);
      const pending = batches.slice(3).map((batch) => b.step(batch));
      await loaded;
      const got = await Promise.all(pending);
      const gotState = await b.readState();
      b.destroy();
      assertNoErrors(ctx);
      // Same kernels (fixed reduction order, no atomics) on bit-identical weights, moments and hyperparameters: the
      // numbers are identical, not merely close (tests/train/learning.test.ts relies on the same determinism).
      expect(got.map((s) => s.step)).toEqual([3, 4, 5]);
      expect(got).toEqual(want);
      expect(gotState).toEqual(wantState);
    });

    it('null moments load as zeros: equal to a new trainer built from the weights', async () => {
      const ctx = await gpuContext();
      const a = new Trainer(ctx, small, optim, B, T);
      for (let i = 0; i < 2; i++) await a.step(batches[i]!);
      const params = await a.readParams();
      await a.loadState({ params, m: null, v: null, step: 0 });
      const fresh = new Trainer(ctx, small, optim, B, T, params);
      for (let i = 2; i < 4; i++) expect(await a.step(batches[i]!)).toEqual(await fresh.step(batches[i]!));
      expect(await a.readState()).toEqual(await fresh.readState());
      a.destroy();
      fresh.destroy();
    });

    it('rejects a state of the wrong size or with non-finite weights before queueing anything', async () => {
      const ctx = await gpuContext();
      const t = new Trainer(ctx, small, optim, B, T);
      const n = t.model.layout.totalElements;
      const state = await t.readState();
      expect(() => t.loadState({ ...state, params: new Float32Array(n + 1) })).toThrow(
        new RangeError(`state.params has ${n + 1} elements, expected ${n} (this model's parameter arena)`),
      );
      const nan = state.params.slice();
      nan[3] = Number.NaN;
      expect(() => t.loadState({ ...state, params: nan })).toThrow(/state\.params\[3\] = NaN is not finite/);
      expect(() => t.loadState({ ...state, v: new Float32Array(5) })).toThrow(/state\.v has 5 elements/);
      expect(() => t.loadState({ ...state, step: -1 })).toThrow(/state\.step must be a non-negative integer/);
      expect(await t.readState()).toEqual(state);
      t.destroy();
    });
  });
});
