/**
 * The one serialisable config object of a playground run: task, model, SFT, evaluation and decoding settings, seed.
 * Plain JSON, nested by concern, every default here. It round-trips through the URL (src/state/url.ts), reaches the
 * worker unchanged and is saved with every run and checkpoint. Untrusted copies (URL, imported files) go through
 * `parseRunConfig`, which names every offending field.
 */
import { z } from 'zod';
import { BASELINE_LIMITS, ConfigError, type ConfigIssue, modelConfigIssues, type SizeLimits } from '../model/config';
import { arithmetic, getTask, type TaskId } from '../tasks/index';
import { vocabSize } from '../tasks/tokenizer';
import { optimConfigIssues } from './config';

export const RUN_CONFIG_VERSION = 1;

/** Model sizes offered in the playground; vocabulary is always the task tokenizer's. */
export const PLAYGROUND_MODELS = {
  /** Trains in seconds per step even on a software adapter. */
  tiny: { contextLength: 64, dModel: 64, nLayers: 2, nHeads: 4, mlpRatio: 4 },
  small: { contextLength: 128, dModel: 128, nLayers: 4, nHeads: 4, mlpRatio: 4 },
  medium: { contextLength: 256, dModel: 192, nLayers: 6, nHeads: 6, mlpRatio: 4 },
} as const;
export type PlaygroundModel = keyof typeof PLAYGROUND_MODELS;

/** What a decode does at the stopping point. One intervention at a time, so each chart series isolates one method. */
export type Intervention = 'none' | 'ts' | 'bias' | 'cap' | 'extend';

export interface DecodeConfig {
  /** Global softmax temperature; 0 = greedy. */
  temperature: number;
  /** 0 = off. */
  topK: number;
  /** 1 = off. */
  topP: number;
  intervention: Intervention;
  /** 'ts': temperature τ of the two-way stop/continue decision while thinking (1 = no change). */
  stopTemperature: number;
  /** 'bias': added to the `</think>` logit while thinking. */
  stopLogitBias: number;
  /** 'cap' (s1 budget forcing): force `</think>` once thinking reaches this many tokens. */
  thinkingBudgetTokens: number;
  /** 'extend' (s1): while thinking is shorter than this, a sampled `</think>` is replaced by "Wait"… */
  minThinkingTokens: number;
  /** …at most this many times per completion. */
  maxExtensions: number;
  /** Generated tokens per completion (also bounded by the context). */
  maxNewTokens: number;
}

export interface EvalConfig {
  /** Problems in the fixed evaluation set (held-out split). */
  size: number;
  /** Task variant the evaluation set is drawn from. */
  variant: string;
  /** Seed of the evaluation set and of sampling. */
  seed: number;
}

export interface TaskSettings {
  id: TaskId;
  /** 'cot': `<think>` trace then answer; 'answer': answer only. */
  targetStyle: 'cot' | 'answer';
  /** 'diverse' needs a task with a diverse-instruction variant (Sokoban). */
  instructions: 'fixed' | 'diverse';
  /** Arithmetic only: operand digits, trace style and thinking cap (the others use their task defaults). */
  arithmeticMaxDigits: number;
  arithmeticTraceStyle: 'distilled' | 'concise';
  arithmeticMaxThinkTokens: number;
}

export interface SftConfig {
  steps: number;
  batchSize: number;
  /** Examples in the training set (drawn once from the seed). */
  trainSize: number;
  learningRate: number;
  warmupSteps: number;
  weightDecay: number;
  gradClipNorm: number;
  /** Held-out loss every this many steps (0 = never). */
  evalLossEverySteps: number;
  /** Sample generations every this many steps (0 = never). */
  samplesEverySteps: number;
  /** Weights saved (to IndexedDB, by the UI) every this many steps. */
  checkpointEverySteps: number;
}

export interface RunConfig {
  version: typeof RUN_CONFIG_VERSION;
  seed: number;
  task: TaskSettings;
  model: { size: PlaygroundModel };
  sft: SftConfig;
  eval: EvalConfig;
  decode: DecodeConfig;
}

export const DEFAULT_DECODE_CONFIG: DecodeConfig = {
  temperature: 0,
  topK: 0,
  topP: 1,
  intervention: 'none',
  stopTemperature: 1,
  stopLogitBias: 0,
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

const int = (lo: number, hi: number) => z.number().int().min(lo).max(hi);
const num = (lo: number, hi: number) => z.number().min(lo).max(hi);

export const decodeConfigSchema = z.strictObject({
  temperature: num(0, 10),
  topK: int(0, 1024),
  topP: z.number().gt(0).max(1),
  intervention: z.enum(['none', 'ts', 'bias', 'cap', 'extend']),
  stopTemperature: z.number().gt(0).max(100),
  stopLogitBias: num(-100, 100),
  thinkingBudgetTokens: int(0, 1024),
  minThinkingTokens: int(0, 1024),
  maxExtensions: int(0, 16),
  maxNewTokens: int(1, 1024),
});

export const evalConfigSchema = z.strictObject({
  size: int(1, 4096),
  variant: z.string().min(1).max(64),
  seed: int(0, 2 ** 31 - 1),
});

export const runConfigSchema = z.strictObject({
  version: z.literal(RUN_CONFIG_VERSION),
  seed: int(0, 2 ** 31 - 1),
  task: z.strictObject({
    id: z.enum(['arithmetic', 'general_points', 'sokoban']),
    targetStyle: z.enum(['cot', 'answer']),
    instructions: z.enum(['fixed', 'diverse']),
    arithmeticMaxDigits: int(1, 6),
    arithmeticTraceStyle: z.enum(['distilled', 'concise']),
    arithmeticMaxThinkTokens: int(8, 400),
  }),
  model: z.strictObject({ size: z.enum(['tiny', 'small', 'medium']) }),
  sft: z.strictObject({
    steps: int(1, 1_000_000),
    batchSize: int(1, 1024),
    trainSize: int(1, 200_000),
    learningRate: z.number().gt(0).max(1),
    warmupSteps: int(0, 1_000_000),
    weightDecay: num(0, 10),
    gradClipNorm: num(0, 1000),
    evalLossEverySteps: int(0, 1_000_000),
    samplesEverySteps: int(0, 1_000_000),
    checkpointEverySteps: int(1, 1_000_000),
  }),
  eval: evalConfigSchema,
  decode: decodeConfigSchema,
});

/** zod issues as `path: message` pairs with dotted paths ("sft.batchSize"). */
export function zodIssues(error: z.ZodError, prefix = ''): ConfigIssue[] {
  return error.issues.map((i) => ({
    path: [prefix, ...i.path.map(String)].filter((s) => s !== '').join('.') || '(root)',
    message: i.message,
  }));
}

/** Every problem with an untrusted run config (empty when valid), including cross-field rules. */
export function runConfigIssues(input: unknown, limits: SizeLimits = BASELINE_LIMITS): ConfigIssue[] {
  const parsed = runConfigSchema.safeParse(input);
  if (!parsed.success) return zodIssues(parsed.error);
  const c = parsed.data as RunConfig;
  const issues: ConfigIssue[] = [];
  const task = getTask(c.task.id);
  if (c.task.instructions === 'diverse' && task.diverseVariant === null) {
    issues.push({ path: 'task.instructions', message: `task '${c.task.id}' has no diverse-instruction variant` });
  }
  if (!task.variants.includes(c.eval.variant)) {
    issues.push({
      path: 'eval.variant',
      message: `task '${c.task.id}' has no variant '${c.eval.variant}' (variants: ${task.variants.join(', ')})`,
    });
  }
  issues.push(...modelConfigIssues(modelConfigFor(c), limits));
  issues.push(...optimConfigIssues(optimConfigFor(c), 'sft'));
  return issues;
}

/** The config typed, or a ConfigError listing every problem. */
export function parseRunConfig(input: unknown, limits: SizeLimits = BASELINE_LIMITS): RunConfig {
  const issues = runConfigIssues(input, limits);
  if (issues.length > 0) throw new ConfigError(issues);
  return input as RunConfig;
}

/** The model config a run trains: the playground size, the tokenizer's vocabulary, the run's seed. */
export function modelConfigFor(c: RunConfig) {
  return { vocabSize, ...PLAYGROUND_MODELS[c.model.size], seed: c.seed };
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
export function taskConfigFor(c: RunConfig): unknown {
  const task = getTask(c.task.id);
  if (c.task.id === 'arithmetic') {
    return {
      ...arithmetic.DEFAULT_ARITHMETIC_CONFIG,
      maxDigits: c.task.arithmeticMaxDigits,
      maxThinkTokens: c.task.arithmeticMaxThinkTokens,
      trace: c.task.arithmeticTraceStyle === 'concise' ? arithmetic.CONCISE_STYLE : arithmetic.DISTILLED_STYLE,
    };
  }
  return task.defaultConfig;
}
