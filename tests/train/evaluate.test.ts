import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/model/config';
import type { SampleStream } from '../../src/model/generate';
import { getTask } from '../../src/tasks/index';
import { countTokens, EOS_ID, encode, THINK_END_ID, THINK_START_ID, vocabSize } from '../../src/tasks/tokenizer';
import type { DecodeBackend, TrainBackend } from '../../src/train/backend';
import { createGpuBackend } from '../../src/train/backend_gpu';
import { DEFAULT_OPTIM_CONFIG } from '../../src/train/config';
import { buildEvalSet, type EvalSet } from '../../src/train/data';
import { REPETITION_NGRAM } from '../../src/train/eval_metrics';
import {
  budgetFor,
  chunkSeed,
  chunkStreams,
  EXTENSION_TEXT,
  evaluateModel,
  generateInChunks,
  generateOptionsFor,
  generateTraces,
  generateWithStreams,
  samplingFor,
} from '../../src/train/evaluate';
import { METHODS } from '../../src/train/methods';
import {
  DEFAULT_DECODE_CONFIG,
  DEFAULT_RUN_CONFIG,
  type DecodeConfig,
  type RunConfig,
} from '../../src/train/run_config';
import { gpuContext } from '../helpers/gpu';

const decodeCfg = (over: Partial<DecodeConfig>): DecodeConfig => ({ ...DEFAULT_DECODE_CONFIG, ...over });

describe('DecodeConfig → sampler settings', () => {
  const base = decodeCfg({
    temperature: 0.7,
    topK: 5,
    topP: 0.9,
    stopTemperature: 0.3,
    stopLogitBias: 2.5,
    thinkingBudgetTokens: 17,
    minThinkingTokens: 9,
    maxExtensions: 3,
    maxNewTokens: 40,
  });

  it('each intervention sets only its own knob', () => {
    const knobs = (intervention: DecodeConfig['intervention']) => {
      const s = samplingFor({ ...base, intervention });
      expect([s.temperature, s.topK, s.topP]).toEqual([0.7, 5, 0.9]);
      return [s.stopTokenId, s.stopTemperature, s.stopLogitBias, budgetFor({ ...base, intervention })];
    };
    expect(knobs('none')).toEqual([-1, 1, 0, undefined]);
    expect(knobs('ts')).toEqual([THINK_END_ID, 0.3, 0, undefined]);
    expect(knobs('bias')).toEqual([THINK_END_ID, 1, 2.5, undefined]);
    expect(knobs('cap')).toEqual([
      -1,
      1,
      0,
      { thinkingCapTokens: 17, minThinkingTokens: 0, maxExtensions: 0, extensionIds: [] },
    ]);
    expect(knobs('extend')).toEqual([
      -1,
      1,
      0,
      { thinkingCapTokens: 0, minThinkingTokens: 9, maxExtensions: 3, extensionIds: encode('Wait,') },
    ]);
    expect(EXTENSION_TEXT).toBe('Wait,');
    // The methods table says how each applies: a stop-token rule in the sampler, or budget forcing, or neither.
    for (const m of Object.values(METHODS)) {
      const d = { ...base, intervention: m.intervention };
      expect(samplingFor(d).stopTokenId !== -1, m.id).toBe(m.mechanism === 'stop-token');
      expect(budgetFor(d) !== undefined, m.id).toBe(m.mechanism === 'budget-forcing');
    }
  });

  it('generation options: special ids always set, length bounded by the context left after the shortest prompt', () => {
    const o = generateOptionsFor(base, 32, 10, 99);
    expect(o).toMatchObject({
      maxNewTokens: 22,
      seed: 99,
      eosId: EOS_ID,
      thinkStartId: THINK_START_ID,
      thinkEndId: THINK_END_ID,
    });
    expect(o.budget).toBeUndefined();
    expect(generateOptionsFor(base, 256, 10, 1).maxNewTokens).toBe(40);
    expect(generateOptionsFor({ ...base, intervention: 'cap' }, 256, 10, 1).budget?.thinkingCapTokens).toBe(17);
    // Chunks draw from different random streams.
    expect(new Set([0, 1, 2, 3].map((c) => chunkSeed(5, c))).size).toBe(4);
  });
});

// A small model (context 32, width 16, one layer) keeps generation quick on a software adapter; its weights are the
// untrained initialisation, so its logits are nearly uniform and it rarely emits `</think>` or `<eos>` by itself.
const model: ModelConfig = { vocabSize, contextLength: 32, dModel: 16, nLayers: 1, nHeads: 2, mlpRatio: 2, seed: 4 };
const run: RunConfig = {
  ...DEFAULT_RUN_CONFIG,
  task: { ...DEFAULT_RUN_CONFIG.task, arithmeticMaxDigits: 1 },
  model: { size: 'tiny' },
};

describe('generateWithStreams', () => {
  it('chunks prompts by length, passes each its own stream, and returns completions in prompt order', async () => {
    const calls: { lengths: number[]; streams: SampleStream[]; maxNewTokens: number }[] = [];
    // A decoder of 3 rows that answers each prompt with its own length and stream seed.
    const decoder: DecodeBackend = {
      rows: 3,
      generate: async (prompts, o) => {
        calls.push({ lengths: prompts.map((p) => p.length), streams: [...o.streams!], maxNewTokens: o.maxNewTokens });
        return prompts.map((p, b) => ({ tokens: [p.length, o.streams![b]!.seed], logprobs: [], finished: true }));
      },
      destroy: () => {},
    };
    const lengths = [5, 2, 9, 2, 7, 1, 5];
    const prompts = lengths.map((n) => new Array(n).fill(1));
    const streams = lengths.map((_, i) => ({ seed: 100 + i, row: i % 2 }));
    const d: DecodeConfig = { ...DEFAULT_DECODE_CONFIG, maxNewTokens: 50 };
    const out = await generateWithStreams(decoder, prompts, streams, 16, d);
    // Shortest first, ties in prompt order: [1 (5), 2 (1), 2 (3)], [5 (0), 5 (6), 7 (4)], [9 (2)].
    expect(calls.map((c) => c.lengths)).toEqual([[1, 2, 2], [5, 5, 7], [9]]);
    expect(calls.map((c) => c.streams.map((s) => s.seed))).toEqual([[105, 101, 103], [100, 106, 104], [102]]);
    // The token budget follows each chunk's shortest prompt (16 − 1, 16 − 5, 16 − 9).
    expect(calls.map((c) => c.maxNewTokens)).toEqual([15, 11, 7]);
    expect(out.map((c) => c.tokens)).toEqual(lengths.map((n, i) => [n, 100 + i]));
    // Rows alone end a chunk, whatever the spread of its prompt lengths and the completion budget (every row decodes
    // from its own prompt's end).
    calls.length = 0;
    const short = await generateWithStreams(decoder, prompts, streams, 16, { ...d, maxNewTokens: 1 });
    expect(calls.map((c) => c.lengths)).toEqual([[1, 2, 2], [5, 5, 7], [9]]);
    expect(short).toEqual(out);
    await expect(generateWithStreams(decoder, prompts, streams.slice(1), 16, d)).rejects.toThrow(
      /6 random streams for 7 prompts/,
    );
  });

  it('generateInChunks gives prompt i the stream of row i mod rows in chunk ⌊i / rows⌋', async () => {
    const seen: SampleStream[][] = [];
    const decoder: DecodeBackend = {
      rows: 2,
      generate: async (prompts, o) => {
        seen.push([...o.streams!]);
        return prompts.map(() => ({ tokens: [], logprobs: [], finished: true }));
      },
      destroy: () => {},
    };
    await generateInChunks(decoder, [[1], [1], [1], [1], [1]], 8, DEFAULT_DECODE_CONFIG, 7);
    expect(seen.flat()).toEqual(chunkStreams(7, 5, 2));
    expect(chunkStreams(7, 5, 2).map((s) => s.row)).toEqual([0, 1, 0, 1, 0]);
    expect(new Set(chunkStreams(7, 5, 2).map((s) => s.seed))).toEqual(
      new Set([chunkSeed(7, 0), chunkSeed(7, 1), chunkSeed(7, 2)]),
    );
  });
});

describe('evaluateModel on the GPU', () => {
  let trainer: TrainBackend;
  let decoder: DecodeBackend;
  let evalSet: EvalSet;
  /** The same problems with `<think>` appended to each prompt: every completion starts inside a thinking span. */
  let thinkingSet: EvalSet;

  beforeAll(async () => {
    const backend = createGpuBackend(await gpuContext());
    trainer = backend.createTrainer(model, DEFAULT_OPTIM_CONFIG, 1, model.contextLength);
    decoder = backend.createDecoder(trainer, 3); // 4 prompts → chunks of 3 and 1
    evalSet = { ...buildEvalSet(run, { size: 4, variant: 'id', seed: 21 }), contextLength: model.contextLength };
    thinkingSet = {
      ...evalSet,
      items: evalSet.items.map((it) => ({
        ...it,
        prompt: `${it.prompt}<think>`,
        promptIds: encode(`${it.prompt}<think>`),
      })),
    };
  });
  afterAll(() => {
    decoder?.destroy();
    trainer?.destroy();
  });

  it('its numbers equal a recomputation from the same completions; accuracy re-verifies', async () => {
    // Sampled decoding at T = 1 (a seed makes it reproducible): varied completions.
    const d = decodeCfg({ temperature: 1, maxNewTokens: 14 });
    const point = await evaluateModel(decoder, evalSet, d, { step: 7, seed: 3 });
    const traces = await generateTraces(decoder, 'arithmetic', evalSet.items, model.contextLength, d, 3);
    const task = getTask('arithmetic');
    // Independent route: work on the decoded text (string search, countTokens), not the token-id helpers.
    const perTrace = traces.map((t, i) => {
      const text = t.text;
      const open = text.indexOf('<think>');
      let thinking = '';
      if (open >= 0) {
        const from = open + '<think>'.length;
        const ends = [text.indexOf('</think>', from), text.indexOf('<eos>', from)].filter((x) => x >= 0);
        thinking = text.slice(from, ends.length > 0 ? Math.min(...ends) : text.length);
      }
      const ids = encode(thinking);
      let repeats = 0;
      const grams: string[] = [];
      for (let j = 0; j + REPETITION_NGRAM <= ids.length; j++) {
        const g = ids.slice(j, j + REPETITION_NGRAM).join(' ');
        if (grams.includes(g)) repeats++;
        grams.push(g);
      }
      return {
        correct: task.verify(evalSet.items[i]!.problem, text).correct,
        thinking: countTokens(thinking),
        tokens: countTokens(text),
        finished: text.endsWith('<eos>'),
        repetition: grams.length > 0 ? repeats / grams.length : null,
      };
    });
    const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(point.problems).toBe(4);
    expect(point.step).toBe(7);
    expect(point.series).toBe('temperature');
    expect(point.variant).toBe('id');
    expect(point.decode).toEqual(d);
    expect(point.accuracy).toBe(perTrace.filter((t) => t.correct).length / 4);
    expect(point.meanThinkingTokens).toBeCloseTo(meanOf(perTrace.map((t) => t.thinking)), 12);
    expect(point.meanCompletionTokens).toBeCloseTo(meanOf(perTrace.map((t) => t.tokens)), 12);
    expect(point.stopRate).toBe(perTrace.filter((t) => t.finished).length / 4);
    const reps = perTrace.flatMap((t) => (t.repetition === null ? [] : [t.repetition]));
    expect(point.repetitionRate).toBeCloseTo(reps.length > 0 ? meanOf(reps) : 0, 12);
    expect(point.histogram.reduce((s, b) => s + b.correct + b.wrong, 0)).toBe(4);
    // Every trace is among the samples (≤ 4 correct + ≤ 4 wrong of 4), so the accuracy re-verifies from them.
    expect(point.samples.length).toBe(4);
    for (const s of point.samples) {
      const item = evalSet.items.find((it) => it.prompt === s.prompt)!;
      const verdict = task.verify(item.problem, s.completion);
      expect([s.correct, s.reason]).toEqual([verdict.correct, verdict.reason]);
      expect(s.completion.length).toBeGreaterThan(0);
    }
    expect(point.samples.filter((s) => s.correct).length / 4).toBe(point.accuracy);
    expect(point.evalTimeMs).toBeGreaterThan(0);
    // docs/metrics.md documents every field of a point.
    const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    for (const field of Object.keys(point)) expect(doc, field).toMatch(new RegExp(`^\\| \`${field}\` +\\|`, 'm'));
    expect(point.createdAt).toBeGreaterThan(0);
    // Ids are unique within a run.
    const again = await evaluateModel(decoder, evalSet, d, { step: 7, seed: 3 });
    expect(again.id).not.toBe(point.id);
    expect(again.accuracy).toBe(point.accuracy); // same seed, same weights, same completions
  });

  it("'ts' and 'bias' reach the sampler: at τ = 100 or bias +100, greedy decoding closes thinking at once", async () => {
    const plain = await evaluateModel(decoder, thinkingSet, decodeCfg({ maxNewTokens: 8 }), { step: 0, seed: 1 });
    // Precondition: without an intervention the untrained model keeps thinking.
    expect(plain.meanThinkingTokens).toBeGreaterThan(3);
    // τ = 100 lifts p(</think>) to ≈ σ(logit(p)/100) ≈ 0.49, above every other token of a near-uniform distribution.
    const ts = await evaluateModel(
      decoder,
      thinkingSet,
      decodeCfg({ intervention: 'ts', stopTemperature: 100, maxNewTokens: 8 }),
      {
        step: 0,
        seed: 1,
      },
    );
    expect(ts.series).toBe('ts');
    expect(ts.meanThinkingTokens).toBe(0);
    const bias = await evaluateModel(
      decoder,
      thinkingSet,
      decodeCfg({ intervention: 'bias', stopLogitBias: 100, maxNewTokens: 8 }),
      {
        step: 0,
        seed: 1,
      },
    );
    expect(bias.series).toBe('bias');
    expect(bias.meanThinkingTokens).toBe(0);
    for (const s of bias.samples) expect(s.completion.startsWith('</think>')).toBe(true);
  });

  it("'cap' (s1 budget forcing) bounds thinking at the cap", async () => {
    const plain = await evaluateModel(decoder, thinkingSet, decodeCfg({ maxNewTokens: 12 }), { step: 0, seed: 1 });
    expect(plain.meanThinkingTokens).toBeGreaterThan(3); // precondition: the cap has something to cut
    const cap = await evaluateModel(
      decoder,
      thinkingSet,
      decodeCfg({ intervention: 'cap', thinkingBudgetTokens: 3, maxNewTokens: 12 }),
      {
        step: 0,
        seed: 1,
      },
    );
    expect(cap.series).toBe('cap');
    expect(cap.meanThinkingTokens).toBeLessThanOrEqual(3);
    expect(cap.samples.length).toBe(4);
    for (const s of cap.samples) {
      expect(s.thinkingTokens).toBeLessThanOrEqual(3);
      // Greedy: the capped completion follows the plain one until the cap, then `</think>` is forced.
      const p = plain.samples.find((x) => x.prompt === s.prompt)!;
      if (p.thinkingTokens > 3) {
        expect(s.thinkingTokens).toBe(3);
        const prefix = s.completion.slice(0, s.completion.indexOf('</think>'));
        expect(p.completion.startsWith(prefix)).toBe(true);
        expect(countTokens(prefix)).toBe(3);
      } else {
        expect(s.completion).toBe(p.completion);
      }
    }
  });
});
