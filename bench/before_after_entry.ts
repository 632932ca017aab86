/**
 * The measured side of bench/before_after.mjs: built inside each of the two trees it compares (so it may only use
 * APIs both have), then imported by the driver, which alternates between them. Times, for a model on one device:
 * every attention dispatch of one training step (one command buffer a repetition), and whole training steps.
 */
import { type GpuContext, waitIdle } from '../src/gpu/context';
import { runDispatches } from '../src/gpu/dispatch';
import { createNodeGpuContext } from '../src/headless/dawn';
import { MODEL_PRESETS, type ModelConfig } from '../src/model/config';
import { DEFAULT_OPTIM_CONFIG } from '../src/train/config';
import { SELF_TEST_MODEL } from '../src/train/selftest';
import { Trainer } from '../src/train/trainer';
import { createRng } from '../src/util/rng';

export function context(): Promise<GpuContext> {
  return createNodeGpuContext();
}

function randomBatch(c: ModelConfig, B: number, T: number, seed: number) {
  const rng = createRng(seed);
  const n = B * T;
  const tokens = Int32Array.from({ length: n }, () => rng.int(c.vocabSize));
  const targets = Int32Array.from({ length: n }, () => rng.int(c.vocabSize));
  return { tokens, targets, weights: new Float32Array(n).fill(1 / n) };
}

/** A trainer for `model` ('selftest' or a preset name) at batch B × T, warmed up by three steps. */
export async function prepareCase(ctx: GpuContext, model: string, B: number, T: number) {
  const config = model === 'selftest' ? SELF_TEST_MODEL : MODEL_PRESETS[model as keyof typeof MODEL_PRESETS];
  if (!config) throw new Error(`unknown model ${model}`);
  const trainer = new Trainer(ctx, config, DEFAULT_OPTIM_CONFIG, B, T);
  const batches = [0, 1, 2].map((s) => randomBatch(config, B, T, s));
  for (const batch of batches) await trainer.step(batch);
  const attention = trainer.stepDispatches().filter((d) => d.label.includes('attention'));
  return {
    attentionKernels: [...new Set(attention.map((d) => d.label))],
    memory: trainer.memory(),
    /** ms per repetition of every attention dispatch of one step, after one unmeasured repetition. */
    async attentionMs(reps: number): Promise<number> {
      runDispatches(ctx, attention);
      await waitIdle(ctx);
      const t0 = performance.now();
      for (let r = 0; r < reps; r++) runDispatches(ctx, attention);
      await waitIdle(ctx);
      return (performance.now() - t0) / reps;
    },
    /** ms per training step (`steps` queued, then awaited), after one unmeasured step. */
    async stepMs(steps: number): Promise<number> {
      await trainer.step(batches[0]!);
      const t0 = performance.now();
      await Promise.all(Array.from({ length: steps }, (_, s) => trainer.step(batches[s % 3]!)));
      return (performance.now() - t0) / steps;
    },
  };
}
