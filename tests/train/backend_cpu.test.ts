import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/model/config';
import { GREEDY } from '../../src/model/generate';
import { buildParamLayout, initParams } from '../../src/model/params';
import { referenceGreedy } from '../../src/model/reference';
import type { TrainBackend } from '../../src/train/backend';
import { createCpuBackend } from '../../src/train/backend_cpu';
import { DEFAULT_OPTIM_CONFIG, type OptimConfig } from '../../src/train/config';
import { REVERSE_VOCAB, reverseBatch } from '../../src/train/selftest';
import { seeded } from '../helpers/gpu';

const config: ModelConfig = {
  vocabSize: REVERSE_VOCAB,
  contextLength: 16,
  dModel: 16,
  nLayers: 2,
  nHeads: 2,
  mlpRatio: 4,
  seed: 3,
};
// A large rate and no warmup, so two steps change the greedy continuations (checked below): a decoder that kept the
// initial weights would then fail.
const optim: OptimConfig = { ...DEFAULT_OPTIM_CONFIG, learningRate: 5e-2, warmupSteps: 0 };
const [B, k] = [3, 4];
const T = 2 * k + 1;
const EOS = 11;
const prompts = [
  [1, 2, 3, 4, 10],
  [9, 8, 0, 10],
];
const options = { maxNewTokens: 6, sampling: GREEDY, seed: 0, eosId: EOS };

describe('CPU backend', () => {
  it('trains 2 steps, then its decoder generates greedily with the trained weights', async () => {
    const backend = createCpuBackend();
    expect(backend.kind).toBe('cpu');
    expect(backend.adapterName).toBe('CPU reference');
    const trainer = backend.createTrainer(config, optim, B, T);
    const decoder = backend.createDecoder(trainer, 2);
    expect(decoder.rows).toBe(2);
    const rng = seeded(23);
    const batches = Array.from({ length: 3 }, () => reverseBatch(rng, B, k));

    // Nothing awaited: the generation is queued after 2 steps and before the third, so it sees exactly the weights
    // after 2 steps (read back by readParams, queued at the same point).
    const steps = batches.slice(0, 2).map((b) => trainer.step(b));
    const generated = decoder.generate(prompts, options);
    const paramsAfter2 = trainer.readParams();
    const third = trainer.step(batches[2]!);
    const [completions, params] = await Promise.all([generated, paramsAfter2]);
    expect((await Promise.all(steps)).map((s) => s.step)).toEqual([0, 1]);
    expect((await third).step).toBe(2);

    const layout = buildParamLayout(config);
    const expected = prompts.map((p) => referenceGreedy(config, layout, params, p, options.maxNewTokens, EOS));
    expect(completions.map((c) => c.tokens)).toEqual(expected);
    for (const [i, c] of completions.entries()) {
      expect(c.finished).toBe(c.tokens.at(-1) === EOS);
      expect(c.logprobs).toHaveLength(expected[i]!.length);
    }
    // The check above can fail: the initial weights continue differently.
    const initial = initParams(config, layout);
    const untrained = prompts.map((p) => referenceGreedy(config, layout, initial, p, options.maxNewTokens, EOS));
    expect(untrained).not.toEqual(expected);

    // And the decoder keeps following the live weights (now after 3 steps).
    const later = await decoder.generate(prompts, options);
    const params3 = await trainer.readParams();
    expect(later.map((c) => c.tokens)).toEqual(
      prompts.map((p) => referenceGreedy(config, layout, params3, p, options.maxNewTokens, EOS)),
    );
    decoder.destroy();
    trainer.destroy();
    backend.destroy();
  });

  it('loads a saved state into a new trainer and decodes only its own trainers', async () => {
    const backend = createCpuBackend();
    const a = backend.createTrainer(config, optim, B, T);
    await a.step(reverseBatch(seeded(29), B, k));
    const saved = await a.readState();
    const b = backend.createTrainer({ ...config, seed: 8 }, optim, B, T);
    await b.loadState(saved);
    expect(await b.readState()).toEqual(saved);
    const foreign = { ...b } as TrainBackend;
    expect(() => backend.createDecoder(foreign, 1)).toThrow(/only its own trainers/);
    expect(() => backend.createDecoder(a, 0)).toThrow(/generation batch/);
  });
});
