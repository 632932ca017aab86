/**
 * The run record's pure rules (src/runs/run_record.ts): the runs list's step display per stage, and how an
 * interrupted run resumes (SFT, its RL stage from an RL checkpoint, or the RL stage restarted from the SFT weights).
 */
import { describe, expect, it } from 'vitest';
import { hasRlSteps, resumePlanFor, stepsLabel, totalStepsOf } from '../../src/runs/run_record';
import { DEFAULT_RL_CONFIG, DEFAULT_RUN_CONFIG, type RunConfig } from '../../src/train/run_config';

const sftOnly: RunConfig = { ...DEFAULT_RUN_CONFIG, sft: { ...DEFAULT_RUN_CONFIG.sft, steps: 4 } };
const withRl = (numIterations: number): RunConfig => ({
  ...sftOnly,
  rl: { ...DEFAULT_RL_CONFIG, steps: 5, numIterations },
});

describe('stepsLabel', () => {
  it('shows SFT steps alone for an SFT-only run', () => {
    expect(stepsLabel({ stepsDone: 3, config: sftOnly })).toBe('step 3/4');
    expect(stepsLabel({ stepsDone: 4, config: sftOnly, rlStartStep: null })).toBe('step 4/4');
  });

  it('shows the SFT steps before the RL stage and the RL steps done of rl.steps', () => {
    expect(stepsLabel({ stepsDone: 5, config: withRl(1), rlStartStep: 4 })).toBe('SFT 4/4 · RL 1/5');
    expect(stepsLabel({ stepsDone: 9, config: withRl(2), rlStartStep: 4 })).toBe('SFT 4/4 · RL 5/5');
    // RL begun from an SFT run stopped early, before its first RL step.
    expect(stepsLabel({ stepsDone: 2, config: withRl(1), rlStartStep: 2 })).toBe('SFT 2/4 · RL 0/5');
    // A run with an RL stage but no rl settings stored: the defaults' step count.
    expect(stepsLabel({ stepsDone: 6, config: sftOnly, rlStartStep: 4 })).toBe(
      `SFT 4/4 · RL 2/${DEFAULT_RL_CONFIG.steps}`,
    );
  });
});

describe('resumePlanFor', () => {
  it('resumes SFT for a run without an RL stage', () => {
    expect(resumePlanFor({ config: sftOnly }, 3)).toEqual({ stage: 'sft' });
    expect(resumePlanFor({ config: withRl(1), rlStartStep: null }, 3)).toEqual({ stage: 'sft' });
  });

  it('resumes the RL stage from a checkpoint after its start, counting optimiser steps μ per RL step', () => {
    expect(resumePlanFor({ config: withRl(1), rlStartStep: 4 }, 6)).toEqual({
      stage: 'rl',
      rlStartStep: 4,
      rlStepsDone: 2,
      optimiserSteps: 2,
    });
    expect(resumePlanFor({ config: withRl(3), rlStartStep: 4 }, 6)).toEqual({
      stage: 'rl',
      rlStartStep: 4,
      rlStepsDone: 2,
      optimiserSteps: 6,
    });
  });

  it('restarts the RL stage when it had saved no checkpoint yet (the stored one is the SFT one)', () => {
    expect(resumePlanFor({ config: withRl(2), rlStartStep: 4 }, 4)).toEqual({ stage: 'rl-restart', rlStartStep: 4 });
    // An older checkpoint than the stage's start: the only weights there are, so the stage starts there.
    expect(resumePlanFor({ config: withRl(2), rlStartStep: 4 }, 3)).toEqual({ stage: 'rl-restart', rlStartStep: 3 });
  });

  it('refuses a checkpoint step that is not a non-negative integer', () => {
    expect(() => resumePlanFor({ config: sftOnly }, -1)).toThrow(/checkpointStep/);
    expect(() => resumePlanFor({ config: withRl(1), rlStartStep: 4 }, 4.5)).toThrow(/checkpointStep/);
  });
});

describe('hasRlSteps', () => {
  it('is true only when the timeline has steps after the RL stage began', () => {
    expect(hasRlSteps({ stepsDone: 4, rlStartStep: null })).toBe(false);
    expect(hasRlSteps({ stepsDone: 4, rlStartStep: undefined })).toBe(false);
    // A stage stopped before its first step: it may start again.
    expect(hasRlSteps({ stepsDone: 4, rlStartStep: 4 })).toBe(false);
    expect(hasRlSteps({ stepsDone: 5, rlStartStep: 4 })).toBe(true);
  });
});

describe('totalStepsOf', () => {
  it("counts the RL stage's steps after the SFT steps it began from (never 'step 5/4')", () => {
    expect(totalStepsOf({ config: sftOnly })).toBe(4);
    expect(totalStepsOf({ config: sftOnly, rlStartStep: null })).toBe(4);
    // 4 SFT steps, then an RL stage of rl.steps = 5: the timeline has 9 steps, whatever the optimiser steps per RL step.
    expect(totalStepsOf({ config: withRl(3), rlStartStep: 4 })).toBe(9);
    // A stage begun from an earlier checkpoint (step 2) of the SFT run.
    expect(totalStepsOf({ config: withRl(1), rlStartStep: 2 })).toBe(7);
  });
});
