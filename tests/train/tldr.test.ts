/**
 * TLDR (length-regularised GRPO with short / medium / long levels): after a short run, mean thinking lengths are
 * ordered short < medium < long, and the levels whose budget binds got shorter.
 *
 * Setup: one-digit arithmetic with distilled traces (8 to 16 thinking tokens; 8 is the shortest trace a problem
 * has), on a 1-layer dModel-32 model with a context of 40. SFT is TLDR's warm start as the pipeline runs it
 * (config.sft.lengthTags): each prompt carries the level of its own trace (short below 10 thinking tokens, long from
 * 14). TLDR then penalises thinking beyond the level's budget (short 8, medium 10, long 16 = no pressure).
 *
 * What is measured is the rollout policy itself (T = 1): the per-level mean thinking length of the step-1 rollouts
 * (before any update: the SFT model) and of the last five steps. A first version started from randomly tagged SFT
 * (tags carrying no length information) to see TLDR create the ordering from nothing; on this task it cannot: the
 * shortest traces are also the most accurate (distilled traces slip more the longer they run), so every level
 * collapses to 8 tokens within ten steps.
 *
 * It runs on the CPU backend (the same GrpoSession code as WebGPU; tests/train/grpo.test.ts checks that one GPU step
 * equals the CPU step) because the run samples about 100 000 tokens, minutes on a software adapter.
 */
import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/model/config';
import { vocabSize } from '../../src/tasks/tokenizer';
import type { LengthTag } from '../../src/tasks/types';
import type { TrainerState } from '../../src/train/backend';
import { createCpuBackend } from '../../src/train/backend_cpu';
import { DEFAULT_OPTIM_CONFIG } from '../../src/train/config';
import { CpuTrainer } from '../../src/train/cpu_trainer';
import { batchAt, buildSftData } from '../../src/train/data';
import { GrpoSession, type RlSessionEvent } from '../../src/train/grpo';
import { METRIC, RL_THINKING_TOKENS_BY_LEVEL } from '../../src/train/metrics';
import { DEFAULT_RL_CONFIG, DEFAULT_RUN_CONFIG, type RunConfig } from '../../src/train/run_config';

const model: ModelConfig = { vocabSize, contextLength: 40, dModel: 32, nLayers: 1, nHeads: 2, mlpRatio: 2, seed: 7 };
const LEVELS: readonly LengthTag[] = ['short', 'medium', 'long'];
const SFT_STEPS = 150;
const RL_STEPS = 20;

const config: RunConfig = {
  ...DEFAULT_RUN_CONFIG,
  seed: 11,
  task: { ...DEFAULT_RUN_CONFIG.task, arithmeticMaxDigits: 1, arithmeticMaxThinkTokens: 16, targetStyle: 'cot' },
  sft: { ...DEFAULT_RUN_CONFIG.sft, batchSize: 16, trainSize: 512, lengthTags: { shortBelow: 10, longFrom: 14 } },
  eval: { ...DEFAULT_RUN_CONFIG.eval, size: 16 },
  rl: {
    ...DEFAULT_RL_CONFIG,
    steps: RL_STEPS,
    promptsPerStep: 12,
    generationsPerPrompt: 8,
    learningRate: 1e-3,
    maxCompletionTokens: 32,
    levels: [...LEVELS],
    evalEverySteps: 0,
    checkpointEverySteps: 1000,
    reward: {
      ...DEFAULT_RL_CONFIG.reward,
      formatReward: 0.1,
      lengthPenalty: 'budget',
      lambda: 1,
      budgets: { short: 8, medium: 10, long: 16 },
    },
  },
};

/** Length-tagged SFT (the CPU trainer, the pipeline's data): a pure function of the config. */
async function taggedSft(): Promise<TrainerState> {
  const data = { ...buildSftData(config), seqLen: model.contextLength };
  expect(data.droppedFraction).toBe(0); // every example fits the context
  const optim = { ...DEFAULT_OPTIM_CONFIG, learningRate: 1e-2, warmupSteps: 10, decaySteps: SFT_STEPS };
  const trainer = new CpuTrainer(model, optim, data.batchSize, model.contextLength);
  for (let s = 0; s < SFT_STEPS; s++) await trainer.step(batchAt(data, s));
  return trainer.readState();
}

describe('TLDR length control (CPU backend)', () => {
  it('orders mean thinking lengths short < medium < long after a short run', async () => {
    const events: RlSessionEvent[] = [];
    const session = new GrpoSession(createCpuBackend(), config, (e) => events.push(e), await taggedSft(), {
      model,
      logWindowMs: 0,
    });
    await session.run();
    await session.destroy();
    const perStep = events.flatMap((e) => (e.type === 'metrics' && METRIC.rlRewardMean in e.values ? [e.values] : []));
    expect(perStep).toHaveLength(RL_STEPS);
    const meanOf = (steps: typeof perStep, level: LengthTag) =>
      steps.reduce((a, v) => a + v[RL_THINKING_TOKENS_BY_LEVEL[level]]!, 0) / steps.length;
    const before = Object.fromEntries(LEVELS.map((l) => [l, meanOf(perStep.slice(0, 1), l)]));
    const after = Object.fromEntries(LEVELS.map((l) => [l, meanOf(perStep.slice(-5), l)]));
    // The SFT model already follows its tags (the warm start worked).
    expect(before.short!).toBeLessThan(before.medium!);
    expect(before.medium!).toBeLessThan(before.long!);
    // After TLDR the order holds with room to spare. Each after-mean averages 5 steps × 32 rollouts of a level; the
    // per-step spread of a level's mean is about ±0.6 tokens (medium) to ±1.2 (long), so a margin of 0.5 tokens on
    // the 5-step mean is about 2 standard errors of their difference.
    expect(after.medium! - after.short!).toBeGreaterThan(0.5);
    expect(after.long! - after.medium!).toBeGreaterThan(0.5);
    // The medium budget (10) binds on the SFT model (about 11 tokens): TLDR brings the level within it.
    expect(before.medium!).toBeGreaterThan(config.rl!.reward.budgets.medium);
    expect(after.medium!).toBeLessThanOrEqual(config.rl!.reward.budgets.medium);
    // And the reward rose: the first step's mean against the last five's.
    const reward = (steps: typeof perStep) => steps.reduce((a, v) => a + v[METRIC.rlRewardMean]!, 0) / steps.length;
    expect(reward(perStep.slice(-5))).toBeGreaterThan(reward(perStep.slice(0, 1)));
  }, 300_000);
});
