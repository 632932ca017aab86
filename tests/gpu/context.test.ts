import { describe, expect, it } from 'vitest';
import { create } from 'webgpu';
import { createGpuContext, DeviceLostError, NoAdapterError } from '../../src/gpu/context';
import { createNodeGpuContext } from '../../src/headless/dawn';
import { MODEL_PRESETS, type ModelConfig } from '../../src/model/config';
import { Generator, GREEDY } from '../../src/model/generate';
import { DEFAULT_OPTIM_CONFIG } from '../../src/train/config';
import { Trainer } from '../../src/train/trainer';
import { gpuContext, keepForProcess } from '../helpers/gpu';

const tiny: ModelConfig = { vocabSize: 12, contextLength: 8, dModel: 16, nLayers: 1, nHeads: 2, mlpRatio: 2, seed: 1 };

describe('adapter and device errors', () => {
  it('no WebGPU at all: a clear error that says how to get it', async () => {
    await expect(createGpuContext(undefined)).rejects.toThrow(NoAdapterError);
    await expect(createGpuContext(undefined)).rejects.toThrow(/navigator\.gpu is undefined/);
  });

  it('WebGPU without an adapter: a clear error naming the fix', async () => {
    // A real Dawn instance restricted to a backend this platform lacks returns no adapter.
    const gpu = create(['backend=d3d12']) as unknown as GPU;
    keepForProcess(gpu);
    await expect(createGpuContext(gpu)).rejects.toThrow(/No WebGPU adapter found.*vk_swiftshader_icd/s);
  });

  it('a lost device surfaces as an error from training and generation, not a hang', async () => {
    const ctx = await createNodeGpuContext(); // its own device: this test destroys it
    const trainer = new Trainer(ctx, tiny, DEFAULT_OPTIM_CONFIG, 2, 4);
    const gen = new Generator(ctx, trainer.model, 2);
    keepForProcess(ctx, trainer, gen);
    const batch = { tokens: new Int32Array(8), targets: new Int32Array(8), weights: new Float32Array(8).fill(0.125) };
    await trainer.step(batch); // works before the loss
    ctx.device.destroy();
    await expect(ctx.lost).rejects.toThrow(DeviceLostError);
    await expect(trainer.step(batch)).rejects.toThrow(/lost|destroyed|invalid/i);
    await expect(gen.generate([[1]], { maxNewTokens: 2, sampling: GREEDY, seed: 0, eosId: -1 })).rejects.toThrow(
      /lost|destroyed|invalid/i,
    );
  });
});

describe('bad input is rejected before any GPU allocation', () => {
  it('an invalid model config names the field', async () => {
    const ctx = await gpuContext();
    expect(() => new Trainer(ctx, { ...tiny, dModel: 15 }, DEFAULT_OPTIM_CONFIG, 2, 4)).toThrow(
      /model\.nHeads: dModel \(15\) must be divisible/,
    );
    expect(() => new Trainer(ctx, { ...tiny, vocabSize: 0 }, DEFAULT_OPTIM_CONFIG, 2, 4)).toThrow(/model\.vocabSize/);
    expect(() => new Trainer(ctx, tiny, { ...DEFAULT_OPTIM_CONFIG, learningRate: -1 }, 2, 4)).toThrow(
      /optim\.learningRate/,
    );
  });

  it('a batch beyond the device limits says which limit', async () => {
    const ctx = await gpuContext();
    const big = { ...MODEL_PRESETS.small, contextLength: 1024 };
    // A 4096 × 1024 batch: the MLP activations [B·T, 4C] alone are 4096·1024·512·4 bytes = 8 GiB, over any binding
    // limit (a u32 byte count). The check runs before any allocation.
    expect(() => new Trainer(ctx, big, DEFAULT_OPTIM_CONFIG, 4096, 1024)).toThrow(/maxStorageBufferBindingSize/);
    expect(() => new Trainer(ctx, tiny, DEFAULT_OPTIM_CONFIG, 2, 9)).toThrow(/sequence length 9/);
  });

  it('token ids, targets and weights out of range are rejected with their position', async () => {
    const ctx = await gpuContext();
    const trainer = new Trainer(ctx, tiny, DEFAULT_OPTIM_CONFIG, 2, 4);
    const ok = { tokens: new Int32Array(8), targets: new Int32Array(8), weights: new Float32Array(8) };
    await expect(trainer.step({ ...ok, tokens: Int32Array.from([0, 0, 0, 12, 0, 0, 0, 0]) })).rejects.toThrow(
      /batch\.tokens\[3\] = 12/,
    );
    await expect(trainer.step({ ...ok, targets: Int32Array.from([0, -2, 0, 0, 0, 0, 0, 0]) })).rejects.toThrow(
      /batch\.targets\[1\]/,
    );
    await expect(
      trainer.step({ ...ok, weights: Float32Array.from([0, 0, Number.NaN, 0, 0, 0, 0, 0]) }),
    ).rejects.toThrow(/batch\.weights\[2\]/);
    await expect(trainer.step({ ...ok, tokens: new Int32Array(7) })).rejects.toThrow(/7 entries, expected B·T = 8/);
    // Nothing was queued by the rejected batches.
    expect(trainer.stepsTaken).toBe(0);
  });
});
