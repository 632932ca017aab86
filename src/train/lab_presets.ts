/**
 * The SFT-generalization lab's methods: the second paper's comparison (answer-only vs chain-of-thought SFT, fixed vs
 * diverse instructions, against GRPO warm-started from a short SFT), as RunConfigs for a task. The playground queues
 * them one at a time and the headless runner runs them from a matrix preset (experiments/generalization-*.json); both
 * save one run per method with its suite results, and the results matrix puts the runs side by side.
 *
 * Every method of a task shares the model, seed, batch and evaluation settings, so a row differs from another only in
 * what the method changes.
 *
 * The GRPO row starts from a short chain-of-thought SFT on fixed instructions and is rewarded by the environment, per
 * turn: r = 1[the answer names an optimal action of the state shown] + 0.1·1[well formed] (General Points: 1[the
 * verifier accepts the formula] + 0.1·1[well formed]), no length term. Sokoban's RL prompts are states along levels'
 * optimal plans (buildRlPrompts), the turns an episode meets. Sokoban prompts (a 6×6 board and an action line, up to 179 tokens with a trace) need the
 * 'medium' model's context of 256; General Points five-card traces do too.
 */
import { getTask } from '../tasks/index';
import type { TaskId } from '../tasks/types';
import { DEFAULT_RL_CONFIG, DEFAULT_RUN_CONFIG, type RunConfig } from './run_config';

export type LabMethodId = 'answer' | 'diverse_answer' | 'cot' | 'diverse_cot' | 'grpo';

export interface LabMethod {
  id: LabMethodId;
  /** Row label in the matrix, also the run's name prefix. */
  label: string;
  /** Whether the method needs a task with a diverse-instruction variant (Sokoban and General Points have one). */
  needsDiverse: boolean;
}

export const LAB_METHODS: readonly LabMethod[] = [
  { id: 'answer', label: 'SFT answer-only', needsDiverse: false },
  { id: 'diverse_answer', label: 'SFT diverse + answer-only', needsDiverse: true },
  { id: 'cot', label: 'SFT chain-of-thought', needsDiverse: false },
  { id: 'diverse_cot', label: 'SFT diverse + chain-of-thought', needsDiverse: true },
  { id: 'grpo', label: 'GRPO (from short SFT)', needsDiverse: false },
];

/** Tasks the lab runs (the paper's two). */
export type LabTask = Extract<TaskId, 'sokoban' | 'general_points'>;
export const LAB_TASKS: readonly LabTask[] = ['sokoban', 'general_points'];

/**
 * Scale of a lab run:
 * - 'paper': the published preset, for a GPU ('medium' model, 3000 SFT steps of 32).
 * - 'software': sized for a machine without a GPU (Sokoban's five methods took 49 minutes on two quiet cores with
 *   Dawn's OpenGL ES backend on Mesa llvmpipe; docs/generalization-lab.md): the 'narrow' model (medium's context, tiny's width), 200 SFT steps of 8, and for
 *   GRPO 100 SFT steps and 10 RL steps of 8 prompts × 4.
 *   Too little training to reproduce the paper; it measures the matrix end to end at a scale such a machine affords.
 * - 'smoke': a few steps of the 'small' model with batch 2, for checking the pipeline end to end. Its context (128)
 *   holds answer-only Sokoban and General Points prompts but not Sokoban's chain-of-thought targets, so a smoke run
 *   of a CoT method on Sokoban is refused by the SFT data check ("none of the training examples fits").
 */
export type LabScale = 'paper' | 'software' | 'smoke';
export const LAB_SCALES: readonly LabScale[] = ['paper', 'software', 'smoke'];

const SCALE = {
  paper: {
    sftSteps: 3000,
    warmStartSteps: 500,
    rlSteps: 300,
    batchSize: 32,
    // Fresh data (sft.data 'fresh'): a new example every row of every step; trainSize only sizes the probe set that
    // fixes the training window. (A fixed set of 8000, twelve passes in 3000 steps of 32, was memorised by diverse +
    // CoT on an H200: docs/generalization-lab.md.)
    trainSize: 8000,
    evalSize: 128,
    maxNewTokens: 160,
    model: 'medium' as const,
  },
  software: {
    sftSteps: 200,
    warmStartSteps: 100,
    rlSteps: 10,
    batchSize: 8,
    // Fresh data; the probe set for the window (200 steps of 8 see 1600 examples).
    trainSize: 1600,
    evalSize: 16,
    maxNewTokens: 160,
    model: 'narrow' as const,
  },
  smoke: {
    sftSteps: 2,
    warmStartSteps: 2,
    rlSteps: 1,
    batchSize: 2,
    trainSize: 64,
    evalSize: 4,
    maxNewTokens: 16,
    model: 'small' as const,
  },
};

/** GRPO groups per step: prompts × generations per prompt. */
const RL_GROUPS: Record<LabScale, { promptsPerStep: number; generationsPerPrompt: number }> = {
  paper: { promptsPerStep: 16, generationsPerPrompt: 8 },
  software: { promptsPerStep: 8, generationsPerPrompt: 4 },
  smoke: { promptsPerStep: 2, generationsPerPrompt: 2 },
};

/** The run config of one method on a task. */
export function labConfig(task: LabTask, method: LabMethodId, scale: LabScale = 'paper', seed = 1): RunConfig {
  const s = SCALE[scale];
  const base: RunConfig = {
    ...DEFAULT_RUN_CONFIG,
    seed,
    task: { ...DEFAULT_RUN_CONFIG.task, id: task, targetStyle: 'cot', instructions: 'fixed' },
    model: { size: s.model },
    sft: {
      ...DEFAULT_RUN_CONFIG.sft,
      steps: s.sftSteps,
      batchSize: s.batchSize,
      data: 'fresh',
      trainSize: s.trainSize,
      learningRate: 1e-3,
      samplesEverySteps: scale === 'smoke' ? 0 : DEFAULT_RUN_CONFIG.sft.samplesEverySteps,
      evalLossEverySteps: scale === 'smoke' ? 0 : DEFAULT_RUN_CONFIG.sft.evalLossEverySteps,
    },
    eval: { ...DEFAULT_RUN_CONFIG.eval, size: s.evalSize },
    decode: { ...DEFAULT_RUN_CONFIG.decode, temperature: 0, maxNewTokens: s.maxNewTokens },
  };
  switch (method) {
    case 'answer':
      return { ...base, task: { ...base.task, targetStyle: 'answer' } };
    case 'diverse_answer':
      return { ...base, task: { ...base.task, targetStyle: 'answer', instructions: 'diverse' } };
    case 'cot':
      return base;
    case 'diverse_cot':
      return { ...base, task: { ...base.task, instructions: 'diverse' } };
    case 'grpo':
      return {
        ...base,
        sft: { ...base.sft, steps: s.warmStartSteps },
        rl: {
          ...DEFAULT_RL_CONFIG,
          steps: s.rlSteps,
          promptsPerStep: RL_GROUPS[scale].promptsPerStep,
          generationsPerPrompt: RL_GROUPS[scale].generationsPerPrompt,
          learningRate: 5e-5,
          maxCompletionTokens: s.maxNewTokens,
          levels: [],
          reward: { ...DEFAULT_RL_CONFIG.reward, lengthPenalty: 'none' },
          evalEverySteps: 0,
        },
      };
  }
}

/** The methods a task can run (the diverse ones need a task with a diverse-instruction variant). */
export function labMethodsFor(task: LabTask): LabMethod[] {
  const hasDiverse = getTask(task).diverseVariant !== null;
  return LAB_METHODS.filter((m) => hasDiverse || !m.needsDiverse);
}
