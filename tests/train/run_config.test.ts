/**
 * Which issues block each stage (src/train/run_config.ts): the RL settings belong to the RL stage, so invalid ones
 * neither block SFT nor reach the SFT run's config, while every other issue still does; the RL stage takes the run's
 * own config with the edited RL settings, so the edited SFT settings never block it.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { TASK_IDS, type TaskId } from '../../src/tasks/index';
import type { LengthTag } from '../../src/tasks/types';
import type { AdvantageScale, GrpoLossConfig } from '../../src/train/grpo_loss';
import type { RewardConfig } from '../../src/train/rewards';
import {
  DEFAULT_RL_CONFIG,
  DEFAULT_RUN_CONFIG,
  type RlConfig,
  type RunConfig,
  rlStageConfig,
  runConfigIssues,
  runConfigSchema,
  sftConfigIssues,
  sftRunConfig,
} from '../../src/train/run_config';

const withRl = (patch: Partial<RlConfig>, base: RunConfig = DEFAULT_RUN_CONFIG): RunConfig => ({
  ...base,
  rl: { ...DEFAULT_RL_CONFIG, ...patch },
});
const paths = (c: RunConfig) => sftConfigIssues(c).map((i) => i.path);

describe('sftConfigIssues', () => {
  it('ignores RL settings that break the schema or a cross-field rule', () => {
    const outOfRange = withRl({ steps: 0 });
    expect(runConfigIssues(outOfRange).map((i) => i.path)).toContain('rl.steps');
    expect(sftConfigIssues(outOfRange)).toEqual([]);
    const budgets = withRl({ reward: { ...DEFAULT_RL_CONFIG.reward, budgets: { short: 50, medium: 32, long: 64 } } });
    expect(runConfigIssues(budgets).map((i) => i.path)).toEqual(['rl.reward.budgets']);
    expect(sftConfigIssues(budgets)).toEqual([]);
  });

  it('keeps every non-RL issue, including cross-field ones that an RL schema failure would hide', () => {
    const diverse: RunConfig = { ...DEFAULT_RUN_CONFIG, task: { ...DEFAULT_RUN_CONFIG.task, instructions: 'diverse' } };
    const both = withRl({ generationsPerPrompt: 1 }, diverse);
    // The whole-config check stops at the schema failure in `rl` and never reaches the cross-field rule…
    expect(runConfigIssues(both).map((i) => i.path)).toEqual(['rl.generationsPerPrompt']);
    // …which the SFT check still reports.
    expect(paths(both)).toEqual(['task.instructions']);
    const badSft = withRl({ steps: -1 }, { ...DEFAULT_RUN_CONFIG, sft: { ...DEFAULT_RUN_CONFIG.sft, steps: 0 } });
    expect(paths(badSft)).toEqual(['sft.steps']);
  });

  it('is empty for a valid config with or without RL settings', () => {
    expect(sftConfigIssues(DEFAULT_RUN_CONFIG)).toEqual([]);
    expect(sftConfigIssues(withRl({ steps: 5, levels: ['long'] }))).toEqual([]);
  });
});

describe('sftRunConfig', () => {
  it('keeps valid RL settings and an absent rl as they are', () => {
    const valid = withRl({ steps: 7, learningRate: 2e-5 });
    expect(sftRunConfig(valid)).toBe(valid);
    expect(sftRunConfig(DEFAULT_RUN_CONFIG)).toBe(DEFAULT_RUN_CONFIG);
  });

  it('drops invalid RL settings, leaving a config the worker accepts', () => {
    const invalid = withRl({ levels: ['short', 'short'], steps: 9 });
    expect(runConfigIssues(invalid).length).toBeGreaterThan(0);
    const sft = sftRunConfig(invalid);
    expect('rl' in sft).toBe(false);
    expect(sft).toEqual(DEFAULT_RUN_CONFIG);
    expect(runConfigIssues(sft)).toEqual([]);
  });
});

describe('rlStageConfig', () => {
  const run: RunConfig = { ...DEFAULT_RUN_CONFIG, sft: { ...DEFAULT_RUN_CONFIG.sft, steps: 40 } };

  it("takes the run's own settings with the edited RL settings, whatever the edited SFT settings are", () => {
    const editedRl: RlConfig = { ...DEFAULT_RL_CONFIG, steps: 12, learningRate: 2e-5 };
    // The form holds SFT settings the SFT check refuses: a rule over the edited config would block the stage.
    const edited: RunConfig = { ...DEFAULT_RUN_CONFIG, sft: { ...DEFAULT_RUN_CONFIG.sft, batchSize: 0 }, rl: editedRl };
    expect(sftConfigIssues(edited).map((i) => i.path)).toEqual(['sft.batchSize']);
    const stage = rlStageConfig(run, edited.rl);
    expect(stage).toEqual({ ok: true, config: { ...run, rl: editedRl } });
    expect(stage.ok && stage.config.sft).toBe(run.sft);
  });

  it("falls back to the run's RL settings, then to the defaults", () => {
    const ownRl: RlConfig = { ...DEFAULT_RL_CONFIG, steps: 3, levels: [] };
    expect(rlStageConfig({ ...run, rl: ownRl }, undefined)).toEqual({ ok: true, config: { ...run, rl: ownRl } });
    expect(rlStageConfig(run, undefined)).toEqual({ ok: true, config: { ...run, rl: DEFAULT_RL_CONFIG } });
  });

  it('names every issue of the edited RL settings: schema ranges and cross-field rules', () => {
    const outOfRange = rlStageConfig(run, { ...DEFAULT_RL_CONFIG, steps: 0, generationsPerPrompt: 1 });
    expect(outOfRange.ok).toBe(false);
    expect(outOfRange.ok ? [] : outOfRange.issues.map((i) => i.path)).toEqual(['rl.steps', 'rl.generationsPerPrompt']);
    const repeated = rlStageConfig(run, { ...DEFAULT_RL_CONFIG, levels: ['short', 'short'] });
    expect(repeated.ok ? [] : repeated.issues.map((i) => i.path)).toEqual(['rl.levels']);
  });

  it("reports the run's own issues too (a config the worker would refuse)", () => {
    const badRun: RunConfig = { ...run, eval: { ...run.eval, variant: 'no-such-variant' } };
    const stage = rlStageConfig(badRun, DEFAULT_RL_CONFIG);
    expect(stage.ok ? [] : stage.issues.map((i) => i.path)).toEqual(['eval.variant']);
  });
});

describe('the schema is the config', () => {
  it('names every task of src/tasks, and only those', () => {
    expect([...runConfigSchema.shape.task.shape.id.options].sort()).toEqual([...TASK_IDS].sort());
  });

  it('the types the schema infers are the ones the tasks, the loss and the rewards take (checked by tsc)', () => {
    expectTypeOf<RunConfig['task']['id']>().toEqualTypeOf<TaskId>();
    expectTypeOf<RlConfig['loss']>().toEqualTypeOf<Omit<GrpoLossConfig, 'maxCompletionLength'>>();
    expectTypeOf<RlConfig['scaleRewards']>().toEqualTypeOf<AdvantageScale>();
    expectTypeOf<RlConfig['reward']>().toEqualTypeOf<RewardConfig>();
    expectTypeOf<RlConfig['levels']>().toEqualTypeOf<LengthTag[]>();
  });
});
