/**
 * The one serialisable config object of a playground run: task, model, SFT, evaluation and decoding settings, seed.
 * Plain JSON, nested by concern, every default here. It round-trips through the URL (src/state/url.ts), reaches the
 * worker unchanged and is saved with every run and checkpoint. Untrusted copies (URL, imported files) go through
 * `parseRunConfig`, which names every offending field.
 *
 * The zod schemas below are the one definition of the config: every config type here is the schema's `z.infer`, and
 * each field's documentation sits on its schema entry.
 */
import { z } from 'zod';
import {
  BASELINE_LIMITS,
  batchFitProblem,
  ConfigError,
  type ConfigIssue,
  modelConfigIssues,
  type SizeLimits,
} from '../model/config';
import { arithmetic, getTask, type TaskId } from '../tasks/index';
import { vocabSize } from '../tasks/tokenizer';
import { optimConfigIssues, zodIssues } from './config';
import { DEFAULT_REWARD_CONFIG } from './rewards';

/** Re-exported for the importers of the run config's issues (it lives with the optimiser config, one layer down). */
export { zodIssues };

export const RUN_CONFIG_VERSION = 1;

const int = (lo: number, hi: number) => z.number().int().min(lo).max(hi);
const num = (lo: number, hi: number) => z.number().min(lo).max(hi);
const seedSchema = int(0, 2 ** 31 - 1);
const lengthTagSchema = z.enum(['short', 'medium', 'long']);

export const playgroundModelSchema = z.enum(['tiny', 'small', 'medium', 'narrow']);
export type PlaygroundModel = z.infer<typeof playgroundModelSchema>;
export const PLAYGROUND_MODEL_SIZES = playgroundModelSchema.options;

/** Bounds of `model.contextLength` (tokens); the attention kernels take at most 1024 positions. */
export const MIN_CONTEXT_TOKENS = 8;
export const MAX_CONTEXT_TOKENS = 1024;

/** Model sizes offered in the playground; vocabulary is always the task tokenizer's. */
export const PLAYGROUND_MODELS = {
  /** Trains in seconds per step even on a software adapter. */
  tiny: { contextLength: 64, dModel: 64, nLayers: 2, nHeads: 4, mlpRatio: 4 },
  small: { contextLength: 128, dModel: 128, nLayers: 4, nHeads: 4, mlpRatio: 4 },
  medium: { contextLength: 256, dModel: 192, nLayers: 6, nHeads: 6, mlpRatio: 4 },
  /**
   * medium's context at tiny's width: the reasoning tasks' longest prompts and traces fit, at about 1/16 of medium's
   * compute per token. The generalization lab's 'software' scale trains it on a machine without a GPU.
   */
  narrow: { contextLength: 256, dModel: 64, nLayers: 2, nHeads: 4, mlpRatio: 4 },
} as const satisfies Record<PlaygroundModel, object>;

/** What a decode does at the stopping point. One intervention at a time, so each chart series isolates one method. */
export const interventionSchema = z.enum(['none', 'ts', 'bias', 'cap', 'extend', 'ts_logit', 'margin']);
export type Intervention = z.infer<typeof interventionSchema>;

export const decodeConfigSchema = z.strictObject({
  /** Global softmax temperature; 0 = greedy. */
  temperature: num(0, 10),
  /** 0 = off. */
  topK: int(0, 1024),
  /** 1 = off. */
  topP: z.number().gt(0).max(1),
  intervention: interventionSchema,
  /** 'ts': temperature τ of the two-way stop/continue decision while thinking (1 = no change). */
  stopTemperature: z.number().gt(0).max(100),
  /** 'bias': added to the `</think>` logit while thinking. */
  stopLogitBias: num(-100, 100),
  /** 'ts_logit' (stop-logit TS): the `</think>` logit is divided by τ_z while thinking, z_stop / τ_z (1 = no change). Absent = 1. */
  stopLogitTemperature: z.number().gt(0).max(100).optional(),
  /** 'margin' (ThinkBrake): stop when log p(top) − log p(`</think>`) < δ nats while thinking (0 = never). Absent = 0. */
  stopMarginNats: num(0, 50).optional(),
  /** 'margin': apply the rule only right after a step boundary (`;`) instead of at every token. Absent = false. */
  stopMarginAtSteps: z.boolean().optional(),
  /** 'cap' (s1 budget forcing): force `</think>` once thinking reaches this many tokens. */
  thinkingBudgetTokens: int(0, 1024),
  /** 'extend' (s1): while thinking is shorter than this, a sampled `</think>` is replaced by "Wait"… */
  minThinkingTokens: int(0, 1024),
  /** …at most this many times per completion. */
  maxExtensions: int(0, 16),
  /** Generated tokens per completion (also bounded by the context). */
  maxNewTokens: int(1, 1024),
});
export type DecodeConfig = z.infer<typeof decodeConfigSchema>;

export const evalConfigSchema = z.strictObject({
  /** Problems in the fixed evaluation set (held-out split). */
  size: int(1, 4096),
  /** Task variant the evaluation set is drawn from. */
  variant: z.string().min(1).max(64),
  /** Seed of the evaluation set and of sampling. */
  seed: seedSchema,
  /** TLDR: length tag put before every prompt (`<short>`, `<medium>`, `<long>`); absent or null = untagged. */
  lengthTag: lengthTagSchema.nullable().optional(),
});
export type EvalConfig = z.infer<typeof evalConfigSchema>;

/** The tasks a config may name: every TaskId of src/tasks (tests/train/run_config.test.ts checks both agree). */
const CONFIG_TASK_IDS = ['arithmetic', 'general_points', 'sokoban'] as const satisfies readonly TaskId[];

export const taskSettingsSchema = z.strictObject({
  id: z.enum(CONFIG_TASK_IDS),
  /** 'cot': `<think>` trace then answer; 'answer': answer only. */
  targetStyle: z.enum(['cot', 'answer']),
  /** 'diverse' needs a task with a diverse-instruction variant (Sokoban, General Points). */
  instructions: z.enum(['fixed', 'diverse']),
  /** Arithmetic only: operand digits, trace style and thinking cap (the others use their task defaults). */
  arithmeticMaxDigits: int(1, 6),
  /** 'review': distilled, with slips fixed only by a review pass after the result (stopping early costs accuracy). */
  arithmeticTraceStyle: z.enum(['distilled', 'concise', 'review']),
  arithmeticMaxThinkTokens: int(8, 400),
});
export type TaskSettings = z.infer<typeof taskSettingsSchema>;

export const sftConfigSchema = z.strictObject({
  steps: int(1, 1_000_000),
  batchSize: int(1, 1024),
  /**
   * 'fixed' (default; absent reads as 'fixed'): the training set is `trainSize` examples drawn once from the seed,
   * visited epoch by epoch. 'fresh': every row of every step is a new example from the task's generator (training
   * split only), a pure function of (seed, step, row), so examples rarely repeat; `trainSize` then only sizes the
   * probe set that fixes the training window T (src/train/data.ts).
   */
  data: z.enum(['fixed', 'fresh']).optional(),
  /** Examples in the training set (drawn once from the seed); with fresh data, the probe set that fixes T. */
  trainSize: int(1, 200_000),
  learningRate: z.number().gt(0).max(1),
  warmupSteps: int(0, 1_000_000),
  weightDecay: num(0, 10),
  gradClipNorm: num(0, 1000),
  /** Held-out loss every this many steps (0 = never). */
  evalLossEverySteps: int(0, 1_000_000),
  /** Sample generations every this many steps (0 = never). */
  samplesEverySteps: int(0, 1_000_000),
  /** Weights saved (to IndexedDB, by the UI) every this many steps. */
  checkpointEverySteps: int(1, 1_000_000),
  /**
   * TLDR warm start: each training prompt gets the length tag of its own trace (`<short>` below `shortBelow` thinking
   * tokens, `<long>` from `longFrom`, `<medium>` between), so the model learns what the tags mean before RL.
   * `untaggedPercent` of the problems (by problem key and seed) stay untagged, so the same SFT model also answers
   * plain prompts (the baseline and decode-time interventions). Absent or null: untagged prompts.
   */
  lengthTags: z
    .strictObject({ shortBelow: int(1, 4096), longFrom: int(1, 4096), untaggedPercent: int(0, 100).optional() })
    .nullable()
    .optional(),
});
export type SftConfig = z.infer<typeof sftConfigSchema>;
export type SftDataMode = NonNullable<SftConfig['data']>;

/** The run's SFT data mode: `sft.data`, 'fixed' when absent (configs saved before the field existed). */
export function sftDataMode(c: RunConfig): SftDataMode {
  return c.sft.data ?? 'fixed';
}

/**
 * GRPO / TLDR settings (src/train/grpo.ts), continuing from an SFT checkpoint. Defaults follow Hugging Face TRL's
 * GRPOConfig where it has the same option (loss_type 'dapo', epsilon 0.2, epsilon_high = epsilon, beta 0,
 * num_iterations 1, scale_rewards 'group', mask_truncated_completions false, temperature 1, max_grad_norm 1,
 * weight_decay 0, constant learning rate); sizes and the learning rate are scaled to the playground's small models.
 * `loss` is grpo_loss.ts's GrpoLossConfig less maxCompletionLength (which is `maxCompletionTokens`), `scaleRewards`
 * its AdvantageScale and `reward` rewards.ts's RewardConfig: the sessions pass them on, so the compiler checks that
 * they agree.
 */
export const rlConfigSchema = z.strictObject({
  /** RL optimiser steps (the step counter restarts at 0 from the SFT checkpoint). */
  steps: int(1, 1_000_000),
  /** P: prompts drawn per step (training split). */
  promptsPerStep: int(1, 1024),
  /** G: completions sampled per prompt (one group). */
  generationsPerPrompt: int(2, 64),
  /** Constant learning rate of the RL AdamW (fresh moments). */
  learningRate: z.number().gt(0).max(1),
  gradClipNorm: num(0, 1000),
  /**
   * Rollout sampling temperature. Must be 1 in v1: the loss's log-probabilities are those of the unscaled logits
   * (T = 1), so any other temperature would make the sampling policy differ from the one the ratio assumes.
   */
  temperature: z.number().refine((t) => t === 1, 'must be 1 (the loss takes log-probabilities at temperature 1)'),
  /** Most generated tokens per completion (also bounded by the context); dr_grpo's normaliser. */
  maxCompletionTokens: int(1, 1024),
  /** The loss (grpo_loss.ts); its maxCompletionLength is `maxCompletionTokens`. */
  loss: z.strictObject({
    lossType: z.enum(['grpo', 'dr_grpo', 'dapo']),
    epsilon: z.number().min(0).lt(1),
    epsilonHigh: num(0, 10),
    beta: num(0, 100),
    maskTruncatedCompletions: z.boolean(),
  }),
  /** μ: updates per batch of rollouts (> 1: the ratio is taken against the log-probs before the first update). */
  numIterations: int(1, 16),
  scaleRewards: z.enum(['group', 'batch', 'none']),
  /** Floor of the advantage divisor (see groupAdvantages). */
  stdFloor: num(0, 1),
  reward: z.strictObject({
    formatReward: num(0, 10),
    lengthPenalty: z.enum(['none', 'budget', 'group']),
    lambda: num(0, 100),
    budgets: z.strictObject({ short: int(1, 4096), medium: int(1, 4096), long: int(1, 4096) }),
  }),
  /** Length tags mixed in every batch (prompt i of step s gets levels[(s·P + i) mod L]); empty: plain GRPO. */
  levels: z.array(lengthTagSchema).max(3),
  /** Greedy samples of held-out prompts every this many steps (0 = never). */
  evalEverySteps: int(0, 1_000_000),
  /** Weights emitted as a checkpoint every this many steps. */
  checkpointEverySteps: int(1, 1_000_000),
});
export type RlConfig = z.infer<typeof rlConfigSchema>;

export const runConfigSchema = z.strictObject({
  version: z.literal(RUN_CONFIG_VERSION),
  seed: seedSchema,
  task: taskSettingsSchema,
  model: z.strictObject({
    size: playgroundModelSchema,
    /**
     * Positions the model attends over (tokens), instead of its size's context; absent: the size's (a run saved
     * before this field existed keeps the context it was trained with). The playground fits it to the task when
     * `tiny` is chosen (src/train/context_fit.ts).
     */
    contextLength: int(MIN_CONTEXT_TOKENS, MAX_CONTEXT_TOKENS).optional(),
  }),
  sft: sftConfigSchema,
  eval: evalConfigSchema,
  decode: decodeConfigSchema,
  /** RL stage settings; absent: DEFAULT_RL_CONFIG (see rlConfigFor). */
  rl: rlConfigSchema.optional(),
});
export type RunConfig = z.infer<typeof runConfigSchema>;

export const DEFAULT_RL_CONFIG: RlConfig = {
  steps: 200,
  promptsPerStep: 6,
  generationsPerPrompt: 8,
  learningRate: 1e-4,
  gradClipNorm: 1,
  temperature: 1,
  maxCompletionTokens: 96,
  loss: { lossType: 'dapo', epsilon: 0.2, epsilonHigh: 0.2, beta: 0, maskTruncatedCompletions: false },
  numIterations: 1,
  scaleRewards: 'group',
  stdFloor: 1e-4,
  reward: DEFAULT_REWARD_CONFIG,
  levels: ['short', 'medium', 'long'],
  evalEverySteps: 20,
  checkpointEverySteps: 50,
};

/** The run's RL settings (the defaults when the config has none). */
export function rlConfigFor(c: RunConfig): RlConfig {
  return c.rl ?? DEFAULT_RL_CONFIG;
}

export const DEFAULT_DECODE_CONFIG: DecodeConfig = {
  temperature: 0,
  topK: 0,
  topP: 1,
  intervention: 'none',
  stopTemperature: 1,
  stopLogitBias: 0,
  stopLogitTemperature: 1,
  stopMarginNats: 1,
  stopMarginAtSteps: false,
  thinkingBudgetTokens: 32,
  minThinkingTokens: 32,
  maxExtensions: 2,
  maxNewTokens: 128,
};

export const DEFAULT_RUN_CONFIG: RunConfig = {
  version: RUN_CONFIG_VERSION,
  seed: 1,
  task: {
    id: 'arithmetic',
    targetStyle: 'cot',
    instructions: 'fixed',
    arithmeticMaxDigits: 2,
    arithmeticTraceStyle: 'distilled',
    arithmeticMaxThinkTokens: 90,
  },
  model: { size: 'small' },
  sft: {
    steps: 3000,
    batchSize: 32,
    data: 'fixed',
    trainSize: 8000,
    learningRate: 3e-3,
    warmupSteps: 20,
    weightDecay: 0.1,
    gradClipNorm: 1,
    evalLossEverySteps: 25,
    samplesEverySteps: 50,
    checkpointEverySteps: 50,
  },
  eval: { size: 256, variant: 'id', seed: 1000 },
  decode: DEFAULT_DECODE_CONFIG,
};

/** Every problem with an untrusted run config (empty when valid), including cross-field rules. */
export function runConfigIssues(input: unknown, limits: SizeLimits = BASELINE_LIMITS): ConfigIssue[] {
  return checkRunConfig(input, limits).issues;
}

/** The config as the schema parsed it (null when it did not) and every problem, cross-field rules included. */
function checkRunConfig(input: unknown, limits: SizeLimits): { config: RunConfig | null; issues: ConfigIssue[] } {
  const parsed = runConfigSchema.safeParse(input);
  if (!parsed.success) return { config: null, issues: zodIssues(parsed.error) };
  const c = parsed.data;
  const issues: ConfigIssue[] = [];
  const task = getTask(c.task.id);
  if (c.task.instructions === 'diverse' && task.diverseVariant === null) {
    issues.push({ path: 'task.instructions', message: `task '${c.task.id}' has no diverse-instruction variant` });
  }
  const tags = c.sft.lengthTags;
  if (tags && tags.shortBelow >= tags.longFrom) {
    issues.push({
      path: 'sft.lengthTags',
      message: `shortBelow (${tags.shortBelow}) must be below longFrom (${tags.longFrom})`,
    });
  }
  if (!task.variants.includes(c.eval.variant)) {
    issues.push({
      path: 'eval.variant',
      message: `task '${c.task.id}' has no variant '${c.eval.variant}' (variants: ${task.variants.join(', ')})`,
    });
  }
  issues.push(...modelConfigIssues(modelConfigFor(c), limits));
  issues.push(...optimConfigIssues(optimConfigFor(c), 'sft'));
  if (c.rl) issues.push(...rlConfigIssues(c.rl));
  return { config: c, issues };
}

/** The config without its RL settings (absent `rl`: the defaults, see rlConfigFor). */
function withoutRl(c: RunConfig): RunConfig {
  const { rl: _rl, ...rest } = c;
  return rest;
}

/**
 * The problems that block the SFT stage: every issue of the config except those of its RL settings, which only the
 * RL stage reads (the RL panel shows them and blocks its own start). The config is checked without `rl` rather than
 * filtered, because a schema failure inside `rl` would otherwise hide the cross-field issues of the other sections.
 * With the WebGPU device's limits (`device`; null: none known, or the CPU backend, which has none), the sizes are
 * checked against them, the batch too (sft.batchSize), at the model's full context: the trainer's own check (at the
 * longest training example, which only building the data set tells) never refuses a batch this one passes.
 */
export function sftConfigIssues(c: RunConfig, device: SizeLimits | null = null): ConfigIssue[] {
  const issues = runConfigIssues(withoutRl(c), device ?? BASELINE_LIMITS);
  if (issues.length > 0 || device === null) return issues;
  const model = modelConfigFor(c);
  const problem = batchFitProblem(model, c.sft.batchSize, model.contextLength, device);
  return problem === null ? [] : [{ path: 'sft.batchSize', message: problem }];
}

/**
 * The config an SFT run is started (and saved) with: `c` itself, less its RL settings when those are invalid, so
 * the worker accepts it while the RL panel still holds the edits (the RL stage takes the panel's settings when it
 * starts). Only meaningful when `sftConfigIssues(c)` is empty.
 */
export function sftRunConfig(c: RunConfig, limits: SizeLimits = BASELINE_LIMITS): RunConfig {
  if (c.rl === undefined || runConfigIssues(c, limits).length === 0) return c;
  return withoutRl(c);
}

/** The config an RL stage trains with, or every issue that keeps it from starting (see rlStageConfig). */
export type RlStageConfig = { ok: true; config: RunConfig } | { ok: false; issues: ConfigIssue[] };

/**
 * The config of an RL stage begun on a run whose config is `runConfig`: the run's own settings (what its SFT
 * trained: model, task, evaluation) with the RL settings being edited (`editedRl`), else the run's, else the
 * defaults. The edited SFT settings play no part, so they cannot block (or leak into) the stage; the store's
 * startRl and the RL panel's Start button both use this one rule.
 */
export function rlStageConfig(
  runConfig: RunConfig,
  editedRl: RlConfig | undefined,
  limits: SizeLimits = BASELINE_LIMITS,
): RlStageConfig {
  const config: RunConfig = { ...runConfig, rl: editedRl ?? rlConfigFor(runConfig) };
  const issues = runConfigIssues(config, limits);
  return issues.length === 0 ? { ok: true, config } : { ok: false, issues };
}

/** Cross-field rules of an RL config that passed the schema. */
function rlConfigIssues(rl: RlConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const b = rl.reward.budgets;
  if (!(b.short <= b.medium && b.medium <= b.long)) {
    issues.push({ path: 'rl.reward.budgets', message: 'must satisfy short ≤ medium ≤ long' });
  }
  if (new Set(rl.levels).size !== rl.levels.length) {
    issues.push({ path: 'rl.levels', message: 'must not repeat a level' });
  }
  if (rl.promptsPerStep < rl.levels.length) {
    issues.push({
      path: 'rl.promptsPerStep',
      message: `must be at least the number of levels (${rl.levels.length}) so every batch mixes all of them`,
    });
  }
  return issues;
}

/** The optimiser config of the RL stage: constant learning rate, no weight decay (TRL's defaults). */
export function rlOptimConfigFor(c: RunConfig) {
  const rl = rlConfigFor(c);
  return {
    learningRate: rl.learningRate,
    minLearningRateRatio: 1,
    warmupSteps: 0,
    decaySteps: Math.max(1, rl.steps),
    weightDecay: 0,
    beta1: 0.9,
    beta2: 0.99,
    eps: 1e-8,
    gradClipNorm: rl.gradClipNorm,
  };
}

/** Whether `input` is a valid run config: the schema and the cross-field rules (runConfigIssues). */
export function isRunConfig(input: unknown, limits: SizeLimits = BASELINE_LIMITS): input is RunConfig {
  return runConfigIssues(input, limits).length === 0;
}

/** `input` itself, typed, or a ConfigError listing every problem. */
export function parseRunConfig(input: unknown, limits: SizeLimits = BASELINE_LIMITS): RunConfig {
  if (isRunConfig(input, limits)) return input;
  throw new ConfigError(runConfigIssues(input, limits));
}

/** The context a run's model has (tokens): its own `model.contextLength`, else its size's. */
export function contextLengthFor(model: RunConfig['model']): number {
  return model.contextLength ?? PLAYGROUND_MODELS[model.size].contextLength;
}

/** The model config a run trains: the playground size (and context), the tokenizer's vocabulary, the run's seed. */
export function modelConfigFor(c: RunConfig) {
  return { vocabSize, ...PLAYGROUND_MODELS[c.model.size], contextLength: contextLengthFor(c.model), seed: c.seed };
}

/** The optimiser config of the SFT stage (cosine decay over the run's steps). */
export function optimConfigFor(c: RunConfig) {
  return {
    learningRate: c.sft.learningRate,
    minLearningRateRatio: 0.1,
    warmupSteps: c.sft.warmupSteps,
    decaySteps: Math.max(c.sft.steps, c.sft.warmupSteps + 1),
    weightDecay: c.sft.weightDecay,
    beta1: 0.9,
    beta2: 0.95,
    eps: 1e-8,
    gradClipNorm: c.sft.gradClipNorm,
  };
}

/** The task's own config object for a run (task defaults plus the playground's knobs). */
export function taskConfigFor(c: Pick<RunConfig, 'task'>): unknown {
  const task = getTask(c.task.id);
  if (c.task.id === 'arithmetic') {
    return {
      ...arithmetic.DEFAULT_ARITHMETIC_CONFIG,
      maxDigits: c.task.arithmeticMaxDigits,
      maxThinkTokens: c.task.arithmeticMaxThinkTokens,
      trace: arithmetic.TRACE_STYLES[c.task.arithmeticTraceStyle],
    };
  }
  return task.defaultConfig;
}
