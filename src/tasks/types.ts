/**
 * Shared shapes for the reasoning tasks.
 *
 * Text format (all tasks):
 *   prompt     = [length tag] + question text           e.g. `<long>123+456=`
 *   target     = `<think>` trace `</think><answer>` a `</answer><eos>`   (chain of thought)
 *              | `<answer>` a `</answer><eos>`                          (answer only)
 *   training sequence = prompt + target; the loss is masked to the target.
 *   completion = everything the model generates after the prompt (raw, possibly junk).
 * The length tag is one of `<short>`, `<medium>`, `<long>` or absent.
 */

export type TaskId = 'arithmetic' | 'general_points' | 'sokoban';
export type LengthTag = 'short' | 'medium' | 'long';
/** 'cot': think trace then answer; 'answer': answer only. */
export type TargetStyle = 'cot' | 'answer';

export interface VerifyResult {
  /** 1 when correct, 0 otherwise. */
  reward: number;
  correct: boolean;
  /** Short machine-friendly explanation, e.g. 'ok', 'no-answer', 'wrong-value: got 12 want 13'. */
  reason: string;
  /** The extracted answer text (trimmed), or null when none was found. */
  answer: string | null;
}

export interface SampleMeta {
  task: TaskId;
  /** Variant id (difficulty / instruction variant) the problem was generated under. */
  variant: string;
  style: TargetStyle;
  /** Whether the generator meant the target's final answer to be correct (false for deliberately wrong traces). */
  intendedCorrect: boolean;
  /** Canonical problem key; equal keys mean the same problem (used for train/eval disjointness). */
  key: string;
  /** Tokens between `<think>` and `</think>` in the target (0 for answer-only). */
  thinkingTokens: number;
  /** Tokens in prompt + target. */
  sequenceTokens: number;
  lengthTag: LengthTag | null;
}

export interface Sample<P> {
  prompt: string;
  /** Ends with `<eos>`. */
  target: string;
  problem: P;
  meta: SampleMeta;
}

/** A written target before it is wrapped into `<think>…</think><answer>…</answer><eos>`. */
export interface WrittenTarget {
  /** Think text without tags; null for answer-only. */
  think: string | null;
  answer: string;
  intendedCorrect: boolean;
}

export interface GenerateOptions<V extends string> {
  /** Variant id; each task documents its variants (default 'id', the training distribution). */
  variant?: V;
  /** Rejection filter on the canonical problem key (used for the train/eval split). */
  accept?: (key: string) => boolean;
  /** Attempts before giving up with an Error. */
  maxAttempts?: number;
  /** Sokoban only: show the level's start state (episodes, RL, eval) instead of a state along the plan. */
  atStart?: boolean;
}
