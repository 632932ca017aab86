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
} as const;

export type MetricKey = (typeof METRIC)[keyof typeof METRIC];

export const METRIC_KEYS: readonly MetricKey[] = Object.values(METRIC);
