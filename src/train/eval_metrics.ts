/**
 * The numbers behind one evaluation point, as pure functions of generated token ids and verifier verdicts (no GPU,
 * no tasks), so each is unit-tested on hand-built inputs. Definitions (also in docs/metrics.md):
 *
 *   thinking span     the tokens after the first `<think>` up to the next `</think>`; when never closed, up to the
 *                     first `<eos>` after it or the end of the completion. No `<think>`: no span (0 tokens). When the
 *                     prompt itself opened thinking (its last think marker is `<think>`), the span starts at the
 *                     completion's first token.
 *   repetition rate   per trace with at least n = REPETITION_NGRAM thinking tokens: the fraction of its thinking
 *                     n-grams (L − n + 1 of them, overlapping) that already occurred earlier in the same span;
 *                     averaged over those traces (0 when there is none).
 *   histogram         thinking lengths of correct and of wrong traces in equal-width integer bins from 0 to the
 *                     longest, at most HISTOGRAM_BINS of them.
 */
import type { EvalPoint, ThinkingHistogramBin } from './results';

/**
 * n of the n-grams counted by the repetition rate: about one working step of the arithmetic notation, so a repeat is a
 * re-written step or a loop, not a recurring fragment such as `=1`.
 */
export const REPETITION_NGRAM = 8;
/** Most bins of the thinking-length histogram. */
export const HISTOGRAM_BINS = 12;

export interface SpecialIds {
  thinkStartId: number;
  thinkEndId: number;
  eosId: number;
}

/**
 * Thinking span [start, end) of a completion's token ids, or null when there is none. `promptOpensThinking`: the
 * prompt ended inside a thinking span, so the completion starts in it.
 */
export function thinkingSpan(
  tokens: readonly number[],
  ids: SpecialIds,
  promptOpensThinking = false,
): { start: number; end: number; closed: boolean } | null {
  let start = 0;
  if (!promptOpensThinking) {
    const open = tokens.indexOf(ids.thinkStartId);
    if (open < 0) return null;
    start = open + 1;
  }
  for (let i = start; i < tokens.length; i++) {
    if (tokens[i] === ids.thinkEndId) return { start, end: i, closed: true };
    if (tokens[i] === ids.eosId) return { start, end: i, closed: false };
  }
  return { start, end: tokens.length, closed: false };
}

/** Whether a prompt ends inside a thinking span (its last think marker is `<think>`). */
export function opensThinking(prompt: readonly number[], ids: SpecialIds): boolean {
  for (let i = prompt.length - 1; i >= 0; i--) {
    if (prompt[i] === ids.thinkStartId) return true;
    if (prompt[i] === ids.thinkEndId) return false;
  }
  return false;
}

/** The thinking tokens of a completion (empty when there is no span). */
export function thinkingSlice(tokens: readonly number[], ids: SpecialIds, promptOpensThinking = false): number[] {
  const span = thinkingSpan(tokens, ids, promptOpensThinking);
  return span === null ? [] : tokens.slice(span.start, span.end);
}

/**
 * Fraction of the n-grams of `tokens` (positions 0 … L − n) equal to an n-gram starting at an earlier position;
 * null when there are fewer than n tokens (no n-gram).
 */
export function repeatedNgramFraction(tokens: readonly number[], n: number = REPETITION_NGRAM): number | null {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n-gram size must be a positive integer, got ${n}`);
  const count = tokens.length - n + 1;
  if (count < 1) return null;
  const seen = new Set<string>();
  let repeated = 0;
  for (let i = 0; i < count; i++) {
    const key = tokens.slice(i, i + n).join(',');
    if (seen.has(key)) repeated++;
    else seen.add(key);
  }
  return repeated / count;
}

/** Arithmetic mean; 0 for no values. */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Arithmetic mean; null for no values. */
export function meanOrNull(values: readonly number[]): number | null {
  return values.length === 0 ? null : mean(values);
}

/**
 * Histogram of thinking lengths (tokens, non-negative integers) of correct and wrong traces: bins of equal integer
 * width w = ⌈(max + 1) / maxBins⌉ starting at 0, as many as needed to reach the longest (≤ maxBins). Empty input → [].
 */
export function thinkingHistogram(
  correctTokens: readonly number[],
  wrongTokens: readonly number[],
  maxBins: number = HISTOGRAM_BINS,
): ThinkingHistogramBin[] {
  const all = [...correctTokens, ...wrongTokens];
  if (all.length === 0) return [];
  for (const x of all) {
    if (!Number.isInteger(x) || x < 0) throw new RangeError(`thinking lengths must be non-negative integers, got ${x}`);
  }
  const max = Math.max(...all);
  const widthTokens = Math.max(1, Math.ceil((max + 1) / maxBins));
  const bins: ThinkingHistogramBin[] = Array.from({ length: Math.ceil((max + 1) / widthTokens) }, (_, i) => ({
    startTokens: i * widthTokens,
    widthTokens,
    correct: 0,
    wrong: 0,
  }));
  for (const x of correctTokens) bins[Math.floor(x / widthTokens)]!.correct++;
  for (const x of wrongTokens) bins[Math.floor(x / widthTokens)]!.wrong++;
  return bins;
}

/** What evaluation keeps of one generated trace. */
export interface TraceStats {
  correct: boolean;
  thinkingTokens: number;
  /** Generated tokens (the `<eos>` included when emitted). */
  completionTokens: number;
  /** Emitted `<eos>` before the length limit. */
  finished: boolean;
  /** repeatedNgramFraction of the thinking span; null when shorter than the n-gram. */
  repetition: number | null;
}

/** The aggregate fields of an evaluation point (see docs/metrics.md). */
export type AggregateMetrics = Pick<
  EvalPoint,
  | 'accuracy'
  | 'meanThinkingTokens'
  | 'meanThinkingTokensCorrect'
  | 'meanThinkingTokensWrong'
  | 'meanCompletionTokens'
  | 'stopRate'
  | 'repetitionRate'
  | 'histogram'
>;

/** The EvalPoint numbers of a set of traces (every mean is over traces; see the module comment). */
export function aggregateTraces(traces: readonly TraceStats[]): AggregateMetrics {
  const correct = traces.filter((t) => t.correct).map((t) => t.thinkingTokens);
  const wrong = traces.filter((t) => !t.correct).map((t) => t.thinkingTokens);
  const repetitions = traces.map((t) => t.repetition).filter((r): r is number => r !== null);
  return {
    accuracy: traces.length === 0 ? 0 : correct.length / traces.length,
    meanThinkingTokens: mean(traces.map((t) => t.thinkingTokens)),
    meanThinkingTokensCorrect: meanOrNull(correct),
    meanThinkingTokensWrong: meanOrNull(wrong),
    meanCompletionTokens: mean(traces.map((t) => t.completionTokens)),
    stopRate: traces.length === 0 ? 0 : traces.filter((t) => t.finished).length / traces.length,
    repetitionRate: mean(repetitions),
    histogram: thinkingHistogram(correct, wrong),
  };
}
