/**
 * Rewards for GRPO and TLDR (length-regularised RL with short / medium / long control). Pure functions of a scored
 * completion; no GPU.
 *
 * Every completion gets: correctness (1 if the task verifier accepts the answer, else 0), plus `formatReward` if the
 * completion has the expected shape (`<think>…</think><answer>…</answer><eos>`), minus a length penalty:
 *
 *   'budget' (TLDR, per level):  penalty = λ · max(0, thinking − B_level) / B_level
 *                                 B_level = the thinking-token budget of the prompt's level (<short>, <medium>, <long>)
 *   'group'  (group-relative):   within the prompt's group, with Lmin / Lmax the shortest / longest thinking length,
 *                                 ℓ = 0.5 − (thinking − Lmin) / (Lmax − Lmin)  (ℓ = 0 when Lmax = Lmin);
 *                                 reward += λ·ℓ for a correct completion and λ·min(0, ℓ) for a wrong one
 *                                 (shorter than the group's middle earns a bonus only when correct).
 *   'none':                      no length term.
 *
 * `rewardFormula(config)` renders the formula in use as text, shown in the UI and saved with the run.
 */
import type { LengthTag } from '../tasks/types';

export type LengthPenalty = 'none' | 'budget' | 'group';

export interface RewardConfig {
  /** Added when the completion is well formed. */
  formatReward: number;
  lengthPenalty: LengthPenalty;
  /** λ, the weight of the length term. */
  lambda: number;
  /** Thinking-token budget per level ('budget' penalty; prompts without a level use `medium`). */
  budgets: Record<LengthTag, number>;
}

export const DEFAULT_REWARD_CONFIG: RewardConfig = {
  formatReward: 0.1,
  lengthPenalty: 'budget',
  lambda: 0.5,
  budgets: { short: 16, medium: 32, long: 64 },
};

/** What the reward needs to know about one completion. */
export interface ScoredCompletion {
  correct: boolean;
  /** Has `<think>…</think><answer>…</answer>` and ended with `<eos>`. */
  wellFormed: boolean;
  thinkingTokens: number;
  /** Level of the prompt (null: untagged). */
  level: LengthTag | null;
}

export interface RewardParts {
  correctness: number;
  format: number;
  /** The length term as added (≤ 0 for 'budget'; either sign for 'group'). */
  length: number;
  total: number;
}

export function checkRewardConfig(c: RewardConfig): void {
  const bad = (field: string, why: string) => {
    throw new RangeError(`reward.${field}: ${why}`);
  };
  if (!Number.isFinite(c.formatReward) || c.formatReward < 0 || c.formatReward > 10) bad('formatReward', 'in [0, 10]');
  if (!['none', 'budget', 'group'].includes(c.lengthPenalty)) bad('lengthPenalty', "'none', 'budget' or 'group'");
  if (!Number.isFinite(c.lambda) || c.lambda < 0 || c.lambda > 100) bad('lambda', 'in [0, 100]');
  for (const level of ['short', 'medium', 'long'] as const) {
    const b = c.budgets[level];
    if (!Number.isInteger(b) || b < 1 || b > 4096) bad(`budgets.${level}`, 'an integer in [1, 4096]');
  }
  if (!(c.budgets.short <= c.budgets.medium && c.budgets.medium <= c.budgets.long)) {
    bad('budgets', 'must satisfy short ≤ medium ≤ long');
  }
}

/** The budget penalty of one completion (0 when within budget). */
export function budgetPenalty(c: RewardConfig, thinkingTokens: number, level: LengthTag | null): number {
  const budget = c.budgets[level ?? 'medium'];
  return (c.lambda * Math.max(0, thinkingTokens - budget)) / budget;
}

/** Rewards of one group (the G completions of one prompt), in order. */
export function groupRewards(c: RewardConfig, group: readonly ScoredCompletion[]): RewardParts[] {
  const lengths = group.map((g) => g.thinkingTokens);
  const lMin = Math.min(...lengths);
  const lMax = Math.max(...lengths);
  return group.map((g) => {
    const correctness = g.correct ? 1 : 0;
    const format = g.wellFormed ? c.formatReward : 0;
    let length = 0;
    if (c.lengthPenalty === 'budget') {
      length = -budgetPenalty(c, g.thinkingTokens, g.level);
    } else if (c.lengthPenalty === 'group') {
      const ell = lMax === lMin ? 0 : 0.5 - (g.thinkingTokens - lMin) / (lMax - lMin);
      length = c.lambda * (g.correct ? ell : Math.min(0, ell));
    }
    // 0 + (−0) would print as "-0": keep the sum clean.
    return { correctness, format, length: length || 0, total: correctness + format + (length || 0) };
  });
}

/** The reward formula in use, as one line of text (shown in the UI and saved with the run). */
export function rewardFormula(c: RewardConfig): string {
  const base = `r = 1[correct] + ${c.formatReward}·1[well-formed]`;
  switch (c.lengthPenalty) {
    case 'none':
      return base;
    case 'budget':
      return `${base} − ${c.lambda}·max(0, thinking − B)/B, B = ${c.budgets.short} (short) / ${c.budgets.medium} (medium) / ${c.budgets.long} (long)`;
    case 'group':
      return `${base} + ${c.lambda}·(correct ? ℓ : min(0, ℓ)), ℓ = 0.5 − (thinking − Lmin)/(Lmax − Lmin) within the prompt's group`;
  }
}
