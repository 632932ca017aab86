/**
 * A saved run: what IndexedDB stores (src/state/runs_db.ts) and what a run file carries (src/runs/run_file.ts).
 * Plain JSON apart from the checkpoint's Float32Arrays, which live in their own store.
 */
import type { MetricKey } from '../train/metrics';
import type { OracleResult } from '../train/oracle';
import type { EvalPoint, TraceSample } from '../train/results';
import { type RunConfig, rlConfigFor } from '../train/run_config';
import type { SuiteResult } from '../train/suite_types';

export type RunStatus = 'running' | 'paused' | 'stopped' | 'finished' | 'interrupted' | 'imported' | 'error';

export interface MetricPoint {
  step: number;
  /** ms since the run started (training time only). */
  elapsedMs: number;
  values: Partial<Record<MetricKey, number>>;
}

export interface RunRecord {
  /** Unique id (random hex). */
  id: string;
  name: string;
  /** ms since epoch. */
  createdAt: number;
  updatedAt: number;
  config: RunConfig;
  status: RunStatus;
  /** Adapter the run trained on ("NVIDIA … / …", "CPU reference"). */
  adapter: string;
  /** Optimiser steps done. */
  stepsDone: number;
  timeline: MetricPoint[];
  evalPoints: EvalPoint[];
  /** Latest sample generations during training. */
  samples: { step: number; samples: TraceSample[] } | null;
  /** Step of the stored checkpoint (null: none stored). */
  checkpointStep: number | null;
  /**
   * Timeline step at which an RL stage (GRPO / TLDR) began from the SFT weights; absent or null: no RL stage. Steps
   * after it are RL steps (each one RL step on the timeline, whatever the optimiser steps per RL step).
   */
  rlStartStep?: number | null;
  /** Generalization-lab results: one per evaluation suite of the run's task (absent or null: not evaluated). */
  suiteResults?: SuiteResult[] | null;
  /** The oracle stopping frontier of the run's final weights (src/train/oracle.ts); absent or null: not computed. */
  oracle?: OracleResult | null;
}

/**
 * Whether the run has RL steps on its timeline. A stage stopped before its first step left `rlStartStep` set and the
 * SFT weights in place: it may start again (from those weights, at timeline step `rlStartStep`).
 */
export function hasRlSteps(run: Pick<RunRecord, 'stepsDone' | 'rlStartStep'>): boolean {
  return run.rlStartStep != null && run.stepsDone > run.rlStartStep;
}

/**
 * The runs list's step display: "step 4/4" (SFT steps done / sft.steps) for an SFT-only run; for a run with an RL
 * stage "SFT 4/4 · RL 1/5": the SFT steps before the stage, then RL steps done / rl.steps.
 */
export function stepsLabel(run: Pick<RunRecord, 'stepsDone' | 'config' | 'rlStartStep'>): string {
  const sftSteps = run.config.sft.steps;
  const rlStart = run.rlStartStep ?? null;
  if (rlStart === null) return `step ${run.stepsDone}/${sftSteps}`;
  const rlDone = Math.max(0, run.stepsDone - rlStart);
  return `SFT ${rlStart}/${sftSteps} · RL ${rlDone}/${rlConfigFor(run.config).steps}`;
}

/**
 * The steps of the run's whole timeline: sft.steps for an SFT-only run; for a run continued by an RL stage, the SFT
 * steps before the stage plus rl.steps (so a live counter never reads "step 5/4").
 */
export function totalStepsOf(run: Pick<RunRecord, 'config' | 'rlStartStep'>): number {
  const rlStart = run.rlStartStep ?? null;
  return rlStart === null ? run.config.sft.steps : rlStart + rlConfigFor(run.config).steps;
}

/**
 * How an interrupted run continues from its stored checkpoint (see `resumePlanFor`):
 *   - 'sft': the SFT session from the checkpoint (weights, moments, step);
 *   - 'rl-restart': its RL stage had saved no checkpoint yet, so the stored one holds the weights the stage began
 *     from: the stage starts over from them, at timeline step `rlStartStep`;
 *   - 'rl': the RL stage from its checkpoint, `rlStepsDone` RL steps in: the GRPO session gets the checkpoint with
 *     step = `optimiserSteps` (the run stores it under its timeline step; μ = rl.numIterations per RL step).
 */
export type ResumePlan =
  | { stage: 'sft' }
  | { stage: 'rl-restart'; rlStartStep: number }
  | { stage: 'rl'; rlStartStep: number; rlStepsDone: number; optimiserSteps: number };

/**
 * The resume plan of `run` whose stored checkpoint is at timeline step `checkpointStep`. A run without an RL stage
 * resumes SFT; with one (rlStartStep set), a checkpoint after the stage's first step resumes the stage, any other
 * restarts it from that checkpoint (then at its step, the only weights there are to start from).
 */
export function resumePlanFor(run: Pick<RunRecord, 'config' | 'rlStartStep'>, checkpointStep: number): ResumePlan {
  if (!Number.isSafeInteger(checkpointStep) || checkpointStep < 0) {
    throw new RangeError(`checkpointStep must be a non-negative integer, got ${checkpointStep}`);
  }
  const rlStart = run.rlStartStep ?? null;
  if (rlStart === null) return { stage: 'sft' };
  if (checkpointStep <= rlStart) return { stage: 'rl-restart', rlStartStep: checkpointStep };
  const rlStepsDone = checkpointStep - rlStart;
  return {
    stage: 'rl',
    rlStartStep: rlStart,
    rlStepsDone,
    optimiserSteps: rlStepsDone * rlConfigFor(run.config).numIterations,
  };
}
