/**
 * The model's one serialisable config object, its presets and its validation. Validation runs before any GPU
 * allocation and names the offending field.
 */
import { vocabSize as TASK_VOCAB_SIZE } from '../tasks/tokenizer';
import { MAX_MESSAGE_CHARS, quoteValue, truncate } from '../util/text';
import { buildParamLayout } from './params';

export interface ModelConfig {
  /** Number of token ids, including special tokens. */
  vocabSize: number;
  /** Longest sequence the model sees (learned position embeddings have this many rows). */
  contextLength: number;
  /** Width of the residual stream, C. */
  dModel: number;
  nLayers: number;
  /** Attention heads; dModel must be divisible by it. Head size = dModel / nHeads. */
  nHeads: number;
  /** MLP hidden width = mlpRatio · dModel. */
  mlpRatio: number;
  /** Seed of the weight initialisation. */
  seed: number;
}

/**
 * Model shapes for benchmarks and tests. The task-sized ones take the tasks' tokenizer vocabulary (src/tasks/tokenizer.ts,
 * a leaf module), so a change to the tokenizer cannot leave them behind; `small` keeps the benchmark's fixed 64.
 */
export const MODEL_PRESETS = {
  /** Quick to train even on a software adapter. */
  tiny: { vocabSize: TASK_VOCAB_SIZE, contextLength: 64, dModel: 64, nLayers: 2, nHeads: 4, mlpRatio: 4, seed: 1 },
  /** The benchmark shape: vocabulary 64, context 128, d_model 128, 4 layers, 4 heads. */
  small: { vocabSize: 64, contextLength: 128, dModel: 128, nLayers: 4, nHeads: 4, mlpRatio: 4, seed: 1 },
  /** For the reasoning tasks on a real GPU (context fits every default task trace). */
  medium: { vocabSize: TASK_VOCAB_SIZE, contextLength: 256, dModel: 192, nLayers: 6, nHeads: 6, mlpRatio: 4, seed: 1 },
  /** medium's context at tiny's width: the lab's 'software' scale, for a machine without a GPU. */
  narrow: { vocabSize: TASK_VOCAB_SIZE, contextLength: 256, dModel: 64, nLayers: 2, nHeads: 4, mlpRatio: 4, seed: 1 },
} as const satisfies Record<string, ModelConfig>;

export type ModelPreset = keyof typeof MODEL_PRESETS;

/** A problem with a config or input, with the field path it concerns ("model.dModel"). */
export interface ConfigIssue {
  path: string;
  message: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly issues: ConfigIssue[]) {
    super(truncate(issues.map((i) => `${i.path}: ${i.message}`).join('; '), MAX_MESSAGE_CHARS));
  }
}

/** Device limits that bound model and batch sizes (a subset of GPUSupportedLimits). */
export interface SizeLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

/** Default limits every WebGPU implementation supports, used when no device is at hand. */
export const BASELINE_LIMITS: SizeLimits = { maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 256 * 2 ** 20 };

export function checkPositiveInteger(issues: ConfigIssue[], path: string, value: unknown, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    issues.push({ path, message: `must be an integer, got ${quoteValue(value)}` });
  } else if (value < 1) {
    issues.push({ path, message: `must be at least 1, got ${value}` });
  } else if (value > max) {
    issues.push({ path, message: `must be at most ${max}, got ${value}` });
  }
}

/** Largest activation (elements) for batch B × T, to check against device limits before allocating. */
export function largestActivationElements(config: ModelConfig, B: number, T: number): number {
  const N = B * T;
  return Math.max(N * mlpWidth(config), N * config.vocabSize, N * 3 * config.dModel);
}

/** The largest batch whose activations for windows of T tokens fit one storage binding of `limits` (≥ 0). */
export function largestBatchThatFits(config: ModelConfig, T: number, limits: SizeLimits): number {
  return Math.floor(limits.maxStorageBufferBindingSize / (largestActivationElements(config, 1, T) * 4));
}

/**
 * Why batch B of T-token windows does not fit the device (null when it does): its largest activation must fit one
 * storage binding (maxStorageBufferBindingSize). The trainer checks this before allocating (checkBatchFits); the UI
 * checks the same while the batch is typed, with the adapter's limits.
 */
export function batchFitProblem(config: ModelConfig, B: number, T: number, limits: SizeLimits): string | null {
  const bytes = largestActivationElements(config, B, T) * 4;
  if (bytes <= limits.maxStorageBufferBindingSize) return null;
  return (
    `batch ${B} × ${T} tokens needs a ${bytes}-byte activation, over the device's maxStorageBufferBindingSize ` +
    `${limits.maxStorageBufferBindingSize}: use a batch of at most ${largestBatchThatFits(config, T, limits)}`
  );
}

/** Throws a RangeError when batch B × T is malformed or does not fit the device (batchFitProblem). */
export function checkBatchFits(config: ModelConfig, B: number, T: number, limits: SizeLimits): void {
  if (!Number.isInteger(B) || B < 1) throw new RangeError(`batch size must be a positive integer, got ${B}`);
  if (!Number.isInteger(T) || T < 1 || T > config.contextLength) {
    throw new RangeError(`sequence length ${T} must be an integer in [1, contextLength = ${config.contextLength}]`);
  }
  const problem = batchFitProblem(config, B, T, limits);
  if (problem !== null) throw new RangeError(problem);
}

/** Largest single tensor (elements) the model's parameters need. */
function largestParamElements(c: ModelConfig): number {
  const C = c.dModel;
  const F = c.mlpRatio * C;
  return Math.max(c.vocabSize * C, c.contextLength * C, 3 * C * C, F * C);
}

/** Every problem with `config` (empty when valid). `limits` bounds tensor sizes. */
export function modelConfigIssues(
  config: unknown,
  limits: SizeLimits = BASELINE_LIMITS,
  prefix = 'model',
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    return [{ path: prefix, message: 'must be an object' }];
  }
  const c = config as Record<string, unknown>;
  const known = ['vocabSize', 'contextLength', 'dModel', 'nLayers', 'nHeads', 'mlpRatio', 'seed'];
  for (const key of Object.keys(c)) {
    if (!known.includes(key))
      issues.push({ path: `${prefix}.${truncate(key, 64)}`, message: 'is not a model config field' });
  }
  // The sampler keeps one row of probabilities in workgroup memory (shaders/sample_tokens.wgsl): V ≤ 1024.
  checkPositiveInteger(issues, `${prefix}.vocabSize`, c.vocabSize, 1024);
  if (c.vocabSize === 0) issues.push({ path: `${prefix}.vocabSize`, message: 'the vocabulary is empty' });
  // Kernels keep one row of logits per workgroup and one query row of scores in workgroup memory.
  checkPositiveInteger(issues, `${prefix}.contextLength`, c.contextLength, 1024);
  checkPositiveInteger(issues, `${prefix}.dModel`, c.dModel, 2048);
  checkPositiveInteger(issues, `${prefix}.nLayers`, c.nLayers, 64);
  checkPositiveInteger(issues, `${prefix}.nHeads`, c.nHeads, 64);
  checkPositiveInteger(issues, `${prefix}.mlpRatio`, c.mlpRatio, 16);
  if (typeof c.seed !== 'number' || !Number.isSafeInteger(c.seed)) {
    issues.push({ path: `${prefix}.seed`, message: `must be a safe integer, got ${quoteValue(c.seed)}` });
  }
  if (issues.length > 0) return issues;
  const m = c as unknown as ModelConfig;
  if (m.dModel % m.nHeads !== 0) {
    issues.push({
      path: `${prefix}.nHeads`,
      message: `dModel (${m.dModel}) must be divisible by nHeads (${m.nHeads})`,
    });
  } else if (m.dModel / m.nHeads > 128) {
    issues.push({ path: `${prefix}.nHeads`, message: `head size dModel/nHeads = ${m.dModel / m.nHeads} exceeds 128` });
  }
  const bytes = largestParamElements(m) * 4;
  if (bytes > limits.maxStorageBufferBindingSize) {
    issues.push({
      path: prefix,
      message: `largest weight matrix needs ${bytes} bytes, over the device's maxStorageBufferBindingSize ${limits.maxStorageBufferBindingSize}`,
    });
    return issues;
  }
  // The parameters live in one arena buffer (so do their gradients and AdamW moments), bound whole by AdamW and the
  // gradient norm: it must fit both one buffer and one storage binding.
  const arenaBytes = buildParamLayout(m).totalElements * 4;
  const [limitName, limit] =
    limits.maxStorageBufferBindingSize <= limits.maxBufferSize
      ? ['maxStorageBufferBindingSize', limits.maxStorageBufferBindingSize]
      : ['maxBufferSize', limits.maxBufferSize];
  if (arenaBytes > limit) {
    issues.push({
      path: prefix,
      message: `the parameter arena needs ${arenaBytes} bytes, over the device's ${limitName} ${limit}`,
    });
  }
  return issues;
}

/** Returns the config typed, or throws a ConfigError listing every problem. */
export function validateModelConfig(config: unknown, limits: SizeLimits = BASELINE_LIMITS): ModelConfig {
  const issues = modelConfigIssues(config, limits);
  if (issues.length > 0) throw new ConfigError(issues);
  return config as ModelConfig;
}

export function headSize(c: ModelConfig): number {
  return c.dModel / c.nHeads;
}

export function mlpWidth(c: ModelConfig): number {
  return c.mlpRatio * c.dModel;
}

/** Rejects token ids that are not integers in [0, vocabSize). */
export function checkTokenIds(ids: ArrayLike<number>, vocabSize: number, what = 'tokens'): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new RangeError(`${what}[${i}] = ${id} is outside the vocabulary [0, ${vocabSize})`);
    }
  }
}

/** Rejects next-token targets that are neither −1 (no loss at this position) nor a token id in [0, vocabSize). */
export function checkTargetIds(ids: ArrayLike<number>, vocabSize: number, what = 'targets'): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id !== -1 && (!Number.isInteger(id) || id < 0 || id >= vocabSize)) {
      throw new RangeError(`${what}[${i}] = ${id} is outside the vocabulary [0, ${vocabSize}) and is not −1 (ignore)`);
    }
  }
}
