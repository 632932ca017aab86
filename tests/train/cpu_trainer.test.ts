import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/model/config';
import { buildParamLayout } from '../../src/model/params';
import type { Batch, StepStats, TrainerState } from '../../src/train/backend';
import { DEFAULT_OPTIM_CONFIG, learningRateAt, type OptimConfig } from '../../src/train/config';
import { CpuTrainer } from '../../src/train/cpu_trainer';
import { REVERSE_VOCAB, reverseBatch } from '../../src/train/selftest';
import { Trainer } from '../../src/train/trainer';
import { expectAllClose } from '../helpers/allclose';
import { gpuContext, seeded } from '../helpers/gpu';

const config: ModelConfig = {
  vocabSize: REVERSE_VOCAB,
  contextLength: 16,
  dModel: 16,
  nLayers: 2,
  nHeads: 2,
  mlpRatio: 4,
  seed: 5,
};
const [B, k] = [3, 4];
const T = 2 * k + 1;
// Clip 1.8 sits between the gradient norms of these batches (≈ 2.54, 1.99, 1.42, 1.62, 1.93 measured): steps 0, 1 and
// 4 are clipped, 2 and 3 are not. eps 1e-3 keeps Adam's update m̂/(√v̂ + eps) smooth in the gradient (|∂update/∂g|
// ≤ lr/eps = 10), so f32-vs-f64 gradient differences stay small in the weights. Warmup 2 puts the schedule's kink
// inside the run.
const optim: OptimConfig = {
  ...DEFAULT_OPTIM_CONFIG,
  learningRate: 1e-2,
  warmupSteps: 2,
  gradClipNorm: 1.8,
  eps: 1e-3,
};

function batchesFor(seed: number, count: number): Batch[] {
  const rng = seeded(seed);
  return Array.from({ length: count }, () => reverseBatch(rng, B, k));
}

async function run(trainer: { step(b: Batch): Promise<StepStats> }, batches: Batch[]): Promise<StepStats[]> {
  const out: StepStats[] = [];
  for (const b of batches) out.push(await trainer.step(b));
  return out;
}

describe('CpuTrainer', () => {
  it('5 steps agree with the GPU Trainer: losses, gradient norms (clipped and not) and final weights', async () => {
    const ctx = await gpuContext();
    const batches = batchesFor(7, 5);
    const gpu = new Trainer(ctx, config, optim, B, T);
    const want = await run(gpu, batches);
    const gpuParams = await gpu.readParams();
    gpu.destroy();
    const cpu = new CpuTrainer(config, optim, B, T);
    const got = await run(cpu, batches);
    const cpuParams = await cpu.readParams();

    // Clipping is exercised on some steps and the unclipped path on others.
    expect(got.some((s) => s.gradNorm > optim.gradClipNorm)).toBe(true);
    expect(got.some((s) => s.gradNorm < optim.gradClipNorm)).toBe(true);
    for (let i = 0; i < batches.length; i++) {
      expect(got[i]!.step).toBe(i);
      expect(got[i]!.learningRate).toBe(learningRateAt(optim, i));
      expect(want[i]!.learningRate).toBe(got[i]!.learningRate);
      // The GPU sums in f32 (loss ≈ 2.4: one f32 ulp is 1e-7 relative), the CPU reference in f64; measured differences
      // are ≤ 1.4e-7 relative for the loss and ≤ 8e-8 for the norm. 1e-6 and 1e-5 leave margin, yet are far below the
      // effect of dropping the clip (below: ≈ 2e-3 on the norm).
      expect(Math.abs(got[i]!.loss - want[i]!.loss), `loss at step ${i}`).toBeLessThan(1e-6 * want[i]!.loss);
      expect(Math.abs(got[i]!.gradNorm - want[i]!.gradNorm), `gradNorm at step ${i}`).toBeLessThan(
        1e-5 * want[i]!.gradNorm,
      );
    }
    // |weights| ≤ 1.05, so one f32 rounding is ≤ 1.2e-7 per step; gradient differences of ≈ 1e-8 move a weight
    // ≤ 1e-7 through Adam (lr/eps = 10). Five steps: ≤ 1e-6 (measured max 1.2e-7).
    expectAllClose(cpuParams, gpuParams, { rtol: 1e-6, atol: 1e-6 }, 'params after 5 steps');

    // The same tolerance rejects a trainer that skips the clip: its weights move by ≈ 5e-3.
    const unclipped = new CpuTrainer(config, { ...optim, gradClipNorm: 0 }, B, T);
    await run(unclipped, batches);
    const unclippedParams = await unclipped.readParams();
    let maxDiff = 0;
    for (let i = 0; i < gpuParams.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(unclippedParams[i]! - gpuParams[i]!));
    expect(maxDiff).toBeGreaterThan(1e-4);
  });

  it('readState → a new trainer (constructor or loadState) continues with exactly the same numbers', async () => {
    const batches = batchesFor(11, 6);
    const a = new CpuTrainer(config, optim, B, T);
    await run(a, batches.slice(0, 3));
    const saved = await a.readState();
    expect(saved.step).toBe(3);
    expect(a.stepsTaken).toBe(3);
    const want = await run(a, batches.slice(3));
    const wantState = await a.readState();
    // readState returned copies: the 3 later steps did not change `saved`.
    expect(saved.params).not.toEqual(wantState.params);

    // A different init seed, so only a real load can give the saved weights.
    const other: ModelConfig = { ...config, seed: 99 };
    const viaConstructor = new CpuTrainer(other, optim, B, T, saved);
    const viaLoad = new CpuTrainer(other, optim, B, T);
    await run(viaLoad, batches.slice(0, 1)); // moments and step counter that the load must replace
    const loaded = viaLoad.loadState(saved);
    const pending = batches.slice(3).map((b) => viaLoad.step(b)); // queued behind the load, not awaited
    await loaded;
    for (const t of [viaConstructor, viaLoad]) {
      const got = t === viaLoad ? await Promise.all(pending) : await run(t, batches.slice(3));
      // f64 JavaScript arithmetic on the same inputs in the same order: bit-identical.
      expect(got).toEqual(want);
      expect(await t.readState()).toEqual(wantState);
    }
  });

  it('loadState with null moments equals a fresh trainer from those weights', async () => {
    const batches = batchesFor(13, 3);
    const a = new CpuTrainer(config, optim, B, T);
    await run(a, batches.slice(0, 2));
    const params = await a.readParams();
    await a.loadState({ params, m: null, v: null, step: 0 });
    const fresh = new CpuTrainer(config, optim, B, T, { params, m: null, v: null, step: 0 });
    const got = await run(a, batches.slice(2));
    expect(got[0]!.step).toBe(0);
    expect(got).toEqual(await run(fresh, batches.slice(2)));
    expect(await a.readState()).toEqual(await fresh.readState());
  });

  it('queued operations run in call order, yielding to the event loop between them', async () => {
    const batches = batchesFor(17, 4);
    const seq = new CpuTrainer(config, optim, B, T);
    const want: number[] = [];
    want.push((await seq.step(batches[0]!)).loss);
    want.push(await seq.evaluate(batches[3]!));
    want.push((await seq.step(batches[1]!)).loss);
    want.push((await seq.step(batches[2]!)).loss);

    const queued = new CpuTrainer(config, optim, B, T);
    let ticks = 0;
    let done = false;
    const tick = () => {
      ticks++;
      if (!done) setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
    const ticksAt: number[] = [];
    const note = <X>(p: Promise<X>) =>
      p.then((x) => {
        ticksAt.push(ticks);
        return x;
      });
    const pending = [
      note(queued.step(batches[0]!)).then((s) => s.loss),
      note(queued.evaluate(batches[3]!)),
      note(queued.step(batches[1]!)).then((s) => s.loss),
      note(queued.step(batches[2]!)).then((s) => s.loss),
    ];
    const got = await Promise.all(pending);
    done = true;
    expect(got).toEqual(want);
    // A timer queued meanwhile ran between every two operations (without the yield they would all finish in one task).
    for (let i = 1; i < ticksAt.length; i++) expect(ticksAt[i]!).toBeGreaterThan(ticksAt[i - 1]!);
  });

  it('rejects bad batches, states and shapes with errors naming the field', async () => {
    const n = buildParamLayout(config).totalElements;
    const t = new CpuTrainer(config, optim, B, T);
    const good = batchesFor(19, 1)[0]!;
    await expect(t.step({ ...good, tokens: good.tokens.slice(1) })).rejects.toThrow(/batch\.tokens has 26 entries/);
    const badTarget = good.targets.slice();
    badTarget[4] = REVERSE_VOCAB;
    await expect(t.step({ ...good, targets: badTarget })).rejects.toThrow(/batch\.targets\[4\]/);
    const badWeight = good.weights.slice();
    badWeight[2] = Number.NaN;
    await expect(t.evaluate({ ...good, weights: badWeight })).rejects.toThrow(/batch\.weights\[2\]/);
    expect(t.stepsTaken).toBe(0); // nothing ran

    const state: TrainerState = await t.readState();
    expect(() => t.loadState({ ...state, params: state.params.slice(1) })).toThrow(
      new RangeError(`state.params has ${n - 1} elements, expected ${n} (this model's parameter arena)`),
    );
    const nanParams = state.params.slice();
    nanParams[10] = Number.POSITIVE_INFINITY;
    expect(() => t.loadState({ ...state, params: nanParams })).toThrow(/state\.params\[10\] = Infinity/);
    expect(() => t.loadState({ ...state, m: new Float32Array(3) })).toThrow(/state\.m has 3 elements/);
    const negV = new Float32Array(n);
    negV[7] = -1;
    expect(() => t.loadState({ ...state, v: negV })).toThrow(/state\.v\[7\] = -1 is negative/);
    expect(() => t.loadState({ ...state, step: 1.5 })).toThrow(/state\.step/);
    expect(() => new CpuTrainer(config, optim, B, T, { ...state, v: new Float32Array(1) })).toThrow(/state\.v has 1/);
    expect(() => new CpuTrainer(config, optim, B, config.contextLength + 1)).toThrow(/sequence length 17/);
    expect(() => new CpuTrainer(config, optim, 0, T)).toThrow(/batch size/);
    expect(() => new CpuTrainer({ ...config, nHeads: 3 }, optim, B, T)).toThrow(/nHeads/);
    expect(() => new CpuTrainer(config, { ...optim, beta1: 2 }, B, T)).toThrow(/optim\.beta1/);

    t.destroy();
    await expect(t.step(good)).rejects.toThrow(/destroyed/);
  });
});
