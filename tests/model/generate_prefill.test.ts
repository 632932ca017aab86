import { describe, expect, it } from 'vitest';
import {
  advanceDecodeState,
  type DecodeRowState,
  initialDecodeState,
  type SamplingParams,
  samplingProbs,
  uniformFor,
} from '../../src/cpu/sampling';
import type { ModelConfig } from '../../src/model/config';
import { type Completion, type GenerateOptions, Generator, GREEDY } from '../../src/model/generate';
import { CpuGenerator } from '../../src/model/generate_cpu';
import { createGpuGpt } from '../../src/model/gpt';
import { buildParamLayout } from '../../src/model/params';
import { referenceForward, referenceGreedy } from '../../src/model/reference';
import { contextFor, gpuContext, KERNEL_PATHS, seeded } from '../helpers/gpu';
import { wideWeights } from '../helpers/weights';

// Odd sizes: C = 20 (2 heads of 10), V = 13. For head size 10 the tiled attention takes 64 query rows and 32 keys
// per tile at P > 32 (attentionTiles), so P = 34 spans two key tiles, the second partial, in one partial query tile.
const config: ModelConfig = {
  vocabSize: 13,
  contextLength: 48,
  dModel: 20,
  nLayers: 2,
  nHeads: 2,
  mlpRatio: 2,
  seed: 9,
};
const layout = buildParamLayout(config);
const V = config.vocabSize;

const weights = (seed: number) => wideWeights(config, seed);

function randomPrompt(rng: ReturnType<typeof seeded>, length: number, avoid: number[] = []): number[] {
  const out: number[] = [];
  while (out.length < length) {
    const id = rng.int(V);
    if (!avoid.includes(id)) out.push(id);
  }
  return out;
}

/**
 * Log-probability tolerance between the two paths. Prefill computes the prompt's keys and values with matmuls of
 * R·P rows and the tiled causal attention (online softmax over key tiles); the token-by-token path with B-row matmuls
 * and the decode kernel (one softmax over the whole row). Both are f32 with different summation orders, so each
 * activation differs by a few f32 ulps (relative ~1e-7); through 2 layers and logits of magnitude ~10 this is ~1e-5
 * in a logit at most, and log q = x − logsumexp(x) moves by at most twice that. Measured here: below 1e-6.
 */
const LOGPROB_ATOL = 1e-4;
/**
 * A token may legitimately differ only where the reference's choice is within rounding of another token: for greedy
 * the top two log-probabilities closer than this; for sampling, the uniform u closer than this to a boundary of the
 * cumulative distribution. 1e-4 is LOGPROB_ATOL, the rounding both paths' distributions can differ by.
 */
const TIE_MARGIN = 1e-4;

/** How close the reference's choice at this position was to flipping (see TIE_MARGIN). */
function choiceMargin(logitsRow: Float32Array, sampling: SamplingParams, thinking: boolean, u: number): number {
  const q = samplingProbs(logitsRow, sampling, thinking);
  if (sampling.temperature === 0) {
    const sorted = Array.from(q).sort((a, b) => b - a);
    return Math.log(sorted[0]!) - Math.log(sorted[1]!);
  }
  let cumulative = 0;
  let margin = Number.POSITIVE_INFINITY;
  for (let i = 0; i < q.length; i++) {
    cumulative += q[i]!;
    margin = Math.min(margin, Math.abs(cumulative - u));
  }
  return margin;
}

/**
 * Asserts that `on` (prefill) equals `off` (a token-by-token run): the same tokens, log-probabilities within
 * LOGPROB_ATOL, except that a row may diverge at a position where the reference model's choice is a near-tie (the row
 * is compared up to there). Returns the number of tokens compared, so callers can check that the comparison had
 * something to compare.
 */
function expectSameCompletions(
  on: Completion[],
  off: Completion[],
  prompts: number[][],
  params: Float32Array,
  o: GenerateOptions,
): number {
  let compared = 0;
  off.forEach((ref, b) => {
    const got = on[b]!;
    const prompt = prompts[b]!;
    expect(got.finished, `row ${b} finished`).toBe(ref.finished);
    let state: DecodeRowState = initialDecodeState(prompt[0]!, o.thinkStartId ?? -1, o.thinkEndId ?? -1);
    for (let t = 1; t < prompt.length; t++)
      state = advanceDecodeState(state, prompt[t]!, o.thinkStartId ?? -1, o.thinkEndId ?? -1);
    for (let i = 0; i < ref.tokens.length; i++) {
      if (got.tokens[i] !== ref.tokens[i]) {
        const seq = [...prompt, ...ref.tokens.slice(0, i)];
        const { logits } = referenceForward(config, layout, params, Int32Array.from(seq), 1, seq.length);
        const pos = seq.length - 1;
        const row = logits.slice(pos * V, (pos + 1) * V);
        const margin = choiceMargin(
          row,
          o.sampling,
          state.thinking,
          uniformFor(o.streams?.[b]?.seed ?? o.seed, pos, o.streams?.[b]?.row ?? b),
        );
        expect(
          margin,
          `row ${b} token ${i}: ${got.tokens[i]} vs ${ref.tokens[i]} where the choice is clear`,
        ).toBeLessThan(TIE_MARGIN);
        return;
      }
      const [a, e] = [got.logprobs[i]!, ref.logprobs[i]!];
      if (a !== e) expect(Math.abs(a - e), `row ${b} logprob ${i}: ${a} vs ${e}`).toBeLessThanOrEqual(LOGPROB_ATOL);
      state = advanceDecodeState(state, ref.tokens[i]!, o.thinkStartId ?? -1, o.thinkEndId ?? -1);
      compared++;
    }
    expect(got.tokens.length, `row ${b} length`).toBe(ref.tokens.length);
  });
  return compared;
}

async function bothWays(gen: Generator, prompts: number[][], o: GenerateOptions) {
  const off = await gen.generate(prompts, { ...o, prefill: false });
  expect(gen.lastPrefillPositions).toBe(0);
  const on = await gen.generate(prompts, o);
  expect(gen.lastPrefillPositions).toBe(Math.max(...prompts.map((p) => p.length)) - 1);
  return { on, off };
}

// On the adapter's own kernel choices and on those a GPU gets, with and without subgroups (KERNEL_PATHS).
for (const paths of KERNEL_PATHS)
  describe(`parallel prefill gives the token-by-token results (${paths} paths)`, () => {
    it('greedy, ragged prompts, 3 rows, P = 36 (two key tiles); the buffers grow from an earlier short call', async () => {
      const ctx = contextFor(await gpuContext(), paths);
      const params = weights(11);
      const gen = new Generator(ctx, createGpuGpt(ctx, config, params), 3);
      const rng = seeded(1);
      const o = { maxNewTokens: 4, sampling: GREEDY, seed: 0, eosId: -1 };
      // One row first (33 prefill tokens): the 3-row call below needs 3 × 36 = 108, so it must reallocate the buffers and
      // prepare a new pass.
      await gen.generate([randomPrompt(rng, 34)], o);
      expect(gen.lastPrefillPositions).toBe(33);
      // The token-by-token reference here is the CPU generator (the GPU decode path's mirror, equal to it up to f32
      // rounding: tests/model/generate_cpu.test.ts): 37 GPU decode steps would cost seconds on SwiftShader.
      const prompts = [34, 37, 35].map((n) => randomPrompt(rng, n));
      const on = await gen.generate(prompts, o);
      expect(gen.lastPrefillPositions).toBe(36);
      const cpu = await new CpuGenerator(config, () => params, 3).generate(prompts, o);
      expect(expectSameCompletions(on, cpu, prompts, params, o)).toBe(12);
      prompts.forEach((p, b) => {
        expect(on[b]!.tokens, `row ${b}`).toEqual(referenceGreedy(config, layout, params, p, 4));
      });
    });

    // The sampler and its budget rules are one kernel on both paths: this runs on the adapter's only.
    if (paths === 'adapter')
      it('sampled with top-k and top-p, a think span and s1 budget forcing; 4 prompts in 5 rows, prefilled in groups of 3 rows', async () => {
        const ctx = contextFor(await gpuContext(), paths);
        const params = weights(14);
        const C = config.dModel;
        const F = config.mlpRatio * C;
        const P = 12; // the longest prompt (row 2, 13 tokens) but its last token
        // Room for 3 rows × P positions: the prefill's bytes per token are 4·(7C + 2F + H + 3). So rows 0–2 are one
        // group and row 3 a second (cache row offset 3, its ids at the next 64-element block).
        const bytesPerToken = 4 * (7 * C + 2 * F + config.nHeads + 3);
        const gen = new Generator(ctx, createGpuGpt(ctx, config, params), 5, {
          prefillBudgetBytes: (3 * P + 1) * bytesPerToken,
        });
        const [START, END, STOP] = [5, 7, 9];
        const rng = seeded(4);
        const plain = (n: number) => randomPrompt(rng, n, [START, END]);
        // Row 0 opens thinking in the prefilled part (its count must carry into decoding: the cap of 10 fires after 4
        // more tokens unless the model closes the span first); row 1 opens and closes it there; row 2 opens it two tokens
        // before its end; row 3 never thinks (the stop-token rules must not apply to it). Rows 0, 1 and 3 are padded to
        // row 2's length in the prefill and decode from their own ends.
        const prompts = [
          [...plain(2), START, ...plain(6)],
          [...plain(1), START, ...plain(2), END, ...plain(5)],
          [...plain(10), START, ...plain(2)],
          plain(11),
        ];
        const o: GenerateOptions = {
          maxNewTokens: 8,
          sampling: {
            temperature: 1.2,
            topK: 9,
            topP: 0.95,
            stopTokenId: STOP,
            stopTemperature: 0.7,
            stopLogitBias: 0.5,
          },
          seed: 3,
          eosId: -1,
          stepsPerChunk: 5,
          thinkStartId: START,
          thinkEndId: END,
          budget: { thinkingCapTokens: 10, minThinkingTokens: 8, maxExtensions: 1, extensionIds: [2, 3] },
        };
        const { on, off } = await bothWays(gen, prompts, o);
        expect(gen.lastPrefillPositions).toBe(P);
        // Near-ties are rare with these weights: nearly every token is compared.
        expect(expectSameCompletions(on, off, prompts, params, o)).toBeGreaterThanOrEqual(28);
        // Row 0 entered decoding with 6 thinking tokens; the cap (10) ends the span within 5 tokens either way.
        expect(on[0]!.tokens.slice(0, 5)).toContain(END);
      });

    it('greedy, ragged short prompts (P = 10); a prompt of one token beside a longer one; all of one token: no prefill', async () => {
      const ctx = contextFor(await gpuContext(), paths);
      const params = weights(15);
      const gen = new Generator(ctx, createGpuGpt(ctx, config, params), 3);
      const rng = seeded(5);
      const o = { maxNewTokens: 4, sampling: GREEDY, seed: 0, eosId: -1 };
      const prompts = [9, 11, 10].map((n) => randomPrompt(rng, n));
      const { on, off } = await bothWays(gen, prompts, o);
      expect(expectSameCompletions(on, off, prompts, params, o)).toBe(12);
      // Row 0 (one token) is all padding in the 4-position prefill and decodes from position 0.
      const single = [[4], [1, 2, 3, 4, 5]];
      const one = await bothWays(gen, single, o);
      expect(expectSameCompletions(one.on, one.off, single, params, o)).toBe(8);
      const ones = await bothWays(gen, [[4], [6]], o);
      expect(ones.on).toEqual(ones.off);
    });

    it('each row decodes from its own prompt end: a prompt gets the same completion alone and beside longer ones, in as many steps as its longest completion', async () => {
      const ctx = contextFor(await gpuContext(), paths);
      const params = weights(17);
      const gen = new Generator(ctx, createGpuGpt(ctx, config, params), 4);
      const rng = seeded(8);
      const short = randomPrompt(rng, 3);
      const others = [randomPrompt(rng, 30), randomPrompt(rng, 1), randomPrompt(rng, 17)];
      const o: GenerateOptions = {
        maxNewTokens: 6,
        sampling: { ...GREEDY, temperature: 0.9, topK: 8 },
        seed: 21,
        eosId: -1,
        stepsPerChunk: 4,
      };
      const stream = { seed: 5, row: 11 };
      const alone = await gen.generate([short], { ...o, streams: [stream] });
      expect(gen.lastDecodeSteps).toBe(6);
      const prompts = [others[0]!, short, others[1]!, others[2]!];
      const streams = [{ seed: 1, row: 0 }, stream, { seed: 2, row: 0 }, { seed: 3, row: 0 }];
      const shared = await gen.generate(prompts, { ...o, streams });
      // Lengths 30, 3, 1 and 17: every row generates its 6 tokens in 6 steps (in lockstep from the shortest prompt's
      // end it took 29 + 6).
      expect(gen.lastDecodeSteps).toBe(6);
      expect(gen.lastPrefillPositions).toBe(29);
      expect(shared.map((c) => c.tokens.length)).toEqual([6, 6, 6, 6]);
      // Same stream, same positions: the same tokens; log-probabilities up to the f32 rounding of a prefill over 2 vs
      // 29 positions (LOGPROB_ATOL).
      expect(shared[1]!.tokens).toEqual(alone[0]!.tokens);
      shared[1]!.logprobs.forEach((lp, i) => {
        expect(Math.abs(lp - alone[0]!.logprobs[i]!), `logprob ${i}`).toBeLessThanOrEqual(LOGPROB_ATOL);
      });
      // And every row equals the CPU generator (its own prompt, its own stream).
      const cpu = await new CpuGenerator(config, () => params, 4).generate(prompts, { ...o, streams });
      expect(expectSameCompletions(shared, cpu, prompts, params, { ...o, streams })).toBe(24);
    });
  });

describe('parallel prefill on the CPU generator', () => {
  it('the CPU generator: prefill on and off give the same tokens and log-probabilities bit for bit', async () => {
    const params = weights(16);
    const gen = new CpuGenerator(config, () => params, 4);
    const rng = seeded(6);
    const [START, END] = [5, 7];
    const prompts = [
      [...randomPrompt(rng, 3, [START, END]), START, ...randomPrompt(rng, 20, [START, END])],
      randomPrompt(rng, 2, [START, END]),
      randomPrompt(rng, 30, [START, END]),
    ];
    const o: GenerateOptions = {
      maxNewTokens: 8,
      sampling: { ...GREEDY, temperature: 1.1 },
      seed: 2,
      eosId: -1,
      thinkStartId: START,
      thinkEndId: END,
      budget: { thinkingCapTokens: 22, minThinkingTokens: 0, maxExtensions: 0, extensionIds: [] },
    };
    const on = await gen.generate(prompts, o);
    const off = await gen.generate(prompts, { ...o, prefill: false });
    expect(on).toEqual(off);
    expect(on.every((c) => c.tokens.length === 8)).toBe(true);
    // Row 0 enters decoding with 20 thinking tokens from its prompt: the cap (22) forces END within 3 tokens.
    expect(on[0]!.tokens.slice(0, 3)).toContain(END);
  });
});
