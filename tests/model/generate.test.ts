import { describe, expect, it } from 'vitest';
import { sampleRow } from '../../src/cpu/sampling';
import { assertNoErrors, isSoftwareAdapter } from '../../src/gpu/context';
import { runDispatches } from '../../src/gpu/dispatch';
import type { ModelConfig } from '../../src/model/config';
import { Generator, GREEDY } from '../../src/model/generate';
import { createGpuGpt } from '../../src/model/gpt';
import { buildParamLayout } from '../../src/model/params';
import { referenceForward, referenceGreedy } from '../../src/model/reference';
import { contextFor, gpuContext, KERNEL_PATHS, seeded, usesSubgroups, withHardwarePaths } from '../helpers/gpu';
import { wideWeights } from '../helpers/weights';

// Odd sizes on purpose: C = 20 (2 heads of 10), V = 13, context 24.
const config: ModelConfig = {
  vocabSize: 13,
  contextLength: 24,
  dModel: 20,
  nLayers: 2,
  nHeads: 2,
  mlpRatio: 2,
  seed: 9,
};
const layout = buildParamLayout(config);

/** Weights with a larger scale than GPT-2 init, so logits are well separated and greedy has no near-ties. */
const weights = (seed: number) => wideWeights(config, seed);

describe('KV-cache generation on the GPU', () => {
  // On the adapter's own kernel choices and on those a GPU gets, with and without subgroups (KERNEL_PATHS).
  for (const paths of KERNEL_PATHS)
    it(`greedy output equals the reference model, for prompts of different lengths (${paths} paths)`, async () => {
      const ctx = contextFor(await gpuContext(), paths);
      const params = weights(1);
      const model = createGpuGpt(ctx, config, params);
      const gen = new Generator(ctx, model, 4);
      const prompts = [[1], [2, 3, 4, 5, 6], [7, 8], [12, 0, 11, 3, 3, 3, 9]];
      const out = await gen.generate(prompts, {
        maxNewTokens: 12,
        sampling: GREEDY,
        seed: 0,
        eosId: -1,
        stepsPerChunk: 5,
      });
      prompts.forEach((p, i) => {
        const want = referenceGreedy(config, layout, params, p, 12);
        expect(out[i]!.tokens, `prompt ${i}`).toEqual(want);
        expect(out[i]!.finished).toBe(false);
        // Greedy log-probabilities are log q at T = 1: negative, finite.
        for (const lp of out[i]!.logprobs) expect(lp).toBeLessThanOrEqual(0);
      });
      // The paths are what they say: the decode step's kernels (serial attention on a software adapter; the sampler's
      // and the split attention's reductions in their subgroup or tree form).
      const step = gen.prepareStepForProfile(4, { maxNewTokens: 1, sampling: GREEDY, seed: 0, eosId: -1 }, 10);
      const labels = step.map((d) => d.label);
      expect(labels.includes('attention_decode.serial')).toBe(paths === 'adapter' && isSoftwareAdapter(ctx));
      const reducing = step.filter((d) => /^(attention_decode|sample_tokens)/.test(d.label));
      expect(reducing.length).toBeGreaterThan(0);
      for (const d of reducing) expect(usesSubgroups(d), d.label).toBe(paths !== 'portable' && ctx.subgroupReductions);
    });

  it('stops a row at EOS and fills no more than the context', async () => {
    const ctx = await gpuContext();
    const params = weights(2);
    const model = createGpuGpt(ctx, config, params);
    const gen = new Generator(ctx, model, 2);
    const prompt = [3, 1, 4];
    const free = referenceGreedy(config, layout, params, prompt, 30);
    expect(free.length).toBe(config.contextLength - prompt.length);
    const eos = free[3]!; // the 4th greedy token becomes the stop token
    const out = await gen.generate([prompt, [5]], { maxNewTokens: 100, sampling: GREEDY, seed: 0, eosId: eos });
    const cut = free.indexOf(eos);
    expect(out[0]!.tokens).toEqual(free.slice(0, cut + 1));
    expect(out[0]!.finished).toBe(true);
    expect(out[1]!.tokens.length).toBeLessThanOrEqual(config.contextLength - 1);
  });

  it('stop-token rules apply only inside a thinking span, which prompts and samples open and close', async () => {
    const ctx = await gpuContext();
    const params = weights(5);
    const gen = new Generator(ctx, createGpuGpt(ctx, config, params), 3);
    const [START, STOP] = [5, 7];
    // A huge bias on the stop token while thinking makes it the greedy choice exactly when the flag is set.
    const sampling = { ...GREEDY, stopTokenId: STOP, stopLogitBias: 1000 };
    const prompts = [
      [START, 1, 2], // thinking from the first token
      [1, 2, 3], // not thinking until the model emits START itself
      [1, START, 2], // the flag is set by a forced prompt token
    ];
    const out = await gen.generate(prompts, {
      maxNewTokens: 6,
      sampling,
      seed: 0,
      eosId: -1,
      thinkStartId: START,
      thinkEndId: STOP,
    });
    // Reference: the CPU model's logits through the CPU sampler, with the flag tracked token by token.
    const reference = (prompt: number[], n: number): number[] => {
      const seq = [...prompt];
      let thinking = false;
      for (const id of prompt) thinking = id === START ? true : id === STOP ? false : thinking;
      for (let i = 0; i < n; i++) {
        const { logits } = referenceForward(config, layout, params, Int32Array.from(seq), 1, seq.length);
        const V = config.vocabSize;
        const row = logits.slice((seq.length - 1) * V, seq.length * V);
        const { token } = sampleRow(row, sampling, 0, thinking);
        thinking = token === START ? true : token === STOP ? false : thinking;
        seq.push(token);
      }
      return seq.slice(prompt.length);
    };
    prompts.forEach((p, i) => {
      expect(out[i]!.tokens, `prompt ${i}`).toEqual(reference(p, 6));
    });
    // The rule fired where the flag was set by the prompt (the first generated token is the stop token) …
    expect(out[0]!.tokens[0]).toBe(STOP);
    expect(out[2]!.tokens[0]).toBe(STOP);
    // … and not where it wasn't (for these weights the plain greedy token differs from it).
    expect(out[1]!.tokens[0]).not.toBe(STOP);
  });

  it('sampling is reproducible for a seed and changes with it', async () => {
    const ctx = await gpuContext();
    const model = createGpuGpt(ctx, config, weights(3));
    const gen = new Generator(ctx, model, 3);
    const sampling = { ...GREEDY, temperature: 1.5 };
    const prompts = [[1, 2], [3], [4, 5, 6]];
    const a = await gen.generate(prompts, { maxNewTokens: 15, sampling, seed: 7, eosId: -1 });
    const b = await gen.generate(prompts, { maxNewTokens: 15, sampling, seed: 7, eosId: -1 });
    const c = await gen.generate(prompts, { maxNewTokens: 15, sampling, seed: 8, eosId: -1 });
    expect(b.map((x) => x.tokens)).toEqual(a.map((x) => x.tokens));
    expect(c.map((x) => x.tokens)).not.toEqual(a.map((x) => x.tokens));
  });

  it('a prompt given its own stream gets the same tokens in any row and beside any other prompts', async () => {
    const ctx = await gpuContext();
    const model = createGpuGpt(ctx, config, weights(3));
    const gen = new Generator(ctx, model, 4);
    const sampling = { ...GREEDY, temperature: 1.5 };
    // Prefill off: every row's arithmetic is the same whatever the batch, so the comparison is exact.
    const o = { maxNewTokens: 15, sampling, seed: 7, eosId: -1, prefill: false };
    const prompts = [[1, 2], [3], [4, 5, 6], [9, 9]];
    const streams = [
      { seed: 11, row: 0 },
      { seed: 11, row: 1 },
      { seed: 0xfffffffe, row: 17 },
      { seed: 5, row: 0 },
    ];
    const together = await gen.generate(prompts, { ...o, streams });
    // The same prompts in reverse order, then each alone: row b's stream follows its prompt.
    const reversed = await gen.generate([...prompts].reverse(), { ...o, streams: [...streams].reverse() });
    expect(reversed.map((c) => c.tokens).reverse()).toEqual(together.map((c) => c.tokens));
    for (let i = 0; i < prompts.length; i++) {
      const [alone] = await gen.generate([prompts[i]!], { ...o, streams: [streams[i]!] });
      expect(alone!.tokens, `prompt ${i}`).toEqual(together[i]!.tokens);
      expect(alone!.logprobs).toEqual(together[i]!.logprobs);
    }
    // Without streams row b draws from (seed, b): the same as naming those streams, and not the same as the above.
    const plain = await gen.generate(prompts, o);
    const named = await gen.generate(prompts, { ...o, streams: prompts.map((_, b) => ({ seed: 7, row: b })) });
    expect(named.map((c) => c.tokens)).toEqual(plain.map((c) => c.tokens));
    expect(plain.map((c) => c.tokens)).not.toEqual(together.map((c) => c.tokens));
    await expect(gen.generate(prompts, { ...o, streams: streams.slice(1) })).rejects.toThrow(
      /streams has 3 entries for 4 prompts/,
    );
    await expect(gen.generate([[1]], { ...o, streams: [{ seed: 1, row: -1 }] })).rejects.toThrow(
      /streams\[0\]\.row must be a u32/,
    );
  });

  it('a call with fewer prompts than rows: each gets what a full call gives it, for any number of rows in use', async () => {
    const ctx = await gpuContext();
    const gen = new Generator(ctx, createGpuGpt(ctx, config, weights(6)), 6);
    const prompts = [[1, 2], [3], [4, 5, 6], [9, 9], [7], [2, 11, 5]];
    const sampling = { ...GREEDY, temperature: 1.2 };
    const streams = prompts.map((_, b) => ({ seed: 40 + b, row: 0 }));
    const o = { maxNewTokens: 9, sampling, seed: 1, eosId: -1, prefill: false };
    const full = await gen.generate(prompts, { ...o, streams });
    // Six different row counts, more than the prepared steps kept: each is prepared again when it comes back.
    for (const R of [1, 2, 3, 5, 4, 1, 6, 2]) {
      const part = await gen.generate(prompts.slice(0, R), { ...o, streams: streams.slice(0, R) });
      expect(part, `R = ${R}`).toEqual(full.slice(0, R));
    }
    // With prefill (padded to the call's longest prompt, each row decoding from its own end): greedy tokens agree.
    const greedyFull = await gen.generate(prompts, { ...o, sampling: GREEDY, prefill: true });
    const greedyPart = await gen.generate(prompts.slice(0, 3), { ...o, sampling: GREEDY, prefill: true });
    expect(greedyPart.map((c) => c.tokens)).toEqual(greedyFull.slice(0, 3).map((c) => c.tokens));
  });

  it("prepareStepForProfile: one decode step's dispatches (body, then sampling) at a chosen position; generation after it is unchanged", async () => {
    const ctx = await gpuContext();
    const params = weights(6);
    const gen = new Generator(ctx, createGpuGpt(ctx, config, params), 3);
    const o = { maxNewTokens: 5, sampling: GREEDY, seed: 0, eosId: -1 };
    const step = gen.prepareStepForProfile(2, o, 10);
    const labels = step.map((d) => d.label);
    expect(labels[0]).toBe('embedding_decode');
    expect(labels.filter((l) => l.endsWith('.c_attn'))).toHaveLength(config.nLayers);
    expect(labels.slice(-3)).toEqual(['gen.lm_head', 'sample_tokens', 'sample_tokens.advance_step']);
    runDispatches(ctx, step);
    assertNoErrors(ctx);
    const prompts = [
      [3, 1, 4],
      [1, 5, 9, 2, 6],
    ];
    const out = await gen.generate(prompts, o);
    prompts.forEach((p, b) => {
      expect(out[b]!.tokens).toEqual(referenceGreedy(config, layout, params, p, 5));
    });
    expect(() => gen.prepareStepForProfile(4, o, 10)).toThrow(/rows must be in \[1, 3\], got 4/);
    expect(() => gen.prepareStepForProfile(2, o, 23)).toThrow(/position must be in \[0, 23\), got 23/);
  });

  it("on a GPU's kernel choices the decode attention splits a long cache (partial + combine): greedy output still equals the reference model, across the splits' boundaries", async () => {
    // Context 100 for 3 rows × 2 heads: 3 splits of 34 keys (decodeSplits: ⌈512 / 6⌉ wanted, at most ⌊100 / 32⌋), so
    // rows decoding from positions 0, 29 and 63 to 11, 40 and 74 read one, two and three splits, two of them across a
    // boundary (34, 68). The other tests' context (24) never splits.
    const long: ModelConfig = { ...config, contextLength: 100 };
    const longLayout = buildParamLayout(long);
    const ctx = withHardwarePaths(await gpuContext());
    const params = wideWeights(long, 8);
    const gen = new Generator(ctx, createGpuGpt(ctx, long, params), 3);
    const rng = seeded(2);
    const prompts = [1, 30, 64].map((n) => Array.from({ length: n }, () => rng.int(long.vocabSize)));
    const o = { maxNewTokens: 12, sampling: GREEDY, seed: 0, eosId: -1, stepsPerChunk: 8 };
    const out = await gen.generate(prompts, o);
    prompts.forEach((p, b) => {
      expect(out[b]!.tokens, `row ${b}`).toEqual(referenceGreedy(long, longLayout, params, p, 12));
    });
    const labels = gen.prepareStepForProfile(3, o, 50).map((d) => d.label);
    expect(labels.filter((l) => l === 'attention_decode.partial')).toHaveLength(long.nLayers);
    expect(labels.filter((l) => l === 'attention_decode.combine')).toHaveLength(long.nLayers);
  });

  it('rejects bad prompts before touching the GPU', async () => {
    const ctx = await gpuContext();
    const gen = new Generator(ctx, createGpuGpt(ctx, config, weights(4)), 2);
    const o = { maxNewTokens: 4, sampling: GREEDY, seed: 0, eosId: -1 };
    await expect(gen.generate([[1, 13]], o)).rejects.toThrow(/prompt 0\[1\] = 13 is outside the vocabulary/);
    await expect(gen.generate([[]], o)).rejects.toThrow(/prompt 0 is empty/);
    await expect(gen.generate([[1], [2], [3]], o)).rejects.toThrow(/1 to 2 prompts/);
    await expect(gen.generate([new Array(24).fill(1)], o)).rejects.toThrow(/no room/);
    // 0 used to loop forever; a fraction encoded ⌈n⌉ steps but copied back n·4 bytes (a validation error).
    await expect(gen.generate([[1]], { ...o, stepsPerChunk: 0 })).rejects.toThrow(/stepsPerChunk must be a positive/);
    await expect(gen.generate([[1]], { ...o, stepsPerChunk: 2.5 })).rejects.toThrow(/stepsPerChunk must be a positive/);
  });
});
