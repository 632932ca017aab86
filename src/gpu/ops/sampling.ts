import source from '../../../shaders/sample_tokens.wgsl?raw';
import {
  type BudgetForcing,
  checkBudgetForcing,
  checkSamplingParams,
  DECODE_STATE_WORDS,
  MAX_EXTENSION_IDS,
  NO_BUDGET,
  type SamplingParams,
  stopRules,
} from '../../cpu/sampling';
import { dummyTensor, type GpuContext } from '../context';
import { type Dispatch, prepareDispatch } from '../dispatch';
import { reductionKernel, subgroupReductionsFor } from '../subgroups';
import type { TensorRef } from '../tensor';

/** Largest vocabulary the sampler holds in workgroup memory. */
export const SAMPLING_MAX_V = 1024;

/** Ids each sampler thread owns (PER in sample_tokens.wgsl). */
const SAMPLING_IDS_PER_THREAD = 4;

/**
 * The sampler's threads per row (WG in sample_tokens.wgsl) for a vocabulary of V ids: the smallest power of two from
 * 32 to 256 holding V at 4 ids a thread. Every thread waits at each of the kernel's ~30 barriers, so threads past the
 * vocabulary cost time and compute nothing: at the tasks' V = 98 a row takes 32 threads instead of 256.
 */
export function samplingWorkgroupSize(V: number): number {
  let wg = 32;
  while (wg * SAMPLING_IDS_PER_THREAD < V && wg < SAMPLING_MAX_V / SAMPLING_IDS_PER_THREAD) wg *= 2;
  return wg;
}

export interface SampleTokensArgs {
  B: number;
  V: number;
  /** Positions per row in tokens/logprobs/forced. */
  Tmax: number;
  /** [B, V] f32 logits of the current position (read). */
  logits: TensorRef;
  /**
   * [B, 4] u32 per-row decode state (thinking flag, thinkingTokens, extensionsUsed, pendingIndex), read and updated
   * from every emitted token (see DecodeRowState / decodeStepRow in src/cpu/sampling.ts).
   */
  state: TensorRef;
  /** [B, Tmax] i32: forced[b, pos+1] ≥ 0 is emitted before any other rule; −1: budget rules, then a sample. */
  forced: TensorRef;
  /** [B, Tmax] u32 token history; tokens[b, pos+1] is written. */
  tokens: TensorRef;
  /** [B, Tmax] f32; logprobs[b, pos+1] ← log q[token] (−∞ for a forced token outside the final distribution). */
  logprobs: TensorRef;
  /**
   * [1], [2] or [≥ 2 + 2B] u32: step[0] = pos (read; incremented by the advance_step dispatch); step[1], if present, is
   * added to `seed`, so a new generation can reuse the prepared dispatches after one small buffer write. With 2 + 2B
   * elements or more, row b draws uniformFor(step[2 + 2b], pos, step[3 + 2b]) instead: its own stream (`SampleStream`),
   * whatever row it was given. With 2 + 3B or more (decodeStepWords, src/gpu/ops/decode_step.ts), row b's pos is
   * step[0] + step[2 + 2B + b]: rows at different positions.
   */
  step: TensorRef;
  params: SamplingParams;
  /** u32 base seed of the hash uniformFor(seed (+ step[1]), pos, row). */
  seed: number;
  /** Token that sets the thinking flag (−1 = none). */
  thinkStartId: number;
  /** Token that clears the thinking flag (−1 = none). */
  thinkEndId: number;
  /** s1 budget forcing (absent or all zero: off). Its rules need thinkStartId and thinkEndId ≥ 0. */
  budget?: BudgetForcing;
  /** Debug: [B, V] f32 receives the final distribution q. */
  probs?: TensorRef;
  /** Append the 1-thread advance_step dispatch (step[0] += 1). Default true. */
  advance?: boolean;
  /**
   * Reduce with the subgroup form of lib/reduce.wgsl and lib/reduce_u32.wgsl (src/gpu/subgroups.ts). Default:
   * whenever the context offers subgroup reductions; true where it does not is an error.
   */
  subgroups?: boolean;
  /** Threads per row: 32, 64, 128 or 256, at least V / 4 (default samplingWorkgroupSize(V); tests reach the others). */
  workgroupSize?: number;
  label?: string;
}

/**
 * One sampling step: [main] (+ [advance_step]). The sampling parameters, seed, think ids and budget are baked
 * into the dispatch's uniform: prepare again to change them (or vary step[1] to reseed).
 */
export function prepareSampleTokens(ctx: GpuContext, args: SampleTokensArgs): Dispatch[] {
  const { B, V, Tmax, label = 'sample_tokens' } = args;
  for (const [name, v] of [
    ['B', B],
    ['V', V],
    ['Tmax', Tmax],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${label}: ${name} must be a positive integer, got ${v}`);
  }
  if (V > SAMPLING_MAX_V) throw new Error(`${label}: V = ${V} exceeds ${SAMPLING_MAX_V}`);
  const wg = args.workgroupSize;
  if (wg !== undefined && (![32, 64, 128, 256].includes(wg) || wg * SAMPLING_IDS_PER_THREAD < V)) {
    throw new Error(`${label}: workgroupSize must be 32, 64, 128 or 256 with 4 · workgroupSize ≥ V = ${V}, got ${wg}`);
  }
  if (B > 65535) throw new Error(`${label}: B = ${B} exceeds 65535 workgroups`);
  try {
    checkSamplingParams(args.params);
  } catch (e) {
    throw new Error(`${label}: ${(e as Error).message}`);
  }
  const need = (name: string, t: TensorRef, n: number) => {
    if (t.length < n) throw new Error(`${label}: ${name} has ${t.length} elements, needs ${n}`);
  };
  need('logits', args.logits, B * V);
  need('state', args.state, B * DECODE_STATE_WORDS);
  need('forced', args.forced, B * Tmax);
  need('tokens', args.tokens, B * Tmax);
  need('logprobs', args.logprobs, B * Tmax);
  need('step', args.step, 1);
  if (args.step.length > 2 && args.step.length < 2 + 2 * B) {
    throw new Error(
      `${label}: step must have 1, 2 or at least 2 + 2B = ${2 + 2 * B} elements, has ${args.step.length}`,
    );
  }
  if (args.probs) need('probs', args.probs, B * V);
  for (const [name, id] of [
    ['thinkStartId', args.thinkStartId],
    ['thinkEndId', args.thinkEndId],
  ] as const) {
    if (!Number.isInteger(id) || id < -1) throw new Error(`${label}: ${name} must be an integer ≥ −1, got ${id}`);
  }
  const budget = args.budget ?? NO_BUDGET;
  try {
    checkBudgetForcing(budget, V, args.thinkStartId, args.thinkEndId);
  } catch (e) {
    throw new Error(`${label}: ${(e as Error).message}`);
  }
  const ids = Array.from({ length: MAX_EXTENSION_IDS }, (_, k) => ({ u: budget.extensionIds[k] ?? 0 }));
  const s = args.params;
  const rules = stopRules(s);
  const tensors = [
    args.logits,
    args.state,
    args.forced,
    args.tokens,
    args.logprobs,
    args.step,
    args.probs ?? dummyTensor(ctx),
  ];
  const uniform = [
    { u: B },
    { u: V },
    { u: Tmax },
    { u: args.seed >>> 0 },
    { f: s.temperature },
    { u: s.topK },
    { f: s.topP },
    { i: s.stopTokenId },
    { f: s.stopTemperature },
    { f: s.stopLogitBias },
    { i: args.thinkStartId },
    { i: args.thinkEndId },
    { u: 0xff800000 },
    { u: budget.thinkingCapTokens },
    { u: budget.minThinkingTokens },
    { u: budget.maxExtensions },
    { u: budget.extensionIds.length },
    { f: rules.tauZ },
    { f: rules.marginNats },
    { i: rules.boundaryId }, // extensionIds starts at word 20 (16-byte aligned)
    ...ids,
  ];
  const constants = { WRITE_PROBS: args.probs ? 1 : 0, WG: wg ?? samplingWorkgroupSize(V) };
  const kernel = reductionKernel('sample_tokens', source, subgroupReductionsFor(ctx, args.subgroups, label));
  const dispatches = [prepareDispatch(ctx, { ...kernel, constants }, tensors, uniform, [B, 1, 1], label)];
  if (args.advance !== false) {
    dispatches.push(
      prepareDispatch(
        ctx,
        { ...kernel, constants, entryPoint: 'advance_step' },
        tensors,
        uniform,
        [1, 1, 1],
        `${label}.advance_step`,
      ),
    );
  }
  return dispatches;
}
