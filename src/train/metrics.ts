/**
 * Metric keys: namespaced constants, defined once here and documented in one table (docs/metrics.md). Values in a
 * `metrics` event are per step (training) or per evaluation; charts read only these keys.
 */
export const METRIC = {
  /** Mean masked cross-entropy of the training batch (nats/token). */
  trainLoss: 'train/loss',
  /** Global gradient L2 norm before clipping. */
  trainGradNorm: 'train/grad_norm',
  trainLearningRate: 'train/learning_rate',
  /** Mean masked cross-entropy on a fixed held-out batch (nats/token). */
  evalLoss: 'eval/loss',
  /** Wall time of one optimiser step, averaged over the steps since the last report. */
  stepTimeMs: 'speed/step_time_ms',
  /** Input tokens (batch × sequence) processed per second of training. */
  tokensPerSecond: 'speed/tokens_per_second',
  /** Fraction of the SFT steps done. */
  progressFraction: 'progress/fraction',
  /** Estimated seconds to finish the SFT steps at the current speed. */
  secondsLeft: 'progress/seconds_left',
  /** Fraction of drawn training examples dropped because prompt + target did not fit the context. */
  droppedFraction: 'data/dropped_fraction',
  /** Training rows (examples) processed through the last step of the window: steps done × batch size. */
  examplesSeen: 'data/examples_seen',
  /** Distinct problems (by the task's problem key) among the examples seen. */
  distinctExamples: 'data/distinct_examples',
  // ---- RL (GRPO / TLDR, src/train/grpo.ts): per step over its P·G rollouts; TRL's names where it has one ----
  /** Mean total reward of the step's completions. */
  rlRewardMean: 'rl/reward_mean',
  /** Mean over groups of the group's reward standard deviation (TRL's reward_std). */
  rlRewardStd: 'rl/reward_std',
  /** Fraction of the step's completions the task verifier accepts. */
  rlAccuracy: 'rl/accuracy',
  rlThinkingTokensMean: 'rl/thinking_tokens_mean',
  /** Mean thinking tokens of the completions of prompts tagged with each level. */
  rlThinkingTokensShort: 'rl/thinking_tokens/short',
  rlThinkingTokensMedium: 'rl/thinking_tokens/medium',
  rlThinkingTokensLong: 'rl/thinking_tokens/long',
  rlCompletionTokensMean: 'rl/completion_tokens_mean',
  /** Mean k3 KL to the reference model (only when beta > 0). */
  rlKl: 'rl/kl',
  rlClipFraction: 'rl/clip_fraction',
  rlFracZeroStdGroups: 'rl/frac_zero_std_groups',
  rlTruncatedFraction: 'rl/truncated_fraction',
  /** The GRPO loss (not the trainer's surrogate cross-entropy). */
  rlLoss: 'rl/loss',
} as const;

export type MetricKey = (typeof METRIC)[keyof typeof METRIC];

export const METRIC_KEYS: readonly MetricKey[] = Object.values(METRIC);

/** The per-level thinking-length keys. */
export const RL_THINKING_TOKENS_BY_LEVEL = {
  short: METRIC.rlThinkingTokensShort,
  medium: METRIC.rlThinkingTokensMedium,
  long: METRIC.rlThinkingTokensLong,
} as const;
