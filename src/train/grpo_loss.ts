/**
 * The GRPO loss core: group advantages, the clipped surrogate objective with an optional k3 KL penalty, and the
 * per-token weights that make the trainer's weighted cross-entropy step (trainer.ts / cpu_trainer.ts) take the
 * gradient of that loss. Pure TypeScript; the GPU only sees a batch of per-token weights, so the policy gradient runs
 * through the same fused cross-entropy kernel as SFT instead of a CPU loop over logits.
 *
 * Semantics follow Hugging Face TRL's GRPOTrainer options of the same names (loss_type, epsilon, epsilon_high, beta,
 * mask_truncated_completions, max_completion_length, scale_rewards), with token-level importance sampling and one
 * process. Per completion token t of sequence i, with logp = log π_θ(token), r = exp(logp − logp_old):
 *
 *   J_t  = min(r·A_i, clip(r, 1 − ε, 1 + ε_high)·A_i) − β·KL_t,   KL_t = exp(ref − logp) − (ref − logp) − 1   (k3)
 *   L    = −Σ_t a_t·J_t
 *   a_t  = grpo:    1 / (B · n_i)                 (mean over each sequence's tokens, then over the B sequences)
 *          dr_grpo: 1 / (B · maxCompletionLength)
 *          dapo:    1 / Σ_i n_i                   (all completion tokens of the batch)
 *
 * n_i is sequence i's completion-token count (clamped to ≥ 1 as TRL does); with maskTruncatedCompletions, truncated
 * sequences contribute no tokens (their n_i is 0) but still count in B, as in TRL.
 *
 * The cross-entropy kernel writes dlogits_t = w_t·(softmax − onehot) = −w_t·∂logπ_t/∂logits_t, the gradient of
 * Σ w_t·(−logπ_t). The chain rule gives ∂L/∂logits_t = (∂L/∂logπ_t)·∂logπ_t/∂logits_t, so the step takes ∇L when
 *
 *   w_t = −∂L/∂logπ_t = a_t·(r·A·[not clipped] − β·(1 − exp(ref − logp)))
 *
 * using ∂r/∂logp = r, ∂KL/∂logp = 1 − exp(ref − logp), and a clipped branch that is constant in θ. "Clipped" means
 * the clipped branch is the active min and strictly differs from the unclipped one: A > 0 and r > 1 + ε_high ("high"),
 * or A < 0 and r < 1 − ε ("low"); TRL's clip-ratio metrics use the same conditions.
 */
import type { StepStats, TrainBackend } from './backend';

export type AdvantageScale = 'group' | 'batch' | 'none';

/**
 * Group-relative advantages, as TRL: A = (r − group mean) / s, with s the group's sample standard deviation ('group',
 * TRL's default), the whole batch's ('batch'), or no division ('none'). Standard deviations are unbiased (n − 1, like
 * torch.std). TRL divides by s + 1e-4; here the divisor is max(s, stdFloor), which bounds |A| the same way without
 * shrinking advantages of well-spread groups. A group whose rewards are all equal gets exactly 0 (never NaN, even
 * when the floating-point mean differs from the rewards in the last bit). Rewards are laid out group by group:
 * rewards[g·groupSize … (g+1)·groupSize − 1] belong to group g.
 */
export function groupAdvantages(
  rewards: readonly number[],
  groupSize: number,
  scale: AdvantageScale,
  stdFloor: number,
): Float64Array {
  if (!Number.isInteger(groupSize) || groupSize < 1) {
    throw new RangeError(`groupSize must be a positive integer, got ${groupSize}`);
  }
  if (rewards.length % groupSize !== 0) {
    throw new RangeError(`rewards has ${rewards.length} entries, not a multiple of groupSize = ${groupSize}`);
  }
  if (scale !== 'group' && scale !== 'batch' && scale !== 'none') {
    throw new RangeError(`scale must be 'group', 'batch' or 'none', got ${String(scale)}`);
  }
  if (!Number.isFinite(stdFloor) || stdFloor < 0) {
    throw new RangeError(`stdFloor must be a finite number ≥ 0, got ${stdFloor}`);
  }
  rewards.forEach((r, i) => {
    if (!Number.isFinite(r)) throw new RangeError(`rewards[${i}] = ${r} is not finite`);
  });
  const out = new Float64Array(rewards.length);
  const batchStd = sampleStd(rewards, 0, rewards.length);
  for (let g = 0; g < rewards.length; g += groupSize) {
    let min = rewards[g]!;
    let max = min;
    let sum = 0;
    for (let i = g; i < g + groupSize; i++) {
      min = Math.min(min, rewards[i]!);
      max = Math.max(max, rewards[i]!);
      sum += rewards[i]!;
    }
    if (min === max) continue; // all equal: exactly 0
    const mean = sum / groupSize;
    let divisor = 1;
    if (scale === 'group') divisor = Math.max(sampleStd(rewards, g, g + groupSize), stdFloor);
    else if (scale === 'batch') divisor = Math.max(batchStd, stdFloor);
    // divisor > 0 here: the group is not constant, so its std (and the batch's) is > 0.
    for (let i = g; i < g + groupSize; i++) out[i] = (rewards[i]! - mean) / divisor;
  }
  return out;
}

/** Unbiased standard deviation of values[from, to) (0 for fewer than 2 values). */
function sampleStd(values: readonly number[], from: number, to: number): number {
  const n = to - from;
  if (n < 2) return 0;
  let mean = 0;
  for (let i = from; i < to; i++) mean += values[i]!;
  mean /= n;
  let ss = 0;
  for (let i = from; i < to; i++) ss += (values[i]! - mean) ** 2;
  return Math.sqrt(ss / (n - 1));
}

export type GrpoLossType = 'grpo' | 'dr_grpo' | 'dapo';

export interface GrpoLossConfig {
  lossType: GrpoLossType;
  /** Lower clip range: the ratio is clipped below at 1 − epsilon (TRL: epsilon). */
  epsilon: number;
  /** Upper clip range: clipped above at 1 + epsilonHigh (TRL: epsilon_high; set it to epsilon for symmetric PPO). */
  epsilonHigh: number;
  /** KL penalty coefficient (0: no reference model needed). */
  beta: number;
  /** Truncated completions (no EOS within the budget) contribute nothing to the loss. */
  maskTruncatedCompletions: boolean;
  /** Most tokens a completion may have; dr_grpo's normaliser. */
  maxCompletionLength: number;
}

export function validateGrpoLossConfig(c: GrpoLossConfig): void {
  if (c.lossType !== 'grpo' && c.lossType !== 'dr_grpo' && c.lossType !== 'dapo') {
    throw new RangeError(`grpo.lossType must be 'grpo', 'dr_grpo' or 'dapo', got ${String(c.lossType)}`);
  }
  if (!(c.epsilon >= 0 && c.epsilon < 1)) throw new RangeError(`grpo.epsilon must be in [0, 1), got ${c.epsilon}`);
  if (!(c.epsilonHigh >= 0 && Number.isFinite(c.epsilonHigh))) {
    throw new RangeError(`grpo.epsilonHigh must be a finite number ≥ 0, got ${c.epsilonHigh}`);
  }
  if (!(c.beta >= 0 && Number.isFinite(c.beta)))
    throw new RangeError(`grpo.beta must be finite and ≥ 0, got ${c.beta}`);
  if (!Number.isInteger(c.maxCompletionLength) || c.maxCompletionLength < 1) {
    throw new RangeError(`grpo.maxCompletionLength must be a positive integer, got ${c.maxCompletionLength}`);
  }
}

/** Per-token inputs of the GRPO loss for B sequences of T positions, flattened row-major like a Batch. */
export interface GrpoTokenInput {
  batchSize: number;
  seqLen: number;
  /** [B·T] 1 where position t's target is a completion token (the loss applies there), else 0. */
  completionMask: ArrayLike<number>;
  /** [B] advantage of each sequence (groupAdvantages). */
  advantages: ArrayLike<number>;
  /** [B·T] log π_θ(target) under the current weights (tokenLogprobs). */
  logprobs: ArrayLike<number>;
  /** [B·T] log-probabilities of the policy that sampled the completions; null: the current ones (r = 1, TRL's
   * single-iteration case, where old_per_token_logps is the detached current value). */
  oldLogprobs: ArrayLike<number> | null;
  /** [B·T] log-probabilities under the reference model; required when beta > 0, else may be null. */
  refLogprobs: ArrayLike<number> | null;
  /** [B] whether each completion was cut off at the length limit (no EOS). */
  truncated: ArrayLike<boolean>;
}

export interface GrpoLossResult {
  /** [B·T] per-token weights for the cross-entropy step (0 outside counted completion tokens). */
  weights: Float32Array;
  /** L = −Σ a_t·J_t (f64). */
  loss: number;
  /** Fractions of counted completion tokens whose ratio is clipped below (A < 0, r < 1 − ε) or above. */
  clipFractionLow: number;
  clipFractionHigh: number;
  /** Mean k3 KL over counted completion tokens; null without reference log-probabilities. */
  meanKl: number | null;
  /** Completion tokens that entered the loss (after masking truncated completions). */
  countedTokens: number;
}

/** Computes the GRPO loss and the per-token weights whose weighted cross-entropy gradient is its gradient. */
export function grpoTokenWeights(input: GrpoTokenInput, config: GrpoLossConfig): GrpoLossResult {
  validateGrpoLossConfig(config);
  const { batchSize: B, seqLen: T } = input;
  if (!Number.isInteger(B) || B < 1) throw new RangeError(`batchSize must be a positive integer, got ${B}`);
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`seqLen must be a positive integer, got ${T}`);
  const N = B * T;
  const need = (name: string, a: ArrayLike<unknown> | null, n: number) => {
    if (!a || a.length !== n) throw new RangeError(`${name} has ${a?.length ?? 'no'} entries, expected ${n}`);
  };
  need('completionMask', input.completionMask, N);
  need('advantages', input.advantages, B);
  need('logprobs', input.logprobs, N);
  need('truncated', input.truncated, B);
  if (input.oldLogprobs) need('oldLogprobs', input.oldLogprobs, N);
  if (input.refLogprobs) need('refLogprobs', input.refLogprobs, N);
  if (config.beta > 0 && !input.refLogprobs) throw new RangeError('refLogprobs is required when beta > 0');
  for (let b = 0; b < B; b++) {
    if (!Number.isFinite(input.advantages[b]!)) {
      throw new RangeError(`advantages[${b}] = ${input.advantages[b]} is not finite`);
    }
  }

  // Completion tokens per sequence (before and after masking truncated ones).
  const counts = new Array<number>(B).fill(0);
  for (let b = 0; b < B; b++) {
    let n = 0;
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      const m = input.completionMask[i];
      if (m !== 0 && m !== 1) throw new RangeError(`completionMask[${i}] = ${m} is not 0 or 1`);
      if (m === 0) continue;
      for (const [name, a] of [
        ['logprobs', input.logprobs],
        ['oldLogprobs', input.oldLogprobs],
        ['refLogprobs', input.refLogprobs],
      ] as const) {
        if (a && !Number.isFinite(a[i]!)) throw new RangeError(`${name}[${i}] = ${a[i]} is not finite`);
      }
      n++;
    }
    if (n > config.maxCompletionLength) {
      throw new RangeError(
        `sequence ${b} has ${n} completion tokens, more than maxCompletionLength = ${config.maxCompletionLength}`,
      );
    }
    counts[b] = config.maskTruncatedCompletions && input.truncated[b] ? 0 : n;
  }
  const total = counts.reduce((s, n) => s + n, 0);

  const weights = new Float32Array(N);
  const { epsilon, epsilonHigh, beta, lossType } = config;
  let loss = 0;
  let clippedLow = 0;
  let clippedHigh = 0;
  let klSum = 0;
  for (let b = 0; b < B; b++) {
    if (counts[b] === 0) continue;
    const A = input.advantages[b]!;
    let aggregation: number;
    if (lossType === 'grpo') aggregation = 1 / (B * counts[b]!);
    else if (lossType === 'dr_grpo') aggregation = 1 / (B * config.maxCompletionLength);
    else aggregation = 1 / total;
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      if (input.completionMask[i] === 0) continue;
      const logp = input.logprobs[i]!;
      const r = input.oldLogprobs ? Math.exp(logp - input.oldLogprobs[i]!) : 1;
      const low = A < 0 && r < 1 - epsilon;
      const high = A > 0 && r > 1 + epsilonHigh;
      if (low) clippedLow++;
      if (high) clippedHigh++;
      const clipped = Math.min(Math.max(r, 1 - epsilon), 1 + epsilonHigh);
      let objective = Math.min(r * A, clipped * A);
      let weight = low || high ? 0 : r * A;
      if (input.refLogprobs) {
        const d = input.refLogprobs[i]! - logp;
        const kl = Math.exp(d) - d - 1;
        klSum += kl;
        objective -= beta * kl;
        weight -= beta * (1 - Math.exp(d));
      }
      loss -= aggregation * objective;
      weights[i] = aggregation * weight;
    }
  }
  return {
    weights,
    loss,
    clipFractionLow: total > 0 ? clippedLow / total : 0,
    clipFractionHigh: total > 0 ? clippedHigh / total : 0,
    meanKl: input.refLogprobs ? (total > 0 ? klSum / total : 0) : null,
    countedTokens: total,
  };
}

/** One GRPO batch: token ids and targets as a training Batch, plus the per-token GRPO inputs. */
export interface GrpoBatch {
  /** [B·T] input ids */
  tokens: Int32Array;
  /** [B·T] next-token targets (−1 = none); every completion position must have one. */
  targets: Int32Array;
  completionMask: ArrayLike<number>;
  advantages: ArrayLike<number>;
  oldLogprobs: ArrayLike<number> | null;
  refLogprobs: ArrayLike<number> | null;
  truncated: ArrayLike<boolean>;
}

export interface GrpoStepResult extends Omit<GrpoLossResult, 'weights'> {
  /** The trainer's step: its `loss` is the surrogate Σ w_t·(−logπ_t), not the GRPO loss. */
  stats: StepStats;
  /** [B·T] the current log-probabilities the weights were computed from (before the update). */
  logprobs: Float32Array;
}

/**
 * One GRPO update: current log-probabilities (a forward pass, no update), the GRPO weights from them, then one
 * weighted cross-entropy training step. Works on either backend; the loss is computed on the CPU from the
 * log-probabilities read back.
 */
export async function grpoStep(
  trainer: TrainBackend,
  batch: GrpoBatch,
  config: GrpoLossConfig,
): Promise<GrpoStepResult> {
  validateGrpoLossConfig(config);
  const N = trainer.batchSize * trainer.seqLen;
  if (batch.completionMask.length !== N) {
    throw new RangeError(`completionMask has ${batch.completionMask.length} entries, expected B·T = ${N}`);
  }
  if (batch.targets.length === N) {
    for (let i = 0; i < N; i++) {
      if (batch.completionMask[i] !== 0 && batch.targets[i] === -1) {
        throw new RangeError(`completionMask[${i}] marks a completion token but targets[${i}] is −1`);
      }
    }
  }
  const logprobs = await trainer.tokenLogprobs(batch);
  const { weights, ...result } = grpoTokenWeights(
    {
      batchSize: trainer.batchSize,
      seqLen: trainer.seqLen,
      completionMask: batch.completionMask,
      advantages: batch.advantages,
      logprobs,
      oldLogprobs: batch.oldLogprobs,
      refLogprobs: batch.refLogprobs,
      truncated: batch.truncated,
    },
    config,
  );
  const stats = await trainer.step({ tokens: batch.tokens, targets: batch.targets, weights });
  return { ...result, stats, logprobs };
}
