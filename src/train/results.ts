/**
 * What an evaluation produces: one point on the trace-length-vs-accuracy chart, with the distributions and sample
 * traces behind it. Plain JSON, saved with the run.
 */
import type { LengthTag } from '../tasks/types';
import type { SeriesId, Stage } from './methods';
import type { DecodeConfig } from './run_config';

// The methods' table lives in methods.ts; these names stay importable from here.
export { applySweepValue, type SeriesId, seriesFor, sweptValue } from './methods';

export interface TraceSample {
  prompt: string;
  /** Everything generated after the prompt, decoded (special tokens spelled out). */
  completion: string;
  correct: boolean;
  /** Verifier's reason ('ok', 'no-answer', 'wrong-value: …'). */
  reason: string;
  thinkingTokens: number;
  /** Emitted `<eos>` before the length limit. */
  finished: boolean;
}

export interface ThinkingHistogramBin {
  /** Bin covers thinking lengths [startTokens, startTokens + widthTokens). */
  startTokens: number;
  widthTokens: number;
  correct: number;
  wrong: number;
}

export interface PerProblemOutcomes {
  /** One character per problem: '1' correct, '0' wrong. */
  correct: string;
  /** Thinking tokens of each problem's trace (same order). */
  thinkingTokens: number[];
}

export interface EvalPoint {
  /** Unique within a run. */
  id: string;
  /** Training step of the weights evaluated (SFT steps so far). */
  step: number;
  series: SeriesId;
  decode: DecodeConfig;
  /** Variant and size of the evaluation set. */
  variant: string;
  /** TLDR level the prompts were tagged with (absent: untagged). */
  lengthTag?: LengthTag;
  /**
   * Which training stage produced the weights: 'rl' after a GRPO / TLDR stage. Absent in files written before it was
   * recorded: stageOf (src/train/methods.ts) finds it from the step.
   */
  stage?: Stage;
  problems: number;
  /** Fraction verified correct. */
  accuracy: number;
  /** Mean tokens between `<think>` and `</think>` (to the end of the completion when never closed). */
  meanThinkingTokens: number;
  meanThinkingTokensCorrect: number | null;
  meanThinkingTokensWrong: number | null;
  /** Mean generated tokens per completion. */
  meanCompletionTokens: number;
  /** Fraction of completions that emitted `<eos>` before the length limit. */
  stopRate: number;
  /** Mean over completions of the fraction of thinking n-grams (n = REPETITION_NGRAM) seen earlier in the same trace. */
  repetitionRate: number;
  histogram: ThinkingHistogramBin[];
  /**
   * Per problem, in evaluation-set order (every point of a run evaluates the same problems in the same order): '1'
   * where the answer was verified correct, '0' where not, and the thinking tokens of its trace. It makes differences
   * between methods paired (src/train/claims.ts). Absent in files written before it was recorded.
   */
  perProblem?: PerProblemOutcomes;
  /** A few correct and a few wrong completions. */
  samples: TraceSample[];
  evalTimeMs: number;
  /** ms since epoch. */
  createdAt: number;
}
