/**
 * The oracle stopping frontier: how short thinking could be, in hindsight, with the answer still right.
 *
 *   own trace (greedy by default) → for every candidate k = 0 … L (L = the trace's thinking tokens): the prompt, the
 *   trace's first k thinking tokens and a forced `</think>` → the model's greedy answer → task.verify → correctAt[k]
 *
 * Candidate positions: every token of the thinking span, k = 0 … L (k = L is the model's own stop when its trace
 * closed the span). Arithmetic traces are short (tens of tokens), so all L + 1 truncations of a problem are affordable
 * as rows of one batch, and the oracle is exact at token resolution; the step-boundary oracle (k = 0, k = L and every
 * k right after a `;`) is a subset of the same rows and is reported beside it (`stepsOracle`), at no extra cost.
 *
 * From correctAt (pure functions below, unit-tested on hand-made traces):
 *   firstCorrect = min { k : correctAt[k] } (null when no stop gives a right answer);
 *   (a) the oracle: each problem stops at firstCorrect; a problem no stop solves stops at once (k = 0: thinking cannot
 *       help it). The frontier (accuracy against mean thinking tokens per problem, the chart's axes) is the Pareto set
 *       of per-problem stops: solve the problems in increasing order of firstCorrect; after j of N, accuracy j/N at
 *       mean length (Σ of those j firstCorrect)/N. No choice of one candidate stop per problem is more accurate at a
 *       lower mean length. `byBudget[b]`: the fraction solved when each problem may think at most b tokens.
 *   (b) against the model's own stop (k = L): thinking tokens after the answer was already right (L − firstCorrect on
 *       problems whose own answer is right), and how often thinking longer turned a right answer wrong (some k < L
 *       right, the own answer wrong).
 * A method's point (mean thinking tokens x, accuracy y) is then read against the frontier: oracleAccuracyAt(x) − y is
 * the accuracy it leaves on the table at its length, and oracleTokensFor(y) the mean thinking the oracle needs for
 * its accuracy.
 *
 * The generation (computeOracle) takes any DecodeBackend (GPU or CPU generator): rows of up to decoder.rows
 * truncations, with progress reports and an AbortSignal checked between batches.
 */

import { z } from 'zod';
import { getTask, type TaskId } from '../tasks/index';
import { decode as decodeTokens, encode, THINK_END_ID } from '../tasks/tokenizer';
import type { DecodeBackend } from './backend';
import type { EvalItem, EvalSet } from './data';
import { opensThinking, thinkingSpan } from './eval_metrics';
import { chunkSeed, generateTraces, SPECIAL_IDS, STEP_SEPARATOR } from './evaluate';
import { DEFAULT_DECODE_CONFIG, type DecodeConfig } from './run_config';

/** One problem's truncation outcomes. */
export interface OracleProblem {
  /** The model's own thinking tokens L (its stop; the trace's whole span when it never closed it). */
  ownThinkingTokens: number;
  /** Whether the model's own completion was right. */
  ownCorrect: boolean;
  /** '0'/'1' for k = 0 … L: the answer after `</think>` forced after k thinking tokens was right. */
  correctAt: string;
  /** Candidate k right after a step boundary (`;`), ascending (0 and L are candidates of the step oracle too). */
  stepBoundaries: number[];
}

/** A point of the frontier: accuracy (fraction) at mean thinking tokens per problem. */
export interface FrontierPoint {
  meanThinkingTokens: number;
  accuracy: number;
}

export interface OracleSummary {
  problems: number;
  ownAccuracy: number;
  ownMeanThinkingTokens: number;
  /** Problems some stop solves, as a fraction (the frontier's top). */
  oracleAccuracy: number;
  /** Mean of the oracle's stops (firstCorrect; 0 for a problem no stop solves). */
  oracleMeanThinkingTokens: number;
  /** The same, with stops only at k = 0, k = L and after a `;`. */
  stepsOracleAccuracy: number;
  stepsOracleMeanThinkingTokens: number;
  /** Problems right at k = 0 (no thinking at all). */
  accuracyWithoutThinking: number;
  /** Over problems the model got right: mean of L − firstCorrect (thinking after the answer was already right). */
  meanTokensAfterCorrect: number | null;
  /** Σ (L − firstCorrect) over own-right problems / Σ L over all problems. */
  fractionThinkingAfterCorrect: number;
  /** Problems some earlier stop got right but the own answer is wrong ("thinking longer turned right to wrong"). */
  rightThenWrong: number;
  /** Problems right at their own stop but wrong at some earlier candidate after firstCorrect (right → wrong → right). */
  unstableRight: number;
}

/** What a run file keeps of an oracle computation. */
export interface OracleResult {
  /** Timeline step of the weights. */
  step: number;
  stage: 'sft' | 'rl';
  variant: string;
  /** 'greedy', or the sampling temperature of the own traces. */
  trace: 'greedy' | { temperature: number };
  candidates: 'every-token';
  /** Generated answer tokens after the forced `</think>`. */
  answerTokens: number;
  problems: OracleProblem[];
  summary: OracleSummary;
  frontier: FrontierPoint[];
  /** byBudget[b] = fraction solved with at most b thinking tokens, b = 0 … max L. */
  byBudget: number[];
  evalTimeMs: number;
  createdAt: number;
}

/** A run file's `oracle` (untrusted input; src/runs/run_file.ts checks it with this). */
export const oracleResultSchema = z.strictObject({
  step: z.number().int().min(0),
  stage: z.enum(['sft', 'rl']),
  variant: z.string().min(1).max(64),
  trace: z.union([z.literal('greedy'), z.strictObject({ temperature: z.number().min(0).max(10) })]),
  candidates: z.literal('every-token'),
  answerTokens: z.number().int().min(1).max(1024),
  problems: z
    .array(
      z.strictObject({
        ownThinkingTokens: z.number().int().min(0).max(1024),
        ownCorrect: z.boolean(),
        correctAt: z
          .string()
          .max(1025)
          .regex(/^[01]+$/, "only '0' and '1'"),
        stepBoundaries: z.array(z.number().int().min(0).max(1024)).max(1024),
      }),
    )
    .max(4096)
    .refine((ps) => ps.every((p) => p.correctAt.length === p.ownThinkingTokens + 1), 'correctAt needs L + 1 entries'),
  summary: z.strictObject({
    problems: z.number().int().min(0),
    ownAccuracy: z.number().min(0).max(1),
    ownMeanThinkingTokens: z.number().min(0),
    oracleAccuracy: z.number().min(0).max(1),
    oracleMeanThinkingTokens: z.number().min(0),
    stepsOracleAccuracy: z.number().min(0).max(1),
    stepsOracleMeanThinkingTokens: z.number().min(0),
    accuracyWithoutThinking: z.number().min(0).max(1),
    meanTokensAfterCorrect: z.number().min(0).nullable(),
    fractionThinkingAfterCorrect: z.number().min(0).max(1),
    rightThenWrong: z.number().int().min(0),
    unstableRight: z.number().int().min(0),
  }),
  frontier: z
    .array(z.strictObject({ meanThinkingTokens: z.number().min(0), accuracy: z.number().min(0).max(1) }))
    .max(4097),
  byBudget: z.array(z.number().min(0).max(1)).max(1025),
  evalTimeMs: z.number().min(0),
  createdAt: z.number().min(0),
});

// ---------------------------------------------------------------------------------------------------------------
// Pure logic

function bits(p: OracleProblem): boolean[] {
  if (p.correctAt.length !== p.ownThinkingTokens + 1 || !/^[01]*$/.test(p.correctAt)) {
    throw new RangeError(`correctAt must hold L + 1 = ${p.ownThinkingTokens + 1} '0'/'1' characters`);
  }
  return Array.from(p.correctAt, (c) => c === '1');
}

/** The shortest stop with a right answer, or null. With `only`, among those candidates. */
export function firstCorrect(p: OracleProblem, only?: readonly number[]): number | null {
  const b = bits(p);
  const ks = only ?? b.map((_, k) => k);
  let best: number | null = null;
  for (const k of ks) if (b[k] && (best === null || k < best)) best = k;
  return best;
}

/** The step oracle's candidates: 0, L, and the boundaries. */
function stepCandidates(p: OracleProblem): number[] {
  return [0, ...p.stepBoundaries, p.ownThinkingTokens];
}

/** Pareto frontier of per-problem stops (see the file header), from (0, 0) to (oracle length, oracle accuracy). */
export function frontierOf(firsts: readonly (number | null)[]): FrontierPoint[] {
  const n = firsts.length;
  if (n === 0) return [];
  const solved = firsts.filter((k): k is number => k !== null).sort((a, b) => a - b);
  const out: FrontierPoint[] = [{ meanThinkingTokens: 0, accuracy: 0 }];
  let sum = 0;
  solved.forEach((k, j) => {
    sum += k;
    const pt = { meanThinkingTokens: sum / n, accuracy: (j + 1) / n };
    // Problems solved at k = 0 cost nothing: keep one point per length (the highest accuracy).
    if (out[out.length - 1]!.meanThinkingTokens === pt.meanThinkingTokens) out[out.length - 1] = pt;
    else out.push(pt);
  });
  return out;
}

/** Fraction solved when each problem may think at most b tokens, b = 0 … maxB. */
export function byBudgetOf(firsts: readonly (number | null)[], maxB: number): number[] {
  const n = firsts.length;
  return Array.from({ length: maxB + 1 }, (_, b) =>
    n === 0 ? 0 : firsts.filter((k) => k !== null && k <= b).length / n,
  );
}

/** The frontier's accuracy at mean thinking length x (linear between points; its top beyond the last). */
export function oracleAccuracyAt(frontier: readonly FrontierPoint[], x: number): number {
  if (frontier.length === 0) return Number.NaN;
  for (let i = 1; i < frontier.length; i++) {
    const a = frontier[i - 1]!;
    const b = frontier[i]!;
    if (x <= b.meanThinkingTokens) {
      const t = (x - a.meanThinkingTokens) / (b.meanThinkingTokens - a.meanThinkingTokens);
      return a.accuracy + Math.max(0, Math.min(1, t)) * (b.accuracy - a.accuracy);
    }
  }
  return frontier[frontier.length - 1]!.accuracy;
}

/** The frontier's mean thinking length for accuracy y (linear between points); null above its top. */
export function oracleTokensFor(frontier: readonly FrontierPoint[], y: number): number | null {
  if (frontier.length === 0) return null;
  if (y <= frontier[0]!.accuracy) return frontier[0]!.meanThinkingTokens;
  for (let i = 1; i < frontier.length; i++) {
    const a = frontier[i - 1]!;
    const b = frontier[i]!;
    if (y <= b.accuracy) {
      const t = (y - a.accuracy) / (b.accuracy - a.accuracy);
      return a.meanThinkingTokens + t * (b.meanThinkingTokens - a.meanThinkingTokens);
    }
  }
  return null;
}

/** Summary, frontier and budget curve of a set of problems (pure; see the file header). */
export function summarizeOracle(problems: readonly OracleProblem[]): {
  summary: OracleSummary;
  frontier: FrontierPoint[];
  byBudget: number[];
} {
  const n = problems.length;
  const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
  const firsts = problems.map((p) => firstCorrect(p));
  const stepFirsts = problems.map((p) => firstCorrect(p, stepCandidates(p)));
  const after: number[] = [];
  let rightThenWrong = 0;
  let unstableRight = 0;
  problems.forEach((p, i) => {
    const f = firsts[i]!;
    const L = p.ownThinkingTokens;
    if (p.ownCorrect && f !== null) {
      after.push(L - f);
      if (bits(p).slice(f, L).includes(false)) unstableRight++;
    }
    if (!p.ownCorrect && f !== null && f < L) rightThenWrong++;
  });
  const totalL = problems.reduce((s, p) => s + p.ownThinkingTokens, 0);
  const maxL = problems.reduce((m, p) => Math.max(m, p.ownThinkingTokens), 0);
  const summary: OracleSummary = {
    problems: n,
    ownAccuracy: n === 0 ? 0 : problems.filter((p) => p.ownCorrect).length / n,
    ownMeanThinkingTokens: n === 0 ? 0 : totalL / n,
    oracleAccuracy: n === 0 ? 0 : firsts.filter((k) => k !== null).length / n,
    oracleMeanThinkingTokens: mean(firsts.map((k) => k ?? 0)),
    stepsOracleAccuracy: n === 0 ? 0 : stepFirsts.filter((k) => k !== null).length / n,
    stepsOracleMeanThinkingTokens: mean(stepFirsts.map((k) => k ?? 0)),
    accuracyWithoutThinking: n === 0 ? 0 : firsts.filter((k) => k === 0).length / n,
    meanTokensAfterCorrect: after.length === 0 ? null : mean(after),
    fractionThinkingAfterCorrect: totalL === 0 ? 0 : after.reduce((a, b) => a + b, 0) / totalL,
    rightThenWrong,
    unstableRight,
  };
  return { summary, frontier: frontierOf(firsts), byBudget: byBudgetOf(firsts, maxL) };
}

/** A method's point against the frontier: accuracy gap at its length, and the oracle's length for its accuracy. */
export function distanceToFrontier(
  frontier: readonly FrontierPoint[],
  p: { meanThinkingTokens: number; accuracy: number },
): { accuracyGap: number; oracleTokens: number | null } {
  return {
    accuracyGap: oracleAccuracyAt(frontier, p.meanThinkingTokens) - p.accuracy,
    oracleTokens: oracleTokensFor(frontier, p.accuracy),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Generation

export interface OracleOptions {
  /** Answer tokens generated after the forced `</think>` (default 16). */
  answerTokens?: number;
  /** Own traces: 'greedy' (default), or sampled at this temperature with `seed`. */
  trace?: 'greedy' | { temperature: number };
  /** Own-trace decode budget (default DEFAULT_DECODE_CONFIG.maxNewTokens). */
  maxNewTokens?: number;
  seed?: number;
  /** (rows done, rows in all), after the own traces and after every batch of truncations. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  step?: number;
  stage?: 'sft' | 'rl';
}

interface Row {
  problem: number;
  k: number;
  prompt: number[];
  /** The completion so far: own tokens up to the k-th thinking token, then `</think>`. */
  head: number[];
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('oracle computation aborted');
}

/** Generates the own traces and every truncation's answer, and verifies them (see the file header). */
export async function computeOracle(
  decoder: DecodeBackend,
  evalSet: EvalSet,
  o: OracleOptions = {},
): Promise<OracleResult> {
  const t0 = performance.now();
  const answerTokens = o.answerTokens ?? 16;
  const trace = o.trace ?? 'greedy';
  const seed = o.seed ?? 0;
  checkAbort(o.signal);
  const decode: DecodeConfig = {
    ...DEFAULT_DECODE_CONFIG,
    intervention: 'none',
    temperature: trace === 'greedy' ? 0 : trace.temperature,
    maxNewTokens: o.maxNewTokens ?? DEFAULT_DECODE_CONFIG.maxNewTokens,
  };
  const task: TaskId = evalSet.task;
  const own = await generateTraces(decoder, task, evalSet.items, evalSet.contextLength, decode, seed);
  checkAbort(o.signal);
  const semi = encode(STEP_SEPARATOR)[0]!;
  const rows: Row[] = [];
  const problems: OracleProblem[] = own.map((t, i) => {
    const item: EvalItem = t.item;
    const tokens = t.completion.tokens;
    const span = thinkingSpan(tokens, SPECIAL_IDS, opensThinking(item.promptIds, SPECIAL_IDS));
    const start = span?.start ?? 0;
    const L = span ? span.end - span.start : 0;
    // Room for the prefix, `</think>` and the answer in the context (a longer trace's candidates stop there, and its
    // "own stop" is then that last candidate: never met with the presets, whose traces leave room).
    const room = evalSet.contextLength - item.promptIds.length - start - 1 - answerTokens;
    const Lfit = Math.max(0, Math.min(L, room));
    const stepBoundaries: number[] = [];
    for (let k = 1; k < Lfit; k++) if (tokens[start + k - 1] === semi) stepBoundaries.push(k);
    for (let k = 0; k <= Lfit; k++) {
      rows.push({
        problem: i,
        k,
        prompt: Array.from(item.promptIds),
        head: [...tokens.slice(0, start + k), THINK_END_ID],
      });
    }
    return { ownThinkingTokens: Lfit, ownCorrect: t.verdict.correct, correctAt: '', stepBoundaries };
  });
  const total = own.length + rows.length;
  o.onProgress?.(own.length, total);
  const verifier = getTask(task);
  const correct: boolean[][] = problems.map((p) => new Array<boolean>(p.ownThinkingTokens + 1).fill(false));
  for (let from = 0, chunk = 0; from < rows.length; from += decoder.rows, chunk++) {
    checkAbort(o.signal);
    const part = rows.slice(from, from + decoder.rows);
    const prompts = part.map((r) => [...r.prompt, ...r.head]);
    const shortest = Math.min(...prompts.map((p) => p.length));
    const completions = await decoder.generate(prompts, {
      maxNewTokens: Math.max(1, Math.min(answerTokens, evalSet.contextLength - shortest)),
      sampling: { temperature: 0, topK: 0, topP: 1, stopTokenId: -1, stopTemperature: 1, stopLogitBias: 0 },
      seed: chunkSeed(seed, chunk),
      eosId: SPECIAL_IDS.eosId,
      thinkStartId: SPECIAL_IDS.thinkStartId,
      thinkEndId: SPECIAL_IDS.thinkEndId,
    });
    part.forEach((r, j) => {
      const text = decodeTokens([...r.head, ...completions[j]!.tokens]);
      correct[r.problem]![r.k] = verifier.verify(evalSet.items[r.problem]!.problem, text).correct;
    });
    o.onProgress?.(own.length + Math.min(rows.length, from + part.length), total);
  }
  problems.forEach((p, i) => {
    p.correctAt = correct[i]!.map((c) => (c ? '1' : '0')).join('');
  });
  const { summary, frontier, byBudget } = summarizeOracle(problems);
  return {
    step: o.step ?? 0,
    stage: o.stage ?? 'sft',
    variant: evalSet.variant,
    trace,
    candidates: 'every-token',
    answerTokens,
    problems,
    summary,
    frontier,
    byBudget,
    evalTimeMs: performance.now() - t0,
    createdAt: Date.now(),
  };
}
