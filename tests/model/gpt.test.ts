import { describe, expect, it } from 'vitest';
import { buildTokenIndex } from '../../src/cpu/embedding';
import { assertNoErrors } from '../../src/gpu/context';
import { encodeDispatches } from '../../src/gpu/dispatch';
import { writeTensor } from '../../src/gpu/tensor';
import type { ModelConfig } from '../../src/model/config';
import { createGpuGpt, prepareGptPasses } from '../../src/model/gpt';
import { buildParamLayout, initParams } from '../../src/model/params';
import { referenceLossAndGrads } from '../../src/model/reference';
import type { Rng } from '../../src/util/rng';
import { expectAllClose } from '../helpers/allclose';
import { contextFor, gpuContext, KERNEL_PATHS, readF32, seeded, withLimits } from '../helpers/gpu';

// A model small enough for the software adapter, with sizes that are not multiples of any tile or workgroup:
// C = 24 (3 heads of 8), F = 72, V = 11, T = 7, B = 3 → N = 21 rows.
const config: ModelConfig = {
  vocabSize: 11,
  contextLength: 9,
  dModel: 24,
  nLayers: 2,
  nHeads: 3,
  mlpRatio: 3,
  seed: 5,
};

function randomBatch(rng: Rng, B: number, T: number) {
  const N = B * T;
  const tokens = new Int32Array(N);
  const targets = new Int32Array(N);
  const weights = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    tokens[i] = rng.int(config.vocabSize);
    targets[i] = rng.next() < 0.15 ? -1 : rng.int(config.vocabSize);
    weights[i] = (rng.next() * 2 - 0.5) / N; // some negative, as GRPO advantages are
  }
  return { tokens, targets, weights };
}

/** Params with a larger scale than GPT-2 init so every gradient is far from zero and errors show. */
function randomParams(rng: Rng): Float32Array {
  const layout = buildParamLayout(config);
  const p = initParams(config, layout);
  for (const e of layout.entries) {
    for (let i = 0; i < e.length; i++) {
      const k = e.offset + i;
      p[k] = e.init === 'ones' ? 1 + 0.2 * rng.normal() : 0.3 * rng.normal();
    }
  }
  return p;
}

describe('GPU GPT against the CPU reference model', () => {
  // 3 × 7 = 21 rows: nothing is a multiple of a tile. 64 × 8 = 512 rows: the weight gradients take the split-K path
  // and the bias/LayerNorm column reductions span several row chunks.
  // Each on the adapter's own kernel choices and on those a GPU gets, with and without subgroups (KERNEL_PATHS).
  for (const paths of KERNEL_PATHS)
    for (const [B, T] of [
      [3, 7],
      [64, 8],
    ] as const)
      it(`loss, token losses and every parameter gradient match for the same weights and batch (B=${B}, T=${T}, ${paths} paths)`, async () => {
        const ctx = contextFor(await gpuContext(), paths);
        const rng = seeded(11 + B);
        const params = randomParams(rng);
        const batch = randomBatch(rng, B, T);
        const model = createGpuGpt(ctx, config, params);
        const passes = prepareGptPasses(model, B, T);
        expect(passes.backward.some((d) => d.label.endsWith('.splitk'))).toBe(B * T >= 512);
        const q = ctx.device.queue;
        const index = buildTokenIndex(batch.tokens, config.vocabSize);
        writeTensor(q, passes.inputs.tokens, batch.tokens);
        writeTensor(q, passes.inputs.targets, batch.targets);
        writeTensor(q, passes.inputs.weights, batch.weights);
        writeTensor(q, passes.inputs.tokenOffsets, index.tokenOffsets);
        writeTensor(q, passes.inputs.positionsByToken, index.positionsByToken);
        // Poison the gradient arena: every gradient must be written by the backward pass.
        const layout = model.layout;
        const poison = new Float32Array(layout.totalElements).fill(Number.NaN);
        for (const e of layout.entries) poison.fill(Number.NaN, e.offset, e.offset + e.length);
        writeTensor(q, model.grads, poison);
        const enc = ctx.device.createCommandEncoder();
        const pass = enc.beginComputePass();
        encodeDispatches(pass, passes.forward);
        encodeDispatches(pass, passes.lossAndDlogits);
        encodeDispatches(pass, passes.backward);
        pass.end();
        q.submit([enc.finish()]);
        const [loss] = await readF32(ctx, passes.loss);
        const tokenLosses = await readF32(ctx, passes.tokenLosses);
        const grads = await readF32(ctx, model.grads);
        assertNoErrors(ctx);

        const ref = referenceLossAndGrads(config, layout, params, batch.tokens, batch.targets, batch.weights, B, T);
        // Loss: Σ of 21 weighted terms of size ~3; f32 softmax and summation order differ → ~1e-6 relative.
        expect(Math.abs(loss! - ref.loss)).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref.loss)));
        expectAllClose(tokenLosses, ref.tokenLosses, { rtol: 1e-4, atol: 1e-4 }, 'token losses');
        // Gradients pass through two blocks of f32 matmuls (K ≤ 72), LayerNorm and softmax backward in a different
        // summation order than the f64-accumulating reference; relative errors of ~1e-5 are expected, so compare each
        // tensor with atol scaled to its largest gradient (a wrong index or a missing term gives O(1) relative error).
        for (const e of layout.entries) {
          const got = grads.subarray(e.offset, e.offset + e.length);
          const want = ref.grads.subarray(e.offset, e.offset + e.length);
          const scale = want.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
          expect(scale, `${e.name} has a non-zero reference gradient`).toBeGreaterThan(0);
          expectAllClose(got, want, { rtol: 1e-3, atol: 1e-3 * scale }, e.name);
        }
      });
});

describe('buffers within device limits', () => {
  it('no buffer exceeds maxStorageBufferBindingSize when the batch fits (split-K scratch is capped)', async () => {
    const real = await gpuContext();
    // The WebGPU default binding limit (128 MiB), which many adapters report; the rest as the real device.
    const limit = 128 * 2 ** 20;
    const ctx = withLimits(real, { maxStorageBufferBindingSize: limit });
    // A valid config whose largest weight is 5 MiB: 32 split-K slices of F·C = 2560·512 would need 160 MiB.
    const wide: ModelConfig = {
      vocabSize: 11,
      contextLength: 8,
      dModel: 512,
      nLayers: 1,
      nHeads: 4,
      mlpRatio: 5,
      seed: 1,
    };
    const model = createGpuGpt(ctx, wide, initParams(wide));
    prepareGptPasses(model, 1, 8);
    const largest = Math.max(...model.pool.buffers.map((b) => b.bytes));
    model.pool.destroy();
    assertNoErrors(real);
    expect(largest).toBeLessThanOrEqual(limit);
  });
});
