import { describe, expect, it } from 'vitest';
import {
  advanceDecodeState,
  type BudgetForcing,
  decodeStepRow,
  initialDecodeState,
  samplingProbs,
  uniformFor,
} from '../../src/cpu/sampling';
import type { ModelConfig } from '../../src/model/config';
import { type Completion, type GenerateOptions, Generator, GREEDY } from '../../src/model/generate';
import { CpuGenerator } from '../../src/model/generate_cpu';
import { createGpuGpt } from '../../src/model/gpt';
import { buildParamLayout } from '../../src/model/params';
import { referenceForward, referenceGreedy } from '../../src/model/reference';
import { gpuContext } from '../helpers/gpu';
import { wideWeights } from '../helpers/weights';

const config: ModelConfig = {
  vocabSize: 19,
  contextLength: 32,
  dModel: 32,
  nLayers: 2,
  nHeads: 4,
  mlpRatio: 4,
  seed: 3,
};
const layout = buildParamLayout(config);
const V = config.vocabSize;
const [EOS, START, END] = [1, 2, 3];

/** Weights with a larger scale than GPT-2 init, so logits are well separated and greedy has no near-ties. */
const weights = (seed: number) => wideWeights(config, seed);

/**
 * The GPU generator's semantics written the slow, independent way: re-run the reference model over the whole prefix
 * for every token and apply decodeStepRow with u = uniformFor(seed, pos, row), pos = the last position of the prefix.
 */
function referenceGenerate(
  params: Float32Array,
  prompts: readonly (readonly number[])[],
  o: GenerateOptions,
): Completion[] {
  const start = o.thinkStartId ?? -1;
  const end = o.thinkEndId ?? -1;
  return prompts.map((prompt, row) => {
    const seq = [...prompt];
    let state = initialDecodeState(prompt[0]!, start, end);
    for (const id of prompt.slice(1)) state = advanceDecodeState(state, id, start, end);
    const out: Completion = { tokens: [], logprobs: [], finished: false };
    const limit = Math.min(o.maxNewTokens, config.contextLength - prompt.length);
    while (out.tokens.length < limit && !out.finished) {
      const T = seq.length;
      const { logits } = referenceForward(config, layout, params, Int32Array.from(seq), 1, T);
      const u = uniformFor(o.seed, T - 1, row);
      const r = decodeStepRow(state, logits.slice((T - 1) * V, T * V), -1, o.sampling, o.budget, start, end, u);
      state = r.state;
      seq.push(r.token);
      out.tokens.push(r.token);
      out.logprobs.push(Math.fround(r.logprob));
      out.finished = r.token === o.eosId;
    }
    return out;
  });
}

/** Distance of u from the nearest boundary of the inverse-CDF intervals of q (ids ascending). */
function cdfMargin(q: ArrayLike<number>, u: number): number {
  let c = 0;
  let margin = Number.POSITIVE_INFINITY;
  for (let i = 0; i < q.length; i++) {
    c += q[i]!;
    if (q[i]! > 0) margin = Math.min(margin, Math.abs(c - u));
  }
  return margin;
}

/**
 * GPU vs CPU generation. The GPU forward pass runs in f32 with different summation orders; on these weights its
 * logits differ from the CPU's by ~1e-5 absolute, so final probabilities (and cumulative sums) differ by ≲ 1e-5 and
 * log-probabilities by ≲ 1e-4 (LOGPROB_ATOL, as in the sampler kernel test). A sampled token may then differ only
 * where u lies within CDF_MARGIN of a CDF boundary; after such a divergence the two histories differ, so the rest of
 * that row is not compared.
 */
const LOGPROB_ATOL = 1e-4;
const CDF_MARGIN = 1e-4;

function compareWithGpu(
  params: Float32Array,
  prompts: readonly (readonly number[])[],
  o: GenerateOptions,
  gpu: Completion[],
  cpu: Completion[],
): { divergedRows: number } {
  let divergedRows = 0;
  prompts.forEach((prompt, b) => {
    const g = gpu[b]!;
    const c = cpu[b]!;
    let k = 0;
    while (k < c.tokens.length && k < g.tokens.length && c.tokens[k] === g.tokens[k]) {
      // −∞ (q = 0: a forced token outside the distribution) must match exactly.
      if (g.logprobs[k] !== c.logprobs[k])
        expect(Math.abs(g.logprobs[k]! - c.logprobs[k]!), `row ${b} logprob ${k}`).toBeLessThan(LOGPROB_ATOL);
      k++;
    }
    if (k === c.tokens.length && k === g.tokens.length) {
      expect(g.finished).toBe(c.finished);
      return;
    }
    // A divergence: legitimate only for a sampled token within CDF_MARGIN of a boundary.
    divergedRows++;
    expect(o.sampling.temperature, `row ${b} diverged at ${k} under greedy`).toBeGreaterThan(0);
    const seq = [...prompt, ...c.tokens.slice(0, k)];
    let state = initialDecodeState(prompt[0]!, o.thinkStartId ?? -1, o.thinkEndId ?? -1);
    for (const id of seq.slice(1)) state = advanceDecodeState(state, id, o.thinkStartId ?? -1, o.thinkEndId ?? -1);
    const T = seq.length;
    const { logits } = referenceForward(config, layout, params, Int32Array.from(seq), 1, T);
    const q = samplingProbs(logits.slice((T - 1) * V, T * V), o.sampling, state.thinking);
    const stream = o.streams?.[b] ?? { seed: o.seed, row: b };
    const margin = cdfMargin(q, uniformFor(stream.seed, T - 1, stream.row));
    expect(margin, `row ${b} diverged at token ${k} with u ${margin} from a CDF boundary`).toBeLessThan(CDF_MARGIN);
  });
  return { divergedRows };
}

/** Ragged prompts; rows 0 and 3 start inside a thinking span. */
const PROMPTS = [[START, 7, 8], [4], [9, 10, 11, 12, 5], [START, 6], [13, 14]];

describe('CpuGenerator against the CPU reference model', () => {
  it('greedy: tokens equal referenceGreedy and logprobs equal the reference logits, bit for bit', async () => {
    const params = weights(1);
    const gen = new CpuGenerator(config, () => params, 6);
    const o: GenerateOptions = { maxNewTokens: 12, sampling: GREEDY, seed: 0, eosId: -1 };
    const out = await gen.generate(PROMPTS, o);
    expect(out).toEqual(referenceGenerate(params, PROMPTS, o));
    PROMPTS.forEach((p, i) => {
      expect(out[i]!.tokens, `prompt ${i}`).toEqual(referenceGreedy(config, layout, params, p, 12));
      expect(out[i]!.finished).toBe(false);
    });
  });

  it('sampled runs, EOS, the context bound and budget rules equal the re-forward reference exactly', async () => {
    const params = weights(2);
    const gen = new CpuGenerator(config, () => params, 5);
    const options: GenerateOptions[] = [
      { maxNewTokens: 10, sampling: { ...GREEDY, temperature: 1 }, seed: 42, eosId: -1 },
      { maxNewTokens: 40, sampling: { ...GREEDY, temperature: 1.3, topK: 6 }, seed: 7, eosId: 0 },
      {
        maxNewTokens: 14,
        sampling: { ...GREEDY, temperature: 0.8, topP: 0.9, stopTokenId: END, stopLogitBias: 3 },
        seed: 9,
        eosId: EOS,
        thinkStartId: START,
        thinkEndId: END,
        budget: { thinkingCapTokens: 5, minThinkingTokens: 3, maxExtensions: 2, extensionIds: [15, 16] },
      },
    ];
    for (const o of options) {
      const out = await gen.generate(PROMPTS, o);
      expect(out).toEqual(referenceGenerate(params, PROMPTS, o));
      // The context bound: no row writes past position contextLength − 1.
      out.forEach((c, i) => {
        expect(PROMPTS[i]!.length + c.tokens.length).toBeLessThanOrEqual(config.contextLength);
      });
    }
    // maxNewTokens 40 > room in the context: rows end at EOS (id 0 here) or exactly at the context bound.
    const long = await gen.generate(PROMPTS, options[1]!);
    long.forEach((c, i) => {
      if (!c.finished) expect(c.tokens.length).toBe(config.contextLength - PROMPTS[i]!.length);
      else expect(c.tokens.at(-1)).toBe(0);
      expect(c.tokens.slice(0, -1)).not.toContain(0);
    });
    expect(long.some((c) => c.finished) && long.some((c) => !c.finished), 'both endings occur').toBe(true);
    // The weights are read on every call: new weights, new tokens.
    const other = weights(3);
    const gen2 = new CpuGenerator(config, () => other, 5);
    expect((await gen2.generate(PROMPTS, options[0]!)).map((c) => c.tokens)).not.toEqual(
      (await gen.generate(PROMPTS, options[0]!)).map((c) => c.tokens),
    );
  });

  it('rejects bad input with the GPU generator’s messages', async () => {
    const gen = new CpuGenerator(config, () => weights(4), 2);
    const o = { maxNewTokens: 4, sampling: GREEDY, seed: 0, eosId: -1 };
    await expect(gen.generate([[1, 19]], o)).rejects.toThrow(/prompt 0\[1\] = 19 is outside the vocabulary/);
    await expect(gen.generate([[]], o)).rejects.toThrow(/prompt 0 is empty/);
    await expect(gen.generate([[1], [2], [3]], o)).rejects.toThrow(/1 to 2 prompts/);
    await expect(gen.generate([new Array(32).fill(1)], o)).rejects.toThrow(/no room/);
    await expect(gen.generate([[1]], { ...o, seed: -1 })).rejects.toThrow(/seed must be a u32/);
    await expect(gen.generate([[1]], { ...o, maxNewTokens: 0 })).rejects.toThrow(/maxNewTokens must be a positive/);
    const cap: BudgetForcing = { thinkingCapTokens: 2, minThinkingTokens: 0, maxExtensions: 0, extensionIds: [] };
    await expect(gen.generate([[1]], { ...o, budget: cap })).rejects.toThrow(/needs thinkStartId and thinkEndId/);
    expect(() => new CpuGenerator(config, () => weights(4), 0)).toThrow(/generation batch/);
    const short = new CpuGenerator(config, () => new Float32Array(10), 1);
    await expect(short.generate([[1]], o)).rejects.toThrow(/weights have 10 elements/);
  });
});

describe('CpuGenerator against the GPU Generator', () => {
  it('greedy and seeded temperature-1 sampling give the same tokens', async () => {
    const ctx = await gpuContext();
    const params = weights(5);
    const gpu = new Generator(ctx, createGpuGpt(ctx, config, params), 5);
    const cpu = new CpuGenerator(config, () => params, 5);
    let diverged = 0;
    for (const o of [
      { maxNewTokens: 10, sampling: GREEDY, seed: 0, eosId: -1, stepsPerChunk: 8 },
      { maxNewTokens: 10, sampling: { ...GREEDY, temperature: 1 }, seed: 1234, eosId: EOS, stepsPerChunk: 8 },
    ] satisfies GenerateOptions[]) {
      const g = await gpu.generate(PROMPTS, o);
      const c = await cpu.generate(PROMPTS, o);
      diverged += compareWithGpu(params, PROMPTS, o, g, c).divergedRows;
    }
    // Each divergence needs u within 1e-4 of a boundary (probability ≲ V·2e-4 per token): at most one in 100 tokens.
    expect(diverged).toBeLessThanOrEqual(1);
  });

  it('per-prompt random streams: the same tokens on both, and on the CPU the same alone as together', async () => {
    const ctx = await gpuContext();
    const params = weights(6);
    const gpu = new Generator(ctx, createGpuGpt(ctx, config, params), 5);
    const cpu = new CpuGenerator(config, () => params, 5);
    const streams = PROMPTS.map((_, b) => ({ seed: (0x2545f491 * (b + 3)) >>> 0, row: (3 * b + 1) % 7 }));
    const o = { maxNewTokens: 10, sampling: { ...GREEDY, temperature: 1 }, seed: 99, eosId: EOS, streams };
    const g = await gpu.generate(PROMPTS, o);
    const c = await cpu.generate(PROMPTS, o);
    expect(compareWithGpu(params, PROMPTS, o, g, c).divergedRows).toBeLessThanOrEqual(1);
    for (let i = 0; i < PROMPTS.length; i++) {
      const [alone] = await cpu.generate([PROMPTS[i]!], { ...o, streams: [streams[i]!] });
      expect(alone, `prompt ${i}`).toEqual(c[i]);
    }
  });

  it('budget forcing: the cap ends every thinking span after exactly 3 tokens on both', async () => {
    const ctx = await gpuContext();
    const params = weights(6);
    const gpu = new Generator(ctx, createGpuGpt(ctx, config, params), 5);
    const cpu = new CpuGenerator(config, () => params, 5);
    // `</think>` is never sampled while thinking (bias −1000), so only the cap can close a span.
    const o: GenerateOptions = {
      maxNewTokens: 12,
      sampling: { ...GREEDY, stopTokenId: END, stopLogitBias: -1000 },
      seed: 0,
      eosId: -1,
      thinkStartId: START,
      thinkEndId: END,
      budget: { thinkingCapTokens: 3, minThinkingTokens: 0, maxExtensions: 0, extensionIds: [] },
    };
    const g = await gpu.generate(PROMPTS, o);
    const c = await cpu.generate(PROMPTS, o);
    expect(c).toEqual(referenceGenerate(params, PROMPTS, o));
    compareWithGpu(params, PROMPTS, o, g, c);
    expect(g.map((x) => x.tokens)).toEqual(c.map((x) => x.tokens));
    let spansClosed = 0;
    PROMPTS.forEach((p, i) => {
      let thinking = false;
      let n = 0;
      const seq = [...p, ...c[i]!.tokens];
      seq.forEach((id, t) => {
        if (id === START) [thinking, n] = [true, 0];
        else if (id === END) {
          if (t >= p.length) {
            expect(thinking, `row ${i}: </think> at ${t} outside a span`).toBe(true);
            expect(n, `row ${i}: span closed at ${t}`).toBe(3);
            spansClosed++;
          }
          thinking = false;
        } else if (thinking) {
          n++;
          expect(n, `row ${i} token ${t}`).toBeLessThanOrEqual(3);
        }
      });
    });
    expect(spansClosed).toBeGreaterThanOrEqual(2); // rows 0 and 3 start thinking
  });

  it('budget forcing: extensions are inserted where the reference says, on both', async () => {
    const ctx = await gpuContext();
    const params = weights(7);
    const gpu = new Generator(ctx, createGpuGpt(ctx, config, params), 3);
    const cpu = new CpuGenerator(config, () => params, 3);
    const [W1, W2] = [15, 16];
    // `</think>` is always the greedy choice while thinking (bias +1000), so every one is a candidate for extension.
    const o: GenerateOptions = {
      maxNewTokens: 8,
      sampling: { ...GREEDY, stopTokenId: END, stopLogitBias: 1000 },
      seed: 0,
      eosId: -1,
      thinkStartId: START,
      thinkEndId: END,
      budget: { thinkingCapTokens: 0, minThinkingTokens: 6, maxExtensions: 2, extensionIds: [W1, W2] },
    };
    const prompts = [
      [START, 7], // 1 thinking token: extended twice (→ 5 tokens), then the extensions run out
      [START, 7, 8, 9, 10], // 4 thinking tokens: one extension reaches 6, then `</think>` stays
      [9, 10], // not thinking: no rule applies until the model opens a span
    ];
    const g = await gpu.generate(prompts, o);
    const c = await cpu.generate(prompts, o);
    expect(c).toEqual(referenceGenerate(params, prompts, o));
    compareWithGpu(params, prompts, o, g, c);
    expect(g.map((x) => x.tokens)).toEqual(c.map((x) => x.tokens));
    expect(c[0]!.tokens.slice(0, 5)).toEqual([W1, W2, W1, W2, END]);
    expect(c[1]!.tokens.slice(0, 3)).toEqual([W1, W2, END]);
    // An extension token's logprob is log q under the biased distribution, where e^−1000 underflows: −∞ on both.
    expect(c[0]!.logprobs[0]).toBe(Number.NEGATIVE_INFINITY);
    expect(g[0]!.logprobs[0]).toBe(Number.NEGATIVE_INFINITY);
  });
});
