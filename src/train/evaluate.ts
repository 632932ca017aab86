/**
 * Evaluation of the current model: one point of the trace-length-vs-accuracy chart.
 *
 *   DecodeConfig → sampling params + budget forcing → generate (chunks of decoder.rows prompts) → decode text
 *   → task.verify → per-trace stats (eval_metrics.ts) → EvalPoint
 *
 * The stopping interventions map onto the sampler: 'ts' sets the temperature τ of the stop/continue decision on
 * `</think>`, 'bias' adds to the `</think>` logit, 'cap' and 'extend' are s1 budget forcing (force `</think>` at a
 * thinking cap; replace an early `</think>` by "Wait,"), 'ts_logit' divides the `</think>` logit by τ_z, 'margin' stops when
 * log p(top) − log p(`</think>`) < δ (src/cpu/sampling.ts has the formulas and their order). Each decode uses exactly one, so a chart series isolates one
 * method; 'none' is plain decoding at the configured temperature.
 */

import type { SamplingParams } from '../cpu/sampling';
import { ConfigError } from '../model/config';
import type { BudgetForcing, Completion, GenerateOptions, SampleStream } from '../model/generate';
import { getTask, type TaskId, type VerifyResult } from '../tasks/index';
import { decode as decodeTokens, EOS_ID, encode, THINK_END_ID, THINK_START_ID } from '../tasks/tokenizer';
import type { DecodeBackend } from './backend';
import type { EvalItem, EvalSet } from './data';
import {
  aggregateTraces,
  opensThinking,
  REPETITION_NGRAM,
  repeatedNgramFraction,
  type SpecialIds,
  type TraceStats,
  thinkingSlice,
} from './eval_metrics';
import { METHODS, seriesFor } from './methods';
import type { EvalPoint, TraceSample } from './results';
import { type DecodeConfig, decodeConfigSchema, evalConfigSchema, zodIssues } from './run_config';

/** What 'extend' writes in place of an early `</think>` (s1's "Wait"). */
export const EXTENSION_TEXT = 'Wait,';

export const SPECIAL_IDS: SpecialIds = { thinkStartId: THINK_START_ID, thinkEndId: THINK_END_ID, eosId: EOS_ID };

/**
 * Sampler settings of a decode: the global knobs, plus the stop-token rule of 'ts', 'bias', 'ts_logit' or 'margin'
 * (the others' knobs off: τ = 1, bias 0, τ_z = 1, δ = 0).
 */
export function samplingFor(d: DecodeConfig): SamplingParams {
  const stopRule = METHODS[seriesFor(d.intervention)].mechanism === 'stop-token';
  const params: SamplingParams = {
    temperature: d.temperature,
    topK: d.topK,
    topP: d.topP,
    stopTokenId: stopRule ? THINK_END_ID : -1,
    stopTemperature: d.intervention === 'ts' ? d.stopTemperature : 1,
    stopLogitBias: d.intervention === 'bias' ? d.stopLogitBias : 0,
  };
  if (d.intervention === 'ts_logit') params.stopLogitTemperature = d.stopLogitTemperature ?? 1;
  if (d.intervention === 'margin') {
    params.stopMarginNats = d.stopMarginNats ?? 0;
    if (d.stopMarginAtSteps) params.stopMarginBoundaryId = encode(STEP_SEPARATOR)[0]!;
  }
  return params;
}

/** The step boundary of every task's trace format (`3+6=9;2+5=7;…`): the margin rule's "at steps" option. */
export const STEP_SEPARATOR = ';';

/** Budget forcing of a decode: 'cap' and 'extend' only (undefined otherwise: no forcing). */
export function budgetFor(d: DecodeConfig): BudgetForcing | undefined {
  if (d.intervention === 'cap') {
    return { thinkingCapTokens: d.thinkingBudgetTokens, minThinkingTokens: 0, maxExtensions: 0, extensionIds: [] };
  }
  if (d.intervention === 'extend') {
    return {
      thinkingCapTokens: 0,
      minThinkingTokens: d.minThinkingTokens,
      maxExtensions: d.maxExtensions,
      extensionIds: encode(EXTENSION_TEXT),
    };
  }
  return undefined;
}

/** Generation options for prompts of which the shortest has `shortestPromptTokens` tokens. */
export function generateOptionsFor(
  d: DecodeConfig,
  contextLength: number,
  shortestPromptTokens: number,
  seed: number,
): GenerateOptions {
  const options: GenerateOptions = {
    maxNewTokens: Math.max(1, Math.min(d.maxNewTokens, contextLength - shortestPromptTokens)),
    sampling: samplingFor(d),
    seed: seed >>> 0,
    eosId: EOS_ID,
    thinkStartId: THINK_START_ID,
    thinkEndId: THINK_END_ID,
  };
  const budget = budgetFor(d);
  if (budget) options.budget = budget;
  return options;
}

/** Sampling seed of chunk `chunk` of an evaluation (chunks must not share a random stream). */
export function chunkSeed(seed: number, chunk: number): number {
  return (seed ^ Math.imul(chunk + 1, 0x85ebca6b)) >>> 0;
}

/** One generated, verified trace. */
export interface GeneratedTrace {
  item: EvalItem;
  completion: Completion;
  /** Decoded completion (special tokens spelled out). */
  text: string;
  verdict: VerifyResult;
  stats: TraceStats;
}

/** Per-trace stats of a completion already verified; `promptIds` tells whether thinking began in the prompt. */
export function traceStats(completion: Completion, correct: boolean, promptIds: readonly number[] = []): TraceStats {
  const thinking = thinkingSlice(completion.tokens, SPECIAL_IDS, opensThinking(promptIds, SPECIAL_IDS));
  return {
    correct,
    thinkingTokens: thinking.length,
    completionTokens: completion.tokens.length,
    finished: completion.finished,
    repetition: repeatedNgramFraction(thinking, REPETITION_NGRAM),
  };
}

/**
 * The random streams of `count` prompts generated in chunks of `rows` from `seed`: prompt i is row i mod rows of
 * chunk c = ⌊i / rows⌋, sampled with chunkSeed(seed, c).
 */
export function chunkStreams(seed: number, count: number, rows: number): SampleStream[] {
  return Array.from({ length: count }, (_, i) => ({ seed: chunkSeed(seed, Math.floor(i / rows)), row: i % rows }));
}

/**
 * Generates one completion per prompt with the decode settings `d`, in chunks of decoder.rows (chunk c sampled with
 * chunkSeed(seed, c)); completions in prompt order. Every prompt must leave room to generate in the context.
 */
export function generateInChunks(
  decoder: DecodeBackend,
  prompts: readonly (readonly number[])[],
  contextLength: number,
  d: DecodeConfig,
  seed: number,
): Promise<Completion[]> {
  return generateWithStreams(decoder, prompts, chunkStreams(seed, prompts.length, decoder.rows), contextLength, d);
}

/**
 * Generates one completion per prompt, prompt i from its own random stream `streams[i]`, in chunks of decoder.rows;
 * completions in prompt order. A prompt's completion depends on its stream, not on the prompts beside it (up to f32
 * rounding on the GPU): prompts of several evaluations can share chunks and get what each evaluation alone would give
 * them. Every row decodes from its own prompt's end, so a chunk costs its longest completion in decode steps whatever
 * its prompts' lengths; the chunks take the prompts in order of length (ties in prompt order) so that the GPU's
 * prefill, padded to each chunk's longest prompt, pads little.
 */
export async function generateWithStreams(
  decoder: DecodeBackend,
  prompts: readonly (readonly number[])[],
  streams: readonly SampleStream[],
  contextLength: number,
  d: DecodeConfig,
): Promise<Completion[]> {
  if (streams.length !== prompts.length) {
    throw new Error(`${streams.length} random streams for ${prompts.length} prompts`);
  }
  const byLength = prompts.map((_, i) => i).sort((a, b) => prompts[a]!.length - prompts[b]!.length || a - b);
  const out: Completion[] = new Array(prompts.length);
  for (let from = 0; from < prompts.length; from += decoder.rows) {
    const indices = byLength.slice(from, from + decoder.rows);
    const part = indices.map((i) => prompts[i]!);
    const shortest = part[0]!.length;
    const options = generateOptionsFor(d, contextLength, shortest, streams[indices[0]!]!.seed);
    options.streams = indices.map((i) => streams[i]!);
    const completions = await decoder.generate(part, options);
    if (completions.length !== part.length) {
      throw new Error(`decoder returned ${completions.length} completions for ${part.length} prompts`);
    }
    indices.forEach((i, k) => {
      out[i] = completions[k]!;
    });
  }
  return out;
}

/** Generates a completion for every item (in chunks of decoder.rows) and verifies each with the task. */
export async function generateTraces(
  decoder: DecodeBackend,
  task: TaskId,
  items: readonly EvalItem[],
  contextLength: number,
  d: DecodeConfig,
  seed: number,
): Promise<GeneratedTrace[]> {
  const verifier = getTask(task);
  const completions = await generateInChunks(
    decoder,
    items.map((it) => it.promptIds),
    contextLength,
    d,
    seed,
  );
  return items.map((item, i) => {
    const completion = completions[i]!;
    const text = decodeTokens(completion.tokens);
    const verdict = verifier.verify(item.problem, text);
    return { item, completion, text, verdict, stats: traceStats(completion, verdict.correct, item.promptIds) };
  });
}

/** The TraceSample shown for a trace. */
export function traceSample(t: GeneratedTrace): TraceSample {
  return {
    prompt: t.item.prompt,
    completion: t.text,
    correct: t.verdict.correct,
    reason: t.verdict.reason,
    thinkingTokens: t.stats.thinkingTokens,
    finished: t.completion.finished,
  };
}

/** Correct and wrong traces shown with an EvalPoint (each: the first ones in evaluation order). */
export const SAMPLES_PER_VERDICT = 4;

let pointCounter = 0;

/** Rejects untrusted decode and evaluation settings with a ConfigError naming every bad field. */
export function checkEvalRequest(decode: unknown, evalCfg: unknown): void {
  const d = decodeConfigSchema.safeParse(decode);
  const e = evalConfigSchema.safeParse(evalCfg);
  const issues = [...(d.success ? [] : zodIssues(d.error, 'decode')), ...(e.success ? [] : zodIssues(e.error, 'eval'))];
  if (issues.length > 0) throw new ConfigError(issues);
}

/**
 * Evaluates the decoder's current weights on `evalSet` with decode settings `d`. `step`: training steps of the
 * weights; `seed`: sampling seed (irrelevant for greedy decoding).
 */
export async function evaluateModel(
  decoder: DecodeBackend,
  evalSet: EvalSet,
  d: DecodeConfig,
  opts: { step: number; seed: number },
): Promise<EvalPoint> {
  const parsed = decodeConfigSchema.safeParse(d);
  if (!parsed.success) throw new ConfigError(zodIssues(parsed.error, 'decode'));
  const t0 = performance.now();
  const traces = await generateTraces(decoder, evalSet.task, evalSet.items, evalSet.contextLength, d, opts.seed);
  const metrics = aggregateTraces(traces.map((t) => t.stats));
  const samples = [
    ...traces.filter((t) => t.verdict.correct).slice(0, SAMPLES_PER_VERDICT),
    ...traces.filter((t) => !t.verdict.correct).slice(0, SAMPLES_PER_VERDICT),
  ].map(traceSample);
  const evalTimeMs = performance.now() - t0;
  const createdAt = Date.now();
  const series = seriesFor(d.intervention);
  pointCounter++;
  return {
    id: `${series}-s${opts.step}-${createdAt.toString(36)}-${pointCounter.toString(36)}`,
    step: opts.step,
    series,
    decode: { ...d },
    variant: evalSet.variant,
    ...(evalSet.lengthTag ? { lengthTag: evalSet.lengthTag } : {}),
    problems: traces.length,
    ...metrics,
    perProblem: {
      correct: traces.map((t) => (t.verdict.correct ? '1' : '0')).join(''),
      thinkingTokens: traces.map((t) => t.stats.thinkingTokens),
    },
    samples,
    evalTimeMs,
    createdAt,
  };
}
