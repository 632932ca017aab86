/**
 * GRPO / TLDR rewards: each term on hand-worked cases, the group-relative length term against a direct
 * re-implementation on random groups (fast-check), and config validation.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkRewardConfig,
  DEFAULT_REWARD_CONFIG,
  groupRewards,
  type RewardConfig,
  rewardFormula,
  type ScoredCompletion,
} from '../../src/train/rewards';

const c = (over: Partial<RewardConfig> = {}): RewardConfig => ({ ...DEFAULT_REWARD_CONFIG, ...over });
const done = (correct: boolean, thinkingTokens: number, level: ScoredCompletion['level'] = null): ScoredCompletion => ({
  correct,
  wellFormed: true,
  thinkingTokens,
  level,
});

describe('budget penalty (TLDR)', () => {
  it('is zero within the level budget and grows linearly past it', () => {
    const cfg = c({ lambda: 0.5, budgets: { short: 10, medium: 20, long: 40 } });
    const [a, b, d, e] = groupRewards(cfg, [
      done(true, 10, 'short'), // at budget: no penalty
      done(true, 15, 'short'), // 5 over a budget of 10: 0.5 · 5/10 = 0.25
      done(false, 30, 'medium'), // 10 over 20: 0.5 · 10/20 = 0.25, wrong: 0 + 0.1 − 0.25
      done(true, 30, null), // untagged uses medium: 0.25
    ]);
    expect(a!.total).toBeCloseTo(1.1, 12);
    expect(b!.length).toBeCloseTo(-0.25, 12);
    expect(d!.total).toBeCloseTo(0.1 - 0.25, 12);
    expect(e!.length).toBeCloseTo(-0.25, 12);
  });

  it('gives the same thinking length a larger penalty at a shorter level', () => {
    const [s, m, l] = groupRewards(c(), [done(true, 50, 'short'), done(true, 50, 'medium'), done(true, 50, 'long')]);
    expect(s!.total).toBeLessThan(m!.total);
    expect(m!.total).toBeLessThan(l!.total);
  });
});

describe('group-relative length reward', () => {
  it('matches a direct computation on random groups', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ correct: fc.boolean(), thinkingTokens: fc.integer({ min: 0, max: 200 }) }), {
          minLength: 1,
          maxLength: 8,
        }),
        (items) => {
          const group = items.map((i) => done(i.correct, i.thinkingTokens));
          const got = groupRewards(c({ lengthPenalty: 'group', lambda: 1 }), group);
          const min = Math.min(...items.map((i) => i.thinkingTokens));
          const max = Math.max(...items.map((i) => i.thinkingTokens));
          items.forEach((it, k) => {
            const ell = max === min ? 0 : 0.5 - (it.thinkingTokens - min) / (max - min);
            const want = (it.correct ? 1 : 0) + 0.1 + (it.correct ? ell : Math.min(0, ell));
            expect(got[k]!.total).toBeCloseTo(want, 12);
          });
        },
      ),
    );
  });

  it('rewards the shortest correct answer most and never rewards a wrong one for being short', () => {
    const got = groupRewards(c({ lengthPenalty: 'group', lambda: 1 }), [
      done(true, 10),
      done(true, 30),
      done(false, 10),
    ]);
    expect(got[0]!.length).toBeCloseTo(0.5, 12);
    expect(got[1]!.length).toBeCloseTo(-0.5, 12);
    expect(got[2]!.length).toBe(0);
  });
});

describe('config and formula', () => {
  it('rejects bad configs naming the field', () => {
    expect(() => checkRewardConfig(c({ lambda: -1 }))).toThrow(/reward\.lambda/);
    expect(() => checkRewardConfig(c({ budgets: { short: 40, medium: 20, long: 60 } }))).toThrow(/short ≤ medium/);
    expect(() => checkRewardConfig(c({ budgets: { short: 0, medium: 20, long: 60 } }))).toThrow(/budgets\.short/);
    expect(() => checkRewardConfig(DEFAULT_REWARD_CONFIG)).not.toThrow();
  });

  it('renders the formula in use', () => {
    expect(rewardFormula(c())).toMatch(
      /0\.5·max\(0, thinking − B\)\/B, B = 16 \(short\) \/ 32 \(medium\) \/ 64 \(long\)/,
    );
    expect(rewardFormula(c({ lengthPenalty: 'none' }))).toBe('r = 1[correct] + 0.1·1[well-formed]');
  });
});
