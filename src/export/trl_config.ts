/**
 * A run's settings as Hugging Face TRL configs: SFTConfig and GRPOConfig field names (TRL_VERSION), one table per
 * config. Each row maps one Stoptime option to a TRL field (`to`) and back (`from`), or names why TRL has no such
 * field (`trl: null`): those are listed in the export's README with their values, never dropped silently.
 *
 *   grpoConfigFor(run)            → { config: GRPOConfig fields, unmapped: options TRL lacks, with values }
 *   rlConfigFromGrpo(config, un…) → the RlConfig again (tests round-trip every RL option through it)
 *
 * Batch sizes assume one process: GRPO's P prompts × G generations per step become per_device_train_batch_size =
 * P·G with one gradient-accumulation step (divide it by the number of processes when launching on several).
 */
import type { RlConfig, RunConfig, SftConfig } from '../train/run_config';
import { rlConfigFor } from '../train/run_config';

/** The TRL release whose option names the mapping follows (GRPOConfig / SFTConfig of huggingface/trl main). */
export const TRL_VERSION = '1.1.0.dev0 (huggingface/trl main, GRPOConfig and SFTConfig as read on 2026-12-04)';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** One Stoptime option of a config section. */
interface OptionRow<C> {
  /** Dotted path in the section (e.g. 'loss.epsilon'). */
  option: string;
  /** TRL field name, or null when TRL has no such option. */
  trl: string | null;
  /** What the option means on the TRL side, or why it has no field. */
  note: string;
  to: (c: C) => Json;
  /** Writes the option back into a draft from the TRL config (and the unmapped values). */
  from: (trl: Record<string, Json>, unmapped: Record<string, Json>, draft: Record<string, unknown>) => void;
}

function setPath(draft: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let o = draft;
  for (const k of keys.slice(0, -1)) {
    o[k] ??= {};
    o = o[k] as Record<string, unknown>;
  }
  o[keys[keys.length - 1]!] = value;
}

/** A row mapped one-to-one onto a TRL field. */
function field<C>(option: string, trl: string, note: string, get: (c: C) => Json): OptionRow<C> {
  return { option, trl, note, to: get, from: (t, _u, d) => setPath(d, option, t[trl]) };
}

/** A row TRL has no field for: its value travels in `unmapped` under the Stoptime name. */
function absent<C>(option: string, note: string, get: (c: C) => Json): OptionRow<C> {
  return { option, trl: null, note, to: get, from: (_t, u, d) => setPath(d, option, u[option]) };
}

export const GRPO_OPTIONS: OptionRow<RlConfig>[] = [
  field('steps', 'max_steps', 'optimiser steps', (c) => c.steps),
  field('generationsPerPrompt', 'num_generations', 'G, completions per prompt', (c) => c.generationsPerPrompt),
  {
    option: 'promptsPerStep',
    trl: 'per_device_train_batch_size',
    note: 'P prompts per step: per_device_train_batch_size = P·G completions (one process, one accumulation step)',
    to: (c) => c.promptsPerStep * c.generationsPerPrompt,
    from: (t, _u, d) =>
      setPath(d, 'promptsPerStep', (t.per_device_train_batch_size as number) / (t.num_generations as number)),
  },
  field('learningRate', 'learning_rate', 'constant (lr_scheduler_type "constant"), AdamW', (c) => c.learningRate),
  field('gradClipNorm', 'max_grad_norm', 'global gradient-norm clip', (c) => c.gradClipNorm),
  field('temperature', 'temperature', 'rollout sampling temperature', (c) => c.temperature),
  field('maxCompletionTokens', 'max_completion_length', "in the target model's tokens", (c) => c.maxCompletionTokens),
  field('loss.lossType', 'loss_type', "'grpo', 'dr_grpo' or 'dapo'", (c) => c.loss.lossType),
  field('loss.epsilon', 'epsilon', 'lower clip of the ratio', (c) => c.loss.epsilon),
  field('loss.epsilonHigh', 'epsilon_high', 'upper clip of the ratio', (c) => c.loss.epsilonHigh),
  field('loss.beta', 'beta', 'KL coefficient (0: no reference model)', (c) => c.loss.beta),
  field(
    'loss.maskTruncatedCompletions',
    'mask_truncated_completions',
    'completions without <eos> leave the loss',
    (c) => c.loss.maskTruncatedCompletions,
  ),
  field('numIterations', 'num_iterations', 'μ, updates per batch of rollouts', (c) => c.numIterations),
  field('scaleRewards', 'scale_rewards', "'group', 'batch' or 'none'", (c) => c.scaleRewards),
  absent(
    'stdFloor',
    'floor of the advantage divisor; TRL divides by std + 1e-4 (a fixed epsilon), so the floor only matches at 1e-4',
    (c) => c.stdFloor,
  ),
  absent('reward', 'the reward is rewards.py (reward_config.json), not a GRPOConfig field', (c) => ({ ...c.reward })),
  absent(
    'levels',
    'length levels mixed per batch; in the export every GRPO prompt row already carries its level tag (grpo/train.jsonl)',
    (c) => [...c.levels],
  ),
  field('evalEverySteps', 'eval_steps', 'evaluation on grpo/eval.jsonl every this many steps (0: never)', (c) =>
    c.evalEverySteps === 0 ? null : c.evalEverySteps,
  ),
  field('checkpointEverySteps', 'save_steps', 'checkpoint every this many steps', (c) => c.checkpointEverySteps),
];

/** Fixed GRPOConfig fields that make TRL do what Stoptime's RL stage does (see rlOptimConfigFor). */
const GRPO_FIXED: Record<string, Json> = {
  gradient_accumulation_steps: 1,
  lr_scheduler_type: 'constant',
  warmup_steps: 0,
  weight_decay: 0,
  adam_beta1: 0.9,
  adam_beta2: 0.99,
  adam_epsilon: 1e-8,
  reward_weights: [1, 1, 1],
  shuffle_dataset: false,
  remove_unused_columns: false,
  logging_steps: 1,
};

export const SFT_OPTIONS: OptionRow<SftConfig>[] = [
  field('steps', 'max_steps', 'optimiser steps', (c) => c.steps),
  field('batchSize', 'per_device_train_batch_size', 'sequences per step (one process)', (c) => c.batchSize),
  field(
    'learningRate',
    'learning_rate',
    'peak; cosine to 10% (cosine_with_min_lr, min_lr_rate 0.1)',
    (c) => c.learningRate,
  ),
  field('warmupSteps', 'warmup_steps', 'linear warmup', (c) => c.warmupSteps),
  field('weightDecay', 'weight_decay', 'AdamW decoupled weight decay', (c) => c.weightDecay),
  field('gradClipNorm', 'max_grad_norm', 'global gradient-norm clip', (c) => c.gradClipNorm),
  field('evalLossEverySteps', 'eval_steps', 'held-out loss every this many steps (0: never)', (c) =>
    c.evalLossEverySteps === 0 ? null : c.evalLossEverySteps,
  ),
  field('checkpointEverySteps', 'save_steps', 'checkpoint every this many steps', (c) => c.checkpointEverySteps),
  absent('trainSize', 'examples drawn: the rows of sft/train.jsonl', (c) => c.trainSize),
  absent(
    'data',
    "'fixed' (absent: 'fixed'): sft/train.jsonl is the training set. 'fresh' (a new example every row of every " +
      'step) has no TRL form, since SFTTrainer trains on a fixed dataset: the export refuses it (trl_export.ts)',
    (c) => c.data ?? 'fixed',
  ),
  absent(
    'samplesEverySteps',
    'sample generations during training: TRL has no such callback option',
    (c) => c.samplesEverySteps,
  ),
  absent(
    'lengthTags',
    'TLDR warm start: already applied to the prompts of sft/train.jsonl',
    (c) => c.lengthTags ?? null,
  ),
];

const SFT_FIXED: Record<string, Json> = {
  gradient_accumulation_steps: 1,
  lr_scheduler_type: 'cosine_with_min_lr',
  lr_scheduler_kwargs: { min_lr_rate: 0.1 },
  adam_beta1: 0.9,
  adam_beta2: 0.95,
  adam_epsilon: 1e-8,
  completion_only_loss: true,
  logging_steps: 10,
};

export interface MappedConfig {
  /** TRL config fields (JSON): `GRPOConfig(**config)` / `SFTConfig(**config)`. */
  config: Record<string, Json>;
  /** Stoptime options TRL has no field for, with their values (listed in the export's README). */
  unmapped: Record<string, Json>;
}

function mapWith<C>(rows: readonly OptionRow<C>[], fixed: Record<string, Json>, c: C, seed: number): MappedConfig {
  const config: Record<string, Json> = { ...fixed, seed };
  const unmapped: Record<string, Json> = {};
  for (const row of rows) {
    if (row.trl === null) unmapped[row.option] = row.to(c);
    else config[row.trl] = row.to(c);
  }
  if (config.eval_steps !== null && config.eval_steps !== undefined) config.eval_strategy = 'steps';
  else {
    config.eval_strategy = 'no';
    delete config.eval_steps;
  }
  config.save_strategy = 'steps';
  return { config, unmapped };
}

function unmapWith<C>(rows: readonly OptionRow<C>[], m: MappedConfig): C {
  const config = { ...m.config };
  if (config.eval_strategy === 'no') config.eval_steps = 0;
  const draft: Record<string, unknown> = {};
  for (const row of rows) row.from(config, m.unmapped, draft);
  return draft as C;
}

/** The run's RL settings as GRPOConfig fields. */
export function grpoConfigFor(run: RunConfig): MappedConfig {
  return mapWith(GRPO_OPTIONS, GRPO_FIXED, rlConfigFor(run), run.seed);
}

/** The RlConfig a GRPO mapping came from (inverse of grpoConfigFor's table). */
export function rlConfigFromGrpo(m: MappedConfig): RlConfig {
  return unmapWith(GRPO_OPTIONS, m);
}

/** The run's SFT settings as SFTConfig fields. */
export function sftConfigFor(run: RunConfig): MappedConfig {
  return mapWith(SFT_OPTIONS, SFT_FIXED, run.sft, run.seed);
}

/** The SftConfig an SFT mapping came from. */
export function sftFromTrl(m: MappedConfig): SftConfig {
  return unmapWith(SFT_OPTIONS, m);
}

/** Markdown table of one mapping: Stoptime option, TRL field (or "—, not in TRL"), value, note. */
export function mappingTable<C>(rows: readonly OptionRow<C>[], c: C): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const lines = ['| Stoptime option | TRL field | value | note |', '|---|---|---|---|'];
  for (const row of rows) {
    const v = JSON.stringify(row.to(c));
    lines.push(
      `| \`${row.option}\` | ${row.trl ? `\`${row.trl}\`` : '— (not in TRL)'} | \`${cell(v)}\` | ${cell(row.note)} |`,
    );
  }
  return lines.join('\n');
}
